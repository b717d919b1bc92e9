//! Parsing and validation of an Events API body, compatible with Plausible's `POST /api/event`.
//!
//! Long (`name`, `url`, …) and short (`n`, `u`, …) keys are both accepted; the body is JSON whatever
//! the `Content-Type` says (the tracker sends `text/plain` to avoid a CORS pre-flight). Validation
//! failures are collected per field, in Plausible's wording, for a `400 {"errors": …}` answer.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use tillit_store::Revenue;

pub const MAX_BODY_BYTES: usize = 1_000_000;
pub const MAX_URL_BYTES: usize = 2000;
pub const MAX_REFERRER_CHARS: usize = 2000;
pub const MAX_NAME_CHARS: usize = 120;
pub const MAX_PROPS: usize = 30;
pub const MAX_PROP_KEY_BYTES: usize = 300;
pub const MAX_PROP_VALUE_BYTES: usize = 2000;
/// Engaged time above this is not believable (Plausible's bound: 30 days).
const MAX_ENGAGEMENT_MS: u64 = 30 * 24 * 3600 * 1000;

/// A validated Events API request.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRequest {
    pub name: String,
    pub url: Url,
    /// The sites the event is for: at least one, `www.` stripped, lowercased.
    pub domains: Vec<String>,
    pub referrer: Option<String>,
    pub props: Vec<(String, String)>,
    pub revenue: Option<Revenue>,
    pub interactive: bool,
    pub hash_mode: bool,
    pub scroll_depth: Option<u8>,
    pub engagement_ms: Option<u32>,
}

impl EventRequest {
    pub fn is_engagement(&self) -> bool {
        self.name == "engagement"
    }
}

/// Field → messages, serialised as Plausible's `{"errors": {...}}` object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(pub BTreeMap<String, Vec<String>>);

impl ValidationErrors {
    fn add(&mut self, field: &str, message: &str) {
        self.0.entry(field.to_owned()).or_default().push(message.to_owned());
    }

    fn single(field: &str, message: &str) -> ValidationErrors {
        let mut errors = ValidationErrors::default();
        errors.add(field, message);
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field} {message}")?;
            }
        }
        Ok(())
    }
}

/// Parses and validates a request body.
///
/// The body is read straight into [`Fields`], borrowing its strings, rather than into a
/// `serde_json::Value` tree: that allocated every key and value of every request, and was most of
/// the parsing cost on the ingest path (`bench/pipeline.sh`).
pub fn parse(body: &[u8]) -> Result<EventRequest, ValidationErrors> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ValidationErrors::single("request", "Request body is too large"));
    }
    match serde_json::from_slice::<Fields<'_>>(body) {
        Ok(fields) => validate(fields),
        Err(_) => Err(ValidationErrors::single("request", "Unable to parse request body as json")),
    }
}

/// Validates an already-decoded JSON object (used by imports too).
pub fn from_object(obj: &Map<String, Value>) -> Result<EventRequest, ValidationErrors> {
    let mut fields = Fields::default();
    for (key, value) in obj {
        fields.set(key, value);
    }
    validate(fields)
}

/// A JSON value where the Events API expects a scalar. Strings are borrowed from the body when
/// they hold no escapes.
#[derive(Debug, Clone, PartialEq)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    /// An array or an object.
    Other,
}

