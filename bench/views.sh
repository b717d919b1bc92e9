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
# Listings are read whole before grep looks at them: `grep -q` would close the pipe early.
GOALS_NOW=$("$BIN/tillit" --data-dir "$DATA" goal list --site shop.test)
if ! grep -q Signup <<<"$GOALS_NOW"; then
  "$BIN/tillit" --data-dir "$DATA" goal add --site shop.test --event Signup >/dev/null
  "$BIN/tillit" --data-dir "$DATA" goal add --site shop.test --page '/products/**' >/dev/null
  "$BIN/tillit" --data-dir "$DATA" goal add --site shop.test --page '/docs/**' >/dev/null
fi
EMAIL=bench-analyst@shop.test
PASS=bench-analyst-password
USERS_NOW=$("$BIN/tillit" --data-dir "$DATA" user list --json)
grep -q "$EMAIL" <<<"$USERS_NOW" \
  || printf '%s' "$PASS" | "$BIN/tillit" --data-dir "$DATA" user add "$EMAIL" --role analyst --password-stdin >/dev/null
KEY=$("$BIN/tillit" --data-dir "$DATA" apikey create --site shop.test --name bench --hourly-limit 1000000)
LOG=$(mktemp); JAR=$(mktemp)
TILLIT_LOG=info "$BIN/tillit" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; "$BIN/tillit" --data-dir "$DATA" apikey revoke "${KEY:0:12}" >/dev/null 2>&1 || true; rm -f "$LOG" "$JAR"' EXIT
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do curl -fs "$BASE/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1 3600); do grep -q "built day roll-ups\|roll-ups up to date" "$LOG" && break; sleep 1; done
grep -o "built day roll-ups.*\|roll-ups up to date.*" "$LOG" | head -1 || echo "roll-ups: not finished after an hour"
curl -s -o /dev/null -c "$JAR" -H "Origin: $BASE" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASS" "$BASE/login"
python3 bench/views.py "$BASE" "$KEY" "$JAR" "$RUNS" "$@"
echo "store_bytes=$(du -b "$DATA/events.duckdb" | cut -f1) rss_peak_mb=$(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 ))"
