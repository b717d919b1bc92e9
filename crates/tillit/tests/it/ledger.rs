//! The consent ledger end to end, with the real binary, a real SMTP server on loopback (PyPI
//! `aiosmtpd`) and, for the pages people see, a real headless Chromium.

use std::path::{Path, PathBuf};

use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};

use crate::browser::{
    browser, chromedriver, click, click_and_load, js, screenshot, serve_site, submit_credentials, type_into,
    wait_for_text,
};
use crate::mail::{Smtp, link_in, nth_mail, smtp_server};
use crate::support::{Server, add_site, tillit, tillit_with};

const ADMIN: &str = "Bearer test-admin-token";

/// A GET on the admin API with the admin token, read as JSON.
async fn admin_get(client: &reqwest::Client, url: String) -> Value {
    client.get(url).header("authorization", ADMIN).send().await.unwrap().json().await.unwrap()
}

fn mail_env(port: u16) -> [(&'static str, String); 2] {
    [("TILLIT_SMTP_URL", format!("smtp://127.0.0.1:{port}")), ("TILLIT_MAIL_FROM", "Shop <news@shop.test>".into())]
}

/// A site with two consent purposes (one through the CLI, one through the API), a form that
/// asks for both with double opt-in, and an API collection point without it.
async fn register(dir: &Path, server: &Server, client: &Client) {
    let out = tillit(
        dir,
        &[
            "purpose",
            "add",
            "--site",
            "shop.test",
            "--key",
            "news",
            "--legal-basis",
            "consent",
            "--category",
            "contact",
            "--title",
            "en=Monthly newsletter",
            "--description",
            "en=News about the shop, once a month",
            "--title",
            "nb=Månedlig nyhetsbrev",
            "--description",
            "nb=Nytt fra butikken, én gang i måneden",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = tillit(dir, &["purpose", "publish", "--site", "shop.test", "--key", "news"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = tillit(dir, &["purpose", "publish", "--site", "shop.test", "--key", "news"]);
    assert!(!bad.status.success(), "nothing left to publish");

    let admin = |method: reqwest::Method, path: &str, body: Value| {
        client.request(method, format!("{}{path}", server.base)).header("authorization", ADMIN).json(&body).send()
    };
    let offers = json!({
        "key": "offers", "legal_basis": "a", "lifetime_days": 365, "data_categories": ["contact"],
        "texts": {"en": {"title": "Offers", "description": "Discounts and sales, at most weekly"}}
    });
    let res = admin(reqwest::Method::POST, "/api/admin/sites/shop.test/purposes", offers).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res =
        admin(reqwest::Method::POST, "/api/admin/sites/shop.test/purposes/offers/publish", json!(null)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let invalid = json!({"key": "x", "legal_basis": "maybe", "texts": {"en": {"title": "X", "description": "Y"}}});
    let res = admin(reqwest::Method::POST, "/api/admin/sites/shop.test/purposes", invalid).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("legal basis"));

    for point in [
        json!({"key": "footer", "purposes": ["news", "offers"],
               "intro": {"en": "Hear from us", "nb": "Hør fra oss"}}),
        json!({"key": "crm", "kind": "api", "purposes": ["news"], "double_opt_in": false,
               "intro": {"en": "Imported from the shop's checkout"}}),
    ] {
        let res = admin(reqwest::Method::POST, "/api/admin/sites/shop.test/collection-points", point).await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    }
}

/// A site with purposes and collection points (see [`register`]), served with a loopback SMTP
/// server; `None` when the SMTP server is not installed (and not required).
struct World {
    _smtp: Smtp,
    maildir: PathBuf,
    dir: PathBuf,
    env: [(&'static str, String); 2],
    server: Server,
    client: Client,
}

async fn world(tmp: &Path) -> Option<World> {
    let maildir = tmp.join("maildir");
    let (smtp, port) = smtp_server(&maildir)?;
    let dir = tmp.join("data");
    add_site(&dir, "shop.test");
    let env = mail_env(port);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&dir, &pairs).await;
    let client = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    register(&dir, &server, &client).await;
    Some(World { _smtp: smtp, maildir, dir, env, server, client })
}

/// A collection point's snippet, from the admin API.
async fn snippet_of(client: &Client, server: &Server, point: &str) -> String {
    let url = format!("{}/api/admin/sites/shop.test/collection-points/{point}/snippet", server.base);
    client.get(url).header("authorization", ADMIN).send().await.unwrap().text().await.unwrap()
}

/// The notice hash a form carries.
fn notice_of(html: &str) -> String {
    let at = html.find("name=\"notice\" value=\"").expect("notice field") + 21;
    html[at..at + 64].to_owned()
}

fn header_of<'a>(mail: &'a str, name: &str) -> &'a str {
    mail.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {mail}")).trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_proven_confirmed_withdrawn_and_verifiable() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(World { _smtp, maildir, dir, env, server, client }) = world(tmp.path()).await else { return };
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let snippet = snippet_of(&client, &server, "footer").await;
    assert!(snippet.contains("consent-form.js") && snippet.contains("Monthly newsletter"), "{snippet}");
    assert!(!snippet.contains("checked"), "no box is ticked in advance");
    let notice = notice_of(&snippet);
    let signup = |origin: &'static str, body: Value| {
        client
            .post(format!("{}/api/signup/shop.test/footer", server.base))
            .header("origin", origin)
            .header("user-agent", "Mozilla/5.0 Ledger test")
            .json(&body)
            .send()
    };

    // Refused: another site's page, nothing ticked, a changed form.
    let body = json!({"email": "ada@example.com", "purposes": ["news"], "notice": notice});
    assert_eq!(signup("https://evil.test", body.clone()).await.unwrap().status(), StatusCode::FORBIDDEN);
    let none = json!({"email": "ada@example.com", "purposes": [], "notice": notice});
    let res = signup("https://shop.test", none).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("Tick the box"), "a reason people can act on");
    let stale = json!({"email": "ada@example.com", "purposes": ["news"], "notice": "0".repeat(64)});
    assert_eq!(signup("https://shop.test", stale).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let bot = json!({"email": "bot@example.com", "purposes": ["news"], "notice": notice, "website": "x"});
    assert_eq!(signup("https://shop.test", bot).await.unwrap().status(), StatusCode::ACCEPTED);

    let res = signup("https://shop.test", body).await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://shop.test");
    let check = |purpose: &'static str| {
        client
            .post(format!("{}/api/admin/sites/shop.test/send-check", server.base))
            .header("authorization", ADMIN)
            .json(&json!({"email": "ada@example.com", "purpose": purpose}))
            .send()
    };
    let before: Value = check("news").await.unwrap().json().await.unwrap();
    assert_eq!(before["allowed"], false, "nothing counts before the confirmation");

    let mail = nth_mail(&maildir, 1).await;
    assert!(mail.contains("To: ada@example.com") && mail.contains("Monthly newsletter"), "{mail}");
    assert!(!mail.contains("Offers"), "only the ticked purpose is asked");
    let confirm = link_in(&mail, &format!("{}/confirm/", server.base));
    let page = client.get(&confirm).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    let after_get: Value = check("news").await.unwrap().json().await.unwrap();
    assert_eq!(after_get["allowed"], false, "opening the link (as a mail scanner would) confirms nothing");
    let path = confirm.trim_start_matches(&server.base).to_owned();
    let post = |path: String| {
        client.post(format!("{}{path}", server.base)).header("origin", &server.base).form(&[("lang", "en")]).send()
    };
    assert_eq!(post(path.clone()).await.unwrap().status(), StatusCode::OK);
    assert_eq!(post(path).await.unwrap().status(), StatusCode::NOT_FOUND, "a confirmation link works once");
    let allowed: Value = check("news").await.unwrap().json().await.unwrap();
    assert_eq!(allowed["allowed"], true, "{allowed}");
    let offers: Value = check("offers").await.unwrap().json().await.unwrap();
    assert_eq!(offers["allowed"], false, "never bundled");

    // The receipt: emailed, downloadable, signed with the published key, tied to its row.
    let mail = nth_mail(&maildir, 2).await;
    let receipt_url = link_in(&mail, &format!("{}/receipts/", server.base));
    let receipt: Value = client.get(&receipt_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(receipt["payload"]["version"], "KI-CR-v1.1.0");
    assert_eq!(receipt["payload"]["eventState"], "given");
    assert_eq!(receipt["payload"]["noticeHash"], notice.as_str());
    assert_eq!(receipt["jws"].as_str().unwrap().split('.').count(), 3);
    let jwks: Value =
        client.get(format!("{}/.well-known/jwks.json", server.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");

    let contact: Value =
        admin_get(&client, format!("{}/api/admin/sites/shop.test/contacts?email=Ada@Example.com", server.base)).await;
    let event = &contact["history"][0];
    assert_eq!((event["state"].as_str(), event["method"].as_str()), (Some("given"), Some("double-opt-in")));
    assert_eq!(event["collection_point"], "footer");
    assert_eq!(event["ip_trunc"], "127.0.0.0");
    assert!(!event["ua_hash"].as_str().unwrap().is_empty());

    // A marketing email passes the gate and carries one-click unsubscribe (RFC 8058).
    let send = |purpose: &'static str| {
        client
            .post(format!("{}/api/admin/sites/shop.test/messages", server.base))
            .header("authorization", ADMIN)
            .json(
                &json!({"email": "ada@example.com", "purpose": purpose, "subject": "November news", "body": "Hello!"}),
            )
            .send()
    };
    assert_eq!(send("offers").await.unwrap().status(), StatusCode::CONFLICT, "no consent, no email");
    assert_eq!(send("news").await.unwrap().status(), StatusCode::ACCEPTED);
    let mail = nth_mail(&maildir, 3).await;
    assert_eq!(header_of(&mail, "List-Unsubscribe-Post:"), "List-Unsubscribe=One-Click");
    let one_click = header_of(&mail, "List-Unsubscribe:").trim_matches(['<', '>']).to_owned();
    assert!(mail.contains(&format!("{}/unsubscribe/", server.base)), "a visible link too: {mail}");
    let res = client
        .post(&one_click)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    let withdrawn: Value = check("news").await.unwrap().json().await.unwrap();
    assert_eq!(
        (withdrawn["allowed"].as_bool(), withdrawn["reason"].as_str()),
        (Some(false), Some("consent withdrawn"))
    );
    assert_eq!(send("news").await.unwrap().status(), StatusCode::CONFLICT);
    let mail = nth_mail(&maildir, 4).await;
    assert!(mail.contains("news (v1): consent withdrawn"), "the withdrawal has its receipt too: {mail}");

    // The preference centre by email: the same answer for strangers, a link for contacts.
    let ask = |email: &'static str| {
        client
            .post(format!("{}/preferences/site/shop.test", server.base))
            .header("origin", &server.base)
            .form(&[("email", email), ("lang", "en")])
            .send()
    };
    let stranger = ask("ghost@example.com").await.unwrap();
    let known = ask("ada@example.com").await.unwrap();
    assert_eq!((stranger.status(), known.status()), (StatusCode::OK, StatusCode::OK));
    assert_eq!(stranger.text().await.unwrap(), known.text().await.unwrap());
    let mail = nth_mail(&maildir, 5).await;
    assert!(mail.contains("To: ada@example.com"), "{mail}");
    let link = link_in(&mail, &format!("{}/preferences/", server.base));
    let page = client.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("ada@example.com") && page.contains("Monthly newsletter"), "{page}");

    // An admin may record consent with evidence, but not over an objection.
    let record = |evidence: &'static str| {
        client
            .post(format!("{}/api/admin/sites/shop.test/consents", server.base))
            .header("authorization", ADMIN)
            .json(&json!({"email": "bo@example.com", "purpose": "offers", "state": "given", "evidence": evidence}))
            .send()
    };
    assert_eq!(record("").await.unwrap().status(), StatusCode::BAD_REQUEST, "evidence is required");
    assert_eq!(record("signed paper form #12").await.unwrap().status(), StatusCode::CREATED);

    // Accepted is durable: a consent answered 201 survives SIGKILL right after.
    let crm = snippet_of(&client, &server, "crm").await;
    let cy = json!({"email": "cy@example.com", "purposes": ["news"], "notice": notice_of(&crm)});
    let url = format!("{}/api/signup/shop.test/crm", server.base);
    let anyone = client.post(&url).json(&cy).send().await.unwrap();
    assert_eq!(anyone.status(), StatusCode::FORBIDDEN, "no confirmation, so only ledger keys may record");
    let res = client.post(&url).header("authorization", ADMIN).json(&cy).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    server.kill();
    let server = Server::start(&dir, &env).await;
    let cy: Value =
        admin_get(&client, format!("{}/api/admin/sites/shop.test/contacts?email=cy@example.com", server.base)).await;
    assert_eq!(cy["states"][0]["state"], "given", "{cy}");

    // Access from the command line (while the server runs), then erasure that stays erased.
    let export = tillit(&dir, &["contact", "export", "--json", "--site", "shop.test", "ada@example.com"]);
    let export: Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(export["contact"]["email"], "ada@example.com");
    assert!(export["contact"]["history"].as_array().unwrap().len() >= 2);
    let erased: Value = client
        .post(format!("{}/api/admin/sites/shop.test/contacts/erase", server.base))
        .header("authorization", ADMIN)
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let receipt: Value =
        client.get(erased["receipt_url"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    assert_eq!(receipt["payload"]["type"], "erasure-receipt");
    let gone = client
        .get(format!("{}/api/admin/sites/shop.test/contacts?email=ada@example.com", server.base))
        .header("authorization", ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let again = json!({"email": "ada@example.com", "purposes": ["news"], "notice": notice});
    let refused = client
        .post(format!("{}/api/signup/shop.test/footer", server.base))
        .header("origin", "https://shop.test")
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "stays erased");
    let file = dir.join("reimport.csv");
    std::fs::write(&file, "email,name\nada@example.com,Ada\n").unwrap();
    let reimport =
        tillit(&dir, &["contact", "import", file.to_str().unwrap(), "--site", "shop.test", "--source", "old"]);
    let said = String::from_utf8_lossy(&reimport.stdout);
    assert!(said.contains("skipped, erased (suppressed): 1") && said.contains("imported 0"), "{said}");
    let dry = tillit(&dir, &["retention", "run", "--dry-run"]);
    let said = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success()
            && said
                .lines()
                .any(|l| l.starts_with("contacts without valid consent for 30 days") && l.ends_with("would remove 0")),
        "{said}"
    );
    let cli = tillit(&dir, &["contact", "erase", "--site", "shop.test", "cy@example.com"]);
    assert!(cli.status.success() && String::from_utf8_lossy(&cli.stdout).contains("erased; receipt er-"));
    for file in ["app.sqlite3", "app.sqlite3-wal"] {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
        assert!(!bytes.windows(15).any(|w| w == b"ada@example.com"), "an email in plain text in {file}");
    }
    server.stop();

    // The chain verifies; an altered row is found and named.
    let ok = tillit(&dir, &["ledger", "verify"]);
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success() && said.contains("ledger intact"), "{said} {}", String::from_utf8_lossy(&ok.stderr));
    let db = dir.join("app.sqlite3");
    let tamper = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DROP TRIGGER consent_events_no_update'); \
             c.execute(\"UPDATE consent_events SET state='given' WHERE seq=2\"); c.commit()",
        )
        .arg(&db)
        .status()
        .unwrap();
    assert!(tamper.success());
    let broken = tillit(&dir, &["ledger", "verify"]);
    let said = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(1));
    assert!(said.contains("row 2") && said.contains("altered"), "{said}");
}

