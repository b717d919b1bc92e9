//! The HTML pages: server-rendered with askama (every value HTML-escaped), no inline script or
//! style (the CSP forbids both), forms that work without JavaScript.
//!
//! - this module: the start page, static assets, and what every page shares (navigation, cookies,
//!   forms, error pages);
//! - [`account`]: first-run setup, sign-in with two factors, sign-out, password change and reset,
//!   invitations, the account page;
//! - [`admin`]: users, invitations and the instance's security settings (owners);
//! - [`dashboard`]: a site's analytics (also what shared links show);
//! - [`settings`]: a site's settings, the campaign URL builder, adding a site;
//! - [`ledger`]: a site's consent-ledger page (purposes, collection points, fields, contacts);
//! - [`share`]: shared dashboard links;
//! - [`consent`]: the ledger's public pages (signup form, confirmation, preference centre,
//!   unsubscribe).

pub mod access;
pub mod account;
pub mod admin;
pub mod consent;
pub mod dashboard;
pub mod ledger;
pub mod settings;
pub mod share;

use std::collections::HashMap;
use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use tracing::error;

use tillit_core::access::Permission;

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE};
use crate::client_ip;
use crate::i18n::{Lang, Texts};

/// The navigation bar's view of the caller, and the language of the page.
pub struct Nav {
    pub email: Option<String>,
    pub manage_users: bool,
    pub read_audit: bool,
    pub lang: Lang,
    pub t: &'static Texts,
    /// Where the language menu returns to.
    pub here: String,
    /// The sites the caller may view (the dashboard's site switcher); filled by
    /// [`Nav::with_sites`] only.
    pub sites: Vec<String>,
}

impl Nav {
    pub fn of(caller: &Caller) -> Nav {
        Nav {
            email: caller.user.as_ref().map(|u| u.email.clone()),
            manage_users: caller.principal.can(Permission::ManageUsers, None),
            read_audit: caller.principal.can(Permission::ReadAudit, None),
            lang: caller.lang,
            t: Texts::of(caller.lang),
            here: caller.here.clone(),
            sites: Vec::new(),
        }
    }

    /// [`Nav::of`], with the sites the caller may view.
    pub async fn with_sites(state: &AppState, caller: &Caller) -> Nav {
        let mut nav = Nav::of(caller);
        nav.sites = viewable_sites(state, caller).await.into_iter().map(|s| s.domain).collect();
        nav
    }

    /// No one signed in, pages in `lang` (shared links).
    pub fn in_lang(lang: Lang) -> Nav {
        Nav {
            email: None,
            manage_users: false,
            read_audit: false,
            lang,
            t: Texts::of(lang),
            here: String::new(),
            sites: Vec::new(),
        }
    }

    /// The language menu: (code, name, current).
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL.iter().map(|l| (l.code(), l.native_name(), *l == self.lang)).collect()
    }
}

/// The sites the caller may view, by domain.
pub async fn viewable_sites(state: &AppState, caller: &Caller) -> Vec<tillit_store::app::Site> {
    let mut sites: Vec<_> = state
        .app
        .list_sites()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|s| caller.principal.can(Permission::ViewDashboard, Some(s.id)))
        .collect();
    sites.sort_by(|a, b| a.domain.cmp(&b.domain));
    sites
}

/// Renders a template; a rendering failure is logged and answered with 500.
pub fn render(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    title: &'a str,
    nav: Nav,
    narrow: bool,
    heading: &'a str,
    message: &'a str,
    class: &'a str,
    link: Option<(&'a str, &'a str)>,
}

/// A page with one message.
pub fn message_page(status: StatusCode, heading: &str, message: &str, link: Option<(&str, &str)>) -> Response {
    message_page_in(Lang::En, status, heading, message, link)
}

/// [`message_page`] with the page's frame in `lang` (the caller translates the message).
pub fn message_page_in(
    lang: Lang,
    status: StatusCode,
    heading: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let class = if status.is_success() { "ok" } else { "error" };
    render(status, &Message { title: heading, nav: Nav::in_lang(lang), narrow: true, heading, message, class, link })
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let heading = status.canonical_reason().unwrap_or("Error");
    message_page(status, heading, message, Some(("/", "Back to Tillit")))
}

/// The fields of a `application/x-www-form-urlencoded` body (missing fields read as empty).
pub fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> &'a str {
    f.get(name).map(String::as_str).unwrap_or("")
}

/// The `Set-Cookie` value for the session cookie (`max_age` 0 clears it).
pub fn session_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.https() { "; Secure" } else { "" };
    let v = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("tillit_session=; Path=/; Max-Age=0"))
}

/// A redirect (303, so the browser follows with GET) that also sets a cookie.
pub fn redirect_with_cookie(to: &str, cookie: HeaderValue) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

/// The client's address, as throttling sees it (never stored or logged).
pub fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    client_ip::resolve(peer.ip(), headers, &state.config.trusted_proxies).to_string()
}

