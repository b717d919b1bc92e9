//! Geolocation from a MaxMind-format database (GeoLite2 or DB-IP Lite, country or city).
//!
//! The IP address is used for the lookup and then forgotten; only country, region and city leave
//! this module. Without a database every visit's location is unknown, and the health endpoint says so.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

/// Where a visitor is, as far as the database knows. Empty strings mean unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ISO 3166-2, e.g. `DE-BE`.
    pub region: String,
    /// The region's English name, e.g. `Berlin`.
    pub region_name: String,
    pub city: String,
    pub city_geoname_id: u32,
}

/// An opened geolocation database.
pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
    description: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot open geolocation database {path}: {reason}")]
pub struct GeoError {
    path: String,
    reason: String,
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    country: Option<Country>,
    #[serde(default)]
    subdivisions: Option<Vec<Subdivision>>,
    #[serde(default)]
    city: Option<City>,
}

#[derive(Deserialize)]
struct Country {
    #[serde(default)]
    iso_code: Option<String>,
}

#[derive(Deserialize)]
struct Subdivision {
    #[serde(default)]
    iso_code: Option<String>,
    #[serde(default)]
    names: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct City {
    #[serde(default)]
    geoname_id: Option<u32>,
    #[serde(default)]
    names: Option<BTreeMap<String, String>>,
}

impl GeoDb {
    pub fn open(path: &Path) -> Result<GeoDb, GeoError> {
        let err = |reason: String| GeoError { path: path.display().to_string(), reason };
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| err(e.to_string()))?;
        let description = format!("{} ({})", reader.metadata().database_type, path.display());
        Ok(GeoDb { reader, description })
    }

    /// What the database is, for the health endpoint.
    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn lookup(&self, ip: IpAddr) -> Location {
        let Ok(result) = self.reader.lookup(ip) else { return Location::default() };
        let Ok(Some(record)) = result.decode::<Record>() else { return Location::default() };
        let country = record
            .country
            .and_then(|c| c.iso_code)
            // Placeholder codes mean "unknown" (ZZ, XX) or are not countries (T1: Tor; EU, AP).
            .filter(|c| c.len() == 2 && !matches!(c.as_str(), "ZZ" | "XX" | "T1" | "EU" | "AP"))
            .unwrap_or_default();
        let (region, region_name) = match record.subdivisions.and_then(|s| s.into_iter().next()) {
            Some(sub) if !country.is_empty() => (
                sub.iso_code.map(|code| format!("{country}-{code}")).unwrap_or_default(),
                sub.names.and_then(|mut n| n.remove("en")).unwrap_or_default(),
            ),
            _ => (String::new(), String::new()),
        };
        let (city, city_geoname_id) = match record.city {
            Some(c) => (c.names.and_then(|mut n| n.remove("en")).unwrap_or_default(), c.geoname_id.unwrap_or(0)),
            None => (String::new(), 0),
        };
        Location { country, region, region_name, city, city_geoname_id }
    }
}

/// Test support: writes a small MaxMind-format database (city level) mapping IPv4 networks to
/// locations, as tests elsewhere need one too.
#[cfg(test)]
pub(crate) mod testdb {
    use std::collections::BTreeMap;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::path::Path;

    use maxminddb_writer::Database;
    use maxminddb_writer::metadata::IpVersion;
    use maxminddb_writer::paths::IpAddrWithMask;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Rec {
        country: BTreeMap<&'static str, &'static str>,
        subdivisions: Vec<Sub>,
        city: City,
    }

    #[derive(Serialize)]
    struct Sub {
        iso_code: &'static str,
        names: BTreeMap<&'static str, &'static str>,
    }

    #[derive(Serialize)]
    struct City {
        geoname_id: u32,
        names: BTreeMap<&'static str, &'static str>,
    }

    /// `networks`: (IPv4 network, prefix length, country, subdivision, city, geoname id). The
    /// subdivision's English name is `Berlin` for `BE`, `Oslo` for `03`, else none.
    pub fn write(path: &Path, networks: &[(Ipv4Addr, u8, &'static str, &'static str, &'static str, u32)]) {
        let mut db = Database::default();
        db.metadata.ip_version = IpVersion::V6;
        db.metadata.binary_format_major_version = 2;
        db.metadata.database_type = "Tillit-Test-City".into();
        db.metadata.languages = vec!["en".into()];
        for (net, len, country, sub, city, id) in networks {
            let rec = Rec {
                country: BTreeMap::from([("iso_code", *country)]),
                subdivisions: vec![Sub {
                    iso_code: sub,
                    names: match *sub {
                        "BE" => BTreeMap::from([("en", "Berlin")]),
                        "03" => BTreeMap::from([("en", "Oslo")]),
                        _ => BTreeMap::new(),
                    },
                }],
                city: City { geoname_id: *id, names: BTreeMap::from([("en", *city)]) },
            };
            let data = db.insert_value(rec).unwrap();
            // IPv4 lives at ::a.b.c.d in an IPv6 tree.
            let v6 = Ipv6Addr::from(u128::from(u32::from(*net)));
            db.insert_node(IpAddrWithMask::new(IpAddr::V6(v6), 96 + len), data);
        }
        let file = std::fs::File::create(path).unwrap();
        db.write_to(std::io::BufWriter::new(file)).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_country_region_and_city() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("test.mmdb");
        testdb::write(&path, &[("5.1.0.0".parse().unwrap(), 16, "DE", "BE", "Berlin", 2_950_159)]);
        let db = GeoDb::open(&path).unwrap();
        let loc = db.lookup("5.1.2.3".parse().unwrap());
        assert_eq!(
            loc,
            Location {
                country: "DE".into(),
                region: "DE-BE".into(),
                region_name: "Berlin".into(),
                city: "Berlin".into(),
                city_geoname_id: 2_950_159
            }
        );
        assert_eq!(db.lookup("9.9.9.9".parse().unwrap()), Location::default());
        assert!(db.description().contains("Tillit-Test-City"));
        assert!(GeoDb::open(&tmp.path().join("missing.mmdb")).is_err());
    }
}
