//! `tillit import`: historic events from NDJSON or nginx/Apache combined access logs, through the
//! same privacy pipeline as live events.
//!
//! Each historic day gets a random salt that lives only in this process and is gone when the import
//! ends. Every line gets an import key (a hash of the site, the line and how many identical lines
//! came before it), so importing the same file again adds nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::hash::Hasher;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::LazyLock;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use siphasher::sip::SipHasher24;

use tillit_core::ingest::session::Sessions;
use tillit_core::ingest::useragent::UaParser;
use tillit_core::ingest::visitor::DailySalt;
use tillit_core::ingest::{Client, DropReason, Imported, Ingestor, VisitOverrides, body};
use tillit_core::sites;
use tillit_store::EventRecord;
use tillit_store::app::AppStore;
use tillit_store::events::EventStore;

use crate::config::Config;

#[derive(Args)]
pub struct ImportArgs {
    /// The file to import.
    file: PathBuf,
    #[arg(long, value_enum, default_value = "ndjson")]
    format: Format,
    /// The site the lines belong to (required for access logs; NDJSON lines name their site).
    #[arg(long)]
    site: Option<String>,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON object per line: timestamp, site, name, url, referrer, user_agent, ip (or visitor),
    /// props, revenue, scroll_depth, engagement_time, interactive, attributes.
    Ndjson,
    /// nginx/Apache "combined" access log.
    Combined,
}

const BATCH: usize = 50_000;
/// A fixed key: import keys only need to be stable, not secret (they hash lines already in the store).
const IMPORT_KEY: [u8; 16] = *b"tillit-import-v1";

pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    let all_sites = app.list_sites().await?;
    if all_sites.is_empty() {
        bail!("no sites: add one with `tillit site add DOMAIN` first");
    }
    let site_for_logs = match (args.format, &args.site) {
        (Format::Combined, None) => bail!("--site is required for access logs"),
        (_, Some(s)) => {
            let d = sites::normalise_domain(s);
            if !all_sites.iter().any(|x| x.domain == d) {
                bail!("unknown site {d}: add it with `tillit site add {d}`");
            }
            Some(d)
        }
        (_, None) => None,
    };
    let mut store = EventStore::open_duckdb(&config.events_db(), &config.event_store_options())?;
    let geo = super::open_geo(config)?;
    let ingestor = Ingestor::new(UaParser::new(20_000)?, Some(geo), "", DailySalt::random());
    let now = tillit_core::time::Clock::system().now();
    ingestor.set_sites(all_sites.iter().cloned().map(|s| sites::info(s, now)));
    let mut known_keys: HashMap<u32, HashSet<u64>> = HashMap::new();
    for s in &all_sites {
        known_keys.insert(s.id, store.import_keys(s.id)?);
    }

    let file = File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata()?.len();
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(size) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut reader = BufReader::new(file);
    // Salts and sessions for historic days: in memory only, dropped when the import ends.
    let mut salts: HashMap<i64, DailySalt> = HashMap::new();
    let sessions = Sessions::default();
    let mut seen_lines: HashMap<u64, u32> = HashMap::new();
    let mut summary = Summary::default();
    let mut batch: Vec<EventRecord> = Vec::with_capacity(BATCH);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bar.inc(n as u64);
        let text = match std::str::from_utf8(&line) {
            Ok(t) => t.trim(),
            Err(_) => {
                summary.skip("not valid UTF-8");
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let parsed = match args.format {
            Format::Ndjson => parse_ndjson(text),
            Format::Combined => parse_combined(text, site_for_logs.as_deref().unwrap_or_default()),
        };
        let line_event = match parsed {
            Ok(Some(e)) => e,
            Ok(None) => {
                summary.skip("not a page view (asset, error status or non-GET)");
                continue;
            }
            Err(reason) => {
                summary.skip(reason);
                continue;
            }
        };
        let req = match body::from_object(&line_event.body) {
            Ok(r) => r,
            Err(e) => {
                summary.skip_owned(format!("invalid: {e}"));
                continue;
            }
        };
        // Stable key: identical lines are told apart by how many came before.
        let line_hash = hash(&[text.as_bytes()]);
        let occurrence = seen_lines.entry(line_hash).or_insert(0);
        *occurrence += 1;
        let key = hash(&[text.as_bytes(), &occurrence.to_le_bytes()]);
        let day = line_event.ts.div_euclid(86_400);
        let pair = salts.entry(day).or_insert_with(DailySalt::random).clone();
        let client = Client { ip: line_event.ip, user_agent: &line_event.user_agent };
        let imported =
            Imported { key: Some(key), visitor: line_event.visitor.as_deref(), attrs: line_event.attributes.as_ref() };
        let processed = ingestor.process_with(&req, client, line_event.ts, &pair, &sessions, imported);
        for reason in processed.dropped {
            summary.skip(match reason {
                DropReason::UnknownSite => "unknown site",
                DropReason::Bot => "bot or crawler",
                DropReason::SpamReferrer => "referrer spam",
                DropReason::NoSession => "engagement without a session",
            });
        }
        for mut record in processed.records {
            let site_key = hash(&[&record.site_id.to_le_bytes(), &key.to_le_bytes()]);
            record.import_key = Some(site_key);
            let keys = known_keys.entry(record.site_id).or_default();
            if !keys.insert(site_key) {
                summary.skip("already imported");
                continue;
            }
            batch.push(record);
            summary.imported += 1;
        }
        if batch.len() >= BATCH {
            store.insert(&batch, None)?;
            batch.clear();
        }
        if line_no.is_multiple_of(100_000) {
            sessions.evict(line_event.ts);
        }
    }
    store.insert(&batch, None)?;
    store.checkpoint()?;
    drop(salts);
    bar.finish_and_clear();
    println!("imported {} events from {} lines", summary.imported, line_no);
    if summary.skipped.is_empty() {
        println!("skipped 0 lines");
    } else {
        println!("skipped {} lines:", summary.skipped.values().sum::<u64>());
        for (reason, n) in &summary.skipped {
            println!("  {n:>10}  {reason}");
        }
    }
    Ok(())
}

