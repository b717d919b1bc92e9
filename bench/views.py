"""Times dashboard views, filtered and not, against a running Tillit (used by bench/views.sh).

For each view (a period and Plausible v1 filters, as a click on the dashboard makes them) it times
the whole dashboard page as an analyst opens it, then the eight Stats API queries the page's
panels stand for (top stats with comparison, graph, sources, pages, entry pages, countries,
browsers, goals), each alone (p50, max) and all eight at once.

usage: views.py BASE KEY COOKIE_JAR RUNS [VIEW_LABEL...]
"""
import concurrent.futures
import http.cookiejar
import json
import statistics
import sys
import time
import urllib.parse
import urllib.error
import urllib.request

BASE, KEY, JAR, RUNS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ONLY = set(sys.argv[5:])

# (label, period, v1 filters). Filter values exist in tillit-gen's data.
VIEWS = [
    ("30d", "30d", ""),
    ("30d source", "30d", "visit:source==Google"),
    ("30d country", "30d", "visit:country==DE"),
    ("30d device", "30d", "visit:device==Mobile"),
    ("30d entry page", "30d", "visit:entry_page==/"),
    ("30d page", "30d", "event:page==/"),
    ("30d goal", "30d", "event:goal==Signup"),
    ("30d prop", "30d", "event:props:plan==pro"),
    ("30d source+country", "30d", "visit:source==Google;visit:country==DE"),
    ("30d source+page", "30d", "visit:source==Google;event:page==/"),
    ("12mo", "12mo", ""),
    ("12mo source", "12mo", "visit:source==Google"),
    ("all", "all", ""),
    ("all page", "all", "event:page==/"),
]

PANELS = {
    "top stats+compare": "aggregate?metrics=visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration"
    "&compare=previous_period",
    "graph": "timeseries?metrics=visitors,pageviews",
    "sources": "breakdown?property=visit:source&metrics=visitors,bounce_rate&limit=9",
    "pages": "breakdown?property=event:page&metrics=visitors,pageviews&limit=9",
    "entry pages": "breakdown?property=visit:entry_page&metrics=visitors,visits&limit=9",
    "countries": "breakdown?property=visit:country&metrics=visitors&limit=9",
    "browsers": "breakdown?property=visit:browser&metrics=visitors&limit=9",
    "goals": "breakdown?property=event:name&metrics=visitors,events&limit=9",
}

cookies = http.cookiejar.MozillaCookieJar(JAR)
cookies.load(ignore_discard=True, ignore_expires=True)
browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))


def api(url):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + KEY})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=300) as res:
            json.loads(res.read())
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{url} answered {e.code}: {e.read()[:300]!r}") from e
    return (time.perf_counter() - start) * 1000


def page(url):
    start = time.perf_counter()
    with browser.open(url, timeout=300) as res:
        if res.status != 200:
            raise SystemExit(f"dashboard answered {res.status}")
        res.read()
    return (time.perf_counter() - start) * 1000


def p50(xs):
    return statistics.median(xs)


for label, period, filters in VIEWS:
    if ONLY and label not in ONLY:
        continue
    common = "site_id=shop.test&period=" + period
    dash = BASE + "/sites/shop.test?period=" + period
    if filters:
        enc = urllib.parse.quote(filters, safe="")
        common += "&filters=" + enc
        dash += "&filters=" + enc
    page(dash)  # warm-up
    pages = [page(dash) for _ in range(RUNS)]
    if period == "all":
        # Plausible's v1 API has no `all` period: the page alone.
        print(f"{label:<20} page p50 {p50(pages):7.0f} ms (max {max(pages):6.0f})", flush=True)
        continue
    urls = {name: BASE + "/api/v1/stats/" + path + "&" + common for name, path in PANELS.items()}
    if "event:goal" in filters or "event:props" in filters:
        # Visit metrics cannot be asked under a goal or property filter (Plausible answers 400):
        # the dashboard shows conversions there (for goals; a conversion rate needs one).
        shown = "visitors,events,conversion_rate" if "event:goal" in filters else "visitors,events"
        urls["top stats+compare"] = urls["top stats+compare"].replace(
            "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration", shown)
        urls["sources"] = urls["sources"].replace(",bounce_rate", "")
        urls["entry pages"] = urls["entry pages"].replace("visitors,visits", "visitors")
    if "event:page" in filters:
        # Views per visit mean nothing under a page filter (Plausible answers 400; the page leaves it out).
        urls["top stats+compare"] = urls["top stats+compare"].replace("views_per_visit,", "")
    alone = {}
    for name, url in urls.items():
        api(url)
        alone[name] = [api(url) for _ in range(RUNS)]
    walls = []
    for _ in range(RUNS):
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(urls)) as pool:
            list(pool.map(api, urls.values()))
        walls.append((time.perf_counter() - start) * 1000)
    worst = max(alone, key=lambda n: p50(alone[n]))
    print(
        f"{label:<20} page p50 {p50(pages):7.0f} ms (max {max(pages):6.0f})  8 panels at once p50 {p50(walls):7.0f} ms"
        f"  slowest panel {worst} p50 {p50(alone[worst]):6.0f} ms"
    )
    print("    " + "; ".join(f"{n} {p50(t):.0f}" for n, t in alone.items()), flush=True)
