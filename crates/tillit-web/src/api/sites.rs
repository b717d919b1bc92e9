//! The admin API for sites: `GET/POST /api/admin/sites`, `PATCH/DELETE /api/admin/sites/{domain}`.
//! Access is decided by `auth::RULES`: listing shows the sites the caller may view; changing a site
//! needs `ManageSite` on it; adding and removing sites needs the instance-wide `ManageSites`.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use tillit_core::access::Permission;
use tillit_core::accounts::AuthError;
use tillit_core::sites;
use tillit_store::app::{AppStoreError, Site};

use crate::AppState;
use crate::auth::Caller;
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

/// The settings a `PATCH` changes; those left out keep their value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSite {
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    retention_days: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<Site>>, ApiError> {
    let all = state.app.list_sites().await.map_err(map_store)?;
    Ok(Json(all.into_iter().filter(|s| caller.principal.can(Permission::ViewDashboard, Some(s.id))).collect()))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Site>), ApiError> {
    let req: CreateSite = crate::api::json_body(&body)?;
    let site = add_site(&state, &caller, &req.domain, req.timezone.as_deref(), req.retention_days).await?;
    Ok((StatusCode::CREATED, Json(site)))
}

pub async fn change(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Json<Site>, ApiError> {
    let req: ChangeSite = crate::api::json_body(&body)?;
    let Some(current) = caller.site.as_ref() else {
        return Err(ApiError::Internal("route without a checked site".into()));
    };
    let domain = req.domain.unwrap_or_else(|| current.domain.clone());
    let timezone = req.timezone.unwrap_or_else(|| current.timezone.clone());
    let retention = req.retention_days.unwrap_or(current.retention_days);
    Ok(Json(update_site(&state, &caller, &domain, &timezone, retention).await?))
}

/// Refuses a domain that another site still answers to (its current or its previous domain).
async fn check_domain_free(state: &AppState, domain: &str, own_id: Option<u32>) -> Result<(), ApiError> {
    let now = state.clock.now();
    let all = state.app.list_sites().await.map_err(map_store)?;
    match all.iter().find(|s| Some(s.id) != own_id && sites::answers_to(s, domain, now)) {
        Some(_) => Err(ApiError::Conflict(format!("the domain {domain} belongs to another site"))),
        None => Ok(()),
    }
}

/// Validates and adds a site (audited); the API and the start page's form share it.
pub(crate) async fn add_site(
    state: &AppState,
    caller: &Caller,
    domain: &str,
    timezone: Option<&str>,
    retention_days: Option<u32>,
) -> Result<Site, ApiError> {
    let new = sites::NewSite::parse(domain, timezone, retention_days.unwrap_or(state.config.default_retention_days))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    check_domain_free(state, &new.domain, None).await?;
    let site = state
        .app
        .add_site(&new.domain, &new.timezone, new.retention_days, state.clock.now())
        .await
        .map_err(map_store)?;
    refresh(state).await;
    audit(
        state,
        caller,
        "site.create",
        &format!("site:{}:{}", site.id, site.domain),
        serde_json::json!({ "timezone": site.timezone }),
    )
    .await?;
    Ok(site)
}

/// Changes the caller's site's domain, time zone and retention (audited). After a change of domain the
/// previous one keeps working for the Events API and the Stats API for `sites::PREVIOUS_DOMAIN_GRACE_SECS`.
pub(crate) async fn update_site(
    state: &AppState,
    caller: &Caller,
    domain: &str,
    timezone: &str,
    retention_days: u32,
) -> Result<Site, ApiError> {
    let Some(current) = caller.site.clone() else {
        return Err(ApiError::Internal("route without a checked site".into()));
    };
    let new = sites::NewSite::parse(domain, Some(timezone), retention_days)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    check_domain_free(state, &new.domain, Some(current.id)).await?;
    let site = sites::changed(&current, new, state.clock.now());
    state.app.update_site(&site).await.map_err(map_store)?;
    refresh(state).await;
    audit(
        state,
        caller,
        "site.update",
        &format!("site:{}:{}", site.id, current.domain),
        serde_json::json!({ "domain": site.domain, "timezone": site.timezone, "retention_days": site.retention_days }),
    )
    .await?;
    Ok(site)
}

pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
) -> Result<Json<Site>, ApiError> {
    let site = state.app.remove_site(&sites::normalise_domain(&domain), state.clock.now()).await.map_err(map_store)?;
    refresh(&state).await;
    audit(&state, &caller, "site.remove", &format!("site:{}:{}", site.id, site.domain), serde_json::json!({})).await?;
    Ok(Json(site))
}

async fn refresh(state: &AppState) {
    if let Ok(all) = state.app.list_sites().await {
        let now = state.clock.now();
        state.ingestor.set_sites(all.into_iter().map(|s| sites::info(s, now)));
    }
}

/// Records an action in the audit log; the request fails if it cannot be recorded.
pub(crate) async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    state.accounts.audit(&caller.principal.actor, action, target, detail).await.map_err(auth_error)
}

pub(crate) fn auth_error(e: AuthError) -> ApiError {
    match e {
        AuthError::Conflict(m) => ApiError::Conflict(format!("{m} already exists")),
        AuthError::NotFound(m) => ApiError::NotFound(format!("{m} not found")),
        AuthError::Store(m) => ApiError::Internal(m),
        e => ApiError::BadRequest(e.to_string()),
    }
}

/// The site the route's access rule was checked against.
pub(crate) fn site_of(caller: &Caller) -> Result<u32, ApiError> {
    caller.site.as_ref().map(|s| s.id).ok_or_else(|| ApiError::Internal("route without a checked site".into()))
}

pub(crate) fn map_store(e: AppStoreError) -> ApiError {
    match e {
        AppStoreError::Conflict(m) => ApiError::Conflict(format!("{m} already exists")),
        AppStoreError::NotFound(m) => ApiError::NotFound(format!("{m} not found")),
        AppStoreError::Backend(m) => ApiError::Internal(m),
    }
}
