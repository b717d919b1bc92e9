//! The admin API for goals and funnels: `GET/POST /api/admin/sites/{domain}/goals` and
//! `…/funnels`, `DELETE …/goals/{name}` and `…/funnels/{name}`. Same admin token as sites.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use tillit_core::goals::{GoalSpec, NewGoal};
use tillit_store::app::{FunnelRow, GoalRow};

use crate::AppState;
use crate::api::sites::{authorize, map_store, site_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGoal {
    #[serde(default)]
    event_name: Option<String>,
    #[serde(default)]
    page_path: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
) -> Result<Json<Vec<GoalRow>>, ApiError> {
    authorize(&state, &headers)?;
    let site = site_id(&state, &domain).await?;
    state.app.goals(site).await.map(Json).map_err(map_store)
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<GoalRow>), ApiError> {
    authorize(&state, &headers)?;
    let req: CreateGoal =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
    let spec = GoalSpec { event_name: req.event_name, page_path: req.page_path, display_name: req.display_name };
    let NewGoal { event_name, page_path, display_name } =
        NewGoal::parse(spec).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let site = site_id(&state, &domain).await?;
    let goal = state
        .app
        .add_goal(site, event_name.as_deref(), page_path.as_deref(), &display_name, state.clock.now())
        .await
        .map_err(map_store)?;
    Ok((StatusCode::CREATED, Json(goal)))
}

pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((domain, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &headers)?;
    let site = site_id(&state, &domain).await?;
    state.app.remove_goal(site, &name).await.map_err(map_store)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateFunnel {
    name: String,
    /// Goal display names, in order.
    steps: Vec<String>,
}

pub async fn list_funnels(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
) -> Result<Json<Vec<FunnelRow>>, ApiError> {
    authorize(&state, &headers)?;
    let site = site_id(&state, &domain).await?;
    state.app.funnels(site).await.map(Json).map_err(map_store)
}

pub async fn create_funnel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FunnelRow>), ApiError> {
    authorize(&state, &headers)?;
    let req: CreateFunnel =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
    tillit_core::goals::check_funnel(&req.name, &req.steps).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let site = site_id(&state, &domain).await?;
    let funnel = state.app.add_funnel(site, req.name.trim(), &req.steps, state.clock.now()).await.map_err(map_store)?;
    Ok((StatusCode::CREATED, Json(funnel)))
}

pub async fn remove_funnel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((domain, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &headers)?;
    let site = site_id(&state, &domain).await?;
    state.app.remove_funnel(site, &name).await.map_err(map_store)?;
    Ok(StatusCode::NO_CONTENT)
}
