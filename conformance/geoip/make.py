#!/usr/bin/env python3
"""Writes test-city.mmdb: the few networks Plausible's Events API tests look up in its test
geolocation database (MaxMind's GeoIP2 City test data, plus the placeholder codes Plausible's
tests add), in MaxMind's city format. The conformance runner gives it to the server.

Usage: pip install mmdb-writer netaddr && python3 make.py
"""
from mmdb_writer import MMDBWriter
from netaddr import IPSet

NETWORKS = [
    # (network, country, subdivision code, subdivision name, city, GeoNames id)
    ("2.125.160.216/29", "GB", "ENG", "England", "Boxford", 2655045),
    ("216.160.83.56/29", "US", "WA", "Washington", "Milton", 5803556),
    ("2001:218::/32", "JP", None, None, None, None),
    ("0.0.0.0/32", "ZZ", None, None, None, None),
    ("0.0.0.1/32", "XX", None, None, None, None),
    ("0.0.0.2/32", "T1", None, None, None, None),
]

w = MMDBWriter(ip_version=6, database_type="Tillit-Conformance-City", languages=["en"],
               description="Test networks of Plausible's Events API tests", ipv4_compatible=True)
for net, country, sub, sub_name, city, geoname in NETWORKS:
    record = {"country": {"iso_code": country}}
    if sub:
        record["subdivisions"] = [{"iso_code": sub, "names": {"en": sub_name}}]
    if city:
        record["city"] = {"geoname_id": geoname, "names": {"en": city}}
    w.insert_network(IPSet([net]), record)
w.to_db_file("test-city.mmdb")
