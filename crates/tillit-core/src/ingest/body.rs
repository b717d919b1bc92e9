//! Parsing and validation of an Events API body, compatible with Plausible's `POST /api/event`.
//!
//! Long (`name`, `url`, …) and short (`n`, `u`, …) keys are both accepted; the body is JSON whatever
//! the `Content-Type` says (the tracker sends `text/plain` to avoid a CORS pre-flight). Validation
//! failures are collected per field, in Plausible's wording, for a `400 {"errors": …}` answer.

use std::collections::BTreeMap;

use serde::Serialize;
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
pub fn parse(body: &[u8]) -> Result<EventRequest, ValidationErrors> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ValidationErrors::single("request", "Request body is too large"));
    }
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return Err(ValidationErrors::single("request", "Unable to parse request body as json"));
    };
    from_object(&obj)
}

/// Validates an already-decoded JSON object (used by imports too).
pub fn from_object(obj: &Map<String, Value>) -> Result<EventRequest, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let get = |long: &str, short: &str| obj.get(long).or_else(|| obj.get(short)).filter(|v| !v.is_null());

    let name = match get("name", "n") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(Value::String(_)) | None => {
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

    let url = match get("url", "u") {
        Some(Value::String(s)) if !s.is_empty() => parse_url(s).map_err(|msg| errors.add("url", msg)).ok(),
        Some(Value::String(_)) | None => {
            errors.add("url", "is required");
            None
        }
        Some(_) => {
            errors.add("url", "must be a valid url");
            None
        }
    };

    let domains = match get("domain", "d") {
        Some(Value::String(s)) => split_domains(s),
        Some(_) => Vec::new(),
        None => url.as_ref().and_then(|u| u.host_str()).map(split_domains).unwrap_or_default(),
    };
    if domains.is_empty() && url.is_some() {
        errors.add("domain", "can't be blank");
    }

    let referrer = match get("referrer", "r") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.chars().take(MAX_REFERRER_CHARS).collect()),
        _ => None,
    };

    let props = match ["props", "p", "meta", "m"].iter().find_map(|k| obj.get(*k).filter(|v| !v.is_null())) {
        Some(value) => parse_props(value).unwrap_or_else(|msg| {
            errors.add("props", msg);
            Vec::new()
        }),
        None => Vec::new(),
    };

    let revenue = get("revenue", "$").and_then(parse_revenue);
    let interactive = !matches!(get("interactive", "i"), Some(Value::Bool(false)));
    let hash_mode = matches!(get("hashMode", "h"), Some(v) if int_of(v) == Some(1));

    let is_engagement = name == "engagement";
    let (mut scroll_depth, mut engagement_ms) = (None, None);
    if is_engagement {
        scroll_depth = obj.get("sd").and_then(int_of).filter(|v| *v >= 0).map(|v| v.min(100) as u8);
        engagement_ms = obj
            .get("e")
            .and_then(int_of)
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
        let d = part.trim().to_ascii_lowercase();
        let d = d.strip_prefix("www.").unwrap_or(&d).to_owned();
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

fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
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

    proptest! {
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
