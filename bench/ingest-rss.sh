#!/usr/bin/env bash
# Memory under ingest: runs `tillit serve` on an empty store under the same wrk load as
# bench/ingest.sh and samples its RSS every 2 s from /proc (no HTTP, so sampling adds no load),
# then prints the samples, the peak (VmHWM), wrk's rate and p99.
#
# usage: [TILLIT_BIN=saved binary] bench/ingest-rss.sh [SECONDS=40] [CONNECTIONS=256]   (extra env is passed on)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-40}
CONN=${2:-256}
. bench/serve-for-load.sh
rss() { echo $(( $(awk '/VmRSS/ {print $2}' "/proc/$PID/status") / 1024 )); }
idle=$(rss)
wrk -t2 -c"$CONN" -d"${DUR}s" -s bench/ingest.lua "http://127.0.0.1:$PORT" > "$OUT/wrk.txt" &
WRK=$!
samples=""
while kill -0 $WRK 2>/dev/null; do samples="$samples $(rss)"; sleep 2; done
echo "idle_mb=$idle rss_mb_every_2s:$samples"
echo "peak_mb=$(( $(awk '/VmHWM/ {print $2}' "/proc/$PID/status") / 1024 )) $(grep Requests/sec "$OUT/wrk.txt") $(grep P99_MS "$OUT/wrk.txt")"
