//! The Events API over HTTP, against real stores.

use crate::support::{CHROME_UA, Server, add_site, stored_count, stored_events};

#[tokio::test]
async fn events_are_accepted_enriched_and_stored() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    add_site(tmp.path(), "blog.test");
    let server = Server::start(tmp.path(), &[("TILLIT_TRUSTED_PROXIES", "127.0.0.1")]).await;

    let pageview = r#"{"n":"pageview","u":"https://www.shop.test/products/1?utm_source=newsletter&utm_medium=email&secret=x","d":"shop.test","r":"https://www.google.com/search?q=x"}"#;
    let res = server.post_event(pageview, "198.51.100.20", CHROME_UA).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(res.headers().get("x-plausible-dropped").is_none());
    // Same visitor, later event with a different referrer: the session keeps its first source.
    let custom = r#"{"name":"Signup","url":"https://shop.test/signup","domain":"shop.test","referrer":"https://bing.com/","props":{"plan":"pro","n":3}}"#;
    assert_eq!(server.post_event(custom, "198.51.100.20", CHROME_UA).await.status(), 202);
    // Fan-out to two sites, one unknown.
    let fan = r#"{"n":"pageview","u":"https://blog.test/","d":"blog.test,unknown.test"}"#;
    let res = server.post_event(fan, "198.51.100.21", CHROME_UA).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.headers()["x-plausible-dropped"], "1");
    // A bot is dropped, still 202.
    let res = server.post_event(pageview, "198.51.100.22", "Googlebot/2.1 (+http://www.google.com/bot.html)").await;
    assert_eq!((res.status().as_u16(), res.headers()["x-plausible-dropped"].to_str().unwrap()), (202, "1"));

    let health: serde_json::Value =
        reqwest::get(format!("{}/api/health", server.base)).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["ingest"]["accepted"], 3);
    server.stop();

    let events = stored_events(tmp.path());
    assert_eq!(events.len(), 3);
    let pv = events.iter().find(|e| e.name == "pageview" && e.hostname == "shop.test").unwrap();
    assert_eq!(pv.pathname, "/products/1");
    assert_eq!(pv.session.source, "newsletter", "a source nobody knows stays as it was sent");
    assert_eq!(pv.session.utm_medium, "email");
    assert_eq!(pv.session.channel, "Email");
    assert_eq!(pv.session.referrer, "google.com/search");
    assert_eq!(pv.session.entry_page, "/products/1");
    assert_eq!(
        (pv.session.browser.as_str(), pv.session.os.as_str(), pv.session.device.as_str()),
        ("Chrome", "Windows", "Desktop")
    );
    let signup = events.iter().find(|e| e.name == "Signup").unwrap();
    assert_eq!((signup.visitor_id, signup.session_id), (pv.visitor_id, pv.session_id));
    assert_eq!(signup.session.source, "newsletter");
    // Nothing personal reached the disk.
    let bytes = std::fs::read(tmp.path().join("events.duckdb")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("198.51.100.20") && !text.contains("Chrome/142.0.0.0") && !text.contains("secret=x"));
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_leaves_data_intact() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let server = Server::start(tmp.path(), &[]).await;
    let ok = r#"{"n":"pageview","u":"https://shop.test/","d":"shop.test"}"#;
    assert_eq!(server.post_event(ok, "", CHROME_UA).await.status(), 202);

    let cases: Vec<(Vec<u8>, u16, &str, &str)> = vec![
        (b"{not json".to_vec(), 400, "request", "Unable to parse request body as json"),
        (b"\xff\xfe\x00garbage".to_vec(), 400, "request", "Unable to parse request body as json"),
        (
            br#"{"n":"pageview","u":"data:text/html,<script>alert(1)</script>","d":"shop.test"}"#.to_vec(),
            400,
            "url",
            "scheme is not allowed",
        ),
        (br#"{"u":"https://shop.test/","d":"shop.test"}"#.to_vec(), 400, "name", "can't be blank"),
        (
            format!(r#"{{"n":"pageview","u":"https://shop.test/{}","d":"shop.test"}}"#, "a".repeat(2100)).into_bytes(),
            400,
            "url",
            "must be a valid url",
        ),
        (vec![b' '; 1_000_001], 413, "request", "Request body is larger than 1000000 bytes"),
    ];
    let client = reqwest::Client::new();
    for (body, status, field, message) in cases {
        let res = client
            .post(format!("{}/api/event", server.base))
            .header("user-agent", CHROME_UA)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "expected {status} for {field}");
        let json: serde_json::Value = res.json().await.unwrap();
        assert_eq!(json["errors"][field][0], message);
    }
    // Non-scalar props are dropped, the event is kept.
    let props = r#"{"n":"Click","u":"https://shop.test/","d":"shop.test","p":{"list":[1,2],"obj":{"a":1},"ok":"yes"}}"#;
    assert_eq!(server.post_event(props, "", CHROME_UA).await.status(), 202);
    // Absurd headers: a 20 kB user agent is treated as a bot; a junk forwarded header is ignored.
    let res = client
        .post(format!("{}/api/event", server.base))
        .header("user-agent", "x".repeat(20_000))
        .header("x-forwarded-for", "999.999.1.1, <script>")
        .body(ok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    // The server is still up.
    assert!(reqwest::get(format!("{}/api/health", server.base)).await.unwrap().status().is_success());
    server.stop();
    let events = stored_events(tmp.path());
    assert_eq!(events.len(), 2, "exactly the two valid events are stored");
    assert_eq!(stored_count(tmp.path()), 2);
}

#[tokio::test]
async fn tracker_script_is_served_small_and_cacheable() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]).await;
    let client = reqwest::Client::new();
    let res =
        client.get(format!("{}/js/script.js", server.base)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    assert!(res.headers().get("set-cookie").is_none());
    let gz = res.bytes().await.unwrap();
    assert!(gz.len() <= 1000, "base script is {} bytes gzipped", gz.len());
    let plain =
        client.get(format!("{}/js/plausible.outbound-links.file-downloads.hash.js", server.base)).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.text().await.unwrap().contains("Outbound Link: Click"));
    assert_eq!(client.get(format!("{}/js/script.nonsense.js", server.base)).send().await.unwrap().status(), 404);
    // CORS pre-flight for the Events API.
    let pre = client.request(reqwest::Method::OPTIONS, format!("{}/api/event", server.base)).send().await.unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    server.stop();
}

