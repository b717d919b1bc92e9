# Sourced by the ingest probes (ingest-cpu.sh, ingest-rss.sh, ingest-series.sh): builds `tillit`
# (or takes TILLIT_BIN, a saved binary, to compare builds), installs wrk if missing, starts
# `tillit serve` on a fresh data directory with the site shop.test, waits until it answers, and
# removes everything on exit. Sets BIN (the binary), DATA, OUT (scratch for results), PID, PORT;
# defines ingest_counts (events accepted and ingest-log writes so far).
PORT=${PORT:-8096}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/tillit/target}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -n "${TILLIT_BIN:-}" ]; then
  BIN=$TILLIT_BIN
else
  cargo build --release -q -p tillit
  BIN=$CARGO_TARGET_DIR/release/tillit
fi
DATA=$(mktemp -d /tmp/tillit-load.XXXXXX)
OUT=$(mktemp -d /tmp/tillit-load-out.XXXXXX)
"$BIN" --data-dir "$DATA" site add shop.test >/dev/null
TILLIT_TRUSTED_PROXIES=127.0.0.1 TILLIT_LOG=warn "$BIN" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" &
PID=$!
trap 'kill $PID 2>/dev/null && wait $PID 2>/dev/null; rm -rf "$DATA" "$OUT"' EXIT
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
ingest_counts() { curl -fs "http://127.0.0.1:$PORT/api/health" |
  python3 -c 'import json,sys; i=json.load(sys.stdin)["ingest"]; print(i["accepted"], i["log_writes"])'; }
