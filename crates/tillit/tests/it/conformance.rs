//! Plausible conformance: the cases in `conformance/plausible/*.json`, translated from Plausible's
//! own tests, replayed through Tillit's public surface (see `conformance/README.md`).
//!
//! Every case gets a site of its own. Sites, goals, funnels and keys are set up through the admin
//! API; the cases' events are imported with `tillit import` while the server is stopped; then the
//! server runs again, the cases' Events API requests are sent, and each Stats API request is
//! compared with the answer the case expects.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::support::{CHROME_UA, Server, tillit_with};

const ADMIN: &str = "test-admin-token";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One case, with where it came from.
struct Case {
    file: String,
    name: String,
    domain: String,
    /// A second site, for cases that send to two (`{site2}`).
    domain2: Option<String>,
    body: Value,
}

#[tokio::test]
async fn conformance() {
    let files: Vec<PathBuf> = match std::env::var("TILLIT_CONFORMANCE_FILE") {
        Ok(f) => f.split(',').map(|f| absolute(Path::new(f))).collect(),
        Err(_) => {
            let mut all: Vec<PathBuf> = std::fs::read_dir(root().join("conformance/plausible"))
                .expect("conformance/plausible")
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            all.sort();
            all
        }
    };
    let only = std::env::var("TILLIT_CONFORMANCE_CASE").ok();
    let differences: Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(root().join("conformance/differences.json")).unwrap())
            .expect("differences.json is a JSON object");

    let now = jiff::Timestamp::now().as_second();
    let mut cases = Vec::new();
    let mut setup_errors: Vec<(String, String)> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        for case in doc["cases"].as_array().unwrap_or_else(|| panic!("{file_name}: no cases")) {
            let name = case["test"].as_str().unwrap_or_else(|| panic!("{file_name}: a case without test")).to_owned();
            if only.as_deref().is_some_and(|o| !name.contains(o)) {
                continue;
            }
            let n = cases.len();
            let domain =
                case["site"]["domain"].as_str().map_or_else(|| format!("c{n}.conformance.test"), str::to_owned);
            let domain2 = case.to_string().contains("{site2}").then(|| format!("c{n}-2.conformance.test"));
            let body = substitute(case, &domain, domain2.as_deref(), now);
            if let Some(d) = body.get("differs").and_then(Value::as_str)
                && !differences.contains_key(d)
            {
                setup_errors.push((format!("{file_name}: {name}"), format!("unknown difference '{d}'")));
            }
            cases.push(Case { file: file_name.clone(), name, domain, domain2, body });
        }
    }
    assert!(!cases.is_empty(), "no conformance cases selected");

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    // The networks Plausible's tests geolocate, in a city database (conformance/geoip/make.py).
    let geoip = root().join("conformance/geoip/test-city.mmdb").to_string_lossy().into_owned();
    let client = reqwest::Client::new();

    // 1. Sites, goals, funnels and keys, through the admin API.
    let server = Server::start(data, &[]).await;
    let mut keys: HashMap<String, String> = HashMap::new();
    let mut broken: HashMap<usize, String> = HashMap::new();
    let other_site = "other.conformance.test".to_owned();
    let mut setups: Vec<(usize, String, Value)> = vec![(usize::MAX, other_site.clone(), json!({}))];
    for (i, c) in cases.iter().enumerate() {
        let mut site = c.body["site"].clone();
        // Tillit has no legacy time on page, so no cutoff: only cases that record this difference
        // may carry the setting (any other use fails as an unknown setting).
        if c.body["differs"] == "no-legacy-time-on-page"
            && let Some(obj) = site.as_object_mut()
        {
            obj.remove("legacy_time_on_page_cutoff");
        }
        setups.push((i, c.domain.clone(), site));
        if let Some(d2) = &c.domain2 {
            setups.push((i, d2.clone(), json!({})));
        }
    }
    for (i, domain, site) in setups {
        match set_up_site(&client, &server.base, &domain, &site).await {
            Ok(key) => {
                keys.insert(domain, key);
            }
            Err(e) => {
                broken.insert(i, e);
            }
        }
    }
    server.stop();

    // 2. The cases' events, imported while the server is stopped.
    let mut lines = String::new();
    let mut n_events = 0usize;
    for (i, case) in cases.iter().enumerate() {
        let Some(events) = case.body.get("events").and_then(Value::as_array) else { continue };
        for (j, event) in events.iter().enumerate() {
            match import_line(event, &case.domain, i, j, now) {
                Ok(line) => {
                    lines.push_str(&line.to_string());
                    lines.push('\n');
                    n_events += 1;
                }
                Err(e) => {
                    broken.entry(i).or_insert(format!("event {j}: {e}"));
                }
            }
        }
    }
    if n_events > 0 {
        let file = data.join("conformance.ndjson");
        std::fs::write(&file, &lines).unwrap();
        let out = tillit_with(data, &["import", file.to_str().unwrap(), "--quiet"], &[("TILLIT_GEOIP_DB", &geoip)]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "import failed: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
        println!("import: {}", stdout.trim().replace('\n', "; "));
    }

    // 3. The server again: Events API requests, then the Stats API requests.
    let server = Server::start(data, &[("TILLIT_TRUSTED_PROXIES", "127.0.0.1"), ("TILLIT_GEOIP_DB", &geoip)]).await;
    let mut ingest_failures: HashMap<usize, Vec<String>> = HashMap::new();
    let mut ingested = false;
    for (i, case) in cases.iter().enumerate() {
        let Some(requests) = case.body.get("ingest").and_then(Value::as_array) else { continue };
        for (j, req) in requests.iter().enumerate() {
            ingested = true;
            if let Err(e) = send_ingest(&client, &server.base, req, i).await {
                ingest_failures.entry(i).or_default().push(format!("ingest {j}: {e}"));
            }
        }
    }
    if ingested {
        // Queries see events once the store has committed them, within a second.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }

    let mut passed = 0usize;
    let mut fixmes = 0usize;
    let mut failed: Vec<String> = Vec::new();
    let mut by_file: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let mut problems: Vec<String> = ingest_failures.remove(&i).unwrap_or_default();
        if let Some(e) = broken.get(&i) {
            problems.push(format!("set-up: {e}"));
        }
        if let Some((_, e)) = setup_errors.iter().find(|(n, _)| *n == format!("{}: {}", case.file, case.name)) {
            problems.push(e.clone());
        }
        if problems.is_empty() {
            let requests = case.body.get("requests").and_then(Value::as_array).cloned().unwrap_or_default();
            for (j, req) in requests.iter().enumerate() {
                if let Err(e) = check_request(&client, &server.base, req, &case.domain, &keys, &other_site).await {
                    problems.push(format!("request {j}: {e}"));
                }
            }
        }
        let entry = by_file.entry(case.file.clone()).or_default();
        // A known gap: the case must still fail (assert the wrong behaviour, with a fixme), and
        // must lose its fixme once it passes.
        if let Some(fixme) = case.body.get("fixme").and_then(Value::as_str) {
            if problems.is_empty() {
                entry.1 += 1;
                println!("FAIL {} :: {} (passes now: remove its fixme)", case.file, case.name);
                failed.push(format!("{} :: {} (passes now: remove its fixme)", case.file, case.name));
            } else {
                fixmes += 1;
                println!("FIXME {} :: {} ({fixme})", case.file, case.name);
                for p in &problems {
                    println!("     {}", p.replace('\n', "\n     "));
                }
            }
            continue;
        }
        if problems.is_empty() {
            passed += 1;
            entry.0 += 1;
            println!("PASS {} :: {}", case.file, case.name);
        } else {
            entry.1 += 1;
            println!("FAIL {} :: {}", case.file, case.name);
            for p in &problems {
                println!("     {}", p.replace('\n', "\n     "));
            }
            failed.push(format!("{} :: {}", case.file, case.name));
        }
    }
    server.stop();
    println!();
    for (file, (p, f)) in &by_file {
        println!("{file}: {p} passed, {f} failed");
    }
    println!(
        "conformance: {passed} passed, {} failed, {fixmes} known gaps (fixme), of {} cases",
        failed.len(),
        cases.len()
    );
    assert!(failed.is_empty(), "{} conformance cases failed:\n{}", failed.len(), failed.join("\n"));
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_owned() } else { root().join(p) }
}

