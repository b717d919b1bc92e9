//! The stored shape of one analytics event, shared by the ingest log and every event-store backend.
//!
//! A record holds no personal data: no IP address, no user agent, no query string beyond campaign
//! parameters. `visitor_id` is a keyed hash under a salt that is destroyed within 48 hours (see
//! [`visitor_id`] for its layout).

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
    /// How this event changed its visit's totals (zero for engagement events).
    #[serde(default, skip_serializing_if = "VisitDelta::is_zero")]
    pub visit: VisitDelta,
}

/// How one event changed the totals of its visit: a visit's bounce, duration and count are the
/// sums of these over its events, so a range holding whole visits (a UTC day, or today so far)
/// gets its visit metrics from one pass over the events, without grouping them by visit.
///
/// The sums telescope: each event adds the difference between the visit's value after it and
/// before it, so they are right in whatever order the events are stored.
///
/// `starts` is true exactly when `bounce` is 1: one event makes a visit a bounce, and later ones can
/// only end that. Stores keep `bounce` and `duration` only ([`VisitDelta::from_stored`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitDelta {
    /// The visit's first (non-engagement) event.
    #[serde(default, rename = "vs", skip_serializing_if = "std::ops::Not::not")]
    pub starts: bool,
    /// Change of "the visit is a bounce" (at most one interactive event): −1, 0 or 1.
    #[serde(default, rename = "vb", skip_serializing_if = "is_zero_i8")]
    pub bounce: i8,
    /// Change of the visit's duration (its last event's time minus its first's), seconds.
    #[serde(default, rename = "vd", skip_serializing_if = "is_zero_i32")]
    pub duration: i32,
}

fn is_zero_i8(v: &i8) -> bool {
    *v == 0
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

impl VisitDelta {
    pub fn is_zero(&self) -> bool {
        *self == VisitDelta::default()
    }

    /// The delta a store kept as its bounce and duration parts.
    pub fn from_stored(bounce: i8, duration: i32) -> VisitDelta {
        VisitDelta { starts: bounce == 1, bounce, duration }
    }
}

/// What a visit's deltas are computed from: its non-engagement events so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VisitState {
    first: i64,
    last: i64,
    interactive: u32,
}

impl VisitState {
    /// The state after a visit's first event, and that event's delta.
    pub fn start(ts: i64, interactive: bool) -> (VisitState, VisitDelta) {
        let state = VisitState { first: ts, last: ts, interactive: u32::from(interactive) };
        (state, VisitDelta { starts: true, bounce: i8::from(state.is_bounce()), duration: 0 })
    }

    /// Adds a later event of the visit; returns its delta.
    pub fn add(&mut self, ts: i64, interactive: bool) -> VisitDelta {
        let before = *self;
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
        self.interactive = self.interactive.saturating_add(u32::from(interactive));
        VisitDelta {
            starts: false,
            bounce: i8::from(self.is_bounce()) - i8::from(before.is_bounce()),
            // A visit lasts at most one UTC day, so the difference fits.
            duration: i32::try_from(self.duration() - before.duration()).unwrap_or(i32::MAX),
        }
    }

    fn is_bounce(&self) -> bool {
        self.interactive <= 1
    }

    fn duration(&self) -> i64 {
        self.last - self.first
    }
}

/// How many bits of a visitor's keyed hash its id keeps.
///
/// Why not all 64: the id is the widest column per event, and random 64-bit values do not
/// compress (8.5 bytes per event stored). With the UTC day in the high bits, the ids of one row
/// group differ only in their low 36 bits, which the store bit-packs to ~4.7 bytes. The cost is
/// collisions: two visitors of one site and day share an id with probability 2^-36 per pair, so a
/// site with a million visitors a day counts about 7 pairs of them as one visitor each (0.0007 %).
pub const VISITOR_HASH_BITS: u32 = 36;

/// A visitor id: the UTC day since the epoch above, the top [`VISITOR_HASH_BITS`] bits of the
/// keyed hash below. Ids of different days never collide, which the day roll-ups rely on (the
/// distinct visitors of two days add up).
pub fn visitor_id(day: i64, hash: u64) -> u64 {
    // 19 bits of day cover the years 1970–3405; earlier or later days wrap, harmlessly.
    let day = (day as u64) & ((1 << (64 - VISITOR_HASH_BITS - 9)) - 1);
    (day << VISITOR_HASH_BITS) | (hash >> (64 - VISITOR_HASH_BITS))
}

/// Whether an event counts towards its visit's totals (engagement events do not).
pub fn counts_for_visit(name: &str) -> bool {
    name != "engagement"
}

/// Sets the visit deltas of events given in any order, as the session tracker would have: per
/// visit, in time order. For stores and tests that write records without going through ingest.
pub fn fill_visit_deltas(records: &mut [EventRecord]) {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| (records[i].session_id, records[i].ts));
    let mut state: Option<(u64, VisitState)> = None;
    for i in order {
        let r = &mut records[i];
        if !counts_for_visit(&r.name) {
            r.visit = VisitDelta::default();
            continue;
        }
        r.visit = match &mut state {
            Some((sid, s)) if *sid == r.session_id => s.add(r.ts, r.interactive),
            _ => {
                let (s, delta) = VisitState::start(r.ts, r.interactive);
                state = Some((r.session_id, s));
                delta
            }
        };
    }
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