impl Scalar<'_> {
    fn from_value(value: &Value) -> Scalar<'_> {
        match value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Scalar::UInt(u),
                (None, Some(i)) => Scalar::Int(i),
                _ => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Scalar::Str(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) => Scalar::Other,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    /// An integer from a number or a numeric string (floats truncated, as Plausible does).
    fn int(&self) -> Option<i64> {
        match self {
            Scalar::Int(i) => Some(*i),
            Scalar::UInt(u) => Some(i64::try_from(*u).unwrap_or(i64::MAX)),
            Scalar::Float(f) => f.is_finite().then_some(*f as i64),
            Scalar::Str(s) => s.trim().parse().ok(),
            Scalar::Null | Scalar::Bool(_) | Scalar::Other => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::UInt(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

/// The fields of a request body that the API reads, under their long and short names. A key that
/// appears twice keeps its last value, as a JSON object would; unknown keys are skipped.
#[derive(Debug, Default)]
struct Fields<'a> {
    name: Option<Scalar<'a>>,
    n: Option<Scalar<'a>>,
    url: Option<Scalar<'a>>,
    u: Option<Scalar<'a>>,
    domain: Option<Scalar<'a>>,
    d: Option<Scalar<'a>>,
    referrer: Option<Scalar<'a>>,
    r: Option<Scalar<'a>>,
    interactive: Option<Scalar<'a>>,
    i: Option<Scalar<'a>>,
    hash_mode: Option<Scalar<'a>>,
    h: Option<Scalar<'a>>,
    scroll_depth: Option<Scalar<'a>>,
    engagement_time: Option<Scalar<'a>>,
    /// `props`, `p`, `meta`, `m`, in that order of precedence. Rare, so kept as plain values.
    props: [Option<Value>; 4],
    /// `revenue`, `$`.
    revenue: [Option<Value>; 2],
}

impl<'a> Fields<'a> {
    /// The slot for a scalar field, if `key` names one.
    fn scalar_slot(&mut self, key: &str) -> Option<&mut Option<Scalar<'a>>> {
        Some(match key {
            "name" => &mut self.name,
            "n" => &mut self.n,
            "url" => &mut self.url,
            "u" => &mut self.u,
            "domain" => &mut self.domain,
            "d" => &mut self.d,
            "referrer" => &mut self.referrer,
            "r" => &mut self.r,
            "interactive" => &mut self.interactive,
            "i" => &mut self.i,
            "hashMode" => &mut self.hash_mode,
            "h" => &mut self.h,
            "sd" => &mut self.scroll_depth,
            "e" => &mut self.engagement_time,
            _ => return None,
        })
    }

    fn value_slot(&mut self, key: &str) -> Option<&mut Option<Value>> {
        Some(match key {
            "props" => &mut self.props[0],
            "p" => &mut self.props[1],
            "meta" => &mut self.props[2],
            "m" => &mut self.props[3],
            "revenue" => &mut self.revenue[0],
            "$" => &mut self.revenue[1],
            _ => return None,
        })
    }

    /// Takes a field from an already decoded object, borrowing its strings.
    fn set(&mut self, key: &str, value: &'a Value) {
        if let Some(slot) = self.value_slot(key) {
            *slot = Some(value.clone());
        } else if let Some(slot) = self.scalar_slot(key) {
            *slot = Some(Scalar::from_value(value));
        }
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Fields::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if let Some(slot) = fields.value_slot(&key) {
                        *slot = Some(map.next_value()?);
                    } else if let Some(slot) = fields.scalar_slot(&key) {
                        *slot = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(fields)
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

/// The long name's value if present, else the short name's; JSON `null` counts as absent.
fn pick<'f, 'a>(long: &'f Option<Scalar<'a>>, short: &'f Option<Scalar<'a>>) -> Option<&'f Scalar<'a>> {
    long.as_ref().or(short.as_ref()).filter(|v| !v.is_null())
}

fn validate(f: Fields<'_>) -> Result<EventRequest, ValidationErrors> {
    let mut errors = ValidationErrors::default();

    let name = match pick(&f.name, &f.n) {
        Some(Scalar::Str(s)) if !s.trim().is_empty() => s.as_ref().to_owned(),
        Some(Scalar::Int(i)) => i.to_string(),
        Some(Scalar::UInt(u)) => u.to_string(),
        Some(Scalar::Str(_)) | None => {
            errors.add("name", "can't be blank");
            String::new()
        }
        Some(_) => {
            errors.add("name", "is invalid");
            String::new()
        }
    };
    if name.chars().count() > MAX_NAME_CHARS {
        errors.add("name", "should be at most 120 character(s)");
    }
    // Plausible's scroll-depth tracker of 2024 sent `pageleave` events, which engagement events
    // replaced: snippets that still send them are read as what they mean.
    let name = if name == "pageleave" { "engagement".to_owned() } else { name };

    let url = match pick(&f.url, &f.u) {
        Some(Scalar::Str(s)) if !s.is_empty() => parse_url(s).map_err(|msg| errors.add("url", msg)).ok(),
        Some(Scalar::Str(_)) | None => {
            errors.add("url", "is required");
            None
        }
        Some(_) => {
            errors.add("url", "must be a valid url");
            None
        }
    };

    let domains = match pick(&f.domain, &f.d) {
        Some(Scalar::Str(s)) => split_domains(s),
        Some(_) => Vec::new(),
        None => url.as_ref().and_then(|u| u.host_str()).map(split_domains).unwrap_or_default(),
    };
    if domains.is_empty() && url.is_some() {
        errors.add("domain", "can't be blank");
    }

    let referrer = match pick(&f.referrer, &f.r) {
        Some(Scalar::Str(s)) if !s.is_empty() => Some(super::truncate_chars(s, MAX_REFERRER_CHARS).to_owned()),
        _ => None,
    };

    let props = match f.props.iter().find_map(|v| v.as_ref().filter(|v| !v.is_null())) {
        Some(value) => parse_props(value).unwrap_or_else(|msg| {
            errors.add("props", msg);
            Vec::new()
        }),
        None => Vec::new(),
    };

    let [revenue_long, revenue_short] = &f.revenue;
    let revenue = revenue_long.as_ref().or(revenue_short.as_ref()).filter(|v| !v.is_null()).and_then(parse_revenue);
    let interactive = !matches!(pick(&f.interactive, &f.i), Some(Scalar::Bool(false)));
    let hash_mode = matches!(pick(&f.hash_mode, &f.h), Some(v) if v.int() == Some(1));

    let is_engagement = name == "engagement";
    let (mut scroll_depth, mut engagement_ms) = (None, None);
    if is_engagement {
        scroll_depth = f.scroll_depth.as_ref().and_then(Scalar::int).filter(|v| *v >= 0).map(|v| v.min(100) as u8);
        engagement_ms = f
            .engagement_time
            .as_ref()
            .and_then(Scalar::int)
            .filter(|v| *v >= 0 && (*v as u64) < MAX_ENGAGEMENT_MS)
            .and_then(|v| u32::try_from(v).ok());
        if scroll_depth.is_none() && engagement_ms.is_none() {
            errors.add("engagement", "requires a valid scroll depth (sd) or engagement time (e)");
        }
    }

    match (errors.is_empty(), url) {
        (true, Some(url)) => Ok(EventRequest {
            name,
            url,
            domains,
            referrer,
            props,
            revenue,
            interactive,
            hash_mode,
            scroll_depth,
            engagement_ms,
        }),
        _ => Err(errors),
    }
}

fn parse_url(s: &str) -> Result<Url, &'static str> {
    if s.len() > MAX_URL_BYTES {
        return Err("must be a valid url");
    }
    let url = Url::parse(s.trim()).map_err(|_| "must be a valid url")?;
    match url.scheme() {
        "data" | "javascript" | "blob" => Err("scheme is not allowed"),
        _ => Ok(url),
    }
}

/// Splits a comma-separated domain list: trimmed, lowercased, `www.` removed, empties dropped.
pub fn split_domains(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split(',') {
        let lower = part.trim().to_ascii_lowercase();
        let d = match lower.strip_prefix("www.") {
            Some(rest) => rest.to_owned(),
            None => lower,
        };
        if !d.is_empty() && !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

fn parse_props(value: &Value) -> Result<Vec<(String, String)>, &'static str> {
    let decoded;
    let map = match value {
        Value::Object(m) => m,
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => {
                decoded = m;
                &decoded
            }
            _ => return Ok(Vec::new()),
        },
        _ => return Ok(Vec::new()),
    };
    let mut props = Vec::new();
    for (key, value) in map {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            // Plausible drops non-scalar and empty values silently.
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
        };
        if value.trim().is_empty() || key.trim().is_empty() {
            continue;
        }
        if key.len() > MAX_PROP_KEY_BYTES || value.len() > MAX_PROP_VALUE_BYTES {
            return Err("keys should have at most 300 bytes and values 2000 bytes");
        }
        if props.len() < MAX_PROPS {
            props.push((key.clone(), value));
        }
    }
    Ok(props)
}

fn parse_revenue(value: &Value) -> Option<Revenue> {
    let decoded;
    let map = match value {
        Value::Object(m) => m,
        Value::String(s) => {
            decoded = serde_json::from_str::<Map<String, Value>>(s).ok()?;
            &decoded
        }
        _ => return None,
    };
    let amount: f64 = match map.get("amount")? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let currency = map.get("currency")?.as_str()?.trim().to_ascii_uppercase();
    let valid_currency = currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase());
    let milli = (amount * 1000.0).round();
    (valid_currency && milli.is_finite() && milli.abs() < 9.0e15)
        .then_some(Revenue { amount_milli: milli as i64, currency })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(body: &str) -> EventRequest {
        parse(body.as_bytes()).unwrap()
    }

    fn err(body: &str) -> ValidationErrors {
        parse(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn short_and_long_keys_are_equivalent() {
        let a =
            ok(r#"{"n":"pageview","u":"https://example.com/a","d":"example.com","r":"https://g.co/","p":{"k":"v"}}"#);
        let b = ok(
            r#"{"name":"pageview","url":"https://example.com/a","domain":"example.com","referrer":"https://g.co/","props":{"k":"v"}}"#,
        );
        assert_eq!(a, b);
        assert_eq!(a.props, [("k".to_owned(), "v".to_owned())]);
    }

    #[test]
    fn domains_fan_out_and_lose_www() {
        let r = ok(r#"{"n":"pageview","u":"https://x.org/","d":" www.A.com , b.com,,a.com"}"#);
        assert_eq!(r.domains, ["a.com", "b.com"]);
        let derived = ok(r#"{"n":"pageview","u":"https://www.x.org/"}"#);
        assert_eq!(derived.domains, ["x.org"]);
    }

    #[test]
    fn integer_names_are_strings() {
        assert_eq!(ok(r#"{"n":404,"u":"https://x.org/"}"#).name, "404");
    }

    #[test]
    fn validation_messages_follow_plausible() {
        assert_eq!(err("{nope").0["request"], ["Unable to parse request body as json"]);
        assert_eq!(err("[1]").0["request"], ["Unable to parse request body as json"]);
        assert_eq!(err(r#"{"u":"https://x.org/"}"#).0["name"], ["can't be blank"]);
        assert_eq!(err(r#"{"n":"pageview","u":"data:text/html,hi"}"#).0["url"], ["scheme is not allowed"]);
        assert_eq!(err(r#"{"n":"pageview","u":"not a url"}"#).0["url"], ["must be a valid url"]);
        let long_url = format!(r#"{{"n":"pageview","u":"https://x.org/{}"}}"#, "a".repeat(2000));
        assert_eq!(err(&long_url).0["url"], ["must be a valid url"]);
        let long_name = format!(r#"{{"n":"{}","u":"https://x.org/"}}"#, "a".repeat(121));
        assert_eq!(err(&long_name).0["name"], ["should be at most 120 character(s)"]);
        let big_key = format!(r#"{{"n":"e","u":"https://x.org/","p":{{"{}":"v"}}}}"#, "k".repeat(301));
        assert_eq!(err(&big_key).0["props"], ["keys should have at most 300 bytes and values 2000 bytes"]);
        assert!(err(r#"{"n":"engagement","u":"https://x.org/"}"#).0.contains_key("engagement"));
        assert_eq!(err(r#"{"n":"pageview","u":"https://x.org/","d":" , "}"#).0["domain"], ["can't be blank"]);
        assert_eq!(parse(b"\xff\xfe{}").unwrap_err().0["request"], ["Unable to parse request body as json"]);
    }

    #[test]
    fn props_keep_scalars_only_and_at_most_thirty() {
        let r =
            ok(r#"{"n":"e","u":"https://x.org/","p":{"a":1,"b":true,"c":[1],"d":{"x":1},"e":" ","f":null,"g":"x"}}"#);
        let expected: Vec<(String, String)> =
            [("a", "1"), ("b", "true"), ("g", "x")].iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        assert_eq!(r.props, expected);
        let many: Vec<String> = (0..40).map(|i| format!(r#""k{i:02}":"v""#)).collect();
        let r = ok(&format!(r#"{{"n":"e","u":"https://x.org/","p":{{{}}}}}"#, many.join(",")));
        assert_eq!(r.props.len(), 30);
        let encoded = ok(r#"{"n":"e","u":"https://x.org/","m":"{\"plan\":\"pro\"}"}"#);
        assert_eq!(encoded.props, [("plan".to_owned(), "pro".to_owned())]);
    }

    #[test]
    fn revenue_is_kept_only_when_valid() {
        let r = ok(r#"{"n":"Purchase","u":"https://x.org/","$":{"amount":"12.5","currency":"eur"}}"#);
        assert_eq!(r.revenue, Some(Revenue { amount_milli: 12_500, currency: "EUR".into() }));
        let bad = ok(r#"{"n":"Purchase","u":"https://x.org/","revenue":{"amount":"lots","currency":"EUR"}}"#);
        assert_eq!(bad.revenue, None);
    }

    #[test]
    fn pageleave_is_an_engagement_event() {
        let r = ok(r#"{"n":"pageleave","u":"https://x.org/","sd":25}"#);
        assert_eq!((r.name.as_str(), r.scroll_depth), ("engagement", Some(25)));
    }

    #[test]
    fn engagement_fields_are_clamped() {
        let r = ok(r#"{"n":"engagement","u":"https://x.org/","sd":140,"e":"2500"}"#);
        assert_eq!((r.scroll_depth, r.engagement_ms), (Some(100), Some(2500)));
        let r = ok(r#"{"n":"engagement","u":"https://x.org/","sd":-3,"e":100}"#);
        assert_eq!((r.scroll_depth, r.engagement_ms), (None, Some(100)));
    }

    #[test]
    fn flags() {
        let r = ok(r#"{"n":"pageview","u":"https://x.org/#/a","i":false,"h":1}"#);
        assert!(!r.interactive && r.hash_mode);
        let r = ok(r#"{"n":"pageview","u":"https://x.org/"}"#);
        assert!(r.interactive && !r.hash_mode);
    }

    #[test]
    fn repeated_escaped_and_null_keys() {
        // A repeated key keeps its last value, as in a JSON object.
        assert_eq!(ok(r#"{"n":"a","n":"b","u":"https://x.org/"}"#).name, "b");
        // Escaped keys and values are decoded.
        let r = ok(r#"{"\u006e":"caf\u00e9","u":"https://x.org/","unknown":[{"x":[1,{}]}]}"#);
        assert_eq!(r.name, "café");
        // A null long name counts as absent and does not fall back to the short one.
        assert_eq!(err(r#"{"name":null,"n":"a","u":"https://x.org/"}"#).0["name"], ["can't be blank"]);
        assert_eq!(err(r#"{"n":"a","u":"https://x.org/"} x"#).0["request"], ["Unable to parse request body as json"]);
        assert_eq!(err("").0["request"], ["Unable to parse request body as json"]);
        assert_eq!(err(&format!("{}1{}", "[".repeat(200), "]".repeat(200))).0["request"].len(), 1);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1000i32..1000).prop_map(|i| Value::from(f64::from(i) / 2.0)),
            prop_oneof![
                Just("pageview".to_owned()),
                Just("engagement".to_owned()),
                Just("https://www.x.org/a?b=1#c".to_owned()),
                Just("x.org, www.Y.org".to_owned()),
                Just(" 1 ".to_owned()),
                Just("{\"plan\":\"pro\",\"n\":2}".to_owned()),
                Just("{\"amount\":\"9.5\",\"currency\":\"eur\"}".to_owned()),
                ".{0,12}",
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        // The live path (bytes read into borrowed fields) and the import path (an already decoded
        // object) must agree on every body: same request, or same errors.
        #[test]
        fn bytes_and_decoded_objects_agree(
            fields in proptest::collection::btree_map(
                prop_oneof![
                    Just("name"), Just("n"), Just("url"), Just("u"), Just("domain"), Just("d"),
                    Just("referrer"), Just("r"), Just("props"), Just("p"), Just("meta"), Just("m"),
                    Just("revenue"), Just("$"), Just("interactive"), Just("i"), Just("hashMode"),
                    Just("h"), Just("sd"), Just("e"), Just("other"),
                ],
                json_value(),
                0..10,
            ),
        ) {
            let obj: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            let bytes = serde_json::to_vec(&obj).unwrap();
            prop_assert_eq!(parse(&bytes), from_object(&obj));
        }

        // Whatever the bytes, parsing answers (never panics), and an accepted request obeys the limits.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(r) = parse(&bytes) {
                prop_assert!(!r.domains.is_empty());
                prop_assert!(r.name.chars().count() <= MAX_NAME_CHARS);
            }
        }

        #[test]
        fn accepted_requests_respect_limits(
            name in "[a-zA-Z0-9 ]{0,130}",
            path in "[a-z0-9/%.#?=&-]{0,2100}",
            domain in "(www\\.)?[a-z]{1,10}\\.(com|org)( ?, ?[a-z]{1,5}\\.no)?",
            keys in proptest::collection::vec("[a-z]{1,4}", 0..40),
            value in ".{0,40}",
        ) {
            let props: serde_json::Map<String, Value> =
                keys.iter().map(|k| (k.clone(), Value::String(value.clone()))).collect();
            let body = serde_json::json!({"n": name, "u": format!("https://{domain}/{path}"), "d": domain, "p": props});
            match parse(body.to_string().as_bytes()) {
                Ok(r) => {
                    prop_assert!(r.name.chars().count() <= MAX_NAME_CHARS && !r.name.trim().is_empty());
                    prop_assert!(r.props.len() <= MAX_PROPS);
                    prop_assert!(r.domains.iter().all(|d| !d.starts_with("www.") && !d.is_empty()));
                }
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }
    }
}
