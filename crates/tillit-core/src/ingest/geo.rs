//! Geolocation from a MaxMind-format database (GeoLite2 or DB-IP Lite, country or city).
//!
//! The IP address is used for the lookup and then forgotten; only country, region and city leave
//! this module. Without a configured database the built-in one names countries: DB-IP's IP to
//! Country Lite (CC BY 4.0, `data/dbip-country-lite.md`), compiled into the binary, so a new install
//! shows locations without set-up. A configured city database replaces it.

use std::borrow::Cow;
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

/// DB-IP's IP to Country Lite database, in MaxMind format (records hold `country_code` only).
static BUILTIN_COUNTRY_DB: &[u8] = include_bytes!("../../data/dbip-country-lite.mmdb");

/// The attribution DB-IP's licence asks for wherever locations from the built-in database are shown.
pub const BUILTIN_ATTRIBUTION: &str = "IP Geolocation by DB-IP";
/// Where the attribution links to.
pub const BUILTIN_ATTRIBUTION_URL: &str = "https://db-ip.com";

/// An opened geolocation database.
pub struct GeoDb {
    reader: maxminddb::Reader<Cow<'static, [u8]>>,
    description: String,
    builtin: bool,
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
    /// DB-IP Lite in ip-location-db's layout: the country code at the top level.
    #[serde(default)]
    country_code: Option<String>,
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
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let reader = maxminddb::Reader::from_source(Cow::Owned(bytes)).map_err(|e| err(e.to_string()))?;
        let description = format!("{} ({})", reader.metadata().database_type, path.display());
        Ok(GeoDb { reader, description, builtin: false })
    }

    /// The built-in country database (DB-IP Lite), read in place from the binary.
    pub fn builtin() -> Result<GeoDb, GeoError> {
        let reader = maxminddb::Reader::from_source(Cow::Borrowed(BUILTIN_COUNTRY_DB))
            .map_err(|e| GeoError { path: "(built in)".into(), reason: e.to_string() })?;
        let built = jiff::Timestamp::from_second(reader.metadata().build_epoch as i64)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y-%m").to_string())
            .unwrap_or_default();
        let description = format!("built-in DB-IP IP to Country Lite ({built}), countries only");
        Ok(GeoDb { reader, description, builtin: true })
    }

    /// What the database is, for the health endpoint.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether this is the built-in database, whose licence asks for [`BUILTIN_ATTRIBUTION`].
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    pub fn lookup(&self, ip: IpAddr) -> Location {
        let Ok(result) = self.reader.lookup(ip) else { return Location::default() };
        let Ok(Some(record)) = result.decode::<Record>() else { return Location::default() };
        let country = record
            .country
            .and_then(|c| c.iso_code)
            .or(record.country_code)
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

    #[test]
    fn the_builtin_database_names_countries() {
        let db = GeoDb::builtin().unwrap();
        assert!(db.is_builtin() && db.description().contains("DB-IP"));
        // Addresses long held by national operators: Telenor Norway, Deutsche Telekom.
        assert_eq!(db.lookup("84.208.0.1".parse().unwrap()).country, "NO");
        assert_eq!(db.lookup("80.128.0.1".parse().unwrap()).country, "DE");
        assert_eq!(db.lookup("2001:4600::1".parse().unwrap()).country, "NO");
        let private = db.lookup("10.1.2.3".parse().unwrap());
        assert_eq!(private, Location::default(), "no country for private addresses");
    }
}
