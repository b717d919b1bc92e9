#!/usr/bin/env bash
# Query benchmark: the Stats API over a store of N synthetic events (30 days, one site in
# Europe/Berlin), timing the queries a dashboard issues: aggregate with comparison, a 30-day time
# series, six breakdowns. The server builds day roll-ups when it starts; the script waits for them
# and prints how long they took, then times the queries.
#
# usage: [DAYS=30] [PERIOD=30d] bench/query.sh [EVENTS=10000000] [RUNS=10]
# The generated store is kept in $BENCH_DIR (default /tmp/tillit-query-bench-v2-EVENTS) and reused.
# `DAYS=1 PERIOD=day bench/query.sh 3300000` puts a whole day's events (at 100 M / 30 days) into
# today, which no roll-up covers: the most a query has to scan.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-10000000}
RUNS=${2:-10}
PORT=${PORT:-8095}
. bench/store.sh
KEY=$("$BIN/tillit" --data-dir "$DATA" apikey create --site shop.test --name bench --hourly-limit 1000000)
LOG=$(mktemp)
TILLIT_LOG=info "$BIN/tillit" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; "$BIN/tillit" --data-dir "$DATA" apikey revoke "${KEY:0:12}" >/dev/null 2>&1 || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
# Roll-ups: built at start for every finished day without one (a store reused from an earlier run
# already has them, and the wait ends at once).
for _ in $(seq 1 1800); do
  grep -q "built day roll-ups\|roll-ups up to date" "$LOG" && break
  sleep 1
done
grep -o "built day roll-ups.*\|roll-ups up to date.*" "$LOG" | head -1 || echo "roll-ups: not finished after 30 min"

PERIOD=${PERIOD:-30d} python3 bench/query_timing.py "http://127.0.0.1:$PORT" "$KEY" "$RUNS"
echo "store_bytes=$(du -b "$DATA/events.duckdb" | cut -f1) rss_peak_mb=$(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 ))"
