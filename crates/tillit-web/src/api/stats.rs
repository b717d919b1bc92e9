//! Plausible-compatible Stats API: `GET /api/v1/stats/*` and `POST /api/v2/query`.
//!
//! `auth::guard` has already checked the key (or session), its hourly budget and its right to
//! the `site_id` (answering 401/429 in Plausible's words); handlers call `StatsService` for
//! the checked site and map its errors to 400/500 with `{"error": …}` bodies.

use std::collections::HashMap;

use axum::Extension;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::error;

use tillit_core::stats::api::{SiteCtx, V1Endpoint};
use tillit_core::stats::service::StatsError;

use crate::AppState;
use crate::auth::Caller;

fn failure(e: StatsError) -> Response {
    let status = match &e {
        StatsError::BadRequest(_) => StatusCode::BAD_REQUEST,
        StatsError::Internal(detail) => {
            error!(error = %detail, "stats query failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "internal error" }))).into_response();
        }
    };
    (status, Json(json!({ "error": e.to_string() }))).into_response()
}

/// Answers with what `run` computes for the site the access rule checked (key, budget and the
/// caller's right to the site were settled by `auth::guard`).
async fn answer<Fut>(state: &AppState, caller: &Caller, run: impl FnOnce(SiteCtx, i64) -> Fut) -> Response
where
    Fut: Future<Output = Result<Value, StatsError>>,
{
    let Some(domain) = caller.site.as_ref().map(|s| s.domain.clone()) else {
        return failure(StatsError::Internal("stats route without a checked site".into()));
    };
    let result = match state.stats.site(&domain).await {
        Ok(Some(site)) => run(site, state.clock.now()).await,
        Ok(None) => Err(StatsError::BadRequest(format!("no site {domain}"))),
        Err(e) => Err(e),
    };
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => failure(e),
    }
}

async fn v1(state: AppState, caller: Caller, params: HashMap<String, String>, endpoint: V1Endpoint) -> Response {
    let stats = state.stats.clone();
    answer(&state, &caller, |site, now| async move { stats.v1(&site, endpoint, &params, now).await }).await
}

pub async fn aggregate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    v1(state, caller, params, V1Endpoint::Aggregate).await
}

pub async fn timeseries(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    v1(state, caller, params, V1Endpoint::Timeseries).await
}

pub async fn breakdown(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    v1(state, caller, params, V1Endpoint::Breakdown).await
}

/// `GET /api/v1/stats/funnel`: visitors per step of a saved funnel (Tillit's own endpoint).
pub async fn funnel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let stats = state.stats.clone();
    answer(&state, &caller, |site, now| async move { stats.funnel(&site, &params, now).await }).await
}

/// `GET /api/v1/stats/realtime/visitors`: a bare number.
pub async fn realtime(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(_params): Query<HashMap<String, String>>,
) -> Response {
    let stats = state.stats.clone();
    answer(&state, &caller, |site, now| async move { stats.realtime_visitors(&site, now).await.map(|n| json!(n)) })
        .await
}

/// `POST /api/v2/query`.
pub async fn query_v2(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return failure(StatsError::BadRequest("Invalid JSON in the request body".into()));
    };
    let stats = state.stats.clone();
    answer(&state, &caller, |site, now| async move { stats.v2(&site, &doc, now).await }).await
}
