"""Times the dashboard's queries against a running Tillit (used by bench/query.sh)."""
import concurrent.futures
import json
import statistics
import sys
import time
import os
import urllib.request

BASE, KEY, RUNS = sys.argv[1], sys.argv[2], int(sys.argv[3])
V1 = BASE + "/api/v1/stats/"
COMMON = "site_id=shop.test&period=" + os.environ.get("PERIOD", "30d")
QUERIES = {
    "aggregate+compare": V1 + "aggregate?" + COMMON
    + "&metrics=visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration&compare=previous_period",
    "timeseries": V1 + "timeseries?" + COMMON + "&metrics=visitors,pageviews",
    "sources": V1 + "breakdown?" + COMMON + "&property=visit:source&metrics=visitors,bounce_rate&limit=9",
    "pages": V1 + "breakdown?" + COMMON + "&property=event:page&metrics=visitors,pageviews&limit=9",
    "entry_pages": V1 + "breakdown?" + COMMON + "&property=visit:entry_page&metrics=visitors,visits&limit=9",
    "countries": V1 + "breakdown?" + COMMON + "&property=visit:country&metrics=visitors&limit=9",
    "browsers": V1 + "breakdown?" + COMMON + "&property=visit:browser&metrics=visitors&limit=9",
    "goals": V1 + "breakdown?" + COMMON + "&property=event:name&metrics=visitors,events&limit=9",
}
# Not part of the dashboard's first view: a filtered breakdown, which day roll-ups cannot answer
# (it scans the range's events), to show that path's cost too.
EXTRA = {
    "pages (filtered)": V1 + "breakdown?" + COMMON
    + "&property=event:page&metrics=visitors,pageviews&limit=9&filters=visit:source%3D%3DGoogle",
}


def fetch(url):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + KEY})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as res:
        body = json.loads(res.read())
    return time.perf_counter() - start, body


for name, url in {**QUERIES, **EXTRA}.items():
    fetch(url)  # warm-up
    times = [fetch(url)[0] * 1000 for _ in range(RUNS)]
    print(f"{name:<18} p50 {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms")

walls = []
for _ in range(RUNS):
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(QUERIES)) as pool:
        list(pool.map(fetch, QUERIES.values()))
    walls.append((time.perf_counter() - start) * 1000)
print(f"{'full dashboard':<18} p50 {statistics.median(walls):7.1f} ms   max {max(walls):7.1f} ms  (8 requests at once)")
