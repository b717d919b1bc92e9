"""What a per-visit table would give a filtered dashboard: builds one row per visit (visitor,
start, duration, pageviews, events, bounce, visit attributes) from a copy of a Tillit event store's
events, sorted by day, source and country, reports its size, and times the visit panels of
filtered views on it against the same from the events (one DuckDB thread and 512 MB, as Tillit
runs it). Planning data only: Tillit's schema is not changed by this.

usage: pip install duckdb==1.5.5 && python3 bench/visit-table.py DATA_DIR
       (DATA_DIR as filled by bench/store.sh; its events.duckdb is read, not changed)
"""
import os
import sys
import tempfile
import time

import duckdb

src = os.path.join(sys.argv[1], "events.duckdb")
dst = os.path.join(tempfile.mkdtemp(), "visits.duckdb")
con = duckdb.connect(dst)
con.execute("SET threads=1"); con.execute("SET memory_limit='512MB'")
con.execute(f"ATTACH '{src}' AS ev (READ_ONLY)")
lo, hi = con.execute("SELECT min(ts), max(ts)+1 FROM ev.events").fetchone()
t=time.perf_counter()
con.execute("""CREATE TABLE visits AS SELECT site_id, ts // 86400 AS day, session_id, any_value(visitor_id) AS visitor_id,
  min(ts) AS start, max(ts) - min(ts) AS duration,
  count(*) FILTER (WHERE name = 'pageview') AS pageviews, count(*) AS events,
  count(*) FILTER (WHERE interactive) <= 1 AS bounce,
  max(entry_page) AS entry_page, any_value(source) AS source, any_value(referrer) AS referrer, any_value(channel) AS channel,
  any_value(utm_medium) AS utm_medium, any_value(utm_source) AS utm_source, any_value(utm_campaign) AS utm_campaign,
  any_value(utm_content) AS utm_content, any_value(utm_term) AS utm_term, any_value(device) AS device, any_value(browser) AS browser,
  any_value(browser_version) AS browser_version, any_value(os) AS os, any_value(os_version) AS os_version,
  any_value(country) AS country, any_value(region) AS region, any_value(city) AS city, any_value(city_geoname_id) AS city_geoname_id
  FROM ev.events WHERE name <> 'engagement' GROUP BY ALL ORDER BY site_id, day, source, country""".replace("GROUP BY ALL", "GROUP BY site_id, day, session_id"))
print(f"built visits in {time.perf_counter()-t:.1f} s, rows {con.execute('SELECT count(*) FROM visits').fetchone()[0]}")
con.execute("CHECKPOINT")
con.close()
print("file bytes", os.path.getsize(dst))
con = duckdb.connect(dst, read_only=True)
con.execute("SET threads=1"); con.execute("SET memory_limit='512MB'")
con.execute(f"ATTACH '{src}' AS ev (READ_ONLY)")
W = f"site_id = 1 AND start >= {lo} AND start < {hi}"
EW = f"site_id = 1 AND ts >= {lo} AND ts < {hi}"
def q(label, sql, n=3):
    ts=[]
    for _ in range(n):
        s=time.perf_counter(); r=con.execute(sql).fetchall(); ts.append((time.perf_counter()-s)*1000)
    ts.sort(); print(f"{label:<50} {ts[len(ts)//2]:7.1f} ms  {r[0] if r else None}", flush=True)
q("top stats, source=Google (visits)", f"SELECT count(DISTINCT visitor_id), count(*), sum(pageviews), avg(bounce::INT), avg(duration) FROM visits WHERE {W} AND source='Google'")
q("countries, source=Google (visits)", f"SELECT country, count(DISTINCT visitor_id) v FROM visits WHERE {W} AND source='Google' GROUP BY 1 ORDER BY 2 DESC LIMIT 9")
q("browsers, source=Google (visits)", f"SELECT browser, count(DISTINCT visitor_id) v FROM visits WHERE {W} AND source='Google' GROUP BY 1 ORDER BY 2 DESC LIMIT 9")
q("entry pages visitors+visits, source=Google (visits)", f"SELECT entry_page, count(DISTINCT visitor_id) v, count(*) FROM visits WHERE {W} AND source='Google' GROUP BY 1 ORDER BY 2 DESC LIMIT 9")
q("sources+bounce, country=DE (visits)", f"SELECT source, count(DISTINCT visitor_id) v, avg(bounce::INT) FROM visits WHERE {W} AND country='DE' GROUP BY 1 ORDER BY 2 DESC LIMIT 9")
q("sources+bounce, device=Mobile (visits)", f"SELECT source, count(DISTINCT visitor_id) v, avg(bounce::INT) FROM visits WHERE {W} AND device='Mobile' GROUP BY 1 ORDER BY 2 DESC LIMIT 9")
q("sources+bounce, page=/ (events semi-join visits)", f"SELECT source, count(DISTINCT visitor_id) v, avg(bounce::INT) FROM visits WHERE {W} AND session_id IN (SELECT session_id FROM ev.events WHERE {EW} AND name='pageview' AND pathname='/') GROUP BY 1 ORDER BY 2 DESC LIMIT 9")
q("countries, source=Google (from the events)", f"SELECT country, count(DISTINCT visitor_id) v FROM ev.events WHERE {EW} AND name<>'engagement' AND source='Google' GROUP BY 1 ORDER BY 2 DESC LIMIT 9")
