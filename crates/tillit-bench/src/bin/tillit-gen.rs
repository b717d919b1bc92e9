//! Synthetic analytics data for benchmarks, written straight into an event store.
//!
//! `tillit-gen DATA_DIR SITE_ID EVENTS DAYS [SEED]` appends EVENTS events spread over the last DAYS
//! UTC days, today (so far) included, with realistic shapes (`tillit-gen count DATA_DIR` prints how many are stored): Zipf-distributed pages, a direct/search/social/email/referral mix,
//! UTM-tagged visits, countries, devices and browsers, sessions of a few pageviews, custom events
//! with props and revenue, and engagement events. The server must not be running.
//!
//! Like live ingest, no visit spans a UTC midnight and no visitor id repeats across days.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use tillit_store::events::{EventStore, EventStoreOptions};
use tillit_store::{EventRecord, Revenue, SessionAttrs, VisitDelta};

const BATCH: usize = 500_000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "count" {
        let dir = std::path::PathBuf::from(&args[2]);
        let store = EventStore::open_duckdb(&dir.join("events.duckdb"), &EventStoreOptions::default())?;
        println!("{}", store.count(None)?);
        return Ok(());
    }
    if args.len() < 5 {
        anyhow::bail!("usage: tillit-gen DATA_DIR SITE_ID EVENTS DAYS [SEED]");
    }
    let dir = std::path::PathBuf::from(&args[1]);
    let site_id: u32 = args[2].parse().context("SITE_ID")?;
    let total: u64 = args[3].parse().context("EVENTS")?;
    let days: i64 = args[4].parse().context("DAYS")?;
    let seed: u64 = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(42);
    let mut store = EventStore::open_duckdb(&dir.join("events.duckdb"), &EventStoreOptions::default())?;
    let mut generator = Generator::new(seed, site_id, days);
    let started = Instant::now();
    let mut written = 0u64;
    // Day by day and sorted by time within each day, the order live ingest writes in (it matters for
    // compression and for the store's per-block min/max pruning).
    let mut day_events = Vec::new();
    let mut next_session = (generator.start as u64) << 22;
    // Whole days weigh 1, today the part of it already gone.
    let today_share = (generator.now - (generator.start + (days - 1) * 86_400)) as f64 / 86_400.0;
    let per_day = total as f64 / (days as f64 - 1.0 + today_share);
    for day in 0..days {
        let quota = if day + 1 < days {
            per_day.round() as u64
        } else {
            total.saturating_sub(written + day_events.len() as u64)
        };
        while (day_events.len() as u64) < quota {
            generator.session(day, &mut day_events);
        }
        day_events.truncate(quota as usize);
        day_events.sort_by_key(|e: &EventRecord| e.ts);
        // Number sessions in the order they begin, as live ingest does (`tillit_core::ingest::session`).
        let mut ids = HashMap::new();
        for e in &mut day_events {
            let next = next_session + ids.len() as u64;
            e.session_id = *ids.entry(e.session_id).or_insert(next);
        }
        next_session += ids.len() as u64;
        // What the session tracker would have added to each visit's totals.
        tillit_store::record::fill_visit_deltas(&mut day_events);
        for chunk in day_events.chunks(BATCH) {
            store.insert(chunk, None)?;
        }
        written += day_events.len() as u64;
        day_events.clear();
    }
    store.checkpoint()?;
    let secs = started.elapsed().as_secs_f64();
    println!("generated {written} events in {secs:.1}s ({:.0} events/s)", written as f64 / secs);
    Ok(())
}

struct Generator {
    rng: StdRng,
    site_id: u32,
    start: i64,
    sessions: u64,
    now: i64,
    pages: Vec<String>,
    zipf_cdf: Vec<f64>,
}

