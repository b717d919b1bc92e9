//! The admin API for goals and funnels: `GET/POST /api/admin/sites/{domain}/goals` and
//! `…/funnels`, `DELETE …/goals/{name}` and `…/funnels/{name}`. Access is decided by `auth::RULES`.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use tillit_core::goals::{GoalSpec, NewGoal};
use tillit_store::app::{FunnelRow, GoalRow};

use crate::AppState;
use crate::api::sites::{audit, map_store, site_of};
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGoal {
    #[serde(default)]
    event_name: Option<String>,
    #[serde(default)]
    page_path: Option<String>,
    #[serde(default)]
    scroll_threshold: Option<i64>,
    #[serde(default)]
    display_name: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
) -> Result<Json<Vec<GoalRow>>, ApiError> {
    let site = site_of(&caller)?;
    state.app.goals(site).await.map(Json).map_err(map_store)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<GoalRow>), ApiError> {
    let req: CreateGoal = crate::api::json_body(&body)?;
    let spec = GoalSpec {
        event_name: req.event_name,
        page_path: req.page_path,
        scroll_threshold: req.scroll_threshold,
        display_name: req.display_name,
    };
    Ok((StatusCode::CREATED, Json(add_goal(&state, &caller, spec).await?)))
}

/// Validates and stores a goal of the caller's site, and records it in the audit log (the API
/// and the settings page both add goals through here).
pub(crate) async fn add_goal(state: &AppState, caller: &Caller, spec: GoalSpec) -> Result<GoalRow, ApiError> {
    let NewGoal { event_name, page_path, scroll_threshold, display_name } =
        NewGoal::parse(spec).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let site = site_of(caller)?;
    let goal = state
        .app
        .add_goal(site, event_name.as_deref(), page_path.as_deref(), scroll_threshold, &display_name, state.clock.now())
        .await
        .map_err(map_store)?;
    audit(state, caller, "goal.create", &format!("site:{site}"), json!({ "goal": goal.display_name })).await?;
    Ok(goal)
}

/// Removes a goal of the caller's site (audited).
pub(crate) async fn remove_goal(state: &AppState, caller: &Caller, name: &str) -> Result<(), ApiError> {
    let site = site_of(caller)?;
    state.app.remove_goal(site, name).await.map_err(map_store)?;
    audit(state, caller, "goal.remove", &format!("site:{site}"), json!({ "goal": name })).await
}

pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove_goal(&state, &caller, &name).await?;
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
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
) -> Result<Json<Vec<FunnelRow>>, ApiError> {
    let site = site_of(&caller)?;
    state.app.funnels(site).await.map(Json).map_err(map_store)
}

pub async fn create_funnel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FunnelRow>), ApiError> {
    let req: CreateFunnel = crate::api::json_body(&body)?;
    Ok((StatusCode::CREATED, Json(add_funnel(&state, &caller, &req.name, &req.steps).await?)))
}

/// Validates and stores a funnel of the caller's site (audited).
pub(crate) async fn add_funnel(
    state: &AppState,
    caller: &Caller,
    name: &str,
    steps: &[String],
) -> Result<FunnelRow, ApiError> {
    tillit_core::goals::check_funnel(name, steps).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let site = site_of(caller)?;
    let funnel = state.app.add_funnel(site, name.trim(), steps, state.clock.now()).await.map_err(map_store)?;
    audit(state, caller, "funnel.create", &format!("site:{site}"), json!({ "funnel": funnel.name })).await?;
    Ok(funnel)
}

/// Removes a funnel of the caller's site (audited).
pub(crate) async fn remove_funnel_named(state: &AppState, caller: &Caller, name: &str) -> Result<(), ApiError> {
    let site = site_of(caller)?;
    state.app.remove_funnel(site, name).await.map_err(map_store)?;
    audit(state, caller, "funnel.remove", &format!("site:{site}"), json!({ "funnel": name })).await
}

pub async fn remove_funnel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove_funnel_named(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
