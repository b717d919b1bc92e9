#!/usr/bin/env bash
# Where ingest CPU goes: runs `tillit serve` under the same wrk load as bench/ingest.sh and prints,
# per thread group, the CPU it used per accepted event (from /proc tick counts over 10 s), and how
# many events each group commit of the ingest log carried.
#
# usage: [TILLIT_BIN=saved binary] bench/ingest-cpu.sh [CONNECTIONS=256]   (extra env is passed on)
set -euo pipefail
cd "$(dirname "$0")/.."
CONN=${1:-256}
. bench/serve-for-load.sh
wrk -t2 -c"$CONN" -d25s -s bench/ingest.lua "http://127.0.0.1:$PORT" > "$OUT/wrk.txt" &
WRK=$!
sleep 8
ticks() { for t in /proc/$PID/task/*; do echo "$(tr ' ' _ < "$t/comm") $(awk '{print $14+$15}' "$t/stat")"; done |
  awk '{u[$1]+=$2} END {for (k in u) print k, u[k]}' | sort; }
ticks > "$OUT/t0"; w0=$(awk '{print $14+$15}' "/proc/$WRK/stat"); read -r a0 g0 < <(ingest_counts)
sleep 10
ticks > "$OUT/t1"; w1=$(awk '{print $14+$15}' "/proc/$WRK/stat"); read -r a1 g1 < <(ingest_counts)
wait $WRK
n=$((a1 - a0))
echo "accepted in the 10 s window: $n ($((n / 10))/s), $((n / (g1 - g0 > 0 ? g1 - g0 : 1))) events per log write"
join "$OUT/t0" "$OUT/t1" | awk -v n="$n" '{d=$3-$2; tot+=d; printf "%-16s %6.1f us/event\n", $1, d*10000/n} END {printf "%-16s %6.1f us/event (%.2f cores)\n", "server total", tot*10000/n, tot/1000}'
echo "wrk              $(echo "scale=2; ($w1 - $w0) / 1000" | bc) cores"
