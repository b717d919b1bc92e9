//! The consent ledger end to end, with the real binary, a real SMTP server on loopback (PyPI
//! `aiosmtpd`) and, for the pages people see, a real headless Chromium.

use std::path::{Path, PathBuf};

use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};

use crate::browser::{
    browser, chromedriver, click, js, screenshot, serve_site, submit_credentials, type_into, wait_for_text,
};
use crate::mail::{Smtp, link_in, nth_mail, smtp_server};
use crate::support::{Server, add_site, tillit};

const ADMIN: &str = "Bearer test-admin-token";

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

    let contact: Value = client
        .get(format!("{}/api/admin/sites/shop.test/contacts?email=Ada@Example.com", server.base))
        .header("authorization", ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let cy: Value = client
        .get(format!("{}/api/admin/sites/shop.test/contacts?email=cy@example.com", server.base))
        .header("authorization", ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cy["states"][0]["state"], "given", "{cy}");

    // Access from the command line (while the server runs), then erasure that stays erased.
    let export = tillit(&dir, &["contact", "export", "--site", "shop.test", "ada@example.com"]);
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
    let dry = tillit(&dir, &["retention", "run", "--dry-run"]);
    let said = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success() && said.contains("contacts without valid consent for 30 days: would remove 0"),
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
    let data = js(
        &c,
        "return fetch(document.querySelector('a[download]').href).then(r => r.json()).then(d => JSON.stringify(d));",
    )
    .await;
    let data: Value = serde_json::from_str(data.as_str().unwrap()).unwrap();
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
    click(&c, "#purposes form.stack button[type=submit]").await;
    wait_for_text(&c, "Saved.").await;
    click(&c, "form[action='/sites/shop.test/ledger/purposes/news/publish'] button").await;
    wait_for_text(&c, "Saved.").await;
    let published = js(&c, "return document.querySelectorAll('#purposes tbody tr').length;").await;
    assert_eq!(published, json!(3), "news v1, news v2, offers v1");
    type_into(&c, "input[name=email][type=email]", "dag@example.com").await;
    click(&c, "#contact button[type=submit]").await;
    wait_for_text(&c, "double-opt-in").await;
    screenshot(&c, "ledger-page").await;
    c.close().await.unwrap();

    // The person deletes everything from the preference centre.
    let c = browser(driver_port).await;
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
    let list: Value = client
        .get(format!("{}/api/admin/sites/shop.test/requests", server.base))
        .header("authorization", ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
