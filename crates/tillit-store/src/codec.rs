//! How event records are encoded in the ingest log.
//!
//! A log payload is the records of one request. Two encodings exist:
//! - **v1** (written now): the byte `0x01`, then a varint count and the records in a fixed field
//!   order (below). About a quarter of the JSON size, and encoded with one allocation: the log is
//!   written and checksummed on the hot path, and JSON's field names and escaping were a visible
//!   share of the ingest profile.
//! - **JSON** (written before v1): a JSON array of records, recognised by its leading `[`. Still
//!   read, so a log written by an older version replays after an upgrade.
//!
//! A change to [`EventRecord`] needs a new version byte here, with the old one still decoded: a log
//! may outlive the binary that wrote it. The `v1_layout_is_pinned` test fails on any change to the
//! bytes written.
//!
//! v1 record layout (varints are LEB128; signed ones zigzag; strings are a varint length and UTF-8):
//!
//! ```text
//! site_id varint | ts zigzag | name str | hostname str | pathname str | visitor_id u64 LE |
//! session_id u64 LE | flags u8 | props: count varint, (key str, value str)* |
//! [revenue: amount_milli zigzag, currency str] | [scroll_depth u8] | [engagement_ms varint] |
//! [import_key u64 LE] | visit.bounce i8 | visit.duration zigzag | session attrs: 18 str in
//! declaration order up to `city`, city_geoname_id varint, region_name str
//! ```
//!
//! Flags: bit 0 interactive, 1 revenue, 2 scroll depth, 3 engaged time, 4 import key, 5 the visit
//! starts here. Bracketed fields are present only when their flag is set.

use std::sync::Arc;

use crate::record::{EventRecord, Revenue, SessionAttrs, VisitDelta};

const V1: u8 = 1;

const INTERACTIVE: u8 = 1;
const HAS_REVENUE: u8 = 1 << 1;
const HAS_SCROLL: u8 = 1 << 2;
const HAS_ENGAGEMENT: u8 = 1 << 3;
const HAS_IMPORT_KEY: u8 = 1 << 4;
const VISIT_STARTS: u8 = 1 << 5;
const KNOWN_FLAGS: u8 = (1 << 6) - 1;

/// A payload that passed its checksum but does not decode: written by an incompatible version.
#[derive(Debug, thiserror::Error)]
#[error("undecodable log record: {0}")]
pub struct DecodeError(String);

/// Encodes the records of one request (v1).
pub fn encode(records: &[EventRecord]) -> Vec<u8> {
    // Strings plus a generous allowance for the numbers and lengths: one allocation, no regrowth.
    let size: usize = records.iter().map(|r| 96 + strings_len(r)).sum();
    let mut out = Vec::with_capacity(size + 11);
    out.push(V1);
    put_varint(&mut out, records.len() as u64);
    for r in records {
        encode_record(r, &mut out);
    }
    out
}

/// Decodes a payload written by [`encode`] or by an older, JSON-writing version.
pub fn decode(payload: &[u8]) -> Result<Vec<EventRecord>, DecodeError> {
    match payload.first() {
        Some(&V1) => {
            let mut r = Reader { bytes: &payload[1..] };
            let count = r.varint()?;
            // Each record takes well over 16 bytes, so a corrupt count cannot reserve much.
            let mut records = Vec::with_capacity((count as usize).min(r.bytes.len() / 16));
            for _ in 0..count {
                records.push(r.record()?);
            }
            if !r.bytes.is_empty() {
                return Err(DecodeError(format!("{} bytes after the last record", r.bytes.len())));
            }
            Ok(records)
        }
        Some(b'[') => serde_json::from_slice(payload).map_err(|e| DecodeError(e.to_string())),
        Some(v) => Err(DecodeError(format!("unknown encoding {v:#04x}"))),
        None => Err(DecodeError("empty payload".into())),
    }
}

fn strings_len(r: &EventRecord) -> usize {
    let s = &r.session;
    r.name.len()
        + r.hostname.len()
        + r.pathname.len()
        + r.props.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>()
        + r.revenue.as_ref().map_or(0, |rev| rev.currency.len())
        + attr_strings(s).iter().map(|a| a.len() + 1).sum::<usize>()
        + s.region_name.len()
}

/// The session attributes' strings up to `city`, in layout order.
fn attr_strings(s: &SessionAttrs) -> [&str; 18] {
    [
        &s.entry_page,
        &s.referrer,
        &s.source,
        &s.channel,
        &s.utm_medium,
        &s.utm_source,
        &s.utm_campaign,
        &s.utm_content,
        &s.utm_term,
        &s.click_id,
        &s.device,
        &s.browser,
        &s.browser_version,
        &s.os,
        &s.os_version,
        &s.country,
        &s.region,
        &s.city,
    ]
}

