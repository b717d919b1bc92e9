//! Plausible-compatible Stats API: `GET /api/v1/stats/*` and `POST /api/v2/query`.
//!
//! Handlers read the bearer key and `site_id`, call [`StatsService`], and map its errors to
//! Plausible's statuses (401, 429 with `Retry-After`, 400) with `{"error": …}` bodies.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::error;

use tillit_core::stats::api::{SiteCtx, V1Endpoint};
use tillit_core::stats::service::StatsError;

use crate::AppState;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

fn failure(e: StatsError) -> Response {
    let status = match &e {
        StatsError::MissingKey | StatsError::Unauthorized => StatusCode::UNAUTHORIZED,
        StatsError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        StatsError::BadRequest(_) => StatusCode::BAD_REQUEST,
        StatsError::Internal(detail) => {
            error!(error = %detail, "stats query failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "internal error" }))).into_response();
        }
    };
    let mut res = (status, Json(json!({ "error": e.to_string() }))).into_response();
    if let StatsError::RateLimited { retry_after, .. } = e
        && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

fn missing_site() -> Response {
    failure(StatsError::BadRequest(
        "Missing site ID. Please provide the required site_id parameter with your request.".into(),
    ))
}

/// Authorises the request for `domain`, then answers with what `run` computes for the site.
async fn answer<Fut>(
    state: &AppState,
    headers: &HeaderMap,
    domain: Option<&str>,
    run: impl FnOnce(SiteCtx, i64) -> Fut,
) -> Response
where
    Fut: Future<Output = Result<Value, StatsError>>,
{
    let Some(domain) = domain.filter(|s| !s.is_empty()) else { return missing_site() };
    let now = state.clock.now();
    let result = match state.stats.authorise(bearer(headers), domain, now).await {
        Ok(site) => run(site, now).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => failure(e),
    }
}

async fn v1(state: AppState, headers: HeaderMap, params: HashMap<String, String>, endpoint: V1Endpoint) -> Response {
    let stats = state.stats.clone();
    let domain = params.get("site_id").cloned();
    answer(
        &state,
        &headers,
        domain.as_deref(),
        |site, now| async move { stats.v1(&site, endpoint, &params, now).await },
    )
    .await
}

pub async fn aggregate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    v1(state, headers, params, V1Endpoint::Aggregate).await
}

pub async fn timeseries(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    v1(state, headers, params, V1Endpoint::Timeseries).await
}

pub async fn breakdown(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    v1(state, headers, params, V1Endpoint::Breakdown).await
}

/// `GET /api/v1/stats/funnel`: visitors per step of a saved funnel (Tillit's own endpoint).
pub async fn funnel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let stats = state.stats.clone();
    let domain = params.get("site_id").cloned();
    answer(&state, &headers, domain.as_deref(), |site, now| async move { stats.funnel(&site, &params, now).await })
        .await
}

/// `GET /api/v1/stats/realtime/visitors`: a bare number.
pub async fn realtime(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let stats = state.stats.clone();
    answer(&state, &headers, params.get("site_id").map(String::as_str), |site, now| async move {
        stats.realtime_visitors(&site, now).await.map(|n| json!(n))
    })
    .await
}

/// `POST /api/v2/query`.
pub async fn query_v2(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return failure(StatsError::BadRequest("Invalid JSON in the request body".into()));
    };
    let domain = tillit_core::stats::api::v2_site_id(&doc).ok();
    let stats = state.stats.clone();
    answer(&state, &headers, domain.as_deref(), |site, now| async move { stats.v2(&site, &doc, now).await }).await
}
