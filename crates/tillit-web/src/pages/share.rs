//! Shared dashboard links: `/share/{slug}` shows one site's dashboard (read-only) to anyone
//! holding the link, after its password when it has one. A link grants exactly that: one site's
//! dashboard, nothing else (see `Principal::shared_link`).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use tillit_core::access::{Permission, Principal};
use tillit_core::secret::token_hash;
use tillit_store::app::accounts::SharedLink;

use super::account::PasswordForm;
use super::{Nav, client, error_page, field, form, render};
use crate::AppState;
use crate::auth::Caller;
use crate::auth::cookie;
use crate::i18n::{Lang, Texts};
use crate::security::CSP_EMBEDDABLE;

fn unlock_page(lang: Lang, slug: &str, error: Option<&str>) -> PasswordForm<'static> {
    let nav = Nav::in_lang(lang);
    let t = nav.t;
    PasswordForm {
        title: t.shared_dashboard,
        nav,
        narrow: true,
        heading: t.password_protected,
        error: error.map(str::to_owned),
        action: format!("/share/{slug}"),
        ask_email: false,
        label: t.password,
        new_password: false,
        button: t.view_dashboard,
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

pub async fn view(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(link) = live_link(&state, &slug).await else {
        return error_page(StatusCode::NOT_FOUND, "This link does not exist or was revoked.");
    };
    if link.password_hash.is_some() {
        let (name, value) = unlock_cookie(&link);
        if cookie(&headers, &name).as_deref() != Some(value.as_str()) {
            return render(StatusCode::UNAUTHORIZED, &unlock_page(caller.lang, &slug, None));
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
    let base = format!("/share/{slug}");
    let mut res =
        super::dashboard::page(&state, Nav::in_lang(caller.lang), &site.domain, true, Default::default(), &q, &base)
            .await;
    if link.allow_embed && res.status().is_success() {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP_EMBEDDABLE));
    }
    res
}

pub async fn unlock(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let lang = caller.lang;
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
        Ok(false) => render(StatusCode::UNAUTHORIZED, &unlock_page(lang, &slug, Some(Texts::of(lang).wrong_password))),
        Err(e) => render(StatusCode::TOO_MANY_REQUESTS, &unlock_page(lang, &slug, Some(&e.to_string()))),
    }
}
