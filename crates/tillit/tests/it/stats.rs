//! The Stats API (v1 and v2) over HTTP: keys, goals, answers and errors.

use serde_json::{Value, json};

use crate::support::{CHROME_UA, Server, add_site, tillit};

const FIREFOX_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
const SAFARI_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/// Two days ten days ago (inside any retention period), as `YYYY-MM-DD`.
fn fixture_days() -> (String, String) {
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let d1 = today.checked_sub(jiff::Span::new().days(10)).unwrap();
    (d1.to_string(), d1.tomorrow().unwrap().to_string())
}

/// Three visits over the two fixture days, imported with explicit times.
fn import_fixture(dir: &std::path::Path) {
    let (d1, d2) = fixture_days();
    let line = |ts: &str, name: &str, url: &str, referrer: &str, ua: &str, ip: &str, props: Value| {
        json!({"timestamp": ts, "site": "shop.test", "name": name, "url": url, "referrer": referrer,
               "user_agent": ua, "ip": ip, "props": props})
        .to_string()
    };
    let lines = [
        line(
            &format!("{d1}T10:00:00Z"),
            "pageview",
            "https://shop.test/",
            "https://www.google.com/",
            CHROME_UA,
            "203.0.113.1",
            json!({}),
        ),
        line(
            &format!("{d1}T10:01:00Z"),
            "pageview",
            "https://shop.test/pricing",
            "",
            CHROME_UA,
            "203.0.113.1",
            json!({}),
        ),
        line(
            &format!("{d1}T10:02:00Z"),
            "Signup",
            "https://shop.test/pricing",
            "",
            CHROME_UA,
            "203.0.113.1",
            json!({"plan": "pro"}),
        ),
        line(
            &format!("{d1}T11:00:00Z"),
            "pageview",
            "https://shop.test/blog/a",
            "",
            FIREFOX_UA,
            "203.0.113.2",
            json!({}),
        ),
        line(
            &format!("{d2}T09:00:00Z"),
            "pageview",
            "https://shop.test/",
            "https://www.google.com/",
            SAFARI_UA,
            "203.0.113.3",
            json!({}),
        ),
    ];
    let file = dir.join("fixture.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = tillit(dir, &["import", file.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn create_key(dir: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["apikey", "create", "--site", "shop.test"];
    args.extend_from_slice(extra);
    let out = tillit(dir, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "only the key is printed: {stdout}");
    stdout.trim().to_owned()
}

async fn get(server: &Server, key: &str, path: &str) -> (u16, Value) {
    let res = reqwest::Client::new().get(format!("{}{path}", server.base)).bearer_auth(key).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn v2(server: &Server, key: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v2/query", server.base))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn stats_api_answers_like_plausible() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    add_site(tmp.path(), "other.test");
    import_fixture(tmp.path());
    assert!(tillit(tmp.path(), &["goal", "add", "--site", "shop.test", "--event", "Signup"]).status.success());
    assert!(tillit(tmp.path(), &["goal", "add", "--site", "shop.test", "--page", "/pricing"]).status.success());
    let key = create_key(tmp.path(), &[]);
    let server = Server::start(tmp.path(), &[]).await;
    let (d1, d2) = fixture_days();
    let range = format!("period=custom&date={d1},{d2}");

    let (status, body) = get(
        &server,
        &key,
        &format!("/api/v1/stats/aggregate?site_id=shop.test&{range}&metrics=visitors,visits,pageviews,events,bounce_rate,visit_duration,views_per_visit"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["results"];
    assert_eq!(
        (r["visitors"]["value"].clone(), r["visits"]["value"].clone(), r["pageviews"]["value"].clone()),
        (json!(3), json!(3), json!(4))
    );
    assert_eq!((r["events"]["value"].clone(), r["bounce_rate"]["value"].clone()), (json!(5), json!(67)));
    assert_eq!((r["visit_duration"]["value"].clone(), r["views_per_visit"]["value"].clone()), (json!(40), json!(1.33)));

    // `all` starts at the site's first event (v2: v1 has no `all` period).
    let (_, body) =
        v2(&server, &key, json!({"site_id": "shop.test", "metrics": ["pageviews"], "date_range": "all"})).await;
    assert_eq!(body["results"][0]["metrics"][0], 4, "{body}");

    let (_, body) = get(&server, &key, &format!("/api/v1/stats/timeseries?site_id=shop.test&{range}")).await;
    assert_eq!(body["results"], json!([{"date": d1, "visitors": 2}, {"date": d2, "visitors": 1}]));

    let (_, body) = get(
        &server,
        &key,
        &format!(
            "/api/v1/stats/breakdown?site_id=shop.test&{range}&property=visit:source&metrics=visitors,bounce_rate"
        ),
    )
    .await;
    assert_eq!(
        body["results"],
        json!([{"source": "Google", "visitors": 2, "bounce_rate": 50}, {"source": "Direct / None", "visitors": 1, "bounce_rate": 100}])
    );

    // Goals: conversion rate against all visitors.
    let (_, body) = get(
        &server,
        &key,
        &format!(
            "/api/v1/stats/breakdown?site_id=shop.test&{range}&property=event:goal&metrics=visitors,conversion_rate"
        ),
    )
    .await;
    assert_eq!(
        body["results"],
        json!([{"goal": "Signup", "visitors": 1, "conversion_rate": 33.33}, {"goal": "Visit /pricing", "visitors": 1, "conversion_rate": 33.33}])
    );
    let (_, body) =
        get(&server, &key, &format!("/api/v1/stats/aggregate?site_id=shop.test&{range}&filters=event:page==/blog/*"))
            .await;
    assert_eq!(body["results"]["visitors"]["value"], 1);

    // v2: nested filters, dimensions, time labels, pagination.
    let (status, body) = v2(
        &server,
        &key,
        json!({"site_id": "shop.test", "metrics": ["visitors", "pageviews"], "date_range": [d1, d2],
               "dimensions": ["time:day", "visit:browser"],
               "filters": [["or", [["is", "visit:source", ["Google"]], ["contains", "event:page", ["blog"]]]]],
               "include": {"time_labels": true, "total_rows": true}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        json!([
            {"metrics": [1, 2], "dimensions": [d1, "Chrome"]},
            {"metrics": [1, 1], "dimensions": [d1, "Firefox"]},
            {"metrics": [1, 1], "dimensions": [d2, "Safari"]}
        ])
    );
    assert_eq!(body["meta"]["time_labels"], json!([d1, d2]));
    assert_eq!(body["meta"]["total_rows"], 3);
    assert_eq!(body["query"]["date_range"], json!([format!("{d1}T00:00:00+00:00"), format!("{d2}T23:59:59+00:00")]));
    let (_, body) = v2(
        &server,
        &key,
        json!({"site_id": "shop.test", "metrics": ["visitors"], "date_range": [d1, d2],
               "dimensions": ["event:page"], "order_by": [["event:page", "asc"]], "pagination": {"limit": 2, "offset": 1}}),
    )
    .await;
    assert_eq!(
        body["results"],
        json!([{"metrics": [1], "dimensions": ["/blog/a"]}, {"metrics": [1], "dimensions": ["/pricing"]}])
    );

    // Location names are dimensions too (no geolocation database here: every visit is unknown).
    let (status, body) = v2(
        &server,
        &key,
        json!({"site_id": "shop.test", "metrics": ["visitors"], "date_range": [d1, d2],
               "dimensions": ["visit:country_name", "visit:region_name", "visit:city_name", "visit:city"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["metrics"], json!([3]));

    // Errors.
    let (status, body) =
        v2(&server, &key, json!({"site_id": "shop.test", "metrics": ["nope"], "date_range": "7d"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "#/metrics/0: Invalid metric \"nope\"", "{body}");
    let (status, _) = get(&server, "wrong", &format!("/api/v1/stats/aggregate?site_id=shop.test&{range}")).await;
    assert_eq!(status, 401);
    let (status, _) = get(&server, &key, "/api/v1/stats/aggregate?site_id=other.test").await;
    assert_eq!(status, 401, "a key reads only its sites");
    let (status, body) = get(&server, &key, "/api/v1/stats/aggregate").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("site_id"));
    let res = reqwest::get(format!("{}/api/v1/stats/aggregate?site_id=shop.test", server.base)).await.unwrap();
    assert_eq!(res.status(), 401);
    let (status, body) = get(&server, &key, &format!("/api/v1/stats/breakdown?site_id=shop.test&{range}")).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("property"));
    let (status, _) = get(&server, &key, "/api/v1/stats/aggregate?site_id=shop.test&period=fortnight").await;
    assert_eq!(status, 400);

    // Funnels: / → /pricing → Signup, in order within a visit.
    let ok = tillit(tmp.path(), &["goal", "add", "--site", "shop.test", "--page", "/"]).status.success();
    assert!(ok);
    let out = tillit(
        tmp.path(),
        &[
            "funnel",
            "add",
            "--site",
            "shop.test",
            "--name",
            "Buy",
            "--step",
            "Visit /",
            "--step",
            "Visit /pricing",
            "--step",
            "Signup",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = tillit(tmp.path(), &["funnel", "add", "--site", "shop.test", "--name", "One", "--step", "Signup"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("2 to 8 steps"));
    let (status, body) =
        get(&server, &key, &format!("/api/v1/stats/funnel?site_id=shop.test&{range}&funnel=Buy")).await;
    assert_eq!(status, 200, "{body}");
    let steps = &body["results"]["steps"];
    assert_eq!(
        (steps[0]["visitors"].clone(), steps[1]["visitors"].clone(), steps[2]["visitors"].clone()),
        (json!(2), json!(1), json!(1))
    );
    assert_eq!((steps[1]["conversion_rate"].clone(), steps[1]["dropoff"].clone()), (json!(50.0), json!(1)));

    // Realtime: visitors of the last five minutes (the fixture is old).
    let (status, body) = get(&server, &key, "/api/v1/stats/realtime/visitors?site_id=shop.test").await;
    assert_eq!((status, body), (200, json!(0)));

    // Revoked keys stop working at once.
    let listed = String::from_utf8(tillit(tmp.path(), &["apikey", "list"]).stdout).unwrap();
    assert!(listed.contains(&key[..12]) && !listed.contains(&key), "{listed}");
    assert!(tillit(tmp.path(), &["apikey", "revoke", &key[..12]]).status.success());
    let (status, _) = get(&server, &key, &format!("/api/v1/stats/aggregate?site_id=shop.test&{range}")).await;
    assert_eq!(status, 401);
    server.stop();
}

#[tokio::test]
async fn keys_are_rate_limited() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let key = create_key(tmp.path(), &["--hourly-limit", "3"]);
    let server = Server::start(tmp.path(), &[]).await;
    for _ in 0..3 {
        assert_eq!(get(&server, &key, "/api/v1/stats/realtime/visitors?site_id=shop.test").await.0, 200);
    }
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/stats/realtime/visitors?site_id=shop.test", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("limited to 3 requests per hour"));
    server.stop();
}

#[tokio::test]
async fn admin_goals_and_funnels_refuse_bad_input_and_keep_what_exists() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let server = Server::start(tmp.path(), &[("TILLIT_ADMIN_TOKEN", "test-admin-token")]).await;
    let client = reqwest::Client::new();
    let goals = format!("{}/api/admin/sites/shop.test/goals", server.base);
    let post = |url: String, body: &'static str| client.post(url).bearer_auth("test-admin-token").body(body).send();
    assert_eq!(post(goals.clone(), r#"{"event_name":"Signup"}"#).await.unwrap().status(), 201);
    assert_eq!(post(goals.clone(), r#"{"page_path":"/pricing"}"#).await.unwrap().status(), 201);
    let scroll = post(goals.clone(), r#"{"page_path":"/blog/**","scroll_threshold":75}"#).await.unwrap();
    assert_eq!(scroll.status(), 201);
    let scroll: Value = scroll.json().await.unwrap();
    assert_eq!(
        (scroll["display_name"].as_str(), scroll["scroll_threshold"].as_u64()),
        (Some("Scroll 75% on /blog/**"), Some(75))
    );
    for (body, status) in [
        (r#"{"page_path":"/a","scroll_threshold":0}"#, 400),
        (r#"{"page_path":"/a","scroll_threshold":101}"#, 400),
        (r#"{"event_name":"A","scroll_threshold":50}"#, 400),
        (r#"{"page_path":"/a","scroll_threshold":"half"}"#, 400),
        ("not json", 400),
        (r#"{"event_name":"A","page_path":"/a"}"#, 400),
        (r#"{"page_path":"no-slash"}"#, 400),
        (r#"{"event_name":"Signup"}"#, 409),
        (r#"{"event_name":"X","extra":1}"#, 400),
    ] {
        let res = post(goals.clone(), body).await.unwrap();
        assert_eq!(res.status(), status, "{body}");
        let err: Value = res.json().await.unwrap();
        assert!(err["error"].as_str().is_some_and(|m| !m.is_empty()), "{body}: {err}");
    }
    let missing = post(format!("{}/api/admin/sites/nope.test/goals", server.base), r#"{"event_name":"A"}"#);
    assert_eq!(missing.await.unwrap().status(), 404);
    let unauthorised = client.post(goals.clone()).body(r#"{"event_name":"A"}"#).send().await.unwrap();
    assert_eq!(unauthorised.status(), 401);

    let funnels = format!("{}/api/admin/sites/shop.test/funnels", server.base);
    assert_eq!(post(funnels.clone(), r#"{"name":"F","steps":["Signup"]}"#).await.unwrap().status(), 400);
    assert_eq!(post(funnels.clone(), r#"{"name":"F","steps":["Signup","Nope"]}"#).await.unwrap().status(), 404);
    let ok = post(funnels.clone(), r#"{"name":"F","steps":["Visit /pricing","Signup"]}"#).await.unwrap();
    assert_eq!(ok.status(), 201);

    // What was stored is intact.
    let listed: Value = client.get(goals).bearer_auth("test-admin-token").send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|g| g["display_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Signup", "Visit /pricing", "Scroll 75% on /blog/**"]);
    let listed: Value = client.get(funnels).bearer_auth("test-admin-token").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["steps"].as_array().unwrap().len(), 2);
    server.stop();
}