/// Replaces `{site}`, `{site2}`, `{today}` and `{today±N}` in every string of the case.
fn substitute(v: &Value, domain: &str, domain2: Option<&str>, now: i64) -> Value {
    match v {
        Value::String(s) => Value::String(substitute_str(s, domain, domain2, now)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, domain, domain2, now)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), substitute(x, domain, domain2, now))).collect())
        }
        other => other.clone(),
    }
}

fn substitute_str(s: &str, domain: &str, domain2: Option<&str>, now: i64) -> String {
    let mut out = s.replace("{site}", domain);
    if let Some(d2) = domain2 {
        out = out.replace("{site2}", d2);
    }
    while let Some(start) = out.find("{today") {
        let Some(len) = out[start..].find('}') else { break };
        let inner = &out[start + 6..start + len];
        let days: i64 = if inner.is_empty() { 0 } else { inner.parse().unwrap_or(0) };
        let date = jiff::Timestamp::from_second(now + days * 86_400).unwrap().to_zoned(jiff::tz::TimeZone::UTC).date();
        out.replace_range(start..=start + len, &date.to_string());
    }
    out
}

async fn set_up_site(client: &reqwest::Client, base: &str, domain: &str, site: &Value) -> Result<String, String> {
    const KNOWN: [&str; 6] = ["timezone", "goals", "funnels", "domain", "domain_changed_from", "hourly_request_limit"];
    if let Some(obj) = site.as_object()
        && let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str()))
    {
        return Err(format!("site setting '{k}' is not supported by the runner"));
    }
    let tz = site.get("timezone").and_then(Value::as_str).unwrap_or("UTC");
    let tz = if tz == "Etc/UTC" { "UTC" } else { tz };
    // A changed domain is set up as users change it: the site is added under its old name and renamed.
    let first = site.get("domain_changed_from").and_then(Value::as_str).unwrap_or(domain);
    admin(client, base, "/api/admin/sites", json!({"domain": first, "timezone": tz, "retention_days": 3650})).await?;
    if first != domain {
        admin_patch(client, base, &format!("/api/admin/sites/{first}"), json!({"domain": domain})).await?;
    }
    for goal in site.get("goals").and_then(Value::as_array).into_iter().flatten() {
        let mut body = Map::new();
        for (k, v) in goal.as_object().ok_or("a goal is not an object")? {
            let key = match k.as_str() {
                "event" => "event_name",
                "page" => "page_path",
                "name" => "display_name",
                other => other,
            };
            body.insert(key.to_owned(), v.clone());
        }
        admin(client, base, &format!("/api/admin/sites/{domain}/goals"), Value::Object(body))
            .await
            .map_err(|e| format!("goal {goal}: {e}"))?;
    }
    for funnel in site.get("funnels").and_then(Value::as_array).into_iter().flatten() {
        admin(client, base, &format!("/api/admin/sites/{domain}/funnels"), funnel.clone())
            .await
            .map_err(|e| format!("funnel {funnel}: {e}"))?;
    }
    let mut key_spec = json!({"name": "conformance"});
    if let Some(limit) = site.get("hourly_request_limit") {
        key_spec["hourly_limit"] = limit.clone();
    }
    let key = admin(client, base, &format!("/api/admin/sites/{domain}/keys"), key_spec).await?;
    key["key"].as_str().map(str::to_owned).ok_or_else(|| format!("no key in {key}"))
}

