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
        let description = format!("{} ({})", reader.metadata.database_type, path.display());
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
        let region = record
            .subdivisions
            .and_then(|s| s.into_iter().next())
            .and_then(|s| s.iso_code)
            .filter(|_| !country.is_empty())
            .map(|code| format!("{country}-{code}"))
            .unwrap_or_default();
        let (city, city_geoname_id) = match record.city {
            Some(c) => (c.names.and_then(|mut n| n.remove("en")).unwrap_or_default(), c.geoname_id.unwrap_or(0)),
            None => (String::new(), 0),
        };
        Location { country, region, city, city_geoname_id }
    }
}