#[tokio::test]
async fn admin_api_manages_sites() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]).await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/admin/sites", server.base);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(client.get(&url).bearer_auth("wrong").send().await.unwrap().status(), 401);
    let res = client
        .post(&url)
        .bearer_auth("test-admin-token")
        .body(r#"{"domain":"www.new.test","timezone":"Europe/Oslo"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let site: serde_json::Value = res.json().await.unwrap();
    assert_eq!((site["domain"].as_str(), site["timezone"].as_str()), (Some("new.test"), Some("Europe/Oslo")));
    let dup = client.post(&url).bearer_auth("test-admin-token").body(r#"{"domain":"new.test"}"#).send().await.unwrap();
    assert_eq!(dup.status(), 409);
    let bad = client
        .post(&url)
        .bearer_auth("test-admin-token")
        .body(r#"{"domain":"new.test","timezone":"Nowhere/Town"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("unknown time zone"));
    // The new site takes events at once.
    let ev = r#"{"n":"pageview","u":"https://new.test/","d":"new.test"}"#;
    let res = server.post_event(ev, "", CHROME_UA).await;
    assert!(res.headers().get("x-plausible-dropped").is_none());

    // A change of domain: the old one keeps taking events (for 72 hours) and cannot be taken by
    // another site meanwhile; bad changes are refused and change nothing.
    let patch = |path: &str, body: &'static str| {
        client.patch(format!("{url}/{path}")).bearer_auth("test-admin-token").body(body).send()
    };
    assert_eq!(patch("new.test", r#"{"domain":"not a domain"}"#).await.unwrap().status(), 400);
    assert_eq!(patch("new.test", r#"{"retention_days":0}"#).await.unwrap().status(), 400);
    assert_eq!(patch("new.test", r#"{"colour":"red"}"#).await.unwrap().status(), 400);
    assert_eq!(patch("nope.test", r#"{"domain":"x.test"}"#).await.unwrap().status(), 404);
    let res = patch("new.test", r#"{"domain":"renamed.test"}"#).await.unwrap();
    assert_eq!(res.status(), 200);
    let site: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (site["domain"].as_str(), site["previous_domain"].as_str(), site["timezone"].as_str()),
        (Some("renamed.test"), Some("new.test"), Some("Europe/Oslo"))
    );
    let res = server.post_event(ev, "", CHROME_UA).await;
    assert!(res.headers().get("x-plausible-dropped").is_none(), "the old domain still takes events");
    let taken =
        client.post(&url).bearer_auth("test-admin-token").body(r#"{"domain":"new.test"}"#).send().await.unwrap();
    assert_eq!(taken.status(), 409);
    let del = client.delete(format!("{url}/renamed.test")).bearer_auth("test-admin-token").send().await.unwrap();
    assert_eq!(del.status(), 200);
    let res = server.post_event(ev, "", CHROME_UA).await;
    assert_eq!(res.headers()["x-plausible-dropped"], "1");
    server.stop();
}
