#!/usr/bin/env bash
# Ingest benchmark: wrk posts a realistic mix of Events API bodies to `tillit serve` (durability on:
# every 202 waited for fdatasync), then checks stored == accepted. The same load against a bare axum
# server that only answers 202 gives the ceiling: it runs right before and right after Tillit, and
# the ratio is to the mean of the two, because this machine's speed drifts by up to a third between
# minutes and one run on either side would read that drift as Tillit's.
#
# usage: bench/ingest.sh [SECONDS=60] [CONNECTIONS=64]
# env:   PRELOAD=N  store N synthetic events (30 days) before the run, to measure a full store;
#                   then the same load runs against an empty store too, right after, so the
#                   full store's rate is also given as a share of the empty one's (full_vs_empty).
#        VISITORS=N distinct visitors (address + browser) the load comes from (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-60}
CONN=${2:-64}
PRELOAD=${PRELOAD:-0}
PORT=${PORT:-8097}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/tillit/target}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p tillit -p tillit-bench
BIN=$CARGO_TARGET_DIR/release
DATA=$(mktemp -d /tmp/tillit-bench.XXXXXX)
EMPTY=$(mktemp -d /tmp/tillit-bench-empty.XXXXXX)
OUT=bench/out; mkdir -p "$OUT"
trap 'kill $PID $BARE 2>/dev/null || true; rm -rf "$DATA" "$EMPTY"' EXIT
PID=""; BARE=""

wait_up() { for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$1/$2" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server did not start" >&2; exit 1; }

"$BIN/tillit" --data-dir "$DATA" site add shop.test >/dev/null
if [ "$PRELOAD" -gt 0 ]; then
  "$BIN/tillit-gen" "$DATA" 1 "$PRELOAD" 30
  # A store that has held these events for a while has its day roll-ups: build them first, so the
  # run measures ingest into a full store rather than ingest racing a one-off build.
  TILLIT_LOG=info "$BIN/tillit" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" >"$DATA/build.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 3600); do grep -q "built day roll-ups\|roll-ups up to date" "$DATA/build.log" && break; sleep 1; done
  grep -o "built day roll-ups.*\|roll-ups up to date" "$DATA/build.log" | head -1
  kill -TERM "$PID"; wait "$PID"; PID=""
fi
before=$("$BIN/tillit-gen" count "$DATA")

# Runs the load against the bare server, wrk's report to $OUT/wrk-$1.txt.
load_bare() {
  "$BIN/bare-server" "127.0.0.1:$((PORT + 1))" &
  BARE=$!
  # It answers only POST /api/event: any HTTP answer means it is up.
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$((PORT + 1))/" && break; sleep 0.1; done
  wrk -t2 -c"$CONN" -d"${DUR}s" -s bench/ingest.lua "http://127.0.0.1:$((PORT + 1))" > "$OUT/wrk-$1.txt"
  kill "$BARE"; wait "$BARE" 2>/dev/null || true; BARE=""
}

# Runs the load against `tillit serve` on data directory $1, wrk's report to $OUT/wrk-$2.txt; sets
# rss_peak_kb.
load_tillit() {
  TILLIT_TRUSTED_PROXIES=127.0.0.1 TILLIT_LOG=warn "$BIN/tillit" --data-dir "$1" serve --listen "127.0.0.1:$PORT" &
  PID=$!
  wait_up "$PORT" api/health
  wrk -t2 -c"$CONN" -d"${DUR}s" --latency -s bench/ingest.lua "http://127.0.0.1:$PORT" > "$OUT/wrk-$2.txt"
  rss_peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
  kill -TERM "$PID"; wait "$PID"; PID=""
}

load_bare bare-before
load_tillit "$DATA" tillit
load_bare bare-after
after=$("$BIN/tillit-gen" count "$DATA")
bytes=$(du -b "$DATA/events.duckdb" | cut -f1)
accepted=$(awk '/^ACCEPTED/ {print $2}' "$OUT/wrk-tillit.txt")
other=$(awk '/^OTHER/ {print $2}' "$OUT/wrk-tillit.txt")
p50=$(awk '/^P50_MS/ {print $2}' "$OUT/wrk-tillit.txt")
p99=$(awk '/^P99_MS/ {print $2}' "$OUT/wrk-tillit.txt")
stored=$((after - before))
rss_peak_mb=$((rss_peak_kb / 1024))

if [ "$PRELOAD" -gt 0 ]; then
  "$BIN/tillit" --data-dir "$EMPTY" site add shop.test >/dev/null
  load_tillit "$EMPTY" tillit-empty
  empty=$(awk '/^ACCEPTED/ {print $2}' "$OUT/wrk-tillit-empty.txt")
fi

bare_before=$(awk '/^ACCEPTED/ {print $2}' "$OUT/wrk-bare-before.txt")
bare_after=$(awk '/^ACCEPTED/ {print $2}' "$OUT/wrk-bare-after.txt")
bare=$(((bare_before + bare_after) / 2))

rate=$(echo "$accepted / $DUR" | bc)
bare_rate=$(echo "$bare / $DUR" | bc)
echo "duration_s=$DUR connections=$CONN preload=$PRELOAD"
echo "accepted=$accepted non_202=$other stored=$stored rate=${rate}/s p50_ms=$p50 p99_ms=$p99"
echo "bare_ceiling=${bare_rate}/s (before $((bare_before / DUR))/s, after $((bare_after / DUR))/s) ratio=$(echo "scale=2; $accepted / $bare" | bc)"
if [ "$PRELOAD" -gt 0 ]; then
  echo "empty_store_rate=$(echo "$empty / $DUR" | bc)/s full_vs_empty=$(echo "$accepted * 100 / $empty" | bc)%"
fi
echo "rss_peak_mb=$rss_peak_mb store_bytes=$bytes bytes_per_event=$(echo "scale=1; $bytes / $after" | bc) total_events=$after"
# wrk counts only responses it read before its deadline; requests still in flight then may have been
# accepted too. So every acknowledged event must be stored, and at most CONNECTIONS more.
echo "in_flight_at_stop=$((stored - accepted))"
if [ "$stored" -lt "$accepted" ] || [ "$stored" -gt $((accepted + CONN)) ]; then
  echo "MISMATCH: stored $stored, accepted $accepted" >&2; exit 1
fi