const COUNTRIES: [(&str, &str, &str, u32); 12] = [
    ("NO", "NO-03", "Oslo", 20),
    ("SE", "SE-AB", "Stockholm", 15),
    ("DK", "DK-84", "Copenhagen", 10),
    ("DE", "DE-BE", "Berlin", 14),
    ("FR", "FR-IDF", "Paris", 9),
    ("GB", "GB-ENG", "London", 8),
    ("US", "US-CA", "San Francisco", 10),
    ("NL", "NL-NH", "Amsterdam", 4),
    ("FI", "FI-18", "Helsinki", 4),
    ("PL", "PL-14", "Warsaw", 3),
    ("ES", "ES-MD", "Madrid", 2),
    ("", "", "", 1),
];
const BROWSERS: [(&str, &str, &str, &str, &str, u32); 7] = [
    ("Chrome", "142.0", "Windows", "10", "Desktop", 35),
    ("Chrome", "142.0", "Android", "15", "Mobile", 20),
    ("Safari", "18.1", "iOS", "18.1", "Mobile", 18),
    ("Safari", "18.1", "Mac", "15.1", "Desktop", 9),
    ("Firefox", "140.0", "Linux", "", "Desktop", 7),
    ("Microsoft Edge", "142.0", "Windows", "11", "Desktop", 7),
    ("Samsung Internet", "28.0", "Android", "14", "Tablet", 4),
];
const SEARCH: [(&str, &str); 4] =
    [("Google", "google.com"), ("Bing", "bing.com"), ("DuckDuckGo", "duckduckgo.com"), ("Ecosia", "ecosia.org")];
const SOCIAL: [(&str, &str); 4] =
    [("Facebook", "facebook.com"), ("Twitter", "t.co"), ("LinkedIn", "linkedin.com"), ("Reddit", "reddit.com")];

impl Generator {
    fn new(seed: u64, site_id: u32, days: i64) -> Generator {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let pages: Vec<String> = (0..2000)
            .map(|i| match i {
                0 => "/".to_owned(),
                i if i % 5 == 0 => format!("/products/item-{i}"),
                i if i % 3 == 0 => format!("/docs/guide/section-{i}"),
                i => format!("/blog/post-{i}"),
            })
            .collect();
        // Zipf with s = 1.1 over page ranks.
        let weights: Vec<f64> = (1..=pages.len()).map(|r| 1.0 / (r as f64).powf(1.1)).collect();
        let sum: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let zipf_cdf = weights
            .iter()
            .map(|w| {
                acc += w / sum;
                acc
            })
            .collect();
        Generator {
            rng: StdRng::seed_from_u64(seed),
            site_id,
            start: (now.div_euclid(86_400) - (days - 1)) * 86_400,
            sessions: 0,
            now,
            pages,
            zipf_cdf,
        }
    }

    fn page(&mut self) -> String {
        let x: f64 = self.rng.random();
        let i = self.zipf_cdf.partition_point(|c| *c < x).min(self.pages.len() - 1);
        self.pages[i].clone()
    }

    fn pick<T: Copy>(&mut self, items: &[T], weight: impl Fn(&T) -> u32) -> T {
        let total: u32 = items.iter().map(&weight).sum();
        let mut x = self.rng.random_range(0..total);
        for item in items {
            let w = weight(item);
            if x < w {
                return *item;
            }
            x -= w;
        }
        items[0]
    }