/// A site on the start page: visitors over the chosen period and their sparkline.
pub struct SiteSummary {
    pub domain: String,
    pub href: String,
    pub visitors: String,
    pub spark: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    title: &'static str,
    nav: Nav,
    narrow: bool,
    t: &'static Texts,
    events: String,
    sites: Vec<SiteSummary>,
    periods: Vec<(String, &'static str, bool)>,
    can_add: bool,
    origin: String,
    geo: String,
}

/// `/`: first run goes to the owner setup, strangers to sign-in, everyone else sees the sites
/// they may view, each with its visitors and a sparkline over the chosen period (kept when
/// opening a site).
pub async fn home(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if caller.user.is_none() {
        return match state.accounts.needs_setup().await {
            Ok(true) => Redirect::to("/setup").into_response(),
            Ok(false) => Redirect::to("/login").into_response(),
            Err(e) => {
                error!(error = %e, "cannot read users");
                error_page(StatusCode::INTERNAL_SERVER_ERROR, "The application store is unavailable.")
            }
        };
    }
    if caller.must_set_up_two_factor {
        return Redirect::to("/account?setup2fa=required").into_response();
    }
    let t = Texts::of(caller.lang);
    let period =
        q.get("period").map(String::as_str).filter(|p| ["day", "7d", "30d", "12mo"].contains(p)).unwrap_or("30d");
    let mut sites = Vec::new();
    for s in viewable_sites(&state, &caller).await {
        let query: HashMap<String, String> = [("period".to_owned(), period.to_owned())].into();
        let href = format!("/sites/{}?period={period}", s.domain);
        let summary = dashboard::summary(&state, &s.domain, &query, caller.lang).await;
        let (visitors, spark) = summary.unwrap_or_else(|| ("–".to_owned(), String::new()));
        sites.push(SiteSummary { domain: s.domain, href, visitors, spark });
    }
    let events = state.events.run(|s| s.count(None)).await.ok().and_then(Result::ok).unwrap_or(0);
    let periods = [("day", t.today), ("7d", t.last_7d), ("30d", t.last_30d), ("12mo", t.last_12mo)]
        .into_iter()
        .map(|(p, label)| (format!("/?period={p}"), label, p == period))
        .collect();
    let home = Home {
        title: t.sites,
        nav: Nav::of(&caller),
        narrow: false,
        t,
        events: caller.lang.int(i64::try_from(events).unwrap_or(i64::MAX)),
        sites,
        periods,
        can_add: caller.principal.can(Permission::ManageSites, None),
        origin: state.config.public_url.trim_end_matches('/').to_owned(),
        geo: state.config.geo_status.clone(),
    };
    render(StatusCode::OK, &home)
}

/// `POST /account/language`: saves the signed-in user's language and returns to the page.
pub async fn set_language(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let Some(user) = caller.user.as_ref() else { return Redirect::to("/login").into_response() };
    let Some(lang) = Lang::parse(field(&f, "lang")) else {
        return error_page(StatusCode::BAD_REQUEST, "Unknown language: choose en, nb, sv or da.");
    };
    if let Err(e) = state.app.set_locale(user.id, Some(lang.code())).await {
        error!(error = %e, "cannot save the language");
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, "The application store is unavailable.");
    }
    // Only a path on this site, and without a `lang` that would override the new choice.
    let next = field(&f, "next");
    let next = if next.starts_with('/') && !next.starts_with("//") { next } else { "/" };
    let next = match next.split_once('?') {
        Some((path, qs)) => {
            let kept: Vec<(String, String)> =
                url::form_urlencoded::parse(qs.as_bytes()).into_owned().filter(|(k, _)| k != "lang").collect();
            let qs = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
            if qs.is_empty() { path.to_owned() } else { format!("{path}?{qs}") }
        }
        None => next.to_owned(),
    };
    Redirect::to(&next).into_response()
}

const APP_CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");
const CONSENT_FORM_JS: &str = include_str!("../assets/consent-form.js");

/// `/assets/{file}`: the stylesheet and the pages' one small script.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (kind, body) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", APP_CSS),
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        "consent-form.js" => ("text/javascript; charset=utf-8", CONSENT_FORM_JS),
        _ => return error_page(StatusCode::NOT_FOUND, "No such file."),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::APP_CSS;
    use std::collections::HashMap;

    /// The custom properties of the light theme (`:root{…}`) and, over them, the dark one.
    fn themes() -> [HashMap<String, String>; 2] {
        let vars = |block: &str| -> HashMap<String, String> {
            block
                .split(';')
                .filter_map(|d| d.trim().strip_prefix("--"))
                .filter_map(|d| d.split_once(':'))
                .map(|(k, v)| (k.to_owned(), v.trim_end_matches('}').to_owned()))
                .collect()
        };
        let light_start = APP_CSS.find(":root{").unwrap();
        let light = vars(&APP_CSS[light_start..light_start + APP_CSS[light_start..].find('}').unwrap()]);
        let dark_start = APP_CSS.find("prefers-color-scheme:dark){:root{").unwrap();
        let dark_block = &APP_CSS[dark_start..dark_start + APP_CSS[dark_start..].find('}').unwrap()];
        let mut dark = light.clone();
        dark.extend(vars(dark_block.split_once(":root{").unwrap().1));
        [light, dark]
    }

    fn luminance(hex: &str) -> f64 {
        let hex = hex.trim_start_matches('#');
        let hex = if hex.len() == 3 { hex.chars().flat_map(|c| [c, c]).collect() } else { hex.to_owned() };
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// WCAG 2.1 AA in both themes: 4.5:1 for text on every background it appears on, 3:1 for
    /// the comparison line (a graphical object).
    #[test]
    fn theme_colours_meet_wcag_aa_contrast() {
        for theme in themes() {
            let c = |k: &str| theme.get(k).unwrap_or_else(|| panic!("--{k} missing")).as_str();
            for (text, bg) in [
                ("fg", "bg"),
                ("fg", "panel"),
                ("muted", "bg"),
                ("muted", "panel"),
                ("accent", "bg"),
                ("accent", "panel"),
                ("good", "panel"),
                ("bad", "panel"),
                ("on-accent", "accent"),
            ] {
                let ratio = contrast(c(text), c(bg));
                assert!(ratio >= 4.5, "--{text} on --{bg}: {ratio:.2}:1 in {theme:?}");
            }
            assert!(contrast(c("compare"), c("bg")) >= 3.0);
        }
    }
}
