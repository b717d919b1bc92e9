//! "A 202 means the event is on disk": SIGKILL during ingest loses no acknowledged event.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::support::{CHROME_UA, Server, add_site, stored_count, stored_events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ingest_loses_no_acknowledged_event() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let server = Server::start(tmp.path(), &[("TILLIT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let base = server.base.clone();
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let base = base.clone();
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            for i in 0.. {
                let path = format!("/w{worker}/e{i}");
                let body = format!(r#"{{"n":"pageview","u":"https://shop.test{path}","d":"shop.test"}}"#);
                match post(&client, &base, worker, body).await {
                    Some(true) => {
                        acked.lock().await.insert(path);
                    }
                    Some(false) => {}
                    None => return,
                }
            }
        }));
    }
    // Let ingest run long enough to cross store flushes, then kill without warning.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() > 100, "only {} events were acknowledged", acked.len());

    // Restart: the ingest log is replayed into the store, and the live visits are restored from
    // it; each continues with one more event. Then stop cleanly and look.
    let server = Server::start(tmp.path(), &[("TILLIT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    for worker in 0..16 {
        let body = format!(r#"{{"n":"pageview","u":"https://shop.test/after/w{worker}","d":"shop.test"}}"#);
        let status = server.post_event(&body, &format!("198.51.100.{worker}"), CHROME_UA).await.status();
        assert_eq!(status, 202);
    }
    server.stop();
    let stored: Vec<String> = stored_events(tmp.path()).into_iter().map(|e| e.pathname).collect();
    let stored_set: HashSet<&String> = stored.iter().collect();
    let missing: Vec<&String> = acked.iter().filter(|p| !stored_set.contains(p)).collect();
    assert!(missing.is_empty(), "{} acknowledged events lost, e.g. {:?}", missing.len(), missing.first());
    assert_eq!(stored.len(), stored_set.len(), "no event was stored twice");
    assert_visit_deltas_add_up(&stored_events(tmp.path()));

    // And a second restart replays nothing again.
    let server = Server::start(tmp.path(), &[]).await;
    server.stop();
    assert_eq!(stored_events(tmp.path()).len(), stored.len());
}

/// The same with ingest busy enough that the store commits whole row groups, which end inside log
/// groups: each request fans out to 24 sites, and the server dies once a row group (122 880
/// events) is committed and more are staged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_whole_row_groups_commit_loses_and_doubles_nothing() {
    const SITES: usize = 24;
    let tmp = tempfile::tempdir().unwrap();
    let domains: Vec<String> = (0..SITES).map(|i| format!("s{i}.test")).collect();
    for d in &domains {
        add_site(tmp.path(), d);
    }
    let domains = domains.join(",");
    let server = Server::start(tmp.path(), &[("TILLIT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (base, acked, domains) = (server.base.clone(), acked.clone(), domains.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            for i in 0.. {
                let path = format!("/w{worker}/e{i}");
                let body = format!(r#"{{"n":"pageview","u":"https://s0.test{path}","d":"{domains}"}}"#);
                match post(&client, &base, worker, body).await {
                    Some(true) => acked.lock().await.push(path),
                    Some(false) => {}
                    None => return,
                }
            }
        }));
    }
    // Kill once the store has committed a row group, with more rows staged after it.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let health = format!("{}/api/health", server.base);
    let stored = || async {
        let h: serde_json::Value = reqwest::get(&health).await.unwrap().json().await.unwrap();
        h["ingest"]["stored"].as_u64().unwrap()
    };
    while stored().await < 122_880 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().await.clone();
    let committed = stored_count(tmp.path());
    assert!(committed >= 122_880, "no whole row group was committed before the kill ({committed} rows)");

    let server = Server::start(tmp.path(), &[]).await;
    server.stop();
    let stored = stored_events(tmp.path());
    let stored_set: HashSet<(u32, &str)> = stored.iter().map(|e| (e.site_id, e.pathname.as_str())).collect();
    assert_eq!(stored.len(), stored_set.len(), "no event was stored twice");
    let per_path: HashMap<&str, usize> = stored.iter().fold(HashMap::new(), |mut m, e| {
        *m.entry(e.pathname.as_str()).or_default() += 1;
        m
    });
    let missing: Vec<&String> = acked.iter().filter(|p| per_path.get(p.as_str()) != Some(&SITES)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged requests not stored for every site, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

#[tokio::test]
async fn graceful_shutdown_flushes_and_sessions_survive_restart() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let server = Server::start(tmp.path(), &[("TILLIT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let first = r#"{"n":"pageview","u":"https://shop.test/a","d":"shop.test","r":"https://news.ycombinator.com/"}"#;
    assert_eq!(server.post_event(first, "203.0.113.50", CHROME_UA).await.status(), 202);
    server.stop();
    let server = Server::start(tmp.path(), &[("TILLIT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let second = r#"{"n":"pageview","u":"https://shop.test/b","d":"shop.test"}"#;
    assert_eq!(server.post_event(second, "203.0.113.50", CHROME_UA).await.status(), 202);
    server.stop();
    let events = stored_events(tmp.path());
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].session_id, events[1].session_id, "the visit continues across a restart");
    assert_eq!(events[1].session.source, "Hacker News");
    assert_visit_deltas_add_up(&events);
}

/// Posts an event from worker `worker`'s own address: whether it was acknowledged, or `None` once
/// the server is gone.
async fn post(client: &reqwest::Client, base: &str, worker: usize, body: String) -> Option<bool> {
    let res = client
        .post(format!("{base}/api/event"))
        .header("user-agent", CHROME_UA)
        .header("x-forwarded-for", format!("198.51.100.{worker}"))
        .body(body)
        .send()
        .await;
    res.ok().map(|r| r.status() == 202)
}

/// Per visit, the stored deltas add up to what grouping its events gives: one visit, its bounce
/// (at most one interactive event) and its duration.
fn assert_visit_deltas_add_up(events: &[tillit_store::EventRecord]) {
    let mut visits: HashMap<u64, Vec<&tillit_store::EventRecord>> = HashMap::new();
    for e in events.iter().filter(|e| e.name != "engagement") {
        visits.entry(e.session_id).or_default().push(e);
    }
    assert!(!visits.is_empty());
    for (id, evs) in visits {
        let starts: u32 = evs.iter().map(|e| u32::from(e.visit.starts)).sum();
        let bounce: i32 = evs.iter().map(|e| i32::from(e.visit.bounce)).sum();
        let duration: i64 = evs.iter().map(|e| i64::from(e.visit.duration)).sum();
        let interactive = evs.iter().filter(|e| e.interactive).count();
        let (first, last) = (evs.iter().map(|e| e.ts).min().unwrap(), evs.iter().map(|e| e.ts).max().unwrap());
        assert_eq!(starts, 1, "visit {id}");
        assert_eq!(bounce, i32::from(interactive <= 1), "visit {id}");
        assert_eq!(duration, last - first, "visit {id}");
    }
}
