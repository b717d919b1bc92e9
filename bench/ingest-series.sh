#!/usr/bin/env bash
# The ingest rate over time: runs the load of bench/ingest.sh against `tillit serve` and prints,
# for each 5 s window, the events accepted per second and the server's CPU per event (from /proc
# tick counts). Shows warm-up (every visitor starting a session) and drift within one run.
#
# usage: [TILLIT_BIN=saved binary] bench/ingest-series.sh [SECONDS=60] [CONNECTIONS=256]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
CONN=${2:-256}
. bench/serve-for-load.sh
wrk -t2 -c"$CONN" -d"${SECS}s" -s bench/ingest.lua "http://127.0.0.1:$PORT" > "$OUT/wrk.txt" &
WRK=$!
ticks() { awk '{print $14+$15}' "/proc/$PID/stat"; }
t0=$(date +%s.%N); read -r a0 _ < <(ingest_counts); k0=$(ticks)
for _ in $(seq 1 $((SECS / 5))); do
  sleep 5
  t=$(date +%s.%N); read -r a _ < <(ingest_counts); k=$(ticks)
  printf '%6.0f events/s  %5.1f us/event\n' "$(echo "($a - $a0) / ($t - $t0)" | bc -l)" \
    "$(echo "($k - $k0) * 10000 / ($a - $a0 + 1)" | bc -l)"
  t0=$t; a0=$a; k0=$k
done
wait "$WRK"
grep "Requests/sec" "$OUT/wrk.txt"
