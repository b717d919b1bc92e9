//! Accounts and access control through the real server: the role × route matrix over every route,
//! cross-site attempts, sessions and keys dying on the next request, CSRF, throttling, two-factor
//! sign-in, first-run setup and the audit chain (including a tampered row).

use std::collections::HashSet;
use std::path::Path;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, redirect};
use serde_json::Value;

use tillit_web::auth::{RULES, Rule};

use crate::support::{Server, add_site, tillit};

const PASSWORD: &str = "correct horse battery";

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(redirect::Policy::none()).build().unwrap()
}

/// How a request authenticates.
#[derive(Clone, Debug)]
enum Who {
    Anonymous,
    Cookie(String),
    Bearer(String),
}

struct Caller {
    name: &'static str,
    who: Who,
}

/// Adds a user from the command line (password on stdin).
fn add_user(dir: &Path, email: &str, role: &str, site: Option<&str>) {
    let mut args = vec!["user", "add", email, "--role", role, "--password-stdin"];
    if let Some(s) = site {
        args.extend(["--site", s]);
    }
    let mut child = std::process::Command::new(crate::support::bin())
        .arg("--data-dir")
        .arg(dir)
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(PASSWORD.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
}

fn api_key(dir: &Path, site: &str, scope: &str) -> String {
    let out = tillit(dir, &["apikey", "create", "--site", site, "--scope", scope]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Signs in through the form and returns the session cookie (`name=value`).
async fn sign_in(server: &Server, email: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("{}/login", server.base))
        .header("origin", &server.base)
        .form(&[("email", email), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tillit_session=") && !c.starts_with("tillit_session=;"))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

async fn cookie_for(server: &Server, email: &str) -> String {
    let res = sign_in(server, email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in of {email}");
    session_cookie(&res).expect("session cookie")
}

async fn send(server: &Server, who: &Who, method: &str, path: &str, body: Option<&str>) -> reqwest::Response {
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_str(&server.base).unwrap());
    match who {
        Who::Anonymous => {}
        Who::Cookie(c) => {
            headers.insert("cookie", HeaderValue::from_str(c).unwrap());
        }
        Who::Bearer(k) => {
            headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {k}")).unwrap());
        }
    }
    let mut req = client().request(Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", server.base));
    req = req.headers(headers);
    if let Some(b) = body {
        let form = path.starts_with('/') && !path.starts_with("/api/");
        req = req.header("content-type", if form { "application/x-www-form-urlencoded" } else { "application/json" });
        req = req.body(b.to_owned());
    }
    req.send().await.unwrap()
}

/// Whether the access layer refused. Under `/api/`: 401 or 403. For pages: 403, or the guard's
/// redirect to sign-in (which carries `next`; handlers' own answers, such as 401 for a wrong
/// password or a plain redirect to `/login`, are not refusals).
fn refused(res: &reqwest::Response, path: &str) -> bool {
    if path.starts_with("/api/") {
        return matches!(res.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    }
    let to_login = res.status() == StatusCode::SEE_OTHER
        && res.headers().get("location").and_then(|l| l.to_str().ok()).is_some_and(|l| l.starts_with("/login?next="));
    res.status() == StatusCode::FORBIDDEN || to_login
}

/// One request per route. Bodies are chosen so that an allowed request fails *after* the access
/// check (validation, unknown ids) and changes nothing, so every caller meets the same state.
/// `{site}` is replaced by the site under test.
const REQUESTS: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/", None),
    ("GET", "/setup", None),
    ("POST", "/setup", Some("email=x")),
    ("GET", "/login", None),
    ("POST", "/login", Some("email=nobody%40x.test&password=wrong")),
    ("GET", "/login/2fa", None),
    ("POST", "/login/2fa", Some("code=1")),
    ("GET", "/password/forgot", None),
    ("POST", "/password/forgot", Some("email=nobody%40x.test")),
    ("GET", "/password/reset/abc", None),
    ("POST", "/password/reset/abc", Some("password=short")),
    ("GET", "/invite/abc", None),
    ("POST", "/invite/abc", Some("password=short")),
    ("POST", "/sites", Some("domain=not+a+domain")),
    ("GET", "/sites/{site}", None),
    ("GET", "/sites/{site}/details/pages", None),
    ("GET", "/sites/{site}/realtime", None),
    ("GET", "/sites/{site}/export", None),
    ("GET", "/sites/{site}/utm", None),
    ("GET", "/sites/{site}/ledger?email=nobody%40x.test", None),
    ("POST", "/sites/{site}/ledger/fields", Some("key=")),
    ("POST", "/sites/{site}/ledger/purposes/no-such-purpose/publish", Some("")),
    ("POST", "/sites/{site}/ledger/campaigns/cp-none/start", Some("")),
    ("GET", "/sites/{site}/settings", None),
    ("POST", "/sites/{site}/settings", Some("domain=&timezone=Nowhere&retention_days=0")),
    ("POST", "/sites/{site}/settings/goals", Some("")),
    ("POST", "/sites/{site}/settings/goals/remove", Some("name=no-such-goal")),
    ("POST", "/sites/{site}/settings/funnels", Some("name=&steps=")),
    ("POST", "/sites/{site}/settings/funnels/remove", Some("name=no-such-funnel")),
    ("POST", "/sites/{site}/settings/links", Some("name=")),
    ("POST", "/sites/{site}/settings/links/revoke", Some("id=999999")),
    ("GET", "/share/nope", None),
    ("POST", "/share/nope", Some("password=x")),
    ("GET", "/account", None),
    ("POST", "/account/password", Some("current=wrong&new=short")),
    ("POST", "/account/language", Some("lang=xx")),
    ("POST", "/account/2fa/setup", Some("")),
    ("POST", "/account/2fa/confirm", Some("code=000000")),
    ("POST", "/account/2fa/disable", Some("password=wrong")),
    ("GET", "/users", None),
    ("POST", "/users/invite", Some("email=x&role=emperor")),
    ("POST", "/users/999999/disable", Some("")),
    ("POST", "/users/999999/enable", Some("")),
    ("POST", "/users/999999/remove", Some("")),
    ("POST", "/users/require-2fa", Some("required=off")),
    ("GET", "/audit", None),
    ("GET", "/assets/app.css", None),
    ("GET", "/js/script.js", None),
    ("POST", "/api/event", Some(r#"{"n":"pageview","u":"http://{site}/","d":"{site}"}"#)),
    ("OPTIONS", "/api/event", None),
    ("GET", "/api/health", None),
    ("GET", "/api/v1/stats/realtime/visitors?site_id={site}", None),
    ("GET", "/api/v1/stats/aggregate?site_id={site}&metrics=visitors", None),
    ("GET", "/api/v1/stats/timeseries?site_id={site}", None),
    ("GET", "/api/v1/stats/breakdown?site_id={site}&property=event:page", None),
    ("GET", "/api/v1/stats/funnel?site_id={site}&funnel=none", None),
    ("POST", "/api/v2/query", Some(r#"{"site_id":"{site}","metrics":["visitors"],"date_range":"7d"}"#)),
    ("GET", "/api/admin/sites", None),
    ("POST", "/api/admin/sites", Some(r#"{"domain":"not a domain"}"#)),
    ("PATCH", "/api/admin/sites/{site}", Some(r#"{"retention_days":0}"#)),
    ("DELETE", "/api/admin/sites/zzz.test", None),
    ("GET", "/api/admin/sites/{site}/goals", None),
    ("POST", "/api/admin/sites/{site}/goals", Some("{}")),
    ("DELETE", "/api/admin/sites/{site}/goals/no-such-goal", None),
    ("GET", "/api/admin/sites/{site}/funnels", None),
    ("POST", "/api/admin/sites/{site}/funnels", Some("{}")),
    ("DELETE", "/api/admin/sites/{site}/funnels/no-such-funnel", None),
    ("GET", "/api/admin/sites/{site}/keys", None),
    ("POST", "/api/admin/sites/{site}/keys", Some("{}")),
    ("DELETE", "/api/admin/sites/{site}/keys/999999", None),
    ("GET", "/api/admin/sites/{site}/shared-links", None),
    ("POST", "/api/admin/sites/{site}/shared-links", Some("{}")),
    ("DELETE", "/api/admin/sites/{site}/shared-links/999999", None),
    ("GET", "/api/admin/users", None),
    ("POST", "/api/admin/users", Some("{}")),
    ("PATCH", "/api/admin/users/999999", Some("{}")),
    ("DELETE", "/api/admin/users/999999", None),
    ("PUT", "/api/admin/settings", Some("{}")),
    ("GET", "/api/admin/audit?limit=1", None),
    ("GET", "/api/admin/sites/{site}/purposes", None),
    ("POST", "/api/admin/sites/{site}/purposes", Some("{}")),
    ("POST", "/api/admin/sites/{site}/purposes/no-such-purpose/publish", None),
    ("GET", "/api/admin/sites/{site}/collection-points", None),
    ("POST", "/api/admin/sites/{site}/collection-points", Some("{}")),
    ("GET", "/api/admin/sites/{site}/collection-points/nope/snippet", None),
    ("GET", "/api/admin/sites/{site}/contact-fields", None),
    ("POST", "/api/admin/sites/{site}/contact-fields", Some("{}")),
    ("GET", "/api/admin/sites/{site}/contacts?email=nobody%40x.test", None),
    ("POST", "/api/admin/sites/{site}/contacts/erase", Some("{}")),
    ("GET", "/api/admin/sites/{site}/requests", None),
    ("POST", "/api/admin/sites/{site}/requests", Some("{}")),
    ("POST", "/api/admin/sites/{site}/requests/rq-none/extend", Some("{}")),
    ("POST", "/api/admin/sites/{site}/requests/rq-none/close", Some("{}")),
    ("GET", "/api/admin/sites/{site}/campaigns", None),
    ("POST", "/api/admin/sites/{site}/campaigns", Some("{}")),
    ("GET", "/api/admin/sites/{site}/campaigns/cp-none", None),
    ("POST", "/api/admin/sites/{site}/campaigns/cp-none/start", Some("{}")),
    ("POST", "/api/admin/sites/{site}/campaigns/cp-none/close", Some("{}")),
    ("POST", "/api/requests/rq-none/verify", Some(r#"{"code":"000000"}"#)),
    ("POST", "/api/admin/sites/{site}/consents", Some("{}")),
    ("POST", "/api/admin/sites/{site}/send-check", Some("{}")),
    ("POST", "/api/admin/sites/{site}/messages", Some("{}")),
    ("POST", "/api/signup/{site}/nope", Some("{}")),
    ("OPTIONS", "/api/signup/{site}/nope", None),
    ("GET", "/api/unsubscribe/nope", None),
    ("POST", "/api/unsubscribe/nope", Some("")),
    ("GET", "/receipts/nope", None),
    ("GET", "/.well-known/jwks.json", None),
    ("GET", "/f/{site}/nope", None),
    ("GET", "/confirm/nope", None),
    ("POST", "/confirm/nope", Some("lang=en")),
    ("GET", "/preferences/site/{site}", None),
    ("POST", "/preferences/site/{site}", Some("email=not-an-email")),
    ("GET", "/preferences/nope", None),
    ("POST", "/preferences/nope", Some("action=object")),
    ("GET", "/preferences/nope/data.json", None),
    ("GET", "/unsubscribe/nope", None),
    ("POST", "/unsubscribe/nope", Some("")),
    ("GET", "/requests/site/{site}", None),
    ("POST", "/requests/site/{site}", Some("kind=access&email=not-an-email")),
    ("GET", "/requests/rq-none", None),
    ("POST", "/requests/rq-none", Some("code=000000")),
    // Last: these end the caller's session.
    ("POST", "/account/logout-everywhere", Some("")),
    ("POST", "/logout", Some("")),
];

/// The route template a request path belongs to (for the coverage check).
fn template_of(method: &str, path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or_default();
    RULES.iter().map(|(m, p, _)| (m, p)).find(|(m, p)| **m == method && matches_template(p, path)).map(|(_, p)| *p)
}

fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p || (*t == "{site}"))
}

/// Who may pass each rule — written out from the issue's role definitions, not computed by the
/// code under test. Site-scoped callers hold their role on `a.test` only.
fn expected(caller: &str, rule: Rule, site: &str) -> bool {
    use tillit_core::access::Permission::*;
    let everywhere = matches!(caller, "owner" | "operator");
    let on_a = site == "a.test";
    match rule {
        Rule::Public => true,
        Rule::SignedIn => matches!(caller, "owner" | "admin" | "marketer" | "analyst" | "viewer"),
        Rule::Authenticated => caller != "anonymous",
        Rule::Instance(ManageSites) => everywhere,
        Rule::Instance(ManageUsers | ReadAudit) => everywhere,
        Rule::Site(ViewDashboard, _) => {
            everywhere || (on_a && matches!(caller, "admin" | "marketer" | "analyst" | "viewer" | "read-key"))
        }
        Rule::Site(ManageSite, _) => everywhere || (on_a && caller == "admin"),
        Rule::Site(ManageLedger | ReadPersonalData, _) => {
            everywhere || (on_a && matches!(caller, "admin" | "marketer" | "ledger-key"))
        }
        other => panic!("no expectation written for {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_enforces_its_rule_for_every_role_and_site() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    add_site(dir, "a.test");
    add_site(dir, "b.test");
    add_user(dir, "owner@x.test", "owner", None);
    for role in ["admin", "marketer", "analyst", "viewer"] {
        add_user(dir, &format!("{role}@x.test"), role, Some("a.test"));
    }
    let read_key = api_key(dir, "a.test", "read-analytics");
    let ledger_key = api_key(dir, "a.test", "manage-ledger");
    let server = Server::start(dir, &[]).await;

    // Every route the server has is in the request list, and vice versa.
    let covered: HashSet<(&str, &str)> =
        REQUESTS.iter().filter_map(|(m, p, _)| template_of(m, p).map(|t| (*m, t))).collect();
    for (m, p, _) in RULES {
        assert!(covered.contains(&(*m, *p)), "no request in the matrix for {m} {p}");
    }

    let mut callers = vec![
        Caller { name: "anonymous", who: Who::Anonymous },
        Caller { name: "operator", who: Who::Bearer("test-admin-token".into()) },
        Caller { name: "read-key", who: Who::Bearer(read_key) },
        Caller { name: "ledger-key", who: Who::Bearer(ledger_key) },
    ];
    for role in ["owner", "admin", "marketer", "analyst", "viewer"] {
        let cookie = cookie_for(&server, &format!("{role}@x.test")).await;
        callers.push(Caller { name: role, who: Who::Cookie(cookie) });
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    for caller in &callers {
        for site in ["a.test", "b.test"] {
            for (method, path, body) in REQUESTS {
                let templ = template_of(method, path).unwrap_or_else(|| panic!("{method} {path} matches no route"));
                let rule = RULES.iter().find(|(m, p, _)| m == method && *p == templ).map(|(_, _, r)| *r).unwrap();
                // Rules without a site are checked once, in the last round (the sign-out routes
                // at the end of the list end the caller's session).
                if site == "a.test" && !matches!(rule, Rule::Site(..)) {
                    continue;
                }
                let path = path.replace("{site}", site);
                let body = body.map(|b| b.replace("{site}", site));
                let res = send(&server, &caller.who, method, &path, body.as_deref()).await;
                let allowed = !refused(&res, &path);
                checked += 1;
                if allowed != expected(caller.name, rule, site) {
                    failures.push(format!("{} {method} {path} ({site}): got {}", caller.name, res.status()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} checks wrong:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 500, "{checked}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_removing_and_revoking_end_access_on_the_next_request() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    add_site(dir, "a.test");
    add_user(dir, "owner@x.test", "owner", None);
    add_user(dir, "ana@x.test", "analyst", Some("a.test"));
    add_user(dir, "vic@x.test", "viewer", Some("a.test"));
    let key = api_key(dir, "a.test", "read-analytics");
    let server = Server::start(dir, &[]).await;
    let stats = "/api/v1/stats/aggregate?site_id=a.test&metrics=visitors";

    let ana = Who::Cookie(cookie_for(&server, "ana@x.test").await);
    assert_eq!(send(&server, &ana, "GET", stats, None).await.status(), 200);
    let out = tillit(dir, &["user", "disable", "ana@x.test"]);
    assert!(out.status.success());
    assert_eq!(send(&server, &ana, "GET", stats, None).await.status(), 401, "session dies with the account");
    assert_eq!(sign_in(&server, "ana@x.test", PASSWORD).await.status(), 401, "and no new one");

    let vic = Who::Cookie(cookie_for(&server, "vic@x.test").await);
    assert_eq!(send(&server, &vic, "GET", "/account", None).await.status(), 200);
    let owner = Who::Cookie(cookie_for(&server, "owner@x.test").await);
    let users: Value = send(&server, &owner, "GET", "/api/admin/users", None).await.json().await.unwrap();
    let vic_id = users.as_array().unwrap().iter().find(|u| u["email"] == "vic@x.test").unwrap()["id"].as_i64().unwrap();
    let del = send(&server, &owner, "DELETE", &format!("/api/admin/users/{vic_id}"), None).await;
    assert_eq!(del.status(), 204);
    assert!(refused(&send(&server, &vic, "GET", "/account", None).await, "/account"), "removed user's session is gone");

    let bearer = Who::Bearer(key.clone());
    assert_eq!(send(&server, &bearer, "GET", stats, None).await.status(), 200);
    let prefix = &key[..12];
    assert!(tillit(dir, &["apikey", "revoke", prefix]).status.success());
    assert_eq!(send(&server, &bearer, "GET", stats, None).await.status(), 401, "revoked key refused at once");

    // Signing out everywhere ends every session of the user.
    let owner2 = Who::Cookie(cookie_for(&server, "owner@x.test").await);
    let res = send(&server, &owner, "POST", "/account/logout-everywhere", Some("")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(refused(&send(&server, &owner2, "GET", "/account", None).await, "/account"));
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_state_changes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    add_user(dir, "owner@x.test", "owner", None);
    let server = Server::start(dir, &[]).await;
    let cookie = cookie_for(&server, "owner@x.test").await;
    let change = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
        let mut req = client()
            .post(format!("{}/account/password", server.base))
            .header("cookie", cookie.clone())
            .form(&[("current", PASSWORD), ("new", "a brand new password")]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(f) = fetch_site {
            req = req.header("sec-fetch-site", f);
        }
        req.send()
    };
    assert_eq!(change(Some("http://evil.test"), None).await.unwrap().status(), 403);
    assert_eq!(change(None, Some("cross-site")).await.unwrap().status(), 403);
    assert_eq!(change(Some(leak(&server.base)), Some("same-site")).await.unwrap().status(), 403);
    assert_eq!(change(None, None).await.unwrap().status(), 403, "no origin information at all");
    // Nothing changed: the old password still signs in.
    assert_eq!(sign_in(&server, "owner@x.test", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    // A cross-site sign-in form (login CSRF) is refused too.
    let res = client()
        .post(format!("{}/login", server.base))
        .header("origin", "http://evil.test")
        .form(&[("email", "owner@x.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The same request from Tillit's own page goes through.
    let ok = change(Some(leak(&server.base)), Some("same-origin")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(sign_in(&server, "owner@x.test", "a brand new password").await.status(), StatusCode::SEE_OTHER);
    server.stop();
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_throttled_and_does_not_reveal_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    add_user(dir, "owner@x.test", "owner", None);
    let server = Server::start(dir, &[]).await;
    let wrong = sign_in(&server, "owner@x.test", "not the password").await;
    let unknown = sign_in(&server, "ghost@x.test", "not the password").await;
    assert_eq!((wrong.status(), unknown.status()), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    let (a, b) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert!(a.contains("invalid email or password") && b.contains("invalid email or password"));
    for _ in 0..4 {
        assert_eq!(sign_in(&server, "owner@x.test", "not the password").await.status(), 401);
    }
    let locked = sign_in(&server, "owner@x.test", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let retry: i64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_setup_two_factor_and_required_two_factor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(dir, &[]).await;
    let home = send(&server, &Who::Anonymous, "GET", "/", None).await;
    assert_eq!(home.headers()["location"], "/setup");
    let setup = client()
        .post(format!("{}/setup", server.base))
        .header("origin", &server.base)
        .form(&[("email", "Owner@X.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), StatusCode::SEE_OTHER);
    let owner = Who::Cookie(session_cookie(&setup).expect("signed in after setup"));
    let page = send(&server, &owner, "GET", "/", None).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.text().await.unwrap().contains("Install the tracker"));
    // Setup is closed once an owner exists.
    let again = client()
        .post(format!("{}/setup", server.base))
        .header("origin", &server.base)
        .form(&[("email", "intruder@x.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["location"], "/login");
    assert_eq!(sign_in(&server, "intruder@x.test", PASSWORD).await.status(), 401);

    // Two-factor setup through the account page.
    let page = send(&server, &owner, "POST", "/account/2fa/setup", Some("")).await.text().await.unwrap();
    let secret = page.split("Secret: <code>").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let code = tillit_core::accounts::totp_code(&secret, "owner@x.test", now()).unwrap();
    let confirmed = send(&server, &owner, "POST", "/account/2fa/confirm", Some(&format!("code={code}"))).await;
    assert_eq!(confirmed.status(), 200);
    let text = confirmed.text().await.unwrap();
    assert!(text.contains("recovery codes"), "{text}");
    let recovery = text.split("<li>").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();

    // Password alone now leads to the second step only.
    let half = sign_in(&server, "owner@x.test", PASSWORD).await;
    assert_eq!(half.headers()["location"], "/login/2fa");
    let half = Who::Cookie(session_cookie(&half).unwrap());
    assert!(refused(&send(&server, &half, "GET", "/account", None).await, "/account"), "a half session grants nothing");
    let done = send(&server, &half, "POST", "/login/2fa", Some(&format!("code={recovery}"))).await;
    assert_eq!(done.headers()["location"], "/");
    let full = Who::Cookie(session_cookie(&done).unwrap());
    assert_eq!(send(&server, &full, "GET", "/account", None).await.status(), 200);
    assert!(refused(&send(&server, &half, "GET", "/account", None).await, "/account"), "the half session ended");

    // Owners require 2FA: a user without it may only reach their account page.
    add_user(dir, "ana@x.test", "analyst", None);
    let res = send(&server, &full, "POST", "/users/require-2fa", Some("required=on")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let ana = Who::Cookie(cookie_for(&server, "ana@x.test").await);
    let blocked = send(&server, &ana, "GET", "/api/admin/sites", None).await;
    assert_eq!(blocked.status(), 403);
    let home = send(&server, &ana, "GET", "/", None).await;
    assert_eq!(home.headers()["location"], "/account?setup2fa=required");
    assert_eq!(send(&server, &ana, "GET", "/account", None).await.status(), 200);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_and_detects_a_tampered_row() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    add_site(dir, "a.test");
    add_user(dir, "owner@x.test", "owner", None);
    let key = api_key(dir, "a.test", "read-analytics");
    assert!(tillit(dir, &["apikey", "revoke", &key[..12]]).status.success());
    let server = Server::start(dir, &[]).await;
    let _ = sign_in(&server, "owner@x.test", "wrong password!").await;
    let owner = Who::Cookie(cookie_for(&server, "owner@x.test").await);
    assert_eq!(send(&server, &owner, "GET", "/users", None).await.status(), 200);
    let export = send(&server, &owner, "GET", "/api/admin/audit", None).await;
    assert_eq!(export.status(), 200);
    let lines: Vec<Value> = export.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["user.create", "key.create", "key.revoke", "signin.failed", "signin", "users.view", "audit.export"]
    );
    // Not a password, token or key anywhere in it.
    let raw = serde_json::to_string(&lines).unwrap();
    assert!(!raw.contains(PASSWORD) && !raw.contains(&key));
    server.stop();

    let ok = tillit(dir, &["audit", "verify"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact: 7 rows"));

    // The log refuses edits through SQL; an attacker with the file drops the guard first.
    let db = dir.join("app.sqlite3");
    let sql = |q: &str| {
        std::process::Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
            ])
            .arg(&db)
            .arg(q)
            .output()
            .unwrap()
    };
    let refused = sql("UPDATE audit_log SET actor = 'someone else' WHERE seq = 4");
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("append-only"));
    let tampered = sql("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone else' WHERE seq = 4");
    assert!(tampered.status.success(), "{}", String::from_utf8_lossy(&tampered.stderr));
    let bad = tillit(dir, &["audit", "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("altered at row 4"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_links_open_one_sites_dashboard_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    add_site(dir, "a.test");
    add_site(dir, "b.test");
    let server = Server::start(dir, &[]).await;
    let operator = Who::Bearer("test-admin-token".into());
    let create =
        |body: &'static str| send(&server, &operator, "POST", "/api/admin/sites/a.test/shared-links", Some(body));
    let open: Value = create(r#"{"name":"open"}"#).await.json().await.unwrap();
    let locked: Value =
        create(r#"{"name":"locked","password":"a link password","allow_embed":true}"#).await.json().await.unwrap();
    assert_eq!(locked["has_password"], true);
    assert!(locked.get("password_hash").is_none(), "the hash never leaves the server");

    let path = |link: &Value| format!("/share/{}", link["slug"].as_str().unwrap());
    let page = send(&server, &Who::Anonymous, "GET", &path(&open), None).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY", "not embeddable unless allowed");
    assert!(page.text().await.unwrap().contains("a.test"));

    // The password-protected link: form, wrong password, right password, then the dashboard.
    let p = path(&locked);
    assert_eq!(send(&server, &Who::Anonymous, "GET", &p, None).await.status(), 401);
    assert_eq!(send(&server, &Who::Anonymous, "POST", &p, Some("password=wrong")).await.status(), 401);
    let unlocked = send(&server, &Who::Anonymous, "POST", &p, Some("password=a+link+password")).await;
    assert_eq!(unlocked.status(), StatusCode::SEE_OTHER);
    let share_cookie = unlocked.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = send(&server, &Who::Cookie(share_cookie.clone()), "GET", &p, None).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors *") && page.headers().get("x-frame-options").is_none(), "{csp}");

    // The link's cookie is no session: it opens nothing else.
    let share = Who::Cookie(share_cookie);
    for (m, other) in
        [("GET", "/api/admin/sites"), ("GET", "/api/v1/stats/aggregate?site_id=a.test"), ("GET", "/account")]
    {
        assert!(refused(&send(&server, &share, m, other, None).await, other), "{other}");
    }
    // Revoked: gone at once.
    let id = locked["id"].as_i64().unwrap();
    let del = send(&server, &operator, "DELETE", &format!("/api/admin/sites/a.test/shared-links/{id}"), None).await;
    assert_eq!(del.status(), 204);
    assert_eq!(send(&server, &share, "GET", &p, None).await.status(), 404);
    // A site's links cannot be revoked through another site.
    let other =
        send(&server, &operator, "DELETE", &format!("/api/admin/sites/b.test/shared-links/{}", open["id"]), None).await;
    assert_eq!(other.status(), 404);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_deployments_get_secure_cookies_and_hsts() {
    let tmp = tempfile::tempdir().unwrap();
    add_user(tmp.path(), "owner@x.test", "owner", None);
    let server = Server::start(tmp.path(), &[("TILLIT_PUBLIC_URL", "https://analytics.example.test")]).await;
    let res = sign_in(&server, "owner@x.test", PASSWORD).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    server.stop();

    // Served over plain HTTP (local use), cookies cannot be Secure and there is no HSTS.
    let server = Server::start(tmp.path(), &[]).await;
    let res = sign_in(&server, "owner@x.test", PASSWORD).await;
    assert!(!res.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
    assert!(res.headers().get("strict-transport-security").is_none());
    server.stop();
}

/// With the most verbose log level, a run through sign-in, failures, resets, keys and ingest
/// leaves no password, token, key, email, IP address or user agent in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_secrets_or_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    add_site(&dir, "a.test");
    add_user(&dir, "owner@x.test", "owner", None);
    let key = api_key(&dir, "a.test", "read-analytics");
    let log = tmp.path().join("server.log");
    let server = Server::start_logging_to(
        &dir,
        &[("TILLIT_LOG", "trace,hyper=info,h2=info"), ("TILLIT_TRUSTED_PROXIES", "127.0.0.1")],
        &log,
    )
    .await;
    let ua = crate::support::CHROME_UA;
    let event = r#"{"n":"pageview","u":"http://a.test/","d":"a.test"}"#;
    assert_eq!(server.post_event(event, "198.51.100.77", ua).await.status(), 202);
    let _ = sign_in(&server, "owner@x.test", "wrong password").await;
    let _ = sign_in(&server, "ghost@x.test", "wrong password").await;
    let res = sign_in(&server, "owner@x.test", PASSWORD).await;
    let session = session_cookie(&res).unwrap();
    let owner = Who::Cookie(session.clone());
    let _ = send(&server, &owner, "POST", "/password/forgot", Some("email=owner%40x.test")).await;
    let _ = send(&server, &Who::Bearer(key.clone()), "GET", "/api/v1/stats/aggregate?site_id=a.test", None).await;
    let _ = send(&server, &Who::Bearer("tlt_not_a_key".into()), "GET", "/api/v1/stats/aggregate?site_id=a.test", None)
        .await;
    server.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("tillit is serving"), "the log was captured: {text}");
    let token = session.trim_start_matches("tillit_session=");
    for secret in [
        PASSWORD,
        "wrong password",
        "owner@x.test",
        "ghost@x.test",
        "198.51.100.77",
        ua,
        "Chrome/142",
        token,
        &key,
        "tlt_not_a_key",
        "test-admin-token",
    ] {
        assert!(!text.contains(secret), "the log contains {secret:?}");
    }
}
