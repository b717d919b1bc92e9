# Sourced by bench/query.sh and bench/dashboard.sh: builds the binaries and sets BIN and DATA, a
# store of $EVENTS synthetic events over $DAYS (default 30) UTC days, today so far included, for
# one site (shop.test, Europe/Berlin), generated once and kept in $BENCH_DIR (default
# /tmp/tillit-query-bench-v2-EVENTS, with a -Nd suffix for other DAYS) for reuse.
# BIN_DIR=DIR runs the binaries in DIR instead of building (to compare an earlier build).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/tillit/target}
if [ -n "${BIN_DIR:-}" ]; then
  BIN=$BIN_DIR
else
  cargo build --release -q -p tillit -p tillit-bench
  BIN=$CARGO_TARGET_DIR/release
fi
DAYS=${DAYS:-30}
if [ "$DAYS" = 30 ]; then SUFFIX=""; else SUFFIX="-${DAYS}d"; fi
DATA=${BENCH_DIR:-/tmp/tillit-query-bench-v2-$EVENTS$SUFFIX}
if [ ! -f "$DATA/.complete" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  "$BIN/tillit" --data-dir "$DATA" site add shop.test --timezone Europe/Berlin >/dev/null
  "$BIN/tillit-gen" "$DATA" 1 "$EVENTS" "$DAYS"
  touch "$DATA/.complete"
fi
