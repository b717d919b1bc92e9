#!/usr/bin/env bash
# Views benchmark: the dashboard after the first click. Over the query benchmark's store of N
# synthetic events (30 days, Europe/Berlin; the site has three goals), times each view of
# bench/views.py — unfiltered, one filter of each kind (visit dimension, page, goal, property), two
# filters, and long periods — as the whole dashboard page and as its eight panel queries.
#
# usage: bench/views.sh [EVENTS=10000000] [RUNS=5] [VIEW_LABEL...]
# Reuses (or generates, through bench/store.sh) /tmp/tillit-query-bench-v2-EVENTS.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-10000000}
RUNS=${2:-5}
shift 2 || true
PORT=${PORT:-8093}
. bench/store.sh
add_goals
KEY=$("$BIN/tillit" --data-dir "$DATA" apikey create --site shop.test --name bench --hourly-limit 1000000)
serve_signed_in "$PORT"
trap 'kill $PID 2>/dev/null || true; "$BIN/tillit" --data-dir "$DATA" apikey revoke "${KEY:0:12}" >/dev/null 2>&1 || true; rm -f "$LOG" "$JAR"' EXIT
python3 bench/views.py "$BASE" "$KEY" "$JAR" "$RUNS" "$@"
echo "store_bytes=$(du -b "$DATA/events.duckdb" | cut -f1) rss_peak_mb=$(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 ))"