fn encode_record(r: &EventRecord, out: &mut Vec<u8>) {
    put_varint(out, u64::from(r.site_id));
    put_varint(out, zigzag(r.ts));
    put_str(out, &r.name);
    put_str(out, &r.hostname);
    put_str(out, &r.pathname);
    out.extend_from_slice(&r.visitor_id.to_le_bytes());
    out.extend_from_slice(&r.session_id.to_le_bytes());
    let flag = |on: bool, bit: u8| if on { bit } else { 0 };
    out.push(
        flag(r.interactive, INTERACTIVE)
            | flag(r.revenue.is_some(), HAS_REVENUE)
            | flag(r.scroll_depth.is_some(), HAS_SCROLL)
            | flag(r.engagement_ms.is_some(), HAS_ENGAGEMENT)
            | flag(r.import_key.is_some(), HAS_IMPORT_KEY)
            | flag(r.visit.starts, VISIT_STARTS),
    );
    put_varint(out, r.props.len() as u64);
    for (k, v) in &r.props {
        put_str(out, k);
        put_str(out, v);
    }
    if let Some(rev) = &r.revenue {
        put_varint(out, zigzag(rev.amount_milli));
        put_str(out, &rev.currency);
    }
    if let Some(depth) = r.scroll_depth {
        out.push(depth);
    }
    if let Some(ms) = r.engagement_ms {
        put_varint(out, u64::from(ms));
    }
    if let Some(key) = r.import_key {
        out.extend_from_slice(&key.to_le_bytes());
    }
    out.push(r.visit.bounce as u8);
    put_varint(out, zigzag(i64::from(r.visit.duration)));
    let s = &r.session;
    for a in attr_strings(s) {
        put_str(out, a);
    }
    put_varint(out, u64::from(s.city_geoname_id));
    put_str(out, &s.region_name);
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Reads v1 fields; every read is bounds-checked, so corrupt input is an error, never a panic.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.bytes.len() {
            return Err(DecodeError("truncated record".into()));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint longer than 64 bits".into()))
    }

    fn small<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T, DecodeError> {
        let v = self.varint()?;
        T::try_from(v).map_err(|_| DecodeError(format!("{what} out of range: {v}")))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let len: usize = self.small("string length")?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| DecodeError("string is not UTF-8".into()))
    }

    fn record(&mut self) -> Result<EventRecord, DecodeError> {
        let site_id = self.small("site id")?;
        let ts = unzigzag(self.varint()?);
        let name = self.string()?;
        let hostname = self.string()?;
        let pathname = self.string()?;
        let visitor_id = self.u64_le()?;
        let session_id = self.u64_le()?;
        let flags = self.byte()?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(DecodeError(format!("unknown flags {flags:#04x}")));
        }
        let n_props: usize = self.small("property count")?;
        let mut props = Vec::with_capacity(n_props.min(self.bytes.len() / 2));
        for _ in 0..n_props {
            props.push((self.string()?, self.string()?));
        }
        let revenue = if flags & HAS_REVENUE != 0 {
            Some(Revenue { amount_milli: unzigzag(self.varint()?), currency: self.string()? })
        } else {
            None
        };
        let scroll_depth = if flags & HAS_SCROLL != 0 { Some(self.byte()?) } else { None };
        let engagement_ms = if flags & HAS_ENGAGEMENT != 0 { Some(self.small("engaged time")?) } else { None };
        let import_key = if flags & HAS_IMPORT_KEY != 0 { Some(self.u64_le()?) } else { None };
        let bounce = self.byte()? as i8;
        let duration =
            i32::try_from(unzigzag(self.varint()?)).map_err(|_| DecodeError("visit duration out of range".into()))?;
        let session = SessionAttrs {
            entry_page: self.string()?,
            referrer: self.string()?,
            source: self.string()?,
            channel: self.string()?,
            utm_medium: self.string()?,
            utm_source: self.string()?,
            utm_campaign: self.string()?,
            utm_content: self.string()?,
            utm_term: self.string()?,
            click_id: self.string()?,
            device: self.string()?,
            browser: self.string()?,
            browser_version: self.string()?,
            os: self.string()?,
            os_version: self.string()?,
            country: self.string()?,
            region: self.string()?,
            city: self.string()?,
            city_geoname_id: self.small("geoname id")?,
            region_name: self.string()?,
        };
        Ok(EventRecord {
            site_id,
            ts,
            name,
            hostname,
            pathname,
            visitor_id,
            session_id,
            interactive: flags & INTERACTIVE != 0,
            props,
            revenue,
            scroll_depth,
            engagement_ms,
            session: Arc::new(session),
            import_key,
            visit: VisitDelta { starts: flags & VISIT_STARTS != 0, bounce, duration },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full() -> EventRecord {
        EventRecord {
            site_id: 7,
            ts: 1_764_115_200,
            name: "Purchase".into(),
            hostname: "shop.test".into(),
            pathname: "/checkout/é".into(),
            visitor_id: 0x0123_4567_89ab_cdef,
            session_id: u64::MAX,
            interactive: true,
            props: vec![("plan".into(), "pro".into()), ("seats".into(), "12".into())],
            revenue: Some(Revenue { amount_milli: -12_500, currency: "EUR".into() }),
            scroll_depth: Some(80),
            engagement_ms: Some(65_000),
            session: Arc::new(SessionAttrs {
                entry_page: "/".into(),
                referrer: "news.example".into(),
                source: "Newsletter".into(),
                channel: "Email".into(),
                utm_medium: "email".into(),
                utm_source: "newsletter".into(),
                utm_campaign: "november".into(),
                utm_content: "a".into(),
                utm_term: "b".into(),
                click_id: "gclid".into(),
                device: "Mobile".into(),
                browser: "Safari".into(),
                browser_version: "18.1".into(),
                os: "iOS".into(),
                os_version: "18.1".into(),
                country: "NO".into(),
                region: "NO-03".into(),
                city: "Oslo".into(),
                city_geoname_id: 3_143_244,
                region_name: "Oslo County".into(),
            }),
            import_key: Some(42),
            visit: VisitDelta { starts: true, bounce: -1, duration: -30 },
        }
    }

    fn minimal() -> EventRecord {
        EventRecord {
            site_id: 1,
            ts: -5,
            name: "pageview".into(),
            hostname: "a.test".into(),
            pathname: "/".into(),
            visitor_id: 1,
            session_id: 2,
            interactive: false,
            props: Vec::new(),
            revenue: None,
            scroll_depth: None,
            engagement_ms: None,
            session: Arc::default(),
            import_key: None,
            visit: VisitDelta::default(),
        }
    }

    #[test]
    fn records_round_trip() {
        let records = vec![full(), minimal(), full()];
        assert_eq!(decode(&encode(&records)).unwrap(), records);
        assert_eq!(decode(&encode(&[])).unwrap(), []);
    }

    #[test]
    fn json_payloads_of_older_versions_still_decode() {
        let records = vec![full(), minimal()];
        let json = serde_json::to_vec(&records).unwrap();
        assert_eq!(decode(&json).unwrap(), records);
    }

    #[test]
    fn v1_is_much_smaller_than_json() {
        let records = vec![minimal(); 10];
        let (v1, json) = (encode(&records).len(), serde_json::to_vec(&records).unwrap().len());
        assert!(v1 * 4 < json, "v1 {v1} bytes, JSON {json}");
    }

    #[test]
    fn v1_layout_is_pinned() {
        // Changing these bytes breaks replay of logs already written: add a version instead.
        let hex: String = encode(&[minimal()]).iter().map(|b| format!("{b:02x}")).collect();
        let expected = [
            "01", // v1
            "01", // one record
            "01", // site 1
            "09", // ts -5, zigzag
            "08",
            "7061676576696577", // "pageview"
            "06",
            "612e74657374", // "a.test"
            "01",
            "2f",               // "/"
            "0100000000000000", // visitor id
            "0200000000000000", // session id
            "00",               // flags
            "00",               // no props
            "00",
            "00",             // bounce, duration
            &"00".repeat(18), // empty attribute strings
            "00",
            "00", // geoname id, region name
        ]
        .concat();
        assert_eq!(hex, expected);
    }

    #[test]
    fn corrupt_payloads_are_errors() {
        let good = encode(&[full()]);
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "truncated at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
        assert!(decode(&[9, 0]).is_err(), "unknown version");
        assert!(decode(&[V1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Some(first) = bytes.first_mut() {
                *first = V1;
            }
            let _ = decode(&bytes);
        }

        #[test]
        fn any_strings_round_trip(name in ".{0,40}", path in ".{0,200}", key in ".{0,20}", ts in any::<i64>(),
                                  duration in any::<i32>(), bounce in -1i8..=1) {
            let mut r = full();
            r.name = name;
            r.pathname = path;
            r.props = vec![(key, "v".into())];
            r.ts = ts;
            r.visit = VisitDelta { starts: bounce == 1, bounce, duration };
            let records = vec![r];
            prop_assert_eq!(decode(&encode(&records)).unwrap(), records);
        }
    }
}
