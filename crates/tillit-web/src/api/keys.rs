//! API keys of a site: `GET/POST /api/admin/sites/{domain}/keys`, `DELETE …/keys/{id}`.
//! A key is shown once, at creation; the store keeps its hash. Creating a key with a scope needs
//! the permissions that scope grants, so no one hands out more than they hold.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use tillit_core::access::{Permission, Scope};
use tillit_core::accounts::keys::generate_key;
use tillit_store::app::{ApiKey, NewApiKey};

use crate::AppState;
use crate::api::sites::{audit, map_store, site_of};
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    hourly_limit: Option<u32>,
}

async fn site_keys(state: &AppState, site: u32) -> Result<Vec<ApiKey>, ApiError> {
    let all = state.app.api_keys().await.map_err(map_store)?;
    Ok(all.into_iter().filter(|k| k.site_ids.contains(&site)).collect())
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    site_keys(&state, site_of(&caller)?).await.map(Json)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let site = site_of(&caller)?;
    let req: CreateKey = crate::api::json_body(&body)?;
    let name = super::label(&req.name)?;
    let scope_names = req.scopes.unwrap_or_else(|| vec![Scope::ReadAnalytics.as_str().to_owned()]);
    if scope_names.is_empty() {
        return Err(ApiError::BadRequest("a key needs at least one scope".into()));
    }
    let mut scopes = Vec::new();
    for s in &scope_names {
        let scope: Scope = s.parse().map_err(ApiError::BadRequest)?;
        let needed = match scope {
            Scope::ReadAnalytics => Permission::ReadAnalytics,
            Scope::ManageLedger => Permission::ManageLedger,
        };
        if !caller.principal.can(needed, Some(site)) {
            return Err(ApiError::Forbidden(format!("your role cannot create {s} keys")));
        }
        scopes.push(scope.as_str().to_owned());
    }
    let limit = req.hourly_limit.unwrap_or(600);
    if limit == 0 {
        return Err(ApiError::BadRequest("hourly_limit must be at least 1".into()));
    }
    let key = generate_key();
    let created = state
        .app
        .add_api_key(
            &NewApiKey {
                name,
                prefix: &key.prefix,
                key_hash: &key.hash,
                hourly_limit: limit,
                site_ids: &[site],
                scopes: &scopes,
            },
            state.clock.now(),
        )
        .await
        .map_err(map_store)?;
    audit(
        &state,
        &caller,
        "key.create",
        &format!("key:{}:{}", created.id, created.prefix),
        json!({ "sites": created.sites, "scopes": created.scopes }),
    )
    .await?;
    let mut out = serde_json::to_value(&created).map_err(|e| ApiError::Internal(e.to_string()))?;
    out["key"] = Value::String(key.key);
    Ok((StatusCode::CREATED, Json(out)))
}

pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, id)): Path<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    let site = site_of(&caller)?;
    let keys = site_keys(&state, site).await?;
    let Some(key) = keys.iter().find(|k| k.id == id && k.revoked_at.is_none()) else {
        return Err(ApiError::NotFound("no such live key for this site".into()));
    };
    state.app.revoke_api_key(&key.id.to_string(), state.clock.now()).await.map_err(map_store)?;
    audit(&state, &caller, "key.revoke", &format!("key:{}:{}", key.id, key.prefix), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}
