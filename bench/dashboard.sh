#!/usr/bin/env bash
# Dashboard benchmark: server time and weight of a site's dashboard page (`/sites/DOMAIN`, last
# 30 days: top stats with comparison, graph, the first tab of every panel, goals, properties,
# funnels) over the query benchmark's store of
# N synthetic events, signed in as an analyst.
#
# usage: bench/dashboard.sh [EVENTS=10000000] [RUNS=10]
# env:   GOALS=1  give the site three goals first (a custom event and two pageview wildcards), as a
#                 site with conversions has; they stay in the store for later runs.
# Reuses (or generates, through bench/query.sh's layout) /tmp/tillit-query-bench-v2-EVENTS.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-10000000}
RUNS=${2:-10}
PORT=${PORT:-8094}
. bench/store.sh
if [ "${GOALS:-0}" = 1 ]; then add_goals; fi
serve_signed_in "$PORT"
times=()
for i in $(seq 1 "$RUNS"); do
  out=$(curl -s -o /dev/null -b "$JAR" -w '%{http_code} %{time_total} %{size_download}' "$BASE/sites/shop.test?period=30d")
  read -r code t size <<<"$out"
  [ "$code" = 200 ] || { echo "dashboard answered $code" >&2; exit 1; }
  times+=("$t")
done
css=$(curl -s -o /dev/null -w '%{size_download}' "$BASE/assets/app.css")
js=$(curl -s -o /dev/null -w '%{size_download}' "$BASE/assets/app.js")
printf '%s\n' "${times[@]}" | sort -n | awk -v runs="$RUNS" -v size="$size" -v css="$css" -v js="$js" '
  { t[NR] = $1 * 1000 }
  END { printf "dashboard /sites/shop.test (30d): p50 %.0f ms, min %.0f ms, max %.0f ms over %d runs; HTML %d bytes + CSS %d bytes + JS %d bytes = %d bytes\n", t[int((NR + 1) / 2)], t[1], t[NR], runs, size, css, js, size + css + js }'
echo "rss_peak_mb=$(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 ))"
