//! The admin API for people and the instance (owners): `GET/POST /api/admin/users`,
//! `PATCH/DELETE /api/admin/users/{id}`, `PUT /api/admin/settings`, and the audit log export
//! `GET /api/admin/audit` (JSON lines, with hashes so the copy can be verified).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::warn;

use tillit_core::access::Role;
use tillit_store::app::accounts::User;

use crate::AppState;
use crate::api::sites::{audit as record, auth_error, map_store};
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    role: String,
    /// A domain; absent for every site.
    #[serde(default)]
    site: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    email: String,
    role: String,
    #[serde(default)]
    site: Option<String>,
    /// Without a password the person is invited by email (or the link is returned).
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    roles: Option<Vec<RoleSpec>>,
    #[serde(default)]
    disabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    require_two_factor: bool,
}

async fn role(state: &AppState, role: &str, site: Option<&str>) -> Result<(Option<u32>, Role), ApiError> {
    let role: Role = role.parse().map_err(ApiError::BadRequest)?;
    let Some(domain) = site else { return Ok((None, role)) };
    let domain = tillit_core::sites::normalise_domain(domain);
    let sites = state.app.list_sites().await.map_err(map_store)?;
    let site =
        sites.iter().find(|s| s.domain == domain).ok_or_else(|| ApiError::BadRequest(format!("no site {domain}")))?;
    Ok((Some(site.id), role))
}

/// Everyone with access. The list names people, so reading it is recorded.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<User>>, ApiError> {
    record(&state, &caller, "users.view", "users", json!({})).await?;
    state.accounts.users().await.map(Json).map_err(auth_error)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateUser = super::json_body(&body)?;
    let (site, role) = role(&state, &req.role, req.site.as_deref()).await?;
    let by = &caller.principal.actor;
    if let Some(pw) = &req.password {
        let user = state.accounts.add_user(by, &req.email, pw, &[(site, role)]).await.map_err(auth_error)?;
        return Ok((StatusCode::CREATED, Json(json!({ "user": user }))));
    }
    let token = state.accounts.invite(by, &req.email, site, role).await.map_err(auth_error)?;
    let link = format!("{}/invite/{token}", state.config.public_url.trim_end_matches('/'));
    let Some(mailer) = state.mailer.clone() else {
        // No email here: the caller delivers the link.
        return Ok((StatusCode::CREATED, Json(json!({ "invitation_url": link, "emailed": false }))));
    };
    let to = req.email.trim().to_lowercase();
    tokio::spawn(async move {
        let text = format!(
            "You were invited to Tillit as {role}.\n\nChoose a password to join; the link works once, for 7 days:\n{link}\n"
        );
        if let Err(e) = mailer.send(&to, "You are invited to Tillit", text).await {
            warn!(error = %e, "invitation email not sent");
        }
    });
    Ok((StatusCode::CREATED, Json(json!({ "emailed": true }))))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<User>, ApiError> {
    let req: UpdateUser = super::json_body(&body)?;
    let by = &caller.principal.actor;
    let mut user = state.accounts.user(id).await.map_err(auth_error)?;
    if let Some(specs) = &req.roles {
        let mut roles = Vec::new();
        for s in specs {
            roles.push(role(&state, &s.role, s.site.as_deref()).await?);
        }
        user = state.accounts.set_roles(by, id, &roles).await.map_err(auth_error)?;
    }
    if let Some(disabled) = req.disabled {
        user = state.accounts.set_disabled(by, id, disabled).await.map_err(auth_error)?;
    }
    Ok(Json(user))
}

pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.accounts.remove_user(&caller.principal.actor, id).await.map_err(auth_error)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: Settings = super::json_body(&body)?;
    state.accounts.require_two_factor(&caller.principal.actor, req.require_two_factor).await.map_err(auth_error)?;
    Ok(Json(json!({ "require_two_factor": req.require_two_factor })))
}

/// The audit log as JSON lines, from `after` (a seq), at most `limit` rows (default all).
pub async fn audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let after: i64 = q
        .get("after")
        .map(|s| s.parse())
        .transpose()
        .map_err(|_| ApiError::BadRequest("after must be a number".into()))?
        .unwrap_or(0);
    let limit: u32 = q
        .get("limit")
        .map(|s| s.parse())
        .transpose()
        .map_err(|_| ApiError::BadRequest("limit must be a number".into()))?
        .unwrap_or(u32::MAX);
    // The log names people: reading it is itself recorded.
    record(&state, &caller, "audit.export", "audit-log", json!({ "after": after })).await?;
    let mut out = String::new();
    let mut cursor = after;
    let mut left = limit;
    while left > 0 {
        let batch = state.accounts.audit_entries(cursor, left.min(5_000)).await.map_err(auth_error)?;
        let Some(last) = batch.last() else { break };
        cursor = last.seq;
        left = left.saturating_sub(batch.len() as u32);
        for e in &batch {
            out.push_str(&serde_json::to_string(e).map_err(|e| ApiError::Internal(e.to_string()))?);
            out.push('\n');
        }
    }
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"))], out).into_response())
}