async fn admin(client: &reqwest::Client, base: &str, path: &str, body: Value) -> Result<Value, String> {
    admin_send(client, reqwest::Method::POST, base, path, body).await
}

async fn admin_patch(client: &reqwest::Client, base: &str, path: &str, body: Value) -> Result<Value, String> {
    admin_send(client, reqwest::Method::PATCH, base, path, body).await
}

async fn admin_send(
    client: &reqwest::Client,
    method: reqwest::Method,
    base: &str,
    path: &str,
    body: Value,
) -> Result<Value, String> {
    let res = client
        .request(method.clone(), format!("{base}{path}"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{method} {path} {body} → {status}: {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Plausible's event columns that hold visit attributes, and Tillit's names for them.
const ATTRIBUTES: [(&str, &str); 17] = [
    ("referrer", "referrer"),
    ("referrer_source", "source"),
    ("utm_medium", "utm_medium"),
    ("utm_source", "utm_source"),
    ("utm_campaign", "utm_campaign"),
    ("utm_content", "utm_content"),
    ("utm_term", "utm_term"),
    ("click_id_param", "click_id"),
    ("screen_size", "device"),
    ("browser", "browser"),
    ("browser_version", "browser_version"),
    ("operating_system", "os"),
    ("operating_system_version", "os_version"),
    ("country_code", "country"),
    ("subdivision1_code", "region"),
    ("subdivision1_name", "region_name"),
    ("city_name", "city"),
];

const EVENT_KEYS: [&str; 13] = [
    "name",
    "time",
    "user",
    "pathname",
    "hostname",
    "props",
    "revenue",
    "scroll_depth",
    "engagement_time",
    "interactive",
    "url",
    "referrer_url",
    "user_agent",
];

/// One NDJSON line for `tillit import`.
fn import_line(event: &Value, domain: &str, case: usize, idx: usize, now: i64) -> Result<Value, String> {
    let obj = event.as_object().ok_or("not an object")?;
    for k in obj.keys() {
        let known = EVENT_KEYS.contains(&k.as_str())
            || ATTRIBUTES.iter().any(|(p, _)| p == k)
            || k == "city_geoname_id"
            || k == "ip";
        if !known {
            return Err(format!("event key '{k}' is not supported by the runner"));
        }
    }
    let time = obj.get("time").and_then(Value::as_str).ok_or("no time")?;
    let ts = parse_time(time, now).ok_or_else(|| format!("bad time '{time}'"))?;
    let url = match obj.get("url").and_then(Value::as_str) {
        Some(u) => u.to_owned(),
        None => {
            let host = obj.get("hostname").and_then(Value::as_str).unwrap_or(domain);
            let path = obj.get("pathname").and_then(Value::as_str).unwrap_or("/");
            format!("https://{host}{path}")
        }
    };
    let mut line = json!({
        "timestamp": ts,
        "site": domain,
        "name": obj.get("name").cloned().unwrap_or_else(|| json!("pageview")),
        "url": url,
    });
    match obj.get("ip").and_then(Value::as_str) {
        Some(ip) => line["ip"] = json!(ip),
        None => {
            let visitor = match obj.get("user") {
                Some(Value::String(s)) => format!("user-{s}"),
                Some(Value::Number(n)) => format!("user-{n}"),
                Some(other) => return Err(format!("bad user {other}")),
                None => format!("anonymous-{case}-{idx}"),
            };
            line["visitor"] = json!(visitor);
        }
    }
    if let Some(ua) = obj.get("user_agent") {
        line["user_agent"] = ua.clone();
    }
    if let Some(r) = obj.get("referrer_url") {
        line["referrer"] = r.clone();
    }
    for (from, to) in [
        ("props", "props"),
        ("revenue", "revenue"),
        ("scroll_depth", "scroll_depth"),
        ("engagement_time", "engagement_time"),
        ("interactive", "interactive"),
    ] {
        // Plausible's events table stores an unknown scroll depth as 255; Tillit stores none.
        if let Some(v) = obj.get(from).filter(|v| !(from == "scroll_depth" && v.as_u64() == Some(255))) {
            line[to] = v.clone();
        }
    }
    let mut attrs = Map::new();
    for (plausible, ours) in ATTRIBUTES {
        if let Some(v) = obj.get(plausible) {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            attrs.insert(ours.to_owned(), json!(s));
        }
    }
    if let Some(id) = obj.get("city_geoname_id") {
        attrs.insert("city_geoname_id".into(), id.clone());
    }
    if !attrs.is_empty() {
        line["attributes"] = Value::Object(attrs);
    }
    Ok(line)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC), or `now`, `now-5m`, `now+2h` (units s, m, h, d).
fn parse_time(s: &str, now: i64) -> Option<i64> {
    if let Some(rest) = s.strip_prefix("now") {
        if rest.is_empty() {
            return Some(now);
        }
        let (sign, rest) = match rest.as_bytes().first()? {
            b'-' => (-1, &rest[1..]),
            b'+' => (1, &rest[1..]),
            _ => return None,
        };
        let unit = rest.chars().last()?;
        let n: i64 = rest[..rest.len() - 1].parse().ok()?;
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        return Some(now + sign * n * secs);
    }
    let s = s.replace(' ', "T");
    s.parse::<jiff::civil::DateTime>().ok()?.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_second())
}

async fn send_ingest(client: &reqwest::Client, base: &str, req: &Value, case: usize) -> Result<(), String> {
    let body = match &req["body"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut builder = client.post(format!("{base}/api/event")).body(body);
    let headers = req.get("headers").and_then(Value::as_object).cloned().unwrap_or_default();
    let has = |name: &str| headers.keys().any(|k| k.eq_ignore_ascii_case(name));
    if !has("user-agent") {
        builder = builder.header("user-agent", CHROME_UA);
    }
    if !has("x-forwarded-for") {
        builder = builder
            .header("x-forwarded-for", format!("10.{}.{}.{}", (case >> 16) & 255, (case >> 8) & 255, case & 255));
    }
    if !has("content-type") {
        builder = builder.header("content-type", "text/plain");
    }
    for (k, v) in &headers {
        builder = builder.header(k.as_str(), v.as_str().unwrap_or_default());
    }
    let res = builder.send().await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let got_headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let mut problems = String::new();
    if let Some(want) = req.get("status").and_then(Value::as_u64)
        && u64::from(status) != want
    {
        let _ = write!(problems, "status {status}, expected {want}; ");
    }
    if let Some(want) = req.get("response") {
        let ok = match want {
            Value::String(s) => text.trim() == s.trim(),
            other => serde_json::from_str::<Value>(&text).is_ok_and(|got| equal(other, &got).is_ok()),
        };
        if !ok {
            let _ = write!(problems, "response {text}, expected {want}; ");
        }
    }
    for (k, want) in req.get("response_headers").and_then(Value::as_object).into_iter().flatten() {
        let got = got_headers.get(k.as_str()).and_then(|v| v.to_str().ok());
        let want_str = want.as_str().map(str::to_owned);
        if got.map(str::to_owned) != want_str {
            let _ = write!(problems, "header {k}: {got:?}, expected {want}; ");
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("{problems}(body sent: {})", req["body"])) }
}

async fn check_request(
    client: &reqwest::Client,
    base: &str,
    req: &Value,
    domain: &str,
    keys: &HashMap<String, String>,
    other_site: &str,
) -> Result<(), String> {
    let (mut builder, shown) = if let Some(path) = req.get("get").and_then(Value::as_str) {
        let mut url = reqwest::Url::parse(&format!("{base}{path}")).map_err(|e| e.to_string())?;
        for (k, v) in req.get("params").and_then(Value::as_object).into_iter().flatten() {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            url.query_pairs_mut().append_pair(k, &v);
        }
        let shown = format!("GET {}?{}", url.path(), url.query().unwrap_or_default());
        (client.get(url), shown)
    } else if let Some(path) = req.get("post").and_then(Value::as_str) {
        let body = req.get("json").cloned().unwrap_or(Value::Null);
        let shown = format!("POST {path} {body}");
        let b = client.post(format!("{base}{path}")).header("content-type", "application/json");
        let b = match &body {
            Value::String(s) => b.body(s.clone()),
            other => b.body(other.to_string()),
        };
        (b, shown)
    } else {
        return Err("a request needs get or post".into());
    };
    // The key of the site the request names (a case's second site has its own), else the case's.
    let named = req
        .get("params")
        .and_then(|p| p.get("site_id"))
        .or_else(|| req.get("json").and_then(|j| j.get("site_id")))
        .and_then(Value::as_str)
        .and_then(|d| keys.get(d));
    match req.get("auth").and_then(Value::as_str) {
        None => builder = builder.bearer_auth(named.or_else(|| keys.get(domain)).ok_or("no key for the site")?),
        Some("none") => {}
        Some("invalid") => builder = builder.bearer_auth("not-a-real-key-0123456789"),
        Some("other_site") => builder = builder.bearer_auth(keys.get(other_site).ok_or("no key for the other site")?),
        Some(other) => return Err(format!("unknown auth '{other}'")),
    }
    let res = builder.send().await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let got: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
    let want_status = req.get("status").and_then(Value::as_u64).unwrap_or(200);
    let mut problems = Vec::new();
    if u64::from(status) != want_status {
        problems.push(format!("status {status}, expected {want_status}"));
    }
    if let Some(want) = req.get("body") {
        let exact = req.get("exact").and_then(Value::as_bool).unwrap_or(false);
        let res = if exact { equal(want, &got) } else { subset(want, &got) };
        if let Err(e) = res {
            // Shown as compared: only the expected object's keys, unless the whole body was.
            let shown = match (exact, want, &got) {
                (false, Value::Object(w), Value::Object(g)) => Value::Object(
                    g.iter().filter(|(k, _)| w.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
                ),
                _ => got.clone(),
            };
            problems.push(format!("body differs at {e}\n  expected: {}\n  got:      {}", clip(want), clip(&shown)));
        }
    }
    if let Some(want) = req.get("error_contains").and_then(Value::as_str) {
        let error = got.get("error").and_then(Value::as_str).unwrap_or_default();
        if !error.contains(want) {
            problems.push(format!("error {error:?} does not contain {want:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        if u64::from(status) != want_status {
            problems.push(format!("answer: {}", clip(&got)));
        }
        Err(format!("{shown}\n  {}", problems.join("\n  ")))
    }
}

fn clip(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 4_000 { format!("{}…", &s[..s.floor_char_boundary(4_000)]) } else { s }
}

/// The expected object's top-level keys, each compared exactly.
fn subset(want: &Value, got: &Value) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let gv = g.get(k).ok_or_else(|| format!("/{k} (missing)"))?;
                equal(wv, gv).map_err(|e| format!("/{k}{e}"))?;
            }
            Ok(())
        }
        _ => equal(want, got),
    }
}

/// Equality with numbers compared by value and `{"$any": true}` matching anything.
fn equal(want: &Value, got: &Value) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), _) if w.len() == 1 && w.get("$any") == Some(&Value::Bool(true)) => Ok(()),
        // `{"$length_in": [365, 366]}`: an array of one of these lengths (Plausible's `in`).
        (Value::Object(w), Value::Array(g)) if w.len() == 1 && w.contains_key("$length_in") => {
            let allowed: Vec<u64> =
                w["$length_in"].as_array().into_iter().flatten().filter_map(Value::as_u64).collect();
            if allowed.contains(&(g.len() as u64)) {
                Ok(())
            } else {
                Err(format!(": {} items, expected one of {allowed:?}", g.len()))
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            if a.as_f64() == b.as_f64() {
                Ok(())
            } else {
                Err(format!(": {b} ≠ {a}"))
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() {
                return Err(format!(": {} items, expected {}", g.len(), w.len()));
            }
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                equal(a, b).map_err(|e| format!("/{i}{e}"))?;
            }
            Ok(())
        }
        (Value::Object(w), Value::Object(g)) => {
            if let Some(k) = g.keys().find(|k| !w.contains_key(*k)) {
                return Err(format!("/{k} (unexpected)"));
            }
            for (k, wv) in w {
                let gv = g.get(k).ok_or_else(|| format!("/{k} (missing)"))?;
                equal(wv, gv).map_err(|e| format!("/{k}{e}"))?;
            }
            Ok(())
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!(": {b} ≠ {a}")),
    }
}
