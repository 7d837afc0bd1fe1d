#!/usr/bin/env bash
# The real Alertmanager 0.25 and Klaxon side by side on this machine, with the same route tree
# and the same load: ALERTS distinct alerts posted in batches of 64 to POST /api/v2/alerts,
# then filtered GET /api/v2/alerts queries at that many active alerts. Prints alerts/s, POST
# p50/p99, query medians and resident memory growth per 100,000 active alerts, for both, and
# the ratios. Klaxon runs on SQLite with synchronous=FULL (every 200 is committed); Alertmanager
# keeps alerts in memory.
#
#   bench/alertmanager-vs-klaxon.sh [alerts] [connections]
#
# Servers are pinned to core 0 and the load generator to core 1 (taskset).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ALERTS="${1:-100000}"; CONNS="${2:-8}"
cd "$ROOT"
cargo build --release -q -p klaxon -p klaxon-bench
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/klaxon"; LOAD="$TARGET/release/klaxon-am-load"
TMP=$(mktemp -d); KEY="bench-key-0123456789"
AM_PORT=19493; K_PORT=18493
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

ROUTE='route:
  receiver: sre
  group_by: [alertname, cluster]
  group_wait: 30s
  group_interval: 5m
  routes:
    - matchers: [severity="critical"]
      receiver: sre
      continue: true
    - matchers: [job="node"]
      receiver: sre'

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_ready() { for _ in $(seq 200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not ready: $1"; exit 1; }

# --- Alertmanager -------------------------------------------------------------------------------
cat > "$TMP/am.yml" <<YAML
$ROUTE
receivers: [{name: sre}]
YAML
taskset -c 0 prometheus-alertmanager --config.file="$TMP/am.yml" --storage.path="$TMP/am-data" \
  --cluster.listen-address= --web.listen-address=127.0.0.1:$AM_PORT --log.level=warn > "$TMP/am.log" 2>&1 &
AM_PID=$!; PIDS+=("$AM_PID")
wait_ready "http://127.0.0.1:$AM_PORT/-/ready"
AM_BASE=$(rss_kb $AM_PID)
AM_LINE=$(taskset -c 1 "$LOAD" --url "http://127.0.0.1:$AM_PORT" --connections "$CONNS" --alerts "$ALERTS" --label alertmanager)
AM_RSS=$(rss_kb $AM_PID)
kill $AM_PID; wait $AM_PID 2>/dev/null || true

# --- Klaxon -------------------------------------------------------------------------------------
cat > "$TMP/k.yaml" <<YAML
listen: 127.0.0.1:$K_PORT
database: sqlite://$TMP/klaxon.db
teams: [{name: sre}]
integrations:
  - {name: prometheus, type: prometheus, api_key: $KEY}
$ROUTE
YAML
KLAXON_LOG=warn taskset -c 0 "$BIN" serve --config "$TMP/k.yaml" > "$TMP/klaxon.log" 2>&1 &
K_PID=$!; PIDS+=("$K_PID")
wait_ready "http://127.0.0.1:$K_PORT/readyz"
K_BASE=$(rss_kb $K_PID)
K_LINE=$(taskset -c 1 "$LOAD" --url "http://127.0.0.1:$K_PORT" --key "$KEY" --connections "$CONNS" --alerts "$ALERTS" --label klaxon)
K_RSS=$(rss_kb $K_PID)
kill $K_PID; wait $K_PID 2>/dev/null || true

echo "$AM_LINE"
echo "$K_LINE"
per100k() { echo "scale=1; ($2 - $1) * 100000 / $ALERTS / 1024" | bc; }
AM_MB=$(per100k "$AM_BASE" "$AM_RSS"); K_MB=$(per100k "$K_BASE" "$K_RSS")
echo "resident memory growth per 100,000 active alerts: alertmanager ${AM_MB} MB, klaxon ${K_MB} MB (klaxon's database file: $(du -m "$TMP/klaxon.db" | cut -f1) MB + WAL)"
rate() { sed -E 's/.* = ([0-9]+) alerts\/s.*/\1/' <<<"$1"; }
p99() { sed -E 's/.* p99 ([0-9.]+) ms.*/\1/' <<<"$1"; }
echo "ratios klaxon/alertmanager: ingest $(echo "scale=2; $(rate "$K_LINE") / $(rate "$AM_LINE")" | bc)x, POST p99 $(echo "scale=2; $(p99 "$K_LINE") / $(p99 "$AM_LINE")" | bc)x, memory $(echo "scale=2; $K_MB / $AM_MB" | bc)x"
