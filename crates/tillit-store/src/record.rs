//! The stored shape of one analytics event, shared by the ingest log and every event-store backend.
//!
//! A record holds no personal data: no IP address, no user agent, no query string beyond campaign
//! parameters. `visitor_id` is a keyed hash under a salt that is destroyed within 48 hours.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One event as it is written to disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub site_id: u32,
    /// Seconds since the Unix epoch, UTC, as seen by the server (client clocks are never trusted).
    pub ts: i64,
    pub name: String,
    pub hostname: String,
    pub pathname: String,
    pub visitor_id: u64,
    pub session_id: u64,
    pub interactive: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<Revenue>,
    /// Engagement events only: maximum scroll depth in percent (0..=100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scroll_depth: Option<u8>,
    /// Engagement events only: engaged time in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement_ms: Option<u32>,
    /// Visit attributes, fixed by the first event of the session and stored with every event of it.
    /// Shared: all events of a session point at one interned set, so a record costs no copies.
    #[serde(with = "shared_attrs")]
    pub session: Arc<SessionAttrs>,
    /// Set for imported events: a key that makes re-importing the same line a no-op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_key: Option<u64>,
}

/// Revenue attached to a conversion, in thousandths of the currency unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revenue {
    pub amount_milli: i64,
    pub currency: String,
}

/// The attributes of a visit. Empty strings mean "not set".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionAttrs {
    pub entry_page: String,
    pub referrer: String,
    pub source: String,
    pub channel: String,
    pub utm_medium: String,
    pub utm_source: String,
    pub utm_campaign: String,
    pub utm_content: String,
    pub utm_term: String,
    /// The first click-id parameter seen (`gclid`, `fbclid`, …); its value is discarded.
    pub click_id: String,
    pub device: String,
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    pub country: String,
    pub region: String,
    pub city: String,
    pub city_geoname_id: u32,
    /// The region's English name (`region` is its ISO 3166-2 code). Absent from older log records.
    #[serde(default)]
    pub region_name: String,
}

/// (De)serialises the shared attribute set as a plain one (serde's `rc` feature, without it).
mod shared_attrs {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::SessionAttrs;

    pub fn serialize<S: Serializer>(attrs: &Arc<SessionAttrs>, s: S) -> Result<S::Ok, S::Error> {
        attrs.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<SessionAttrs>, D::Error> {
        SessionAttrs::deserialize(d).map(Arc::new)
    }
}
