#!/usr/bin/env bash
# Contact import benchmark: `tillit contact import` of a generated CSV with ROWS people (half with
# consent evidence: time, method and wording; the rest imported as needing permission; 1 % bad
# addresses, 1 % duplicates), then the same file again (every row refused as already a contact).
# Each imported contact is a fresh key, sealed fields and, with evidence, a hash-chained ledger
# row with its signed receipt, committed with SQLite synchronous=FULL.
#
# usage: bench/contact-import.sh [ROWS=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-20000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/tillit/target}
cargo build --release -q -p tillit
BIN=$CARGO_TARGET_DIR/release/tillit
DATA=$(mktemp -d /tmp/tillit-import-bench.XXXXXX)
trap 'rm -rf "$DATA"' EXIT

"$BIN" --data-dir "$DATA" site add shop.test >/dev/null
"$BIN" --data-dir "$DATA" purpose add --site shop.test --key news --legal-basis consent \
  --title en="Newsletter" --description en="News, monthly" >/dev/null
"$BIN" --data-dir "$DATA" purpose publish --site shop.test --key news >/dev/null
python3 - "$DATA/contacts.csv" "$ROWS" <<'PY'
import sys
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w", encoding="utf-8") as f:
    f.write("Email Address;First Name;Last Name;CONFIRM_TIME;Customer\n")
    for i in range(rows):
        email = f"person{i}@example.com"
        if i % 100 == 1:
            email = "not-an-address"
        if i % 100 == 2:
            email = f"person{i - 2}@example.com"
        when = "2026-03-01 10:00:00" if i % 2 == 0 else ""
        f.write(f"{email};Person;Number {i};{when};yes\n")
PY
echo "Yes, send me the monthly newsletter." > "$DATA/wording.txt"
run() {
  /usr/bin/time -f "%e s, peak RSS %M KB" "$BIN" --data-dir "$DATA" contact import "$DATA/contacts.csv" \
    --site shop.test --source bench --purpose news --wording-file "$DATA/wording.txt" --quiet
}
start=$(date +%s.%N)
run 2> "$DATA/time1"
first_s=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
run 2> "$DATA/time2" | head -2
again_s=$(echo "$(date +%s.%N) - $start" | bc)
echo "rows=$ROWS first_s=$first_s rate=$(echo "$ROWS / $first_s" | bc)/s ($(cat "$DATA/time1"))"
echo "again_s=$again_s rate=$(echo "$ROWS / $again_s" | bc)/s ($(cat "$DATA/time2"))"
"$BIN" --data-dir "$DATA" ledger verify
echo "app_db_bytes=$(du -b "$DATA/app.sqlite3" | cut -f1)"
