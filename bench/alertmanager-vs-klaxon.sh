#!/usr/bin/env bash
# The real Alertmanager 0.25 and Klaxon side by side on this machine, with the same route tree
# and the same load: ALERTS distinct alerts posted in batches of 64 to POST /api/v2/alerts,
# then filtered GET /api/v2/alerts queries at that many active alerts, then single-alert
# probes timed from POST to the webhook arriving (a route with group_wait 0: Alertmanager's
# webhook_configs, Klaxon's page to a user's webhook contact). Prints alerts/s, POST p50/p99,
# query medians, webhook delay and resident memory growth per 100,000 active alerts, for both,
# and the ratios. Klaxon runs on SQLite with synchronous=FULL (every 200 is committed);
# Alertmanager keeps alerts in memory.
#
#   bench/alertmanager-vs-klaxon.sh [alerts] [connections]
#   BENCH_POSTGRES=postgres://user@127.0.0.1:PORT/db bench/alertmanager-vs-klaxon.sh   # also Klaxon on PostgreSQL
#
# Servers are pinned to core 0 and the load generator to core 1 (taskset).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ALERTS="${1:-100000}"; CONNS="${2:-8}"
cd "$ROOT"
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q -p klaxon -p klaxon-bench
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/klaxon"; LOAD="$TARGET/release/klaxon-am-load"
TMP=$(mktemp -d); KEY="bench-key-0123456789"
AM_PORT=19493; K_PORT=18493; PROBE_PORT=18494
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

# The same tree for both: delivery probes (label `probe`) get their own group each, at once.
ROUTE='route:
  receiver: sre
  group_by: [alertname, cluster]
  group_wait: 30s
  group_interval: 5m
  routes:
    - matchers: [probe=~".+"]
      receiver: hook
      group_by: [probe]
      group_wait: 0s
    - matchers: [severity="critical"]
      receiver: sre
      continue: true
    - matchers: [job="node"]
      receiver: sre'
RECEIVERS="receivers:
  - name: sre
  - name: hook
    webhook_configs: [{url: 'http://127.0.0.1:$PROBE_PORT/hook', send_resolved: false}]"

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_ready() { for _ in $(seq 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not ready: $1"; exit 1; }
load() { # label url [key]
  taskset -c 1 "$LOAD" --url "$2" ${3:+--key "$3"} --connections "$CONNS" --alerts "$ALERTS" \
    --probe-port "$PROBE_PORT" --label "$1"
}

# --- Alertmanager -------------------------------------------------------------------------------
cat > "$TMP/am.yml" <<YAML
$ROUTE
$RECEIVERS
YAML
taskset -c 0 prometheus-alertmanager --config.file="$TMP/am.yml" --storage.path="$TMP/am-data" \
  --cluster.listen-address= --web.listen-address=127.0.0.1:$AM_PORT --log.level=warn > "$TMP/am.log" 2>&1 &
AM_PID=$!; PIDS+=("$AM_PID")
wait_ready "http://127.0.0.1:$AM_PORT/-/ready"
AM_BASE=$(rss_kb $AM_PID)
AM_LINE=$(load alertmanager "http://127.0.0.1:$AM_PORT")
AM_RSS=$(rss_kb $AM_PID)
kill $AM_PID; wait $AM_PID 2>/dev/null || true

# --- Klaxon -------------------------------------------------------------------------------------
klaxon() { # label database-url
  cat > "$TMP/k.yaml" <<YAML
listen: 127.0.0.1:$K_PORT
database: $2
users:
  - username: probe@example.com
    contacts: [{id: hook, method: webhook, to: "http://127.0.0.1:$PROBE_PORT/hook"}]
teams:
  - {name: sre}
  - {name: hook, members: [probe@example.com], escalation: hook-now}
escalations:
  - name: hook-now
    team: hook
    rules: [{delay: 0s, recipient: {type: user, name: probe@example.com}}]
integrations:
  - {name: prometheus, type: prometheus, api_key: $KEY}
$ROUTE
$RECEIVERS
YAML
  "$BIN" check-config "$TMP/k.yaml" >/dev/null
  KLAXON_LOG=warn taskset -c 0 "$BIN" serve --config "$TMP/k.yaml" > "$TMP/klaxon-$1.log" 2>&1 &
  K_PID=$!; PIDS+=("$K_PID")
  wait_ready "http://127.0.0.1:$K_PORT/readyz"
  K_BASE=$(rss_kb $K_PID)
  K_LINE=$(load "$1" "http://127.0.0.1:$K_PORT" "$KEY")
  K_RSS=$(rss_kb $K_PID)
  kill $K_PID; wait $K_PID 2>/dev/null || true
}

per100k() { echo "scale=1; ($2 - $1) * 100000 / $ALERTS / 1024" | bc; }
rate() { sed -E 's/.* = ([0-9]+) alerts\/s.*/\1/' <<<"$1"; }
p99() { sed -E 's/.* p99 ([0-9.]+) ms;.*/\1/' <<<"$1"; }
hook() { sed -E 's/.*webhook delivered .* p50 ([0-9.]+) ms.*/\1/' <<<"$1"; }
query() { sed -E "s/.*$2 \\([0-9]+ hits\\) median ([0-9.]+) ms.*/\\1/" <<<"$1"; }
ratio() { echo "scale=2; $1 / $2" | bc; }

echo "# $(date -u +%FT%TZ), $(nproc) cores, $ALERTS alerts, $CONNS connections, 64 alerts per request"
echo "$AM_LINE"
AM_MB=$(per100k "$AM_BASE" "$AM_RSS")
echo "alertmanager: resident memory growth per 100,000 active alerts ${AM_MB} MB"
report() { # label
  local mb; mb=$(per100k "$K_BASE" "$K_RSS")
  echo "$K_LINE"
  echo "$1: resident memory growth per 100,000 active alerts ${mb} MB"
  echo "ratios $1/alertmanager: ingest $(ratio "$(rate "$K_LINE")" "$(rate "$AM_LINE")")x," \
    "POST p99 $(ratio "$(p99 "$K_LINE")" "$(p99 "$AM_LINE")")x, memory $(ratio "$mb" "$AM_MB")x," \
    "query (one alertname) $(ratio "$(query "$K_LINE" "one alertname")" "$(query "$AM_LINE" "one alertname")")x," \
    "query (regex) $(ratio "$(query "$K_LINE" regex)" "$(query "$AM_LINE" regex)")x," \
    "query (critical in a cluster) $(ratio "$(query "$K_LINE" "critical in a cluster")" "$(query "$AM_LINE" "critical in a cluster")")x," \
    "webhook p50 $(ratio "$(hook "$K_LINE")" "$(hook "$AM_LINE")")x"
}
klaxon klaxon-sqlite "sqlite://$TMP/klaxon.db"
report klaxon-sqlite
echo "(klaxon's SQLite file: $(du -m "$TMP/klaxon.db" | cut -f1) MB + WAL)"
if [ -n "${BENCH_POSTGRES:-}" ]; then
  klaxon klaxon-postgres "$BENCH_POSTGRES"
  report klaxon-postgres
fi
