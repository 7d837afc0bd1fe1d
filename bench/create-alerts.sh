#!/usr/bin/env bash
# Create-alert throughput and latency on SQLite and PostgreSQL, one alert per request, durable
# (each 202 is a committed alert). Prints one line per backend and mode.
#
#   bench/create-alerts.sh [seconds] [connections]
#
# Server and load generator run pinned to different cores (taskset) on a 2-core machine.
# PostgreSQL: a throw-away cluster with default durability settings (fsync on), port 54359.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${1:-10}"; CONNS="${2:-64}"
cd "$ROOT"
cargo build --release -q -p klaxon -p klaxon-bench
BIN="$ROOT/target/release/klaxon"; LOAD="$ROOT/target/release/klaxon-load"
TMP=$(mktemp -d); chmod 755 "$TMP"; KEY="bench-key-0123456789"
PORT=18480
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
integrations:
  - {name: bench, type: api, api_key: $KEY}
YAML
  KLAXON_LOG=warn taskset -c 0 "$BIN" serve --config "$TMP/k.yaml" > "$TMP/klaxon.log" 2>&1 &
  KPID=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; sleep 0.1; done
  cat "$TMP/klaxon.log"; exit 1
}
stop() { kill "$KPID"; wait "$KPID" 2>/dev/null || true; KPID=; }

load() { # label mode
  taskset -c 1 "$LOAD" --url "http://127.0.0.1:$PORT" --key "$KEY" --connections "$CONNS" --seconds "$SECS" --mode "$2" --label "$1"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, ${SECS}s per run, ${CONNS} connections"
serve "sqlite://$TMP/bench.db"
load "sqlite (WAL, sync=FULL)" unique
load "sqlite (WAL, sync=FULL)" dedup
stop

if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  PGD="$TMP/pg"; mkdir -p "$PGD"; chown postgres "$PGD"
  runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$PGD/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGD/data" -l "$PGD/log" -w \
    -o "-p 54359 -k $PGD -c listen_addresses=127.0.0.1" start >/dev/null
  serve "postgres://postgres@127.0.0.1:54359/postgres"
  load "postgres 15 (fsync on)" unique
  load "postgres 15 (fsync on)" dedup
  stop
else
  echo "postgresql 15 not installed: apt-get install -y postgresql" >&2; exit 1
fi
