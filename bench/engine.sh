#!/usr/bin/env bash
# The engine's speed (issue 4): alert → first webhook delivered at 1,000 alerts/s, and how late
# escalation steps fire with 100,000 open alerts; on SQLite and PostgreSQL.
#
#   bench/engine.sh [rate] [seconds] [open-alerts] [delay-seconds]
#   BACKENDS="sqlite postgres" (default both)
#   PG_WARMUP=10: on PostgreSQL, before the latency run, the same load for this many seconds and
#   then ANALYZE (what autovacuum does within its first minute on a new database: without
#   statistics the planner's choices for young tables are poor); 0 measures the cold database.
#   STEADY_RATE=100 STEADY_SECS=30 STEADY_DELAY=5: the steady lateness run (a fresh database
#   with [open-alerts] alerts whose step lies a day ahead, then STEADY_RATE alerts/s whose step
#   fires STEADY_DELAY s after creation). MODES="latency lateness steady" picks runs.
#
# Klaxon runs on core 0, the load generator (which is also the webhook receiver) on core 1.
# PostgreSQL: a throw-away cluster with default durability settings, port 54358.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RATE="${1:-1000}"; SECS="${2:-10}"; OPEN="${3:-100000}"; DELAY="${4:-60}"
cd "$ROOT"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p klaxon -p klaxon-bench
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/klaxon"; LOAD="$TARGET/release/klaxon-bench-engine"
TMP=$(mktemp -d); chmod 755 "$TMP"; KEY="bench-key-0123456789"
PORT=18490; RPORT=18491
STEADY_RATE="${STEADY_RATE:-100}"; STEADY_SECS="${STEADY_SECS:-30}"; STEADY_DELAY="${STEADY_DELAY:-5}"
MODES="${MODES:-latency lateness steady}"
has() { [[ " $MODES " == *" $1 "* ]]; }
cleanup() {
  [ -n "${KPID:-}" ] && kill "$KPID" 2>/dev/null || true
  if [ -n "${PGD:-}" ]; then runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGD/data" -m fast stop >/dev/null 2>&1 || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

serve() { # database-url
  cat > "$TMP/k.yaml" <<YAML
listen: 127.0.0.1:$PORT
database: $1
users:
  - username: bench@example.com
    contacts: [{id: hook, method: webhook, to: "http://127.0.0.1:$RPORT/hook"}]
teams:
  - {name: bench, members: [bench@example.com]}
escalations:
  - name: now
    team: bench
    rules: [{delay: 0s, recipient: {type: user, name: bench@example.com}}]
  - name: later
    team: bench
    rules: [{delay: ${DELAY}s, recipient: {type: user, name: bench@example.com}}]
  - name: soon
    team: bench
    rules: [{delay: ${STEADY_DELAY}s, recipient: {type: user, name: bench@example.com}}]
  - name: idle
    team: bench
    rules: [{delay: 86400s, recipient: {type: user, name: bench@example.com}}]
integrations:
  - {name: bench, type: api, api_key: $KEY}
YAML
  KLAXON_LOG=warn taskset -c 0 "$BIN" serve --config "$TMP/k.yaml" > "$TMP/klaxon.log" 2>&1 &
  KPID=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; sleep 0.1; done
  cat "$TMP/klaxon.log"; exit 1
}
stop() { kill "$KPID"; wait "$KPID" 2>/dev/null || true; KPID=; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$KPID/stat"; }

load() { taskset -c 1 "$LOAD" --url "http://127.0.0.1:$PORT" --key "$KEY" --receiver-port "$RPORT" "$@"; }

run() { # label database-url steady-database-url
  serve "$2"
  if has latency; then
    if [ -n "${PGD:-}" ] && [ "${PG_WARMUP:-10}" != 0 ]; then
      load --mode latency --escalation now --rate "$RATE" --seconds "${PG_WARMUP:-10}" --label "$1 (warm-up)"
      runuser -u postgres -- psql -q -h "$PGD" -p 54358 -c "ANALYZE" postgres
    fi
    load --mode latency --escalation now --rate "$RATE" --seconds "$SECS" --label "$1"
  fi
  if has lateness; then
    load --mode lateness --escalation later --alerts "$OPEN" --delay-secs "$DELAY" --label "$1"
    local a b; a=$(cpu_ticks); sleep 10; b=$(cpu_ticks)
    local warm=0; [ -n "${PGD:-}" ] && has latency && warm=$((RATE * ${PG_WARMUP:-10}))
    echo "$1: idle CPU with $((OPEN + RATE * SECS + warm)) open alerts: $(( (b - a) ))0 ms of CPU in 10 s"
  fi
  stop
  if has steady; then
    serve "$3"
    load --mode steady --escalation soon --idle-escalation idle --alerts "$OPEN" \
      --rate "$STEADY_RATE" --seconds "$STEADY_SECS" --delay-secs "$STEADY_DELAY" --label "$1"
    stop
  fi
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; ${RATE}/s for ${SECS}s; ${OPEN} open alerts, step after ${DELAY}s"
BACKENDS="${BACKENDS:-sqlite postgres}"
if [[ " $BACKENDS " == *" sqlite "* ]]; then
  run "sqlite" "sqlite://$TMP/bench.db" "sqlite://$TMP/steady.db"
fi
[[ " $BACKENDS " == *" postgres "* ]] || exit 0

PGD="$TMP/pg"; mkdir -p "$PGD"; chown postgres "$PGD"
runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$PGD/data" -A trust -U postgres >/dev/null
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGD/data" -l "$PGD/log" -w \
  -o "-p 54358 -k $PGD -c listen_addresses=127.0.0.1 -c max_connections=200 ${PG_EXTRA:-}" start >/dev/null
runuser -u postgres -- psql -q -h "$PGD" -p 54358 -c "CREATE DATABASE steady" postgres
run "postgres" "postgres://postgres@127.0.0.1:54358/postgres" "postgres://postgres@127.0.0.1:54358/steady"
