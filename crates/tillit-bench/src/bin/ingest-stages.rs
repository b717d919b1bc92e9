//! CPU per event of each in-process ingest stage, without HTTP, threads or disks: parsing the
//! body, the privacy pipeline (user agent, visitor id, session, source), and encoding the log
//! record. Bodies, addresses and browsers follow `bench/ingest.lua`, so the numbers add up against
//! `bench/ingest-cpu.sh`.
//!
//! usage: ingest-stages [EVENTS=300000]

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use tillit_core::ingest::useragent::UaParser;
use tillit_core::ingest::visitor::DailySalt;
use tillit_core::ingest::{Client, Ingestor, SiteInfo, body};

const PATHS: [&str; 15] = [
    "/",
    "/",
    "/",
    "/pricing",
    "/pricing",
    "/features",
    "/blog/",
    "/blog/privacy-first-analytics",
    "/blog/gdpr-consent",
    "/docs/install",
    "/docs/api",
    "/about",
    "/contact",
    "/products/item-5",
    "/products/item-10",
];
const REFERRERS: [&str; 12] = [
    "",
    "",
    "",
    "",
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://t.co/abc",
    "https://www.facebook.com/",
    "https://news.ycombinator.com/",
    "https://blog.example.org/links/",
];
const CAMPAIGNS: [&str; 9] = [
    "",
    "",
    "",
    "",
    "",
    "",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=november",
    "?utm_source=google&utm_medium=cpc&utm_campaign=brand",
    "?ref=producthunt",
];
const AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0",
];
const VISITORS: u32 = 100_000;

fn main() -> anyhow::Result<()> {
    let events: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().map_err(|_| anyhow::anyhow!("EVENTS must be a number, got {n:?}"))?,
        None => 300_000,
    };
    let mut rng = StdRng::seed_from_u64(7);
    let pick = |rng: &mut StdRng, list: &[&'static str]| list[rng.random_range(0..list.len())];
    let requests: Vec<(String, IpAddr, &str)> = (0..events)
        .map(|_| {
            let v = rng.random_range(0..VISITORS);
            let ip = IpAddr::from([198, 18 + (v / 65_024 % 2) as u8, (v / 254 % 256) as u8, (v % 254 + 1) as u8]);
            let path = pick(&mut rng, &PATHS);
            let body = if rng.random_bool(0.1) {
                let seats = rng.random_range(1..=50);
                format!(r#"{{"n":"Signup","u":"https://shop.test{path}","d":"shop.test","p":{{"plan":"pro","seats":"{seats}"}}}}"#)
            } else {
                let (campaign, referrer) = (pick(&mut rng, &CAMPAIGNS), pick(&mut rng, &REFERRERS));
                format!(r#"{{"n":"pageview","u":"https://shop.test{path}{campaign}","d":"shop.test","r":"{referrer}"}}"#)
            };
            (body, ip, AGENTS[v as usize % AGENTS.len()])
        })
        .collect();

    let started = Instant::now();
    let parsed: Vec<_> = requests
        .iter()
        .map(|(b, _, _)| body::parse(b.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("a benchmark body was refused: {e}"))?;
    let parse = started.elapsed();

    let ingestor = Ingestor::new(UaParser::new(50_000)?, None, "", DailySalt::random());
    ingestor.set_sites([SiteInfo { id: 1, domain: "shop.test".into(), previous_domain: None }]);
    let now = 1_790_000_000;
    let started = Instant::now();
    let records: Vec<_> = parsed
        .iter()
        .zip(&requests)
        .enumerate()
        .map(|(i, (req, (_, ip, agent)))| {
            // The clock advances as it would at ~25 000 events/s.
            let ts = now + (i / 25_000) as i64;
            ingestor.process(req, Client { ip: *ip, user_agent: agent }, ts).records
        })
        .collect();
    let process = started.elapsed();

    let started = Instant::now();
    let bytes: usize = records.iter().map(|r| black_box(tillit_store::codec::encode(r)).len()).sum();
    let encode = started.elapsed();

    let per_event = |d: std::time::Duration| d.as_secs_f64() * 1e6 / events as f64;
    println!("events            {events}");
    println!("parse body        {:6.2} us/event", per_event(parse));
    println!("privacy pipeline  {:6.2} us/event", per_event(process));
    println!("encode log record {:6.2} us/event ({} bytes/event)", per_event(encode), bytes / events.max(1));
    Ok(())
}
