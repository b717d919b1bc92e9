//! The admin API for sites: `GET/POST /api/admin/sites`, `DELETE /api/admin/sites/{domain}`.
//! Authenticated with the admin token (`Authorization: Bearer …`) until accounts exist.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use tillit_core::sites;
use tillit_store::app::{AppStoreError, Site};

use crate::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    domain: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    retention_days: Option<u32>,
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Vec<Site>>, ApiError> {
    authorize(&state, &headers)?;
    state.app.list_sites().await.map(Json).map_err(map_store)
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Site>), ApiError> {
    authorize(&state, &headers)?;
    let req: CreateSite =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
    let new = sites::NewSite::parse(
        &req.domain,
        req.timezone.as_deref(),
        req.retention_days.unwrap_or(state.config.default_retention_days),
    )
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let site = state
        .app
        .add_site(&new.domain, &new.timezone, new.retention_days, state.clock.now())
        .await
        .map_err(map_store)?;
    refresh(&state).await;
    Ok((StatusCode::CREATED, Json(site)))
}

pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
) -> Result<Json<Site>, ApiError> {
    authorize(&state, &headers)?;
    let site = state.app.remove_site(&sites::normalise_domain(&domain), state.clock.now()).await.map_err(map_store)?;
    refresh(&state).await;
    Ok(Json(site))
}

async fn refresh(state: &AppState) {
    if let Ok(all) = state.app.list_sites().await {
        state.ingestor.set_sites(all.into_iter().map(sites::info));
    }
}

pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let digest: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    if bool::from(digest.ct_eq(&state.config.admin_token_sha256)) { Ok(()) } else { Err(ApiError::Unauthorized) }
}

pub(crate) fn map_store(e: AppStoreError) -> ApiError {
    match e {
        AppStoreError::Conflict(m) => ApiError::Conflict(format!("{m} already exists")),
        AppStoreError::NotFound(m) => ApiError::NotFound(format!("{m} not found")),
        AppStoreError::Backend(m) => ApiError::Internal(m),
    }
}

/// The id of the site with this domain, or 404.
pub(crate) async fn site_id(state: &AppState, domain: &str) -> Result<u32, ApiError> {
    let domain = sites::normalise_domain(domain);
    let all = state.app.list_sites().await.map_err(map_store)?;
    all.into_iter()
        .find(|s| s.domain == domain)
        .map(|s| s.id)
        .ok_or_else(|| ApiError::NotFound(format!("site {domain} not found")))
}