/// The whole path in a browser: fill the embedded form on the shop's own page, read the email,
/// open the link and confirm, visit the preference centre, withdraw one purpose, download the
/// data; and the Norwegian form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_confirmation_and_preference_centre_in_a_browser() {
    let Some((_driver, driver_port)) = chromedriver() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let Some(World { _smtp, maildir, dir, server, client, .. }) = world(tmp.path()).await else { return };

    // The shop's page (another origin, allowed as the site itself would be) embeds the snippet.
    let snippet = snippet_of(&client, &server, "footer").await;
    let c = browser(driver_port).await;

    // Tillit's hosted form, in Norwegian, works without any script.
    c.goto(&format!("{}/f/shop.test/footer?lang=nb", server.base)).await.unwrap();
    wait_for_text(&c, "Månedlig nyhetsbrev").await;
    type_into(&c, "input[name=email]", "eva@example.com").await;
    click(&c, "button[type=submit]").await;
    wait_for_text(&c, "Kryss av for hvert").await;
    c.back().await.unwrap();
    wait_for_text(&c, "Månedlig nyhetsbrev").await;
    let email = c.find(fantoccini::Locator::Css("input[name=email]")).await.unwrap();
    email.clear().await.unwrap();
    email.send_keys("eva@example.com").await.unwrap();
    click(&c, "input[value=news]").await;
    screenshot(&c, "consent-form-nb").await;
    click(&c, "button[type=submit]").await;
    wait_for_text(&c, "Sjekk e-posten din").await;
    let mail = nth_mail(&maildir, 1).await;
    assert!(mail.contains("To: eva@example.com") && mail.contains("nyhetsbrev"), "{mail}");

    // The shop's own page (http://shop.test:<port>, mapped to loopback in the browser) embeds
    // the snippet; its script posts across origins and shows the answer in place.
    let page =
        format!("<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1>{snippet}</body></html>");
    let shop_port = serve_site(page, String::new()).await;
    c.goto(&format!("http://shop.test:{shop_port}/signup?utm=x")).await.unwrap();
    wait_for_text(&c, "Monthly newsletter").await;
    type_into(&c, "input[name=email]", "dag@example.com").await;
    type_into(&c, "input[name=name]", "Dag").await;
    click(&c, "input[value=news]").await;
    click(&c, "input[value=offers]").await;
    screenshot(&c, "consent-form-embedded").await;
    click(&c, "button[type=submit]").await;
    wait_for_text(&c, "We sent you a link").await;

    let mail = nth_mail(&maildir, 2).await;
    assert!(mail.contains("To: dag@example.com"), "{mail}");
    let confirm = link_in(&mail, &format!("{}/confirm/", server.base));
    c.goto(&confirm).await.unwrap();
    wait_for_text(&c, "Offers").await;
    screenshot(&c, "consent-confirm").await;
    click(&c, "button[type=submit]").await;
    wait_for_text(&c, "Confirmed").await;

    let mail = nth_mail(&maildir, 3).await;
    assert!(mail.contains("news (v1): consent given") && mail.contains("offers (v1): consent given"), "{mail}");
    let preferences = link_in(&mail, &format!("{}/preferences/", server.base));
    c.goto(&preferences).await.unwrap();
    wait_for_text(&c, "dag@example.com").await;
    let given = js(&c, "return document.querySelectorAll('button[value=withdraw]').length;").await;
    assert_eq!(given, json!(2), "both purposes given");
    screenshot(&c, "preference-centre").await;
    // Withdraw the offers: one click.
    js(
        &c,
        "document.querySelector('input[name=purpose][value=offers]').form.querySelector('button').click(); return 0;",
    )
    .await;
    wait_for_text(&c, "Saved.").await;
    let given = js(&c, "return document.querySelectorAll('button[value=withdraw]').length;").await;
    assert_eq!(given, json!(1), "one purpose withdrawn");
    // The download: the zip with its readable cover, the JSON and the CSV files.
    let bytes = js(
        &c,
        "return fetch(document.querySelector('a[download]').href).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)));",
    )
    .await;
    let bytes: Vec<u8> = serde_json::from_value(bytes).unwrap();
    let cover = unzipped(&bytes, "README.html");
    assert!(cover.contains("dag@example.com") && cover.contains("(h) Automated decisions"), "{cover}");
    assert!(unzipped(&bytes, "consents.csv").lines().count() >= 3, "a header and the consent rows");
    let data: Value = serde_json::from_str(&unzipped(&bytes, "data.json")).unwrap();
    assert_eq!(data["contact"]["email"], "dag@example.com");
    assert_eq!(data["contact"]["name"], "Dag");
    let states: Vec<(&str, &str)> = data["contact"]["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["purpose_key"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("news", "given"), ("offers", "withdrawn")]);
    let first = &data["contact"]["history"][0];
    assert_eq!(first["page_url"], format!("http://shop.test:{shop_port}/signup"), "the page, without its query");
    assert_eq!(first["method"], "double-opt-in");
    assert_eq!(data["receipts"].as_array().unwrap().len(), 3, "two given, one withdrawn");
    let cookies = c.get_all_cookies().await.unwrap();
    assert!(cookies.is_empty(), "the public pages set no cookies: {cookies:?}");

    // A marketer's ledger page: purposes and their versions, points with snippets, fields, and
    // the contact just confirmed, with their history.
    let out = tillit(&dir, &["user", "add", "mia@shop.test", "--role", "marketer", "--site", "shop.test"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let password = String::from_utf8_lossy(&out.stdout).rsplit(": ").next().unwrap().trim().to_owned();
    c.goto(&format!("{}/login", server.base)).await.unwrap();
    submit_credentials(&c, "mia@shop.test", &password).await;
    wait_for_text(&c, "shop.test").await;
    c.goto(&format!("{}/sites/shop.test", server.base)).await.unwrap();
    click(&c, "a[href='/sites/shop.test/ledger']").await;
    wait_for_text(&c, "Monthly newsletter").await;
    // A new version of a purpose: a draft until published.
    js(&c, "document.querySelector('#purposes details').open = true; return 0;").await;
    type_into(&c, "input[name=key][placeholder=newsletter]", "news").await;
    type_into(&c, "input[name=title_en]", "Weekly newsletter").await;
    type_into(&c, "textarea[name=description_en]", "News every week").await;
    click_and_load(&c, "#purposes form.stack button[type=submit]").await;
    wait_for_text(&c, "Saved.").await;
    click_and_load(&c, "form[action='/sites/shop.test/ledger/purposes/news/publish'] button").await;
    wait_for_text(&c, "Saved.").await;
    let published = js(&c, "return document.querySelectorAll('#purposes tbody tr').length;").await;
    assert_eq!(published, json!(3), "news v1, news v2, offers v1");
    type_into(&c, "input[name=email][type=email]", "dag@example.com").await;
    click(&c, "#contact button[type=submit]").await;
    wait_for_text(&c, "double-opt-in").await;
    screenshot(&c, "ledger-page").await;
    c.close().await.unwrap();

    // From the preference centre, the request form records where the request came from.
    let c = browser(driver_port).await;
    c.goto(&preferences).await.unwrap();
    wait_for_text(&c, "dag@example.com").await;
    click(&c, "a[href*='from=preference-centre']").await;
    wait_for_text(&c, "Send the request").await;
    let from = js(&c, "return document.querySelector('input[name=from]').value;").await;
    assert_eq!(from, json!("preference-centre"));

    // The person deletes everything from the preference centre.
    c.goto(&preferences).await.unwrap();
    wait_for_text(&c, "dag@example.com").await;
    click(&c, "button[value=erase]").await;
    wait_for_text(&c, "Your data was deleted").await;
    let receipt =
        js(&c, "return fetch(document.querySelector('main a').href).then(r => r.json()).then(d => d.payload.type);")
            .await;
    assert_eq!(receipt, json!("erasure-receipt"));
    c.goto(&preferences).await.unwrap();
    wait_for_text(&c, "invalid, used or expired").await;

    // A request through the public form: nothing until the emailed code is entered.
    c.goto(&format!("{}/requests/site/shop.test?lang=en", server.base)).await.unwrap();
    click(&c, "input[value=access]").await;
    type_into(&c, "input[name=email]", "eva@example.com").await;
    click(&c, "button[type=submit]").await;
    wait_for_text(&c, "We sent a code").await;
    let mail = nth_mail(&maildir, 5).await; // 4 is the receipt of the withdrawal above
    assert!(mail.contains("To: eva@example.com"), "{mail}");
    let code = mail.lines().map(str::trim).find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit())).unwrap();
    type_into(&c, "input[name=code]", code).await;
    screenshot(&c, "request-code").await;
    click(&c, "button[type=submit]").await;
    wait_for_text(&c, "Your request is confirmed").await;
    let mail = nth_mail(&maildir, 6).await;
    assert!(mail.contains("To: eva@example.com") && mail.contains("/preferences/"), "{mail}");
    c.close().await.unwrap();
    let listed: Value = admin_get(&client, format!("{}/api/admin/sites/shop.test/requests", server.base)).await;
    assert_eq!(listed[0]["request"]["channel"], "request-form", "{listed}");

    // Every change and every look at personal data is in the audit log.
    let audit = tillit(&dir, &["audit", "export"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("purpose.publish") && audit.contains("contact.view"), "{audit}");
    assert!(audit.contains("contact.erase"), "{audit}");
    server.stop();
}

/// Data-subject requests: entered by staff, verified by the person's emailed code (wrong codes
/// counted), carried out at once where the ledger can (erasure), or left open for staff
/// (rectification), extended once with a notice, and closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_wait_for_the_persons_code_and_keep_their_deadline() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(World { _smtp, maildir, server, client, .. }) = world(tmp.path()).await else { return };
    let crm = snippet_of(&client, &server, "crm").await;
    for email in ["ada@example.com", "bo@example.com"] {
        let body = json!({"email": email, "purposes": ["news"], "notice": notice_of(&crm)});
        let res = client
            .post(format!("{}/api/signup/shop.test/crm", server.base))
            .header("authorization", ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let admin_post = |path: String, body: Value| {
        client.post(format!("{}{path}", server.base)).header("authorization", ADMIN).json(&body).send()
    };
    let code_of = |mail: &str| -> String {
        mail.lines().map(str::trim).find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit())).unwrap().to_owned()
    };
    let verify = |id: String, code: String| {
        client.post(format!("{}/api/requests/{id}/verify", server.base)).json(&json!({"code": code})).send()
    };

    // Erasure: nothing happens before the code; a wrong code is refused; the right one erases.
    let res = admin_post(
        "/api/admin/sites/shop.test/requests".into(),
        json!({"kind": "erasure", "email": "ada@example.com", "details": "letter of 3 March"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let erasure: Value = res.json().await.unwrap();
    let id = erasure["id"].as_str().unwrap().to_owned();
    assert_eq!(erasure["status"], "unverified");
    let due = erasure["due_at"].as_i64().unwrap() - erasure["received_at"].as_i64().unwrap();
    assert!((28 * 86_400..=32 * 86_400).contains(&due), "due in one calendar month: {due}");
    let mail = nth_mail(&maildir, 1).await;
    assert!(mail.contains("To: ada@example.com"), "{mail}");
    let code = code_of(&mail);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(verify(id.clone(), wrong.into()).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let still = client
        .get(format!("{}/api/admin/sites/shop.test/contacts?email=ada@example.com", server.base))
        .header("authorization", ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK, "nothing erased before the code");
    let done: Value = verify(id.clone(), code.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["outcome"].as_str().unwrap().starts_with("erased; receipt er-"));
    assert_eq!(verify(id, code).await.unwrap().status(), StatusCode::BAD_REQUEST, "a code works once");

    // Rectification stays open for staff; it may be extended once, with a notice, then closed.
    let res = admin_post(
        "/api/admin/sites/shop.test/requests".into(),
        json!({"kind": "rectification", "email": "bo@example.com", "details": "my name is Bo Berg", "lang": "sv"}),
    )
    .await
    .unwrap();
    let rect: Value = res.json().await.unwrap();
    let id = rect["id"].as_str().unwrap().to_owned();
    let mail = nth_mail(&maildir, 2).await;
    assert!(mail.contains("To: bo@example.com"), "{mail}");
    let open: Value = verify(id.clone(), code_of(&mail)).await.unwrap().json().await.unwrap();
    assert_eq!(open["status"], "open");
    let extend = |body: Value| admin_post(format!("/api/admin/sites/shop.test/requests/{id}/extend"), body);
    assert_eq!(extend(json!({"months": 3, "reason": "x"})).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(extend(json!({"months": 2, "reason": " "})).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let extended: Value =
        extend(json!({"months": 2, "reason": "records in three systems"})).await.unwrap().json().await.unwrap();
    let due = extended["due_at"].as_i64().unwrap() - extended["received_at"].as_i64().unwrap();
    assert!((88 * 86_400..=93 * 86_400).contains(&due), "three calendar months: {due}");
    let notice = nth_mail(&maildir, 3).await;
    assert!(notice.contains("records in three systems"), "{notice}");
    assert_eq!(
        extend(json!({"months": 1, "reason": "again"})).await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "once"
    );
    let list: Value = admin_get(&client, format!("{}/api/admin/sites/shop.test/requests", server.base)).await;
    let statuses: Vec<(&str, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["request"]["status"].as_str().unwrap(), r["overdue"].as_bool().unwrap()))
        .collect();
    assert_eq!(statuses, [("completed", false), ("open", false)], "by due date");
    let page = client
        .get(format!("{}/sites/shop.test/ledger", server.base))
        .header("authorization", ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Data-subject requests") && page.contains("rectification") && page.contains("(+2)"),
        "{page}"
    );
    assert!(!page.contains("Overdue"), "nothing is late yet");
    let closed = admin_post(
        format!("/api/admin/sites/shop.test/requests/{id}/close"),
        json!({"outcome": "name corrected to Bo Berg"}),
    )
    .await
    .unwrap();
    assert_eq!(closed.status(), StatusCode::OK);

    // Five wrong codes and the request must be made again, even with the right code.
    let res =
        admin_post("/api/admin/sites/shop.test/requests".into(), json!({"kind": "access", "email": "bo@example.com"}))
            .await
            .unwrap();
    let access: Value = res.json().await.unwrap();
    let id = access["id"].as_str().unwrap().to_owned();
    let code = code_of(&nth_mail(&maildir, 4).await);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(verify(id.clone(), wrong.into()).await.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    let locked = verify(id, code).await.unwrap();
    assert_eq!(locked.status(), StatusCode::BAD_REQUEST);
    assert!(locked.text().await.unwrap().contains("too often"));
    server.stop();
}

/// Text of a file in a zip.
fn unzipped(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut file = zip.by_name(name).unwrap_or_else(|_| panic!("no {name} in the bundle"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).unwrap();
    text
}

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A messy CRM export (semicolons, a byte-order mark, Windows-1252 next to UTF-8, bad and
/// duplicate addresses, an erased person) is imported with exact counts, never twice; the
/// customers are asked once through a campaign whose emails leave through the mail queue; a yes
/// and a no come back through the links; the person downloads everything held about them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_imported_asked_once_and_can_take_their_data() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(World { _smtp, maildir, dir, env, server, client }) = world(tmp.path()).await else { return };
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = client
        .post(format!("{}/api/admin/sites/shop.test/contact-fields", server.base))
        .header("authorization", ADMIN)
        .json(&json!({"key": "city", "data_category": "contact"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    ok(&tillit(&dir, &["contact", "erase", "--site", "shop.test", "gone@example.com"]));

    let mut csv = b"\xEF\xBB\xBFEmail Address;First Name;Last Name;CONFIRM_TIME;Town;Customer\r\n".to_vec();
    csv.extend_from_slice(b"ada@example.com;Ada;Lovelace;2026-01-10 09:00:00;Oslo;yes\r\n");
    csv.extend_from_slice(b"ADA@Example.com ;Ada;Again;;Oslo;yes\r\n");
    csv.extend_from_slice(b"bjorn@example.com;Bj\xF8rn;D\xE6hlie;;Troms\xF8;yes\r\n");
    csv.extend_from_slice("siri@example.com;Siri;Åsen;;Bodø;yes\r\n".as_bytes());
    csv.extend_from_slice(b"not-an-email;X;Y;;;yes\r\n");
    csv.extend_from_slice(b";No;Email;;;\r\n");
    csv.extend_from_slice(b"cy@example.com;Cy;;2026-02-01;Bergen;\r\n");
    csv.extend_from_slice(b"gone@example.com;Gone;;;;yes\r\n");
    csv.extend_from_slice(b"dee@example.com;Dee;;;;\r\n");
    csv.extend_from_slice(b"eve@example.com;Eve;;yesterday;;\r\n");
    let file = tmp.path().join("crm.csv");
    std::fs::write(&file, &csv).unwrap();
    let wording = tmp.path().join("wording.txt");
    std::fs::write(&wording, "Yes, send me the monthly newsletter. I can unsubscribe at any time.").unwrap();
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "contact",
            "import",
            file.to_str().unwrap(),
            "--site",
            "shop.test",
            "--source",
            "crm-2026",
            "--purpose",
            "news",
            "--wording-file",
            wording.to_str().unwrap(),
            "--map",
            "field:city=Town",
            "--quiet",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let run = |extra: &[&'static str]| {
        let a = args(extra);
        tillit(&dir, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let dry = ok(&run(&["--dry-run"]));
    let expected = "10 rows: would import 6 (2 with consent, 4 needing permission), skipped 4";
    assert!(dry.starts_with(expected), "{dry}");
    for line in [
        "needs permission, no consent time: 3",
        "needs permission, unreadable consent time: 1",
        "skipped, duplicate in file: 1",
        "skipped, erased (suppressed): 1",
        "skipped, invalid email: 1",
        "skipped, no email: 1",
    ] {
        assert!(dry.contains(line), "{line:?} in {dry}");
    }
    let nobody = tillit(&dir, &["contact", "export", "--json", "--site", "shop.test", "ada@example.com"]);
    assert!(!nobody.status.success(), "a dry run stores nothing");
    let done = ok(&run(&[]));
    assert!(done.starts_with("10 rows: imported 6 (2 with consent, 4 needing permission), skipped 4"), "{done}");
    let again = ok(&run(&[]));
    assert!(again.contains("skipped, already a contact: 6"), "never the same person twice: {again}");

    let contact = |email: &str| {
        client
            .get(format!("{}/api/admin/sites/shop.test/contacts?email={email}", server.base))
            .header("authorization", ADMIN)
            .send()
    };
    let ada: Value = contact("ada@example.com").await.unwrap().json().await.unwrap();
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["fields"]["city"], "Oslo");
    let event = &ada["history"][0];
    assert_eq!((event["state"].as_str(), event["method"].as_str()), (Some("given"), Some("double-opt-in")));
    assert_eq!(event["collection_point"], "import:crm-2026");
    assert_eq!(event["occurred_at"], 1_768_035_600, "the time in the file, not the import's");
    let bjorn: Value = contact("bjorn@example.com").await.unwrap().json().await.unwrap();
    assert_eq!((bjorn["name"].as_str(), bjorn["fields"]["city"].as_str()), (Some("Bjørn Dæhlie"), Some("Tromsø")));
    assert_eq!(bjorn["history"].as_array().unwrap().len(), 0, "no evidence, no consent");

    // A campaign asks the customers without consent (Bjørn and Siri; Ada consents, Cy and Dee
    // are not customers), once.
    let created = ok(&tillit(
        &dir,
        &[
            "campaign",
            "create",
            "--site",
            "shop.test",
            "--purpose",
            "news",
            "--message",
            "We are moving our newsletter to a new system.",
            "--deadline-days",
            "14",
            "--reminder-days",
            "7",
        ],
    ));
    let id = created.split_whitespace().nth(1).unwrap().to_owned();
    assert!(created.contains("it would ask 2"), "{created}");
    assert!(created.contains("not asked, already consents: 2"), "{created}");
    assert!(created.contains("not asked, no basis to ask (not a customer): 2"), "{created}");
    let without_mail = tillit(&dir, &["campaign", "start", "--site", "shop.test", &id]);
    assert!(String::from_utf8_lossy(&without_mail.stderr).contains("email is not configured"));
    let started = ok(&tillit_with(&dir, &["campaign", "start", "--site", "shop.test", &id], &env));
    assert!(started.starts_with("queued 2 requests"), "{started}");
    let again = tillit_with(&dir, &["campaign", "start", "--site", "shop.test", &id], &env);
    assert!(!again.status.success(), "started once");
    let early = tillit(&dir, &["campaign", "close", "--site", "shop.test", &id]);
    assert!(String::from_utf8_lossy(&early.stderr).contains("people may still answer"));

    // The queue sends both (the server's mail loop); mail 1 was the erasure's nothing: no mail.
    let first = nth_mail(&maildir, 1).await;
    let second = nth_mail(&maildir, 2).await;
    let (to_bjorn, to_siri) = if first.contains("To: bjorn@example.com") { (first, second) } else { (second, first) };
    assert!(to_siri.contains("To: siri@example.com"), "{to_siri}");
    assert!(to_bjorn.contains("We are moving our newsletter") && to_bjorn.contains("Monthly newsletter"), "{to_bjorn}");
    assert!(to_bjorn.contains("because you are a customer"), "{to_bjorn}");
    let yes = link_in(&to_bjorn, &format!("{}/confirm/", server.base));
    let res = client.post(&yes).header("origin", &server.base).form(&[("lang", "en")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let no = link_in(&to_siri, &format!("{}/unsubscribe/", server.base));
    let res = client.post(&no).header("origin", &server.base).form(&[("lang", "en")]).send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let status: Value = admin_get(&client, format!("{}/api/admin/sites/shop.test/campaigns/{id}", server.base)).await;
    let s = &status["status"];
    assert_eq!(
        (s["asked"].as_u64(), s["said_yes"].as_u64(), s["said_no"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{status}"
    );
    let bjorn: Value = contact("bjorn@example.com").await.unwrap().json().await.unwrap();
    let given = &bjorn["history"][0];
    assert_eq!((given["state"].as_str(), given["method"].as_str()), (Some("given"), Some("double-opt-in")));
    assert_eq!(given["collection_point"], format!("campaign:{id}"));

    // Access: the zip with its readable cover, JSON and CSV, from the command line.
    let out = tmp.path().join("bjorn.zip");
    ok(&tillit(
        &dir,
        &["contact", "export", "--site", "shop.test", "bjorn@example.com", "--out", out.to_str().unwrap()],
    ));
    let bundle = std::fs::read(&out).unwrap();
    let cover = unzipped(&bundle, "README.html");
    for part in [
        "(a) Why",
        "(b) What kinds",
        "(c) Who receives",
        "(e) Your rights",
        "(f) Complaints",
        "(g) Where",
        "(h) Automated",
    ] {
        assert!(cover.contains(part), "{part} in the cover");
    }
    assert!(cover.contains("Datatilsynet") || cover.contains("supervisory authority"), "{cover}");
    assert!(cover.contains("imported from another system") && cover.contains("crm-2026"), "the source (g)");
    let data: Value = serde_json::from_str(&unzipped(&bundle, "data.json")).unwrap();
    assert_eq!(data["contact"]["email"], "bjorn@example.com");
    let messages = unzipped(&bundle, "messages.csv");
    assert!(messages.contains("permission") && messages.contains(",sent,"), "{messages}");
    assert!(messages.contains(&format!("re-permission campaign {id}")), "{messages}");
    let consents = unzipped(&bundle, "consents.csv");
    assert!(consents.contains("Monthly newsletter") && consents.contains(&format!("campaign:{id}")), "{consents}");
    let fields = unzipped(&bundle, "contact.csv");
    assert!(fields.contains("city,Tromsø"), "{fields}");

    // The marketer sees the answers on the ledger page, and creates and starts a campaign there.
    let Some((_driver, driver_port)) = chromedriver() else { return };
    let out = ok(&tillit(&dir, &["user", "add", "mia@shop.test", "--role", "marketer", "--site", "shop.test"]));
    let password = out.rsplit(": ").next().unwrap().trim().to_owned();
    let c = browser(driver_port).await;
    c.goto(&format!("{}/login", server.base)).await.unwrap();
    submit_credentials(&c, "mia@shop.test", &password).await;
    wait_for_text(&c, "shop.test").await;
    c.goto(&format!("{}/sites/shop.test/ledger", server.base)).await.unwrap();
    wait_for_text(&c, "Re-permission campaigns").await;
    let row = |id: &str| {
        format!(
            "return [...document.querySelectorAll('tr[data-campaign=\"{id}\"] td.num')].map(td => td.textContent.trim());"
        )
    };
    assert_eq!(js(&c, &row(&id)).await, json!(["2", "1", "1", "0"]), "asked, yes, no, waiting");
    let queue = js(&c, "return document.querySelector('#campaigns p.muted:last-of-type').textContent;").await;
    assert!(queue.as_str().unwrap().contains("sent 2"), "{queue}");
    js(&c, "document.querySelector('#campaigns details').open = true; return 0;").await;
    type_into(&c, "textarea[name=message]", "One more question.").await;
    click_and_load(&c, "#campaigns form.stack button[type=submit]").await;
    wait_for_text(&c, "Saved.").await;
    let ids =
        js(&c, "return [...document.querySelectorAll('tr[data-campaign]')].map(tr => tr.dataset.campaign);").await;
    let new_id = ids.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).find(|v| *v != id).unwrap().to_owned();
    let would = js(&c, &row(&new_id)).await;
    assert_eq!(would[0], json!("Would ask 0"), "Bjørn said yes, Siri no: no one is left to ask");
    js(&c, "document.querySelector('#campaigns').scrollIntoView(); return 0;").await;
    screenshot(&c, "ledger-campaigns").await;
    click(&c, &format!("form[action='/sites/shop.test/ledger/campaigns/{new_id}/start'] button")).await;
    // The page already says "Saved." (from the creation): wait for the started row instead.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while js(&c, &row(&new_id)).await != json!(["0", "0", "0", "0"]) {
        assert!(std::time::Instant::now() < deadline, "the campaign did not start: {}", js(&c, &row(&new_id)).await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    c.close().await.unwrap();
}

/// Every message so far, once there are at least `n`.
async fn all_mail(maildir: &Path, n: usize) -> Vec<String> {
    nth_mail(maildir, n).await;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(maildir.join("new")).unwrap() {
        let raw = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        out.push(raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "="));
    }
    out
}

fn mail_to(mails: &[String], who: &str, subject: &str) -> String {
    let mine: Vec<&String> =
        mails.iter().filter(|m| m.contains(&format!("To: {who}")) && m.contains(subject)).collect();
    assert_eq!(mine.len(), 1, "one {subject:?} to {who}: {mails:?}");
    mine[0].clone()
}

/// The campaign's reminder and deadline, and the mail queue's retries and gate, on a clock the
/// test controls (the library with a real SQLite store and the real SMTP server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_deadline_and_mail_queue_on_a_controlled_clock() {
    use tillit_core::i18n::Lang;
    use tillit_core::ledger::campaign::CampaignInput;
    use tillit_core::ledger::import::{ImportOptions, ImportRow, RowOutcome};
    use tillit_core::ledger::keys::LedgerKeys;
    use tillit_core::ledger::model::{ConsentState, Method, PurposeInput};
    use tillit_core::ledger::receipt::Controller;
    use tillit_core::ledger::{Decision, Evidence, Ledger};
    use tillit_core::mail::Mailer;
    use tillit_core::time::Clock;
    use tillit_store::app::AppStore;

    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("maildir");
    let Some((_smtp, port)) = smtp_server(&maildir) else { return };
    let app = AppStore::open_sqlite(&tmp.path().join("app.sqlite3")).await.unwrap();
    let site = app.add_site("shop.test", "UTC", 30, 1_000).await.unwrap();
    let keys = LedgerKeys::generate_file().unwrap();
    let clock = Clock::fixed(1_780_000_000);
    let open = |smtp_port: u16| {
        let mailer = Mailer::new(&format!("smtp://127.0.0.1:{smtp_port}"), "Shop <news@shop.test>").unwrap();
        let keys = LedgerKeys::parse(&keys).unwrap();
        let controller = Controller { name: "Shop AS".into(), jurisdiction: "NO".into(), ..Controller::default() };
        Ledger::new(app.clone(), keys, clock.clone(), Some(mailer), "http://tillit.test", controller)
    };
    let ledger = open(port);
    for key in ["news", "offers"] {
        let input: PurposeInput = serde_json::from_value(json!({
            "key": key, "legal_basis": "a", "data_categories": ["contact"],
            "texts": {"en": {"title": format!("The {key}"), "description": "Now and then"}}
        }))
        .unwrap();
        ledger.save_purpose(&site, input).await.unwrap();
        ledger.publish_purpose(&site, key).await.unwrap();
    }
    let opts = ImportOptions {
        source: "shop".into(),
        purpose: None,
        wording: None,
        method: None,
        customers: true,
        dry_run: false,
    };
    let mut importer = ledger.importer(&site, opts.clone()).await.unwrap();
    for who in ["ann", "ben", "cat", "dan", "eve"] {
        let row = ImportRow { email: format!("{who}@example.com"), ..ImportRow::default() };
        let outcome = importer.row(&row).await.unwrap();
        assert_eq!(outcome, RowOutcome::NeedsPermission("no purpose given for consent".into()));
    }
    ledger
        .admin_record(&site, "dan@example.com", "offers", ConsentState::Given, "paper form #7", "user:1")
        .await
        .unwrap();
    let ev = Evidence { page_url: String::new(), ip: None, user_agent: String::new(), lang: Lang::En };
    let contact = |email: &'static str| {
        let app = app.clone();
        let ledger = ledger.clone();
        let site = site.clone();
        async move {
            let view = ledger.lookup(&site, email).await.unwrap().unwrap();
            app.contact_by_public_id(&view.id).await.unwrap().unwrap()
        }
    };

    let input = CampaignInput {
        purpose_key: "news".into(),
        audience: "customers".into(),
        message: "Our newsletter is starting again.".into(),
        action: "erase".into(),
        deadline_days: 14,
        reminder_days: Some(7),
    };
    // Created a day before it starts: the deadline and reminder count from the start.
    clock.set(1_780_000_000 - 86_400);
    let c = ledger.create_campaign(&site, &input, "user:1").await.unwrap();
    clock.set(1_780_000_000);
    assert_eq!(ledger.start_campaign(&site, &c.id).await.unwrap(), 5);
    let started = ledger.campaign_status(&site, &c.id).await.unwrap().campaign;
    assert_eq!(started.deadline_at, 1_780_000_000 + 14 * 86_400);
    assert_eq!(started.reminder_at, Some(1_780_000_000 + 7 * 86_400));
    let sent = ledger.deliver_due(100).await.unwrap();
    assert_eq!((sent.sent, sent.cancelled, sent.retrying), (5, 0, 0));
    let mails = all_mail(&maildir, 5).await;
    let to_ann = mail_to(&mails, "ann@example.com", "May shop.test keep writing to you?");
    let token = link_in(&to_ann, "http://tillit.test/confirm/").rsplit('/').next().unwrap().to_owned();
    ledger.confirm(&token, &ev).await.unwrap();
    let ben = contact("ben@example.com").await;
    ledger.choose(&ben, "news", false, Method::UnsubscribeLink, &ev).await.unwrap();

    // The one reminder, after 7 days, to those who have not answered (cat, dan, eve) only.
    clock.set(1_780_000_000 + 8 * 86_400);
    assert_eq!(ledger.send_reminders().await.unwrap(), 3);
    assert_eq!(ledger.send_reminders().await.unwrap(), 0, "at most one reminder");
    let cat = contact("cat@example.com").await;
    ledger.erase(&site, "cat@example.com", "user:1").await.unwrap();
    assert!(app.contact_mail(cat.id).await.unwrap().is_empty(), "what was written for cat went with her");
    let sent = ledger.deliver_due(100).await.unwrap();
    assert_eq!((sent.sent, sent.cancelled), (2, 0), "nothing goes to the erased");
    let mails = all_mail(&maildir, 7).await;
    mail_to(&mails, "dan@example.com", "Reminder: may shop.test keep writing to you?");
    assert!(!mails.iter().any(|m| m.contains("To: cat@example.com") && m.contains("Reminder")));

    // The deadline: nothing before it; then a preview, then the erasure of those without a yes
    // and without any other consent (ben said no, eve never answered).
    assert!(ledger.close_campaign(&site, &c.id, true, "user:1").await.is_err(), "not before the deadline");
    clock.set(1_780_000_000 + 15 * 86_400);
    let preview = ledger.close_campaign(&site, &c.id, false, "user:1").await.unwrap();
    assert_eq!(preview.affected, 2, "{preview:?}");
    assert_eq!(preview.kept["kept: consents"], 1);
    assert_eq!(preview.kept["kept: valid consent to another purpose"], 1);
    assert_eq!(preview.kept["kept: already erased"], 1);
    assert!(ledger.lookup(&site, "eve@example.com").await.unwrap().is_some(), "a preview changes nothing");
    let closed = ledger.close_campaign(&site, &c.id, true, "user:1").await.unwrap();
    assert_eq!(closed.affected, 2);
    assert!(ledger.lookup(&site, "eve@example.com").await.unwrap().is_none());
    assert!(ledger.lookup(&site, "ben@example.com").await.unwrap().is_none());
    assert!(ledger.lookup(&site, "dan@example.com").await.unwrap().is_some());
    let status = ledger.campaign_status(&site, &c.id).await.unwrap();
    assert_eq!((status.said_yes, status.said_no, status.outcomes["erased"]), (1, 1, 2));
    assert!(status.campaign.outcome.unwrap().contains("\"affected\":2"), "the evidence stays on the campaign");
    // Erased stays erased: the same file again adds nobody back.
    let row = ImportRow { email: "eve@example.com".into(), ..ImportRow::default() };
    let again = ledger.importer(&site, opts.clone()).await.unwrap().row(&row).await.unwrap();
    assert_eq!(again, RowOutcome::Skipped("erased (suppressed)".into()));
    assert_eq!(ledger.verify().await.unwrap().first_broken, None);

    // The queue: a server that is down means a retry after the back-off, not a lost message.
    let down = open(crate::support::free_port());
    let permit = match down.may_send(&site, "ann@example.com", "news").await.unwrap() {
        Decision::Allowed(p) => p,
        Decision::Denied(why) => panic!("{why}"),
    };
    down.send_marketing(permit, "Spring news", "Hello again").await.unwrap();
    let failed = down.deliver_due(100).await.unwrap();
    assert_eq!((failed.sent, failed.retrying), (0, 1));
    assert_eq!(ledger.deliver_due(100).await.unwrap().sent, 0, "not due again before its back-off");
    clock.set(1_780_000_000 + 15 * 86_400 + 61);
    assert_eq!(ledger.deliver_due(100).await.unwrap().sent, 1);
    let mails = all_mail(&maildir, 8).await;
    let news = mail_to(&mails, "ann@example.com", "Spring news");
    assert!(news.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{news}");
    // And the gate is asked again when a message's turn comes: a withdrawal stops it.
    let permit = match ledger.may_send(&site, "ann@example.com", "news").await.unwrap() {
        Decision::Allowed(p) => p,
        Decision::Denied(why) => panic!("{why}"),
    };
    ledger.send_marketing(permit, "Summer news", "Hello").await.unwrap();
    let ann = contact("ann@example.com").await;
    ledger.choose(&ann, "news", false, Method::PreferenceCentre, &ev).await.unwrap();
    let stopped = ledger.deliver_due(100).await.unwrap();
    assert_eq!((stopped.sent, stopped.cancelled), (0, 1));
    let record = app.contact_mail(ann.id).await.unwrap();
    let statuses: Vec<&str> = record.iter().map(|m| m.status.as_str()).collect();
    assert_eq!(statuses, ["cancelled", "sent", "sent"], "newest first: {record:?}");
    assert_eq!(record[0].last_error.as_deref(), Some("consent withdrawn"));
    assert!(record[1].basis.as_deref().unwrap().starts_with("consent given"), "{record:?}");

    // The access report speaks the person's language, and names the controller's authority.
    let row = ImportRow { email: "fia@example.com".into(), language: "nb".into(), ..ImportRow::default() };
    ledger.importer(&site, ImportOptions { customers: true, ..opts }).await.unwrap().row(&row).await.unwrap();
    let fia = contact("fia@example.com").await;
    let bundle = tillit_web::access_bundle(&ledger.access_report(&fia).await.unwrap()).unwrap();
    let cover = unzipped(&bundle, "README.html");
    assert!(cover.contains("<html lang=\"nb\">") && cover.contains("(h) Automatiserte avgjørelser"), "{cover}");
    assert!(cover.contains("Du kan klage til Datatilsynet (Norway)"), "{cover}");
    assert!(cover.contains("Registrert som kunde siden") && cover.contains("importert fra et annet system"), "{cover}");
}
