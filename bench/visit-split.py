"""What storing visit attributes once per visit would cost queries: splits a copy of a Tillit event
store into an event table and a visit table (one row per session), joins them again in a view, and
times the same raw-event queries on the flat table and on the view (one DuckDB thread, as Tillit
runs it; best of three). Planning data only: Tillit's schema is not changed by this.

usage: pip install duckdb && python3 bench/visit-split.py DATA_DIR
       (DATA_DIR as filled by `tillit-gen DATA_DIR 1 10000000 30`; its events.duckdb is copied)
"""
import os
import shutil
import sys
import tempfile
import time

import duckdb

SLIM = ("site_id, ts, name, hostname, pathname, visitor_id, session_id, interactive, prop_keys, prop_values, "
        "revenue_milli, revenue_currency, scroll_depth, engagement_ms, import_key, bounce_delta, duration_delta, "
        "entry_page")
VISIT = ("referrer, source, channel, utm_medium, utm_source, utm_campaign, utm_content, utm_term, click_id, "
         "device, browser, browser_version, os, os_version, country, region, city, city_geoname_id, region_name")
QUERIES = {
    "aggregate": "SELECT count(DISTINCT visitor_id), count(*) FILTER (WHERE name = 'pageview'), sum(bounce_delta) "
                 "FROM {t} WHERE site_id = 1 AND ts BETWEEN {lo} AND {hi}",
    "top sources": "SELECT source, count(DISTINCT visitor_id) v FROM {t} WHERE site_id = 1 AND ts BETWEEN {lo} AND {hi} "
                   "GROUP BY source ORDER BY v DESC LIMIT 10",
    "top pages": "SELECT pathname, count(DISTINCT visitor_id) v, count(*) FROM {t} WHERE site_id = 1 "
                 "AND ts BETWEEN {lo} AND {hi} AND name = 'pageview' GROUP BY pathname ORDER BY v DESC LIMIT 10",
    "pages, one source": "SELECT pathname, count(DISTINCT visitor_id) v FROM {t} WHERE site_id = 1 "
                         "AND ts BETWEEN {lo} AND {hi} AND name = 'pageview' AND source = 'Google' "
                         "GROUP BY pathname ORDER BY v DESC LIMIT 10",
    "countries, last day": "SELECT country, count(DISTINCT visitor_id) v FROM {t} WHERE site_id = 1 "
                           "AND ts >= {hi} - 86400 GROUP BY country ORDER BY v DESC LIMIT 10",
    "daily series": "SELECT ts // 86400 d, count(DISTINCT visitor_id), count(*) FROM {t} WHERE site_id = 1 "
                    "AND ts BETWEEN {lo} AND {hi} GROUP BY d ORDER BY d",
}


def best_ms(conn, sql):
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 bench/visit-split.py DATA_DIR")
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "events.duckdb")
        shutil.copy(os.path.join(sys.argv[1], "events.duckdb"), path)
        conn = duckdb.connect(path)
        conn.execute("SET threads = 1")
        events, visits, lo, hi = conn.execute(
            "SELECT count(*), count(DISTINCT session_id), min(ts), max(ts) FROM events").fetchone()
        print(f"duckdb {duckdb.__version__}: {events} events in {visits} visits")
        conn.execute(f"CREATE TABLE events_only AS SELECT {SLIM} FROM events ORDER BY ts")
        firsts = ", ".join(f"any_value({c}) AS {c}" for c in VISIT.split(", "))
        conn.execute(f"CREATE TABLE visits AS SELECT session_id, {firsts} FROM events GROUP BY session_id")
        conn.execute("CREATE VIEW joined AS SELECT * FROM events_only JOIN visits USING (session_id)")
        for name, sql in QUERIES.items():
            flat = best_ms(conn, sql.format(t="events", lo=lo, hi=hi))
            joined = best_ms(conn, sql.format(t="joined", lo=lo, hi=hi))
            print(f"{name:<20} flat {flat:7.0f} ms   split and joined {joined:7.0f} ms")


main()
