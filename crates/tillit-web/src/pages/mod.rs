//! The HTML pages: server-rendered with askama (every value HTML-escaped), no inline script or
//! style (the CSP forbids both), forms that work without JavaScript.
//!
//! - this module: the start page, static assets, and what every page shares (navigation, cookies,
//!   forms, error pages);
//! - [`account`]: first-run setup, sign-in with two factors, sign-out, password change and reset,
//!   invitations, the account page;
//! - [`admin`]: users, invitations and the instance's security settings (owners);
//! - [`dashboard`]: a site's analytics (also what shared links show);
//! - [`share`]: shared dashboard links.

pub mod account;
pub mod admin;
pub mod dashboard;
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

/// The navigation bar's view of the caller.
pub struct Nav {
    pub email: Option<String>,
    pub manage_users: bool,
    pub read_audit: bool,
}

impl Nav {
    pub fn of(caller: &Caller) -> Nav {
        Nav {
            email: caller.user.as_ref().map(|u| u.email.clone()),
            manage_users: caller.principal.can(Permission::ManageUsers, None),
            read_audit: caller.principal.can(Permission::ReadAudit, None),
        }
    }

    pub fn none() -> Nav {
        Nav { email: None, manage_users: false, read_audit: false }
    }
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
    let class = if status.is_success() { "ok" } else { "error" };
    render(status, &Message { title: heading, nav: Nav::none(), narrow: true, heading, message, class, link })
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

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    title: &'static str,
    nav: Nav,
    narrow: bool,
    events: u64,
    sites: Vec<tillit_store::app::Site>,
    origin: String,
    geo: String,
}

/// `/`: first run goes to the owner setup, strangers to sign-in, everyone else sees the sites
/// they may view.
pub async fn home(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
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
    let all = state.app.list_sites().await.unwrap_or_default();
    let sites = all.into_iter().filter(|s| caller.principal.can(Permission::ViewDashboard, Some(s.id))).collect();
    let events = state.events.run(|s| s.count(None)).await.ok().and_then(Result::ok).unwrap_or(0);
    let home = Home {
        title: "Sites",
        nav: Nav::of(&caller),
        narrow: false,
        events,
        sites,
        origin: state.config.public_url.trim_end_matches('/').to_owned(),
        geo: state.config.geo_status.clone(),
    };
    render(StatusCode::OK, &home)
}

const APP_CSS: &str = include_str!("../assets/app.css");

/// `/assets/{file}`: the stylesheet (and, with the dashboard, its script).
pub async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "app.css" => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            ],
            APP_CSS,
        )
            .into_response(),
        _ => error_page(StatusCode::NOT_FOUND, "No such file."),
    }
}
