#!/usr/bin/env bash
# A/B of two `tillit` binaries under the ingest load of bench/ingest.sh: alternates them PAIRS times
# and prints, per run, the accepted rate, the server's CPU per accepted event (from /proc tick
# counts) and the events per ingest-log write (fsync) over a 20 s window, peak RSS (VmHWM) and
# wrk's p99. Alternating pairs keep this machine's drift in speed from reading as a difference
# between the builds.
#
# usage: bench/ingest-ab.sh BINARY_A BINARY_B [PAIRS=3]
#   e.g. save a build with `cp $CARGO_TARGET_DIR/release/tillit /var/tmp/tillit-a`, change, rebuild,
#   then `bash bench/ingest-ab.sh /var/tmp/tillit-a $CARGO_TARGET_DIR/release/tillit`.
# HOGS=N runs N busy loops beside each run: a machine busy with other work, on demand (the slow
# phases in which this one once peaked at 307 MB; see BENCHMARKS.md (n)).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bench/ingest-ab.sh BINARY_A BINARY_B [PAIRS=3]" >&2; exit 2; }
A=$1; B=$2; PAIRS=${3:-3}
HOGS=${HOGS:-0}
PORT=${PORT:-8096}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

run() {
  local bin=$1 data pid wrk_pid t0 t1 a0 a1 n
  data=$(mktemp -d /tmp/tillit-ab.XXXXXX)
  "$bin" --data-dir "$data" site add shop.test >/dev/null
  TILLIT_TRUSTED_PROXIES=127.0.0.1 TILLIT_LOG=warn "$bin" --data-dir "$data" serve --listen "127.0.0.1:$PORT" &
  pid=$!
  for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
  for _ in $(seq 1 "$HOGS"); do timeout 42 sh -c 'while :; do :; done' & done
  wrk -t2 -c256 -d40s -s bench/ingest.lua "http://127.0.0.1:$PORT" > "$data/wrk.txt" &
  wrk_pid=$!
  sleep 8
  # Events accepted and ingest-log writes (one fdatasync each) so far.
  counts() { curl -fs "http://127.0.0.1:$PORT/api/health" | python3 -c 'import json,sys; i=json.load(sys.stdin)["ingest"]; print(i["accepted"], i["log_writes"])'; }
  ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
  t0=$(ticks); read -r a0 w0 < <(counts); sleep 20; t1=$(ticks); read -r a1 w1 < <(counts)
  wait "$wrk_pid"
  n=$((a1 - a0))
  echo "$bin rate=$((n / 20))/s server_us_per_event=$(echo "scale=1; ($t1 - $t0) * 10000 / $n" | bc)" \
    "events_per_log_write=$((n / (w1 - w0 > 0 ? w1 - w0 : 1)))" \
    "peak_rss_mb=$(($(awk '/VmHWM/ {print $2}' "/proc/$pid/status") / 1024))" \
    "p99_ms=$(awk '/^P99_MS/ {print $2}' "$data/wrk.txt")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  wait
  rm -rf "$data"
}

for _ in $(seq 1 "$PAIRS"); do run "$A"; run "$B"; done
