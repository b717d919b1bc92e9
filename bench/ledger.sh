#!/usr/bin/env bash
# Consent ledger benchmark: wrk records consents through an API collection point of `tillit serve`
# (each 201 = one hash-chained ledger row, its Ed25519-signed receipt and the current state,
# committed with SQLite synchronous=FULL), checks rows == accepted, then times
# `tillit ledger verify` over the whole chain.
#
# usage: bench/ledger.sh [SECONDS=30] [CONNECTIONS=16]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-30}
CONN=${2:-16}
PORT=${PORT:-8099}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/tillit/target}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p tillit
BIN=$CARGO_TARGET_DIR/release/tillit
DATA=$(mktemp -d /tmp/tillit-ledger-bench.XXXXXX)
OUT=bench/out; mkdir -p "$OUT"
trap 'kill $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
PID=""
TOKEN=bench-token

"$BIN" --data-dir "$DATA" site add shop.test >/dev/null
"$BIN" --data-dir "$DATA" purpose add --site shop.test --key news --legal-basis consent \
  --title en="Newsletter" --description en="News, monthly" >/dev/null
"$BIN" --data-dir "$DATA" purpose publish --site shop.test --key news >/dev/null
TILLIT_ADMIN_TOKEN=$TOKEN TILLIT_LOG=warn "$BIN" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" &
PID=$!
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
API="http://127.0.0.1:$PORT/api/admin/sites/shop.test"
curl -fs -H "Authorization: Bearer $TOKEN" "$API/collection-points" \
  -d '{"key":"crm","kind":"api","purposes":["news"],"double_opt_in":false,"intro":{"en":"From the shop"}}' >/dev/null
NOTICE=$(curl -fs -H "Authorization: Bearer $TOKEN" "$API/collection-points/crm/snippet" | sed -n 's/.*name="notice" value="\([0-9a-f]*\)".*/\1/p')

NOTICE=$NOTICE TOKEN=$TOKEN SIGNUP_PATH=/api/signup/shop.test/crm \
  wrk -t2 -c"$CONN" -d"${DUR}s" --latency -s bench/ledger.lua "http://127.0.0.1:$PORT" > "$OUT/wrk-ledger.txt"
rss_peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
kill -TERM "$PID"; wait "$PID"; PID=""

accepted=$(awk '/^ACCEPTED/ {print $2}' "$OUT/wrk-ledger.txt")
other=$(awk '/^OTHER/ {print $2}' "$OUT/wrk-ledger.txt")
p50=$(awk '/^P50_MS/ {print $2}' "$OUT/wrk-ledger.txt")
p99=$(awk '/^P99_MS/ {print $2}' "$OUT/wrk-ledger.txt")
start=$(date +%s.%N)
verify=$("$BIN" --data-dir "$DATA" ledger verify)
verify_s=$(echo "$(date +%s.%N) - $start" | bc)
rows=$(echo "$verify" | sed -n 's/.*intact: \([0-9]*\) events.*/\1/p')
echo "duration_s=$DUR connections=$CONN"
echo "accepted=$accepted non_2xx=$other rate=$(echo "$accepted / $DUR" | bc)/s p50_ms=$p50 p99_ms=$p99 rss_peak_mb=$((rss_peak_kb / 1024))"
echo "$verify"
echo "verify_s=$verify_s app_db_bytes=$(du -b "$DATA/app.sqlite3" | cut -f1)"
# Every acknowledged consent is a row; requests in flight when wrk stopped may have been recorded too.
if [ "$rows" -lt "$accepted" ] || [ "$rows" -gt $((accepted + CONN)) ]; then
  echo "MISMATCH: $accepted consents acknowledged, $rows rows in the ledger" >&2
  exit 1
fi