#[derive(Default)]
struct Summary {
    imported: u64,
    skipped: BTreeMap<String, u64>,
}

impl Summary {
    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_owned()).or_default() += 1;
    }
    fn skip_owned(&mut self, reason: String) {
        *self.skipped.entry(reason).or_default() += 1;
    }
}

struct LineEvent {
    ts: i64,
    ip: IpAddr,
    user_agent: String,
    /// Another tool's visitor identifier, used instead of the IP address and user agent.
    visitor: Option<String>,
    /// Visit attributes the exporting tool already derived.
    attributes: Option<VisitOverrides>,
    body: Map<String, Value>,
}

/// NDJSON keys that are Events API fields under another name: (line key, Events API key).
const BODY_KEYS: [(&str, &str); 8] = [
    ("url", "u"),
    ("site", "d"),
    ("referrer", "r"),
    ("props", "p"),
    ("revenue", "$"),
    ("scroll_depth", "sd"),
    ("engagement_time", "e"),
    ("interactive", "i"),
];

fn parse_ndjson(text: &str) -> Result<Option<LineEvent>, &'static str> {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else { return Err("not a JSON object") };
    let ts = match obj.get("timestamp") {
        Some(Value::Number(n)) => n.as_i64().ok_or("invalid timestamp")?,
        Some(Value::String(s)) => parse_time(s).ok_or("invalid timestamp")?,
        _ => return Err("missing timestamp"),
    };
    let visitor = match obj.get("visitor") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err("invalid visitor: expected a non-empty string or a number"),
    };
    let ip = match (obj.get("ip"), &visitor) {
        (Some(v), _) => v.as_str().and_then(|s| s.trim().parse().ok()).ok_or("invalid ip")?,
        // Without an address the visitor key alone tells visitors apart.
        (None, Some(_)) => IpAddr::from([0, 0, 0, 0]),
        (None, None) => return Err("missing ip (or visitor)"),
    };
    let user_agent = obj.get("user_agent").and_then(Value::as_str).unwrap_or_default().to_owned();
    let attributes = match obj.get("attributes") {
        None | Some(Value::Null) => None,
        Some(v) => Some(VisitOverrides::deserialize(v).map_err(|_| "invalid attributes")?),
    };
    let mut body = Map::new();
    body.insert("n".into(), obj.get("name").cloned().unwrap_or_else(|| json!("pageview")));
    for (from, to) in BODY_KEYS {
        if let Some(v) = obj.get(from) {
            body.insert(to.into(), v.clone());
        }
    }
    Ok(Some(LineEvent { ts, ip, user_agent, visitor, attributes, body }))
}

