//! Shared dashboard links of a site: `GET/POST /api/admin/sites/{domain}/shared-links`,
//! `DELETE …/shared-links/{id}`. A link reads one site's dashboard, nothing else.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use tillit_core::accounts::hash_new_password;
use tillit_core::secret::random_hex;
use tillit_store::app::accounts::SharedLink;

use crate::AppState;
use crate::api::sites::{audit, auth_error, map_store, site_of};
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    name: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    allow_embed: bool,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
) -> Result<Json<Vec<SharedLink>>, ApiError> {
    state.app.shared_links(site_of(&caller)?).await.map(Json).map_err(map_store)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateLink = crate::api::json_body(&body)?;
    let link = add_link(&state, &caller, &req.name, req.password.as_deref(), req.allow_embed).await?;
    let mut out = serde_json::to_value(&link).map_err(|e| ApiError::Internal(e.to_string()))?;
    out["url"] = Value::String(link_url(&state, &link));
    Ok((StatusCode::CREATED, Json(out)))
}

/// Where a shared link is opened.
pub(crate) fn link_url(state: &AppState, link: &SharedLink) -> String {
    format!("{}/share/{}", state.config.public_url.trim_end_matches('/'), link.slug)
}

/// Creates a shared link to the caller's site (audited); the API and the settings page share it.
pub(crate) async fn add_link(
    state: &AppState,
    caller: &Caller,
    name: &str,
    password: Option<&str>,
    allow_embed: bool,
) -> Result<SharedLink, ApiError> {
    let site = site_of(caller)?;
    let name = super::label(name)?;
    let hash = match password {
        Some(pw) => Some(hash_new_password(pw).await.map_err(auth_error)?),
        None => None,
    };
    let slug = random_hex(16);
    let link = state
        .app
        .add_shared_link(site, &slug, name, hash.as_deref(), allow_embed, state.clock.now())
        .await
        .map_err(map_store)?;
    audit(
        state,
        caller,
        "shared_link.create",
        &format!("shared-link:{}", link.id),
        json!({ "site_id": site, "password": link.has_password, "embed": link.allow_embed }),
    )
    .await?;
    Ok(link)
}

/// Revokes a shared link of the caller's site (audited).
pub(crate) async fn revoke_link(state: &AppState, caller: &Caller, id: i64) -> Result<(), ApiError> {
    let site = site_of(caller)?;
    state.app.revoke_shared_link(site, id, state.clock.now()).await.map_err(map_store)?;
    audit(state, caller, "shared_link.revoke", &format!("shared-link:{id}"), json!({})).await
}

pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, id)): Path<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    revoke_link(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