    fn session(&mut self, day: i64, out: &mut Vec<EventRecord>) {
        // Day-time weighted start: busier in the afternoon.
        let hour = loop {
            let h = self.rng.random_range(0..24i64);
            let weight = if (9..22).contains(&h) { 10 } else { 3 };
            if self.rng.random_range(0..10) < weight {
                break h;
            }
        };
        let day_start = self.start + day * 86_400;
        let mut ts = day_start + hour * 3600 + self.rng.random_range(0..3600);
        // Visits end at midnight UTC (and nothing happens after now).
        let end = (day_start + 86_400).min(self.now);
        if ts >= end {
            return;
        }
        let visitor_id = tillit_store::visitor_id(day_start.div_euclid(86_400), self.rng.random());
        // Unique for now; renumbered in start order once the day is sorted.
        self.sessions += 1;
        let session_id = self.sessions;
        let (country, region, city, _) = self.pick(&COUNTRIES, |c| c.3);
        let (browser, bver, os, over, device, _) = self.pick(&BROWSERS, |b| b.5);
        let mut attrs = SessionAttrs {
            country: country.into(),
            region: region.into(),
            city: city.into(),
            city_geoname_id: if city.is_empty() { 0 } else { 3_143_244 + country.len() as u32 },
            browser: browser.into(),
            browser_version: bver.into(),
            os: os.into(),
            os_version: over.into(),
            device: device.into(),
            ..SessionAttrs::default()
        };
        match self.rng.random_range(0..100) {
            0..40 => attrs.channel = "Direct".into(),
            40..70 => {
                let (name, host) = SEARCH[self.pick(&[0usize, 1, 2, 3], |i| [80, 10, 7, 3][*i])];
                attrs.source = name.into();
                attrs.referrer = host.into();
                attrs.channel = "Organic Search".into();
            }
            70..85 => {
                let (name, host) = SOCIAL[self.rng.random_range(0..SOCIAL.len())];
                attrs.source = name.into();
                attrs.referrer = host.into();
                attrs.channel = "Organic Social".into();
            }
            85..90 => {
                attrs.source = "Newsletter".into();
                attrs.utm_source = "newsletter".into();
                attrs.utm_medium = "email".into();
                attrs.channel = "Email".into();
            }
            _ => {
                let host = format!("blog{}.example.org", self.rng.random_range(0..200));
                attrs.referrer = format!("{host}/links");
                attrs.source = host;
                attrs.channel = "Referral".into();
            }
        }
        if self.rng.random_range(0..100) < 15 {
            attrs.utm_campaign = format!("campaign-{}", self.rng.random_range(0..30));
            if attrs.utm_source.is_empty() {
                attrs.utm_source = attrs.source.to_lowercase();
                attrs.utm_medium = "cpc".into();
            }
        }
        let pageviews = 1 + (self.rng.random::<f64>().ln() / 0.6f64.ln()).floor().min(20.0) as usize;
        let entry = self.page();
        attrs.entry_page = entry.clone();
        let attrs = Arc::new(attrs);
        for n in 0..pageviews {
            if ts >= end {
                break;
            }
            let path = if n == 0 { entry.clone() } else { self.page() };
            let base = EventRecord {
                site_id: self.site_id,
                ts,
                name: "pageview".into(),
                hostname: "shop.test".into(),
                pathname: path,
                visitor_id,
                session_id,
                interactive: true,
                props: Vec::new(),
                revenue: None,
                scroll_depth: None,
                engagement_ms: None,
                session: attrs.clone(),
                import_key: None,
                visit: VisitDelta::default(),
            };
            if self.rng.random_range(0..100) < 50 {
                let mut e = base.clone();
                e.name = "engagement".into();
                e.ts = (e.ts + self.rng.random_range(5..120)).min(end - 1);
                e.scroll_depth = Some(self.rng.random_range(10..=100));
                e.engagement_ms = Some(self.rng.random_range(1_000..120_000));
                out.push(base.clone());
                out.push(e);
            } else {
                out.push(base.clone());
            }
            if self.rng.random_range(0..100) < 8 {
                let mut e = base.clone();
                match self.rng.random_range(0..3) {
                    0 => {
                        e.name = "Signup".into();
                        e.props = vec![("plan".into(), ["free", "pro", "team"][self.rng.random_range(0..3)].into())];
                    }
                    1 => {
                        e.name = "Purchase".into();
                        e.revenue = Some(Revenue {
                            amount_milli: self.rng.random_range(5_000..500_000),
                            currency: "EUR".into(),
                        });
                    }
                    _ => {
                        e.name = "File Download".into();
                        e.props = vec![(
                            "url".into(),
                            format!("https://shop.test/files/doc-{}.pdf", self.rng.random_range(0..50)),
                        )];
                    }
                }
                out.push(e);
            }
            ts += self.rng.random_range(10..300);
        }
    }
}
