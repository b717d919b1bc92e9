//! Shared dashboard links: `/share/{slug}` shows one site's analytics (last 30 days) to anyone
//! holding the link, after its password when it has one. A link grants exactly that: one site's
//! dashboard, nothing else (see `Principal::shared_link`).

use std::collections::HashMap;
use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use tillit_core::access::{Permission, Principal};
use tillit_core::secret::token_hash;
use tillit_core::stats::api::V1Endpoint;
use tillit_store::app::accounts::SharedLink;

use super::account::PasswordForm;
use super::{Nav, client, error_page, field, form, render};
use crate::AppState;
use crate::auth::cookie;
use crate::security::CSP_EMBEDDABLE;

#[derive(Template)]
#[template(path = "share.html")]
struct Shared {
    title: String,
    nav: Nav,
    narrow: bool,
    domain: String,
    metrics: Vec<(&'static str, String)>,
    pages: Vec<(String, String)>,
    sources: Vec<(String, String)>,
    events: Vec<(String, String)>,
}

fn unlock_page(slug: &str, error: Option<String>) -> PasswordForm<'static> {
    PasswordForm {
        title: "Shared dashboard",
        nav: Nav::none(),
        narrow: true,
        heading: "This dashboard is password protected",
        error,
        action: format!("/share/{slug}"),
        ask_email: false,
        label: "Password",
        new_password: false,
        button: "View dashboard",
    }
}

/// The cookie that proves the link's password was given: derived from the slug and the
/// password's hash, so it is worthless for any other link and dies when the password changes.
fn unlock_cookie(link: &SharedLink) -> (String, String) {
    let value = token_hash(&format!("{}:{}", link.slug, link.password_hash.as_deref().unwrap_or("")));
    (format!("tillit_share_{}", link.id), value)
}

async fn live_link(state: &AppState, slug: &str) -> Option<SharedLink> {
    state.app.shared_link(slug).await.ok().flatten()
}

pub async fn view(State(state): State<AppState>, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let Some(link) = live_link(&state, &slug).await else {
        return error_page(StatusCode::NOT_FOUND, "This link does not exist or was revoked.");
    };
    if link.password_hash.is_some() {
        let (name, value) = unlock_cookie(&link);
        if cookie(&headers, &name).as_deref() != Some(value.as_str()) {
            return render(StatusCode::UNAUTHORIZED, &unlock_page(&slug, None));
        }
    }
    let principal = Principal::shared_link(link.id, link.site_id);
    if !principal.can(Permission::ViewDashboard, Some(link.site_id)) {
        return error_page(StatusCode::FORBIDDEN, "This link grants nothing.");
    }
    let Some(site) = state.app.list_sites().await.ok().and_then(|all| all.into_iter().find(|s| s.id == link.site_id))
    else {
        return error_page(StatusCode::NOT_FOUND, "This site no longer exists.");
    };
    let Ok(Some(ctx)) = state.stats.site(&site.domain).await else {
        return error_page(StatusCode::NOT_FOUND, "This site no longer exists.");
    };
    let now = state.clock.now();
    let params = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let aggregate = state
        .stats
        .v1(
            &ctx,
            V1Endpoint::Aggregate,
            &params(&[("period", "30d"), ("metrics", "visitors,visits,pageviews,bounce_rate,visit_duration")]),
            now,
        )
        .await
        .unwrap_or(Value::Null);
    let metric = |name: &str| aggregate["results"][name]["value"].to_string();
    let metrics = vec![
        ("Visitors", metric("visitors")),
        ("Visits", metric("visits")),
        ("Pageviews", metric("pageviews")),
        ("Bounce rate %", metric("bounce_rate")),
        ("Visit duration s", metric("visit_duration")),
    ];
    let top = |property: &'static str, key: &'static str| {
        let stats = state.stats.clone();
        let ctx = ctx.clone();
        let p = params(&[("period", "30d"), ("property", property), ("limit", "10")]);
        async move {
            let v = stats.v1(&ctx, V1Endpoint::Breakdown, &p, now).await.unwrap_or(Value::Null);
            v["results"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .map(|r| (r[key].as_str().unwrap_or("").to_owned(), r["visitors"].to_string()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    let page = Shared {
        title: format!("{} analytics", site.domain),
        nav: Nav::none(),
        narrow: false,
        domain: site.domain.clone(),
        metrics,
        pages: top("event:page", "page").await,
        sources: top("visit:source", "source").await,
        events: top("event:name", "name").await,
    };
    let mut res = render(StatusCode::OK, &page);
    if link.allow_embed {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP_EMBEDDABLE));
    }
    res
}

pub async fn unlock(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let Some(link) = live_link(&state, &slug).await else {
        return error_page(StatusCode::NOT_FOUND, "This link does not exist or was revoked.");
    };
    let Some(phc) = link.password_hash.as_deref() else {
        return Redirect::to(&format!("/share/{slug}")).into_response();
    };
    let f = form(&body);
    match state
        .accounts
        .shared_link_password(link.id, phc, field(&f, "password"), &client(&state, peer, &headers))
        .await
    {
        Ok(true) => {
            let (name, value) = unlock_cookie(&link);
            let secure = if state.config.https() { "; Secure" } else { "" };
            let c = format!("{name}={value}; Path=/share/{slug}; HttpOnly; SameSite=Lax; Max-Age=86400{secure}");
            match HeaderValue::from_str(&c) {
                Ok(c) => super::redirect_with_cookie(&format!("/share/{slug}"), c),
                Err(_) => error_page(StatusCode::BAD_REQUEST, "Invalid link."),
            }
        }
        Ok(false) => render(StatusCode::UNAUTHORIZED, &unlock_page(&slug, Some("Wrong password.".into()))),
        Err(e) => render(StatusCode::TOO_MANY_REQUESTS, &unlock_page(&slug, Some(e.to_string()))),
    }
}
