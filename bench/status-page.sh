#!/usr/bin/env bash
# The public status page under load (issue 6): `GET /status/{page}` (the server-rendered HTML
# with 90-day uptime bars) and `GET /status/{page}/api/v2/summary.json`, on a page with 100
# components and a year of status history, resolved incidents and health-check results
# (bench/src/status_seed.rs), on SQLite and PostgreSQL.
#
#   bench/status-page.sh [seconds] [connections] [runs]
#
# Klaxon runs on core 0, wrk on core 1. Each figure is the median of `runs` runs (requests/s
# and p99 latency from wrk --latency). PostgreSQL: a fresh database on $KLAXON_BENCH_POSTGRES
# (postgres://… of a running server) when set, else a throw-away cluster on port
# ${KLAXON_BENCH_PGPORT:-54363}.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${1:-10}"; CONNS="${2:-32}"; RUNS="${3:-3}"
cd "$ROOT"
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
# KLAXON_BENCH_NO_BUILD=1 uses binaries already built in the target dir.
[ "${KLAXON_BENCH_NO_BUILD:-0}" = 1 ] || cargo build --release -q -p klaxon -p klaxon-bench
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
BIN="$TARGET/klaxon"; SEED="$TARGET/klaxon-bench-status-seed"
TMP=$(mktemp -d); chmod 755 "$TMP"
PORT=18590; PGPORT="${KLAXON_BENCH_PGPORT:-54363}"; PGDB=""
cleanup() {
  [ -n "${KPID:-}" ] && kill "$KPID" 2>/dev/null || true
  if [ -n "$PGDB" ]; then psql "$KLAXON_BENCH_POSTGRES" -qXc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true; fi
  if [ -n "${PGD:-}" ]; then runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGD/data" -m fast stop >/dev/null 2>&1 || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

serve() { # database-url
  { echo "listen: 127.0.0.1:$PORT"; echo "database: $1"; cat "$TMP/pages.yaml"; } > "$TMP/k.yaml"
  KLAXON_LOG=warn taskset -c 0 "$BIN" serve --config "$TMP/k.yaml" > "$TMP/klaxon.log" 2>&1 &
  KPID=$!
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; sleep 0.1; done
  cat "$TMP/klaxon.log"; exit 1
}
stop() { kill "$KPID"; wait "$KPID" 2>/dev/null || true; KPID=; }

# One wrk run → "requests/s p99-ms".
one() { # path
  local out rps p99
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 30s --latency "http://127.0.0.1:$PORT$1")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  if grep -qE "Non-2xx|Socket errors" <<<"$out"; then echo "errors for $1:" >&2; echo "$out" >&2; exit 1; fi
  echo "$rps $p99"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # label
  local label="$1" path rows
  # Warm up once (first query plans, page cache).
  curl -fs "http://127.0.0.1:$PORT/status/bench" -o "$TMP/page.html"
  curl -fs "http://127.0.0.1:$PORT/status/bench/api/v2/summary.json" -o "$TMP/summary.json"
  echo "$label: page $(wc -c <"$TMP/page.html") bytes with $(grep -o 'class="bar ' "$TMP/page.html" | wc -l) uptime bars; summary.json $(wc -c <"$TMP/summary.json") bytes"
  for path in /status/bench /status/bench/api/v2/summary.json; do
    rows=""
    for _ in $(seq "$RUNS"); do rows+="$(one "$path")"$'\n'; done
    printf '%s: %-36s %8s req/s  p99 %6s ms   (runs: %s)\n' "$label" "$path" \
      "$(awk 'NF {print $1}' <<<"$rows" | median)" "$(awk 'NF {print $2}' <<<"$rows" | median)" \
      "$(awk 'NF {printf "%s/%sms ", $1, $2}' <<<"$rows")"
  done
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; wrk -t1 -c$CONNS -d${SECS}s, median of $RUNS runs"

# SQLite
"$SEED" --database "sqlite://$TMP/status.db" --components 100 --days 365 > "$TMP/pages.yaml"
serve "sqlite://$TMP/status.db"
measure sqlite
stop

# PostgreSQL (the page is read-only here: durability settings do not matter)
if [ -n "${KLAXON_BENCH_POSTGRES:-}" ]; then
  PGDB="bench_status_$$"
  psql "$KLAXON_BENCH_POSTGRES" -qXc "CREATE DATABASE $PGDB" >/dev/null
  PGURL="${KLAXON_BENCH_POSTGRES%/*}/$PGDB"
else
  PGD="$TMP/pg"; mkdir -p "$PGD"; chown postgres "$PGD"
  runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$PGD/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGD/data" -l "$PGD/log" -w \
    -o "-p $PGPORT -k $PGD -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  PGURL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
fi
"$SEED" --database "$PGURL" --components 100 --days 365 > "$TMP/pages.yaml"
serve "$PGURL"
measure postgres
stop
