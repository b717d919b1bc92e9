//! The tracker in a real headless Chromium: pageviews, SPA navigation, an outbound click, a custom
//! event and the pre-load queue all arrive and are stored.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them the test is skipped, unless
//! `TILLIT_REQUIRE_BROWSER=1` (as in CI), where it fails instead.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::json;

use crate::support::{Server, add_site, free_port, stored_events};

/// A running chromedriver; dropping it stops it and deletes the browser profile its sessions used.
pub(crate) struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(profile_dir(self.1));
    }
}

/// The Chromium profile of the sessions of the driver on `driver_port`.
fn profile_dir(driver_port: u16) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tillit-chromium-{}-{driver_port}", std::process::id()))
}

pub(crate) fn chromedriver() -> Option<(Driver, u16)> {
    let path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(path) = path else {
        assert!(std::env::var("TILLIT_REQUIRE_BROWSER").is_err(), "chromedriver is required but not installed");
        eprintln!("skipping browser test: chromedriver not installed");
        return None;
    };
    let port = free_port();
    let child =
        Command::new(path).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()?;
    Some((Driver(child, port), port))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracker_reports_from_a_real_browser() {
    let Some((_driver, driver_port)) = chromedriver() else { return };
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let server = Server::start(tmp.path(), &[]).await;

    // The customer's site, on another origin.
    let page = format!(
        r#"<!doctype html><html><head><title>Shop</title>
<script>window.__plausible = true; window.plausible = window.plausible || function() {{ (window.plausible.q = window.plausible.q || []).push(arguments) }}; plausible("Queued", {{props: {{early: "yes"}}}});</script>
<script defer data-domain="shop.test" data-local="1" src="{}/js/script.outbound-links.js"></script></head>
<body><a id="out" href="https://partner.example/offer" onclick="event.preventDefault()">partner</a></body></html>"#,
        server.base
    );
    let site_port = serve_site(page, String::new()).await;
    let c = browser(driver_port).await;
    c.goto(&format!("http://127.0.0.1:{site_port}/")).await.unwrap();
    wait_for_accepted(&server, 2).await; // pageview + queued event
    c.execute(r#"history.pushState({}, "", "/spa-page");"#, vec![]).await.unwrap();
    wait_for_accepted(&server, 3).await;
    c.find(fantoccini::Locator::Id("out")).await.unwrap().click().await.unwrap();
    wait_for_accepted(&server, 4).await;
    c.execute(r#"tillit("Signup", {props: {plan: "pro"}});"#, vec![]).await.unwrap();
    wait_for_accepted(&server, 5).await;
    let cookies = c.get_all_cookies().await.unwrap();
    assert!(cookies.is_empty(), "the tracker set cookies: {cookies:?}");
    let storage: serde_json::Value =
        c.execute("return localStorage.length + sessionStorage.length;", vec![]).await.unwrap();
    assert_eq!(storage, json!(0), "the tracker wrote storage");
    c.close().await.unwrap();
    server.stop();

    let events = stored_events(tmp.path());
    let names: Vec<(&str, &str)> = events.iter().map(|e| (e.name.as_str(), e.pathname.as_str())).collect();
    assert!(names.contains(&("pageview", "/")), "{names:?}");
    assert!(names.contains(&("pageview", "/spa-page")), "{names:?}");
    assert!(names.contains(&("Queued", "/")), "{names:?}");
    let outbound = events.iter().find(|e| e.name == "Outbound Link: Click").expect("outbound click");
    assert_eq!(outbound.props, [("url".to_owned(), "https://partner.example/offer".to_owned())]);
    let signup = events.iter().find(|e| e.name == "Signup").expect("custom event");
    assert_eq!(signup.props, [("plan".to_owned(), "pro".to_owned())]);
    assert_eq!(events.iter().map(|e| e.session_id).collect::<std::collections::HashSet<_>>().len(), 1, "one visit");
}

async fn wait_for_accepted(server: &Server, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let health: serde_json::Value =
            reqwest::get(format!("{}/api/health", server.base)).await.unwrap().json().await.unwrap();
        let accepted = health["ingest"]["accepted"].as_u64().unwrap_or(0);
        if accepted >= n {
            return;
        }
        assert!(Instant::now() < deadline, "only {accepted} of {n} events arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Plausible's own published tracker (npm `@plausible-analytics/tracker`), pointed at Tillit,
/// works unchanged: pageview, custom event with props, outbound click and its engagement beacon.
/// CI fetches the package with `npm pack` and passes the file in `TILLIT_PLAUSIBLE_TRACKER`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plausibles_own_tracker_works_unchanged() {
    let tracker = match std::env::var("TILLIT_PLAUSIBLE_TRACKER") {
        Ok(path) => std::fs::read_to_string(path).expect("read Plausible's tracker"),
        Err(_) => {
            assert!(std::env::var("TILLIT_REQUIRE_BROWSER").is_err(), "TILLIT_PLAUSIBLE_TRACKER must be set in CI");
            eprintln!("skipping: TILLIT_PLAUSIBLE_TRACKER not set");
            return;
        }
    };
    let Some((_driver, driver_port)) = chromedriver() else { return };
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let server = Server::start(tmp.path(), &[]).await;
    let page = format!(
        r#"<!doctype html><html><head><title>Shop</title><script>window.__plausible = true;</script>
<script type="module">
import {{ init, track }} from "/plausible.js";
init({{ domain: "shop.test", endpoint: "{}/api/event", captureOnLocalhost: true, outboundLinks: true }});
window.trackSignup = () => track("Signup", {{ props: {{ plan: "team" }} }});
</script></head>
<body style="height:3000px"><a id="out" href="https://partner.example/x" onclick="event.preventDefault()">partner</a></body></html>"#,
        server.base
    );
    let site_port = serve_site(page, tracker).await;
    let c = browser(driver_port).await;
    c.goto(&format!("http://127.0.0.1:{site_port}/landing")).await.unwrap();
    wait_for_accepted(&server, 1).await;
    c.execute("window.scrollTo(0, 2000); trackSignup();", vec![]).await.unwrap();
    wait_for_accepted(&server, 2).await;
    c.find(fantoccini::Locator::Id("out")).await.unwrap().click().await.unwrap();
    wait_for_accepted(&server, 3).await;
    // Leaving the page sends Plausible's engagement beacon (scroll depth, engaged time).
    c.goto("about:blank").await.unwrap();
    wait_for_accepted(&server, 4).await;
    c.close().await.unwrap();
    server.stop();
    let events = stored_events(tmp.path());
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains(&"pageview") && names.contains(&"Signup") && names.contains(&"Outbound Link: Click"),
        "{names:?}"
    );
    let signup = events.iter().find(|e| e.name == "Signup").unwrap();
    assert_eq!(signup.props, [("plan".to_owned(), "team".to_owned())]);
    assert_eq!(signup.pathname, "/landing");
    assert!(names.contains(&"engagement"), "{names:?}");
}

/// Serves `page` at every path but `/plausible.js`, which serves `script`. Returns the port.
pub(crate) async fn serve_site(page: String, script: String) -> u16 {
    let port = free_port();
    let app = Router::new()
        .route(
            "/plausible.js",
            get(move || {
                let script = script.clone();
                async move { ([("content-type", "text/javascript")], script) }
            }),
        )
        .fallback(get(move || {
            let page = page.clone();
            async move { Html(page) }
        }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// A headless Chromium session through chromedriver.
pub(crate) async fn browser(driver_port: u16) -> fantoccini::Client {
    // The test build enables two rustls providers (ring for Tillit, aws-lc-rs for fantoccini).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let profile = profile_dir(driver_port);
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--host-resolver-rules=MAP shop.test 127.0.0.1",
                     "--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
                     format!("--user-data-dir={}", profile.display())]
        }
    });
    let caps = caps.as_object().cloned().unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut builder = fantoccini::ClientBuilder::rustls().expect("tls");
        builder.capabilities(caps.clone());
        match builder.connect(&format!("http://127.0.0.1:{driver_port}")).await {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("cannot start Chromium: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Tillit's own pages in a real browser: the first-run setup and sign-in forms work under the
/// strict CSP, and script-injection payloads sent through the Events API (page paths, referrers,
/// event names) show up as text on a shared dashboard: no element is injected, nothing runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_and_injected_payloads_stay_text() {
    let Some((_driver, driver_port)) = chromedriver() else { return };
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let server = Server::start(tmp.path(), &[]).await;
    let payloads = [
        r#"/<img src=x onerror="document.title='pwned'">"#,
        r#"/"><script>document.title='pwned'</script>"#,
        r#"/<svg onload="document.title='pwned'">"#,
    ];
    for (i, p) in payloads.iter().enumerate() {
        let body = json!({
            "n": if i == 0 { "pageview".to_owned() } else { format!("<img src=x onerror=\"document.title='pwned{i}'\">") },
            "u": format!("http://shop.test{p}"),
            "d": "shop.test",
            "r": format!("https://evil{i}.test/<script>document.title='pwned'</script>"),
            "p": {"plan": "<script>document.title='pwned'</script>"}
        });
        let res = server.post_event(&body.to_string(), &format!("198.51.100.{i}"), crate::support::CHROME_UA).await;
        assert_eq!(res.status(), 202);
    }
    let link: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/admin/sites/shop.test/shared-links", server.base))
        .bearer_auth("test-admin-token")
        .body(r#"{"name":"public"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let share = link["url"].as_str().unwrap().to_owned();
    // Wait until the events are queryable.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let html = reqwest::get(&share).await.unwrap().text().await.unwrap();
        if html.contains("pwned2") && html.contains("onerror") {
            assert!(!html.contains("<img src=x") && !html.contains("<script>document"), "unescaped HTML: {html}");
            break;
        }
        assert!(Instant::now() < deadline, "events never showed on the shared page: {html}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let c = browser(driver_port).await;
    // First run: the owner account from the setup form.
    c.goto(&format!("{}/", server.base)).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/setup"));
    submit_credentials(&c, "owner@shop.test", "a long passphrase").await;
    wait_for_text(&c, "Install the tracker").await;
    // The stylesheet loaded despite the strict CSP (no inline styles are needed).
    let font: serde_json::Value =
        c.execute("return getComputedStyle(document.body).fontFamily;", vec![]).await.unwrap();
    assert!(font.as_str().unwrap_or("").contains("system-ui"), "{font}");
    // Sign out, then in again.
    c.find(fantoccini::Locator::Css("header form button")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "Forgot your password?").await;
    submit_credentials(&c, "owner@shop.test", "a long passphrase").await;
    wait_for_text(&c, "shop.test").await;
    let cookies = c.get_all_cookies().await.unwrap();
    let session = cookies.iter().find(|k| k.name() == "tillit_session").expect("session cookie");
    assert_eq!(session.http_only(), Some(true));

    // The shared dashboard with the payloads.
    c.goto(&share).await.unwrap();
    wait_for_text(&c, "Top pages").await;
    let title: serde_json::Value = c.execute("return document.title;", vec![]).await.unwrap();
    assert!(!title.as_str().unwrap_or("").contains("pwned"), "a payload ran: {title}");
    let injected: serde_json::Value = c
        .execute(
            r#"return [...document.querySelectorAll('main img, main svg, main script')]
                .filter(e => !e.closest('figure.graph')).length;"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, json!(0), "the payload became markup");
    let text: serde_json::Value = c.execute("return document.body.innerText;", vec![]).await.unwrap();
    let text = text.as_str().unwrap_or("");
    assert!(text.contains("<script>document.title='pwned'</script>"), "payload not shown as text: {text}");
    assert!(text.contains("onerror=\"document.title='pwned1'\""), "event name not shown as text: {text}");
    c.close().await.unwrap();
    server.stop();
}

/// Fills the email and password fields of the current page's form and submits it.
pub(crate) async fn submit_credentials(c: &fantoccini::Client, email: &str, password: &str) {
    c.find(fantoccini::Locator::Css("input[name=email]")).await.unwrap().send_keys(email).await.unwrap();
    c.find(fantoccini::Locator::Css("input[name=password]")).await.unwrap().send_keys(password).await.unwrap();
    c.find(fantoccini::Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
}

pub(crate) async fn wait_for_text(c: &fantoccini::Client, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text: serde_json::Value =
            c.execute("return document.body ? document.body.innerText : '';", vec![]).await.unwrap();
        if text.as_str().unwrap_or("").contains(needle) {
            return;
        }
        assert!(Instant::now() < deadline, "page never showed {needle:?}: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where the browser tests keep their screenshots (a test artefact: `.ci/run` prints the path).
fn screenshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn screenshot(c: &fantoccini::Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Types `text` into the element matching `css`.
pub(crate) async fn type_into(c: &fantoccini::Client, css: &str, text: &str) {
    c.find(fantoccini::Locator::Css(css)).await.unwrap().send_keys(text).await.unwrap();
}

pub(crate) async fn click(c: &fantoccini::Client, css: &str) {
    c.find(fantoccini::Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// Clicks `css` (a submit button or a link) and waits until the browser has loaded the next
/// document. Waiting for text alone is not enough when the old page already shows that text
/// (a second "Saved."): the test would read the old page while the new one loads.
pub(crate) async fn click_and_load(c: &fantoccini::Client, css: &str) {
    js(c, "window.tillitOldPage = true; return 0;").await;
    click(c, css).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // During the navigation the script may fail; that only means "not yet".
        let loaded =
            c.execute("return window.tillitOldPage === undefined && document.readyState === 'complete';", vec![]).await;
        if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(Instant::now() < deadline, "clicking {css} never loaded a new page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn js(c: &fantoccini::Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.unwrap()
}

/// The dashboard in a real browser, end to end: sign in, open the site from the site list (with
/// its sparkline), see numbers that match the Stats API, filter by clicking a row and through the
/// filter editor, remove filters, change the period from the date picker and by keyboard, switch
/// tabs, open a report's details and search it, export the CSV zip and check its contents, open
/// the realtime view, switch the language, add a goal in the settings (as an owner), open a
/// shared link (also at phone width), and see the sign-in page in Swedish. Screenshots of the main
/// views are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_numbers_match_the_stats_api_and_filters_work() {
    use std::io::{Read, Write};
    let Some((_driver, driver_port)) = chromedriver() else { return };
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    for (email, role, password) in
        [("ana@shop.test", "analyst", "analyst password"), ("olga@shop.test", "owner", "owner password")]
    {
        let mut args = vec!["user", "add", email, "--role", role, "--password-stdin"];
        if role == "analyst" {
            args.extend(["--site", "shop.test"]);
        }
        let mut add = Command::new(crate::support::bin())
            .arg("--data-dir")
            .arg(tmp.path())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        add.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
        assert!(add.wait().unwrap().success());
    }
    let key = crate::support::tillit(tmp.path(), &["apikey", "create", "--site", "shop.test"]);
    let key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    // Each event names its visitor's address through the (trusted) loopback proxy.
    let server = Server::start(tmp.path(), &[("TILLIT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    for (i, page) in ["/", "/", "/pricing", "/", "/blog", "/pricing"].iter().enumerate() {
        let body = json!({"n": "pageview", "u": format!("http://shop.test{page}"), "d": "shop.test"}).to_string();
        let res = server.post_event(&body, &format!("198.51.100.{}", 10 + i), crate::support::CHROME_UA).await;
        assert_eq!(res.status(), 202);
    }
    let api = |filters: &'static str| {
        let (base, key) = (server.base.clone(), key.clone());
        async move {
            let url = format!(
                "{base}/api/v1/stats/aggregate?site_id=shop.test&period=day&metrics=visitors&filters={filters}"
            );
            let v: serde_json::Value =
                reqwest::Client::new().get(url).bearer_auth(key).send().await.unwrap().json().await.unwrap();
            v["results"]["visitors"]["value"].as_u64().unwrap()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while api("").await < 6 {
        assert!(Instant::now() < deadline, "events never became queryable");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let c = browser(driver_port).await;
    c.goto(&format!("{}/login", server.base)).await.unwrap();
    submit_credentials(&c, "ana@shop.test", "analyst password").await;
    wait_for_text(&c, "Install the tracker").await;
    // The site list: visitors and a sparkline per site; the chosen period is kept when opening it.
    assert_eq!(js(&c, "return document.querySelector('ul.sitelist .n').textContent;").await, json!("6"));
    assert_eq!(js(&c, "return document.querySelectorAll('svg.spark polyline').length;").await, json!(1));
    click(&c, "nav.periods a[href='/?period=7d']").await;
    wait_for_text(&c, "shop.test").await;
    click(&c, "ul.sitelist a").await;
    wait_for_text(&c, "Unique visitors").await;
    assert!(c.current_url().await.unwrap().query().unwrap_or("").contains("period=7d"));
    screenshot(&c, "dashboard").await;
    let first_card = || async {
        let v = js(&c, "return document.querySelector('.card .n').textContent;").await;
        v.as_str().unwrap_or("").parse::<u64>().unwrap_or(u64::MAX)
    };
    assert_eq!(first_card().await, api("").await, "dashboard and Stats API disagree");
    // A hover read-out on the graph carries exact values: one point per day of the period.
    assert_eq!(js(&c, "return document.querySelectorAll('figure.graph circle title').length;").await, json!(7));
    let last =
        js(&c, "var t = document.querySelectorAll('figure.graph circle title'); return t[t.length-1].textContent;")
            .await;
    assert!(last.as_str().unwrap().ends_with(": 6"), "{last}");

    // Keyboard: T is the last 30 days.
    js(&c, "document.dispatchEvent(new KeyboardEvent('keydown', {key: 't'})); return 0;").await;
    wait_for_text(&c, "Last 30 days").await;
    assert!(c.current_url().await.unwrap().query().unwrap_or("").contains("period=30d"));

    // Click the /pricing row: the page filters by it.
    c.find(fantoccini::Locator::LinkText("/pricing")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "Filtered by").await;
    let url = c.current_url().await.unwrap();
    assert!(url.query().unwrap_or("").contains("filters=event%3Apage%3D%3D%2Fpricing"), "{url}");
    assert_eq!(first_card().await, api("event:page%3D%3D%2Fpricing").await);
    assert_eq!(first_card().await, 2);
    // Remove the chip.
    click_and_load(&c, ".chip a").await;
    wait_for_text(&c, "Top sources").await;
    assert_eq!(first_card().await, 6);

    // The filter editor: pages containing "PRIC" (any case).
    click(&c, "details#filter summary").await;
    c.find(fantoccini::Locator::Css("select[name=fdim]")).await.unwrap().select_by_value("event:page").await.unwrap();
    c.find(fantoccini::Locator::Css("select[name=fop]")).await.unwrap().select_by_value("~=").await.unwrap();
    c.find(fantoccini::Locator::Css("input[name=fval]")).await.unwrap().send_keys("PRIC").await.unwrap();
    click(&c, "form.editor button[type=submit]").await;
    wait_for_text(&c, "Top pages contains PRIC").await;
    assert_eq!(first_card().await, 2);
    // Esc clears the filters.
    js(&c, "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'})); return 0;").await;
    wait_for_text(&c, "Top sources").await;
    assert_eq!(first_card().await, 6);

    // The date picker: Today.
    click(&c, "details#period summary").await;
    c.find(fantoccini::Locator::LinkText("Today")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "Unique visitors").await;
    assert!(c.current_url().await.unwrap().query().unwrap_or("").contains("period=day"));
    assert_eq!(first_card().await, 6);

    // Tabs, then the details of entry pages, searched.
    c.find(fantoccini::Locator::LinkText("Entry pages")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "Entry pages").await;
    assert!(c.current_url().await.unwrap().query().unwrap_or("").contains("pages=entry_pages"));
    click(&c, "#pages .more a").await;
    wait_for_text(&c, "Back to the dashboard").await;
    let rows = || async { js(&c, "return document.querySelectorAll('table.details tbody tr').length;").await };
    assert_eq!(rows().await, json!(3));
    c.find(fantoccini::Locator::Css("input[name=q]")).await.unwrap().send_keys("blog").await.unwrap();
    // The unfiltered list already shows "/blog": wait for the new page, not for the text.
    click_and_load(&c, "form.search button").await;
    wait_for_text(&c, "/blog").await;
    assert_eq!(rows().await, json!(1));
    screenshot(&c, "details").await;

    // The CSV export of the current view, fetched with the browser's session.
    c.goto(&format!("{}/sites/shop.test?period=30d", server.base)).await.unwrap();
    wait_for_text(&c, "Export CSV").await;
    let href = js(&c, "return document.querySelector('a[download]').href;").await;
    let cookies = c.get_all_cookies().await.unwrap();
    let cookie = cookies.iter().map(|k| format!("{}={}", k.name(), k.value())).collect::<Vec<_>>().join("; ");
    let res = reqwest::Client::new().get(href.as_str().unwrap()).header("cookie", cookie).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut pages = String::new();
    zip.by_name("pages.csv").unwrap().read_to_string(&mut pages).unwrap();
    assert!(pages.starts_with("page,visitors,pageviews,"), "{pages}");
    assert!(pages.contains("\r\n/pricing,2,2,"), "{pages}");
    let mut visitors = String::new();
    zip.by_name("visitors.csv").unwrap().read_to_string(&mut visitors).unwrap();
    assert_eq!(visitors.lines().count(), 31, "a header and one row per day");
    for name in ["sources.csv", "entry_pages.csv", "countries.csv", "browsers.csv", "custom_props.csv"] {
        assert!(zip.by_name(name).is_ok(), "{name} missing");
    }

    // Realtime: the six visitors of the last minutes.
    click(&c, "a[data-key=r]").await;
    wait_for_text(&c, "Current visitors").await;
    assert_eq!(js(&c, "return document.getElementById('current').textContent;").await, json!("6"));
    screenshot(&c, "realtime").await;

    // Language: Norwegian, saved for the user, with the numbers and words of the dashboard.
    c.goto(&format!("{}/sites/shop.test", server.base)).await.unwrap();
    wait_for_text(&c, "Unique visitors").await;
    c.find(fantoccini::Locator::Css("footer select[name=lang]")).await.unwrap().select_by_value("nb").await.unwrap();
    wait_for_text(&c, "Unike besøkende").await;
    assert_eq!(js(&c, "return document.documentElement.lang;").await, json!("nb"));
    c.goto(&format!("{}/", server.base)).await.unwrap();
    wait_for_text(&c, "Nettsteder").await;
    screenshot(&c, "sites-nb").await;
    click(&c, "form[action='/logout'] button").await;
    wait_for_text(&c, "Sign in").await;

    // An owner adds a goal in the site settings; the dashboard's goals panel shows it.
    submit_credentials(&c, "olga@shop.test", "owner password").await;
    wait_for_text(&c, "shop.test").await;
    c.goto(&format!("{}/sites/shop.test/settings", server.base)).await.unwrap();
    wait_for_text(&c, "Installation check").await;
    wait_for_text(&c, "Events are arriving").await;
    c.find(fantoccini::Locator::Css("input[name=page_path]")).await.unwrap().send_keys("/pricing").await.unwrap();
    click_and_load(&c, "form[action$='/settings/goals'] button").await;
    wait_for_text(&c, "Saved.").await;
    wait_for_text(&c, "Visit /pricing").await;
    screenshot(&c, "settings").await;
    c.goto(&format!("{}/sites/shop.test", server.base)).await.unwrap();
    wait_for_text(&c, "Goals").await;
    let goal_row = js(&c, "return document.querySelector('#goals tbody tr').innerText;").await;
    assert!(goal_row.as_str().unwrap().contains("Visit /pricing"), "{goal_row}");
    assert!(goal_row.as_str().unwrap().contains("33.3%"), "2 of 6 visitors converted: {goal_row}");

    // A shared link shows the same numbers to someone not signed in, with no filter links.
    c.find(fantoccini::Locator::LinkText("Settings")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "Shared links").await;
    c.find(fantoccini::Locator::Css("form[action$='/settings/links'] input[name=name]"))
        .await
        .unwrap()
        .send_keys("Board")
        .await
        .unwrap();
    click(&c, "form[action$='/settings/links'] button").await;
    wait_for_text(&c, "/share/").await;
    let link = js(
        &c,
        "return [...document.querySelectorAll('code')].map(e => e.textContent).find(t => t.includes('/share/'));",
    )
    .await;
    click(&c, "form[action='/logout'] button").await;
    wait_for_text(&c, "Sign in").await;
    c.goto(link.as_str().unwrap()).await.unwrap();
    wait_for_text(&c, "Unique visitors").await;
    assert_eq!(first_card().await, 6);
    assert_eq!(js(&c, "return document.querySelectorAll('.panel tbody a').length;").await, json!(0));
    screenshot(&c, "shared").await;

    // At phone width nothing runs off the side of the page.
    c.set_window_size(390, 844).await.unwrap();
    c.refresh().await.unwrap();
    wait_for_text(&c, "Unique visitors").await;
    let overflow = js(&c, "return document.documentElement.scrollWidth - window.innerWidth;").await;
    assert!(overflow.as_i64().unwrap() <= 0, "the page is {overflow} px wider than a phone");
    screenshot(&c, "shared-phone").await;

    // The sign-in page speaks the visitor's language too.
    c.goto(&format!("{}/login?lang=sv", server.base)).await.unwrap();
    wait_for_text(&c, "Glömt lösenordet?").await;
    assert_eq!(js(&c, "return document.documentElement.lang;").await, json!("sv"));
    c.close().await.unwrap();
    server.stop();
}