static COMBINED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+)[^"]*" (\d{3}) \S+ "([^"]*)" "([^"]*)""#).ok()
});
const ASSET_EXTENSIONS: [&str; 16] = [
    "css", "js", "png", "jpg", "jpeg", "gif", "svg", "ico", "woff", "woff2", "ttf", "map", "webp", "avif", "mp4", "xml",
];

fn parse_combined(text: &str, site: &str) -> Result<Option<LineEvent>, &'static str> {
    let re = COMBINED.as_ref().ok_or("log pattern unavailable")?;
    let c = re.captures(text).ok_or("not a combined log line")?;
    let ip: IpAddr = c[1].parse().map_err(|_| "invalid client address")?;
    let ts = jiff::fmt::strtime::parse("%d/%b/%Y:%H:%M:%S %z", &c[2])
        .and_then(|t| t.to_timestamp())
        .map_err(|_| "invalid time")?
        .as_second();
    let (method, path, status) = (&c[3], &c[4], &c[5]);
    let ext = path.split('?').next().unwrap_or_default().rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let is_asset = ext.is_some_and(|e| ASSET_EXTENSIONS.contains(&e.as_str()));
    if method != "GET" || !status.starts_with('2') || is_asset || !path.starts_with('/') {
        return Ok(None);
    }
    let mut body = Map::new();
    body.insert("n".into(), json!("pageview"));
    body.insert("u".into(), json!(format!("https://{site}{path}")));
    body.insert("d".into(), json!(site));
    if &c[6] != "-" {
        body.insert("r".into(), json!(&c[6]));
    }
    Ok(Some(LineEvent { ts, ip, user_agent: c[7].to_owned(), visitor: None, attributes: None, body }))
}

fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_second());
    }
    // A civil time without offset is taken as UTC.
    s.parse::<jiff::civil::DateTime>().ok()?.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_second())
}

fn hash(parts: &[&[u8]]) -> u64 {
    let mut h = SipHasher24::new_with_key(&IMPORT_KEY);
    for p in parts {
        h.write(p);
        h.write_u8(0xff);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_lines() {
        let line = r#"203.0.113.9 - - [10/Oct/2025:13:55:36 +0200] "GET /blog/post?utm_source=x HTTP/1.1" 200 2326 "https://www.google.com/" "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0""#;
        let e = parse_combined(line, "a.test").unwrap().unwrap();
        assert_eq!(e.ts, 1_760_097_336);
        assert_eq!(e.body["u"], "https://a.test/blog/post?utm_source=x");
        assert_eq!(e.body["r"], "https://www.google.com/");
        let asset = r#"203.0.113.9 - - [10/Oct/2025:13:55:36 +0200] "GET /app.css HTTP/1.1" 200 1 "-" "UA""#;
        assert!(parse_combined(asset, "a.test").unwrap().is_none());
        let post = r#"203.0.113.9 - - [10/Oct/2025:13:55:36 +0200] "POST /login HTTP/1.1" 200 1 "-" "UA""#;
        assert!(parse_combined(post, "a.test").unwrap().is_none());
        assert!(parse_combined("garbage", "a.test").is_err());
    }

    #[test]
    fn ndjson_times() {
        assert_eq!(parse_time("2025-10-10T11:55:36Z"), Some(1_760_097_336));
        assert_eq!(parse_time("2025-10-10T11:55:36"), Some(1_760_097_336));
        assert_eq!(parse_time("yesterday"), None);
        let e = parse_ndjson(
            r#"{"timestamp":1760097336,"site":"a.test","url":"https://a.test/","ip":"203.0.113.9","user_agent":"UA"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(e.body["n"], "pageview");
        assert!(parse_ndjson(r#"{"site":"a.test"}"#).is_err());
    }
}
