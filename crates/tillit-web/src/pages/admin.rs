//! The owners' pages: users (who has access to what, invitations, disabling and removing people,
//! whether two-factor authentication is required) and the audit log.

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tracing::warn;

use tillit_core::access::Role;
use tillit_store::app::Site;
use tillit_store::app::accounts::User;

use super::{Nav, field, form, render};
use crate::AppState;
use crate::auth::Caller;
use crate::i18n::Texts;

struct UserRow {
    id: i64,
    email: String,
    roles: String,
    two_factor: bool,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct Users {
    title: &'static str,
    nav: Nav,
    narrow: bool,
    notice: Option<String>,
    error: Option<String>,
    invite_link: Option<String>,
    users: Vec<UserRow>,
    sites: Vec<Site>,
    require_2fa: bool,
}

/// "admin@shop.example, viewer@*": each role with the site it holds on.
pub fn describe_roles(user: &User, sites: &[Site]) -> String {
    user.roles
        .iter()
        .map(|r| match r.site_id.and_then(|id| sites.iter().find(|s| s.id == id)) {
            Some(site) => format!("{}@{}", r.role, site.domain),
            None => format!("{}@*", r.role),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn page(state: &AppState, caller: &Caller) -> Users {
    let sites = state.app.list_sites().await.unwrap_or_default();
    let users = state
        .accounts
        .users()
        .await
        .unwrap_or_default()
        .iter()
        .map(|u| UserRow {
            id: u.id,
            email: u.email.clone(),
            roles: describe_roles(u, &sites),
            two_factor: u.two_factor,
            disabled: u.disabled_at.is_some(),
        })
        .collect();
    Users {
        title: Texts::of(caller.lang).users,
        nav: Nav::of(caller),
        narrow: false,
        notice: None,
        error: None,
        invite_link: None,
        users,
        sites,
        require_2fa: state.accounts.two_factor_required().await.unwrap_or(false),
    }
}

/// The users page. It names people, so viewing it is recorded (and refused if it cannot be).
pub async fn users(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    if let Err(e) = state.accounts.audit(&caller.principal.actor, "users.view", "users", serde_json::json!({})).await {
        return super::error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    render(StatusCode::OK, &page(&state, &caller).await)
}

pub async fn invite(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Bytes) -> Response {
    let f = form(&body);
    let email = field(&f, "email").trim().to_lowercase();
    let site = field(&f, "site");
    let mut p = page(&state, &caller).await;
    let role: Role = match field(&f, "role").parse() {
        Ok(r) => r,
        Err(e) => {
            p.error = Some(e);
            return render(StatusCode::BAD_REQUEST, &p);
        }
    };
    let site_id = if site.is_empty() {
        None
    } else {
        match p.sites.iter().find(|s| s.domain == tillit_core::sites::normalise_domain(site)) {
            Some(s) => Some(s.id),
            None => {
                p.error = Some(format!("no site {site}"));
                return render(StatusCode::BAD_REQUEST, &p);
            }
        }
    };
    match state.accounts.invite(&caller.principal.actor, &email, site_id, role).await {
        Ok(token) => {
            let link = format!("{}/invite/{token}", state.config.public_url.trim_end_matches('/'));
            match state.mailer.clone() {
                Some(mailer) => {
                    let to = email.clone();
                    tokio::spawn(async move {
                        let text = format!(
                            "You were invited to Tillit as {role}.\n\nChoose a password to join; the link works once, for 7 days:\n{link}\n"
                        );
                        if let Err(e) = mailer.send(&to, "You are invited to Tillit", text).await {
                            warn!(error = %e, "invitation email not sent");
                        }
                    });
                    p.notice = Some(format!("{} {email}.", p.nav.t.invitation_sent));
                }
                None => p.invite_link = Some(link),
            }
            render(StatusCode::OK, &p)
        }
        Err(e) => {
            p.error = Some(e.to_string());
            render(StatusCode::BAD_REQUEST, &p)
        }
    }
}

async fn act(state: &AppState, caller: &Caller, id: i64, action: &str) -> Response {
    let by = &caller.principal.actor;
    let done = match action {
        "disable" => state.accounts.set_disabled(by, id, true).await.map(|_| ()),
        "enable" => state.accounts.set_disabled(by, id, false).await.map(|_| ()),
        _ => state.accounts.remove_user(by, id).await,
    };
    match done {
        Ok(()) => Redirect::to("/users").into_response(),
        Err(e) => {
            let mut p = page(state, caller).await;
            p.error = Some(e.to_string());
            render(StatusCode::BAD_REQUEST, &p)
        }
    }
}

pub async fn disable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Response {
    act(&state, &caller, id, "disable").await
}

pub async fn enable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Response {
    act(&state, &caller, id, "enable").await
}

pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Response {
    act(&state, &caller, id, "remove").await
}

pub async fn require_two_factor(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let required = field(&f, "required") == "on";
    if let Err(e) = state.accounts.require_two_factor(&caller.principal.actor, required).await {
        let mut p = page(&state, &caller).await;
        p.error = Some(e.to_string());
        return render(StatusCode::INTERNAL_SERVER_ERROR, &p);
    }
    Redirect::to("/users").into_response()
}

struct AuditRow {
    seq: i64,
    when: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Audit {
    title: &'static str,
    nav: Nav,
    narrow: bool,
    entries: Vec<AuditRow>,
}

/// The most recent audit rows shown on the page; the export has all of them.
const AUDIT_PAGE_ROWS: i64 = 500;

pub async fn audit(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    // The log names people: reading it is itself recorded (and refused if it cannot be).
    if let Err(e) =
        state.accounts.audit(&caller.principal.actor, "audit.view", "audit-log", serde_json::json!({})).await
    {
        return super::error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let Ok(batch) = state.accounts.audit_entries(after, 5_000).await else { break };
        let Some(last) = batch.last() else { break };
        after = last.seq;
        entries.extend(batch);
        let excess = entries.len().saturating_sub(AUDIT_PAGE_ROWS as usize);
        entries.drain(..excess);
    }
    let entries = entries
        .into_iter()
        .rev()
        .map(|e| AuditRow {
            seq: e.seq,
            when: jiff::Timestamp::from_second(e.at)
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
        })
        .collect();
    render(
        StatusCode::OK,
        &Audit { title: Texts::of(caller.lang).audit_log, nav: Nav::of(&caller), narrow: false, entries },
    )
}
