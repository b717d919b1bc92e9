#!/usr/bin/env bash
# Query benchmark: the Stats API over a store of N synthetic events (30 days, one site), timing the
# queries a dashboard issues: aggregate with comparison, a 30-day time series, six breakdowns.
#
# usage: bench/query.sh [EVENTS=10000000] [RUNS=10]
# The generated store is kept in $BENCH_DIR (default /tmp/tillit-query-bench-EVENTS) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-10000000}
RUNS=${2:-10}
PORT=${PORT:-8095}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/tillit/target}
cargo build --release -q -p tillit -p tillit-bench
BIN=$CARGO_TARGET_DIR/release
DATA=${BENCH_DIR:-/tmp/tillit-query-bench-$EVENTS}
if [ ! -f "$DATA/.complete" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  "$BIN/tillit" --data-dir "$DATA" site add shop.test >/dev/null
  "$BIN/tillit-gen" "$DATA" 1 "$EVENTS" 30
  touch "$DATA/.complete"
fi
KEY=$("$BIN/tillit" --data-dir "$DATA" apikey create --site shop.test --name bench --hourly-limit 1000000)
TILLIT_LOG=warn "$BIN/tillit" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" &
PID=$!
trap 'kill $PID 2>/dev/null || true; "$BIN/tillit" --data-dir "$DATA" apikey revoke "${KEY:0:12}" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
python3 bench/query_timing.py "http://127.0.0.1:$PORT" "$KEY" "$RUNS"
echo "store_bytes=$(du -b "$DATA/events.duckdb" | cut -f1) rss_peak_mb=$(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 ))"
