# Sourced by bench/query.sh, bench/dashboard.sh and bench/views.sh: builds the binaries and sets BIN and DATA, a
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

# Listings are read whole before grep looks at them: `grep -q` closes the pipe early, which ends
# the listing with status 141 and, under `pipefail`, fails the test.
has_line() { local all; all=$("$@"); grep -q -- "$WANT" <<<"$all"; }

# add_goals: the site's three goals (a custom event and two pageview wildcards), as a site with
# conversions has; they stay in the store for later runs.
add_goals() {
  if ! WANT=Signup has_line "$BIN/tillit" --data-dir "$DATA" goal list --site shop.test; then
    "$BIN/tillit" --data-dir "$DATA" goal add --site shop.test --event Signup >/dev/null
    "$BIN/tillit" --data-dir "$DATA" goal add --site shop.test --page '/products/**' >/dev/null
    "$BIN/tillit" --data-dir "$DATA" goal add --site shop.test --page '/docs/**' >/dev/null
  fi
}

# serve_signed_in PORT: starts `tillit serve` on the store (pid in PID, log in LOG, URL in BASE),
# waits for it and for its day roll-ups, and signs an analyst in (cookies in JAR). The EXIT trap
# stops the server; a caller that sets its own must do that too.
serve_signed_in() {
  local email=bench-analyst@shop.test pass=bench-analyst-password
  WANT=$email has_line "$BIN/tillit" --data-dir "$DATA" user list --json \
    || printf '%s' "$pass" | "$BIN/tillit" --data-dir "$DATA" user add "$email" --role analyst --password-stdin >/dev/null
  LOG=$(mktemp); JAR=$(mktemp)
  TILLIT_LOG=${TILLIT_LOG:-info} "$BIN/tillit" --data-dir "$DATA" serve --listen "127.0.0.1:$1" >"$LOG" 2>&1 &
  PID=$!
  trap 'kill $PID 2>/dev/null || true; rm -f "$LOG" "$JAR"' EXIT
  BASE="http://127.0.0.1:$1"
  for _ in $(seq 1 300); do curl -fs "$BASE/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
  for _ in $(seq 1 3600); do grep -q "built day roll-ups\|roll-ups up to date" "$LOG" && break; sleep 1; done
  grep -o "built day roll-ups.*\|roll-ups up to date.*" "$LOG" | head -1 || echo "roll-ups: not finished after an hour"
  curl -s -o /dev/null -c "$JAR" -H "Origin: $BASE" --data-urlencode "email=$email" --data-urlencode "password=$pass" "$BASE/login"
}
