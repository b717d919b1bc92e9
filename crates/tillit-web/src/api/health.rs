//! `GET /api/health`: the state of each store, 200 when all are usable, 503 otherwise.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

pub async fn get(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let app = match state.app.health().await {
        Ok(()) => json!({ "status": "ok", "backend": "sqlite" }),
        Err(e) => json!({ "status": "error", "error": e.to_string() }),
    };
    let events = match state.events.run(|s| s.count(None).map(|n| (n, s.size_on_disk()))).await {
        Ok(Ok((n, bytes))) => json!({ "status": "ok", "backend": "duckdb", "events": n, "bytes": bytes }),
        Ok(Err(e)) => json!({ "status": "error", "error": e.to_string() }),
        Err(e) => json!({ "status": "error", "error": e.to_string() }),
    };
    let stats = state.sink.stats();
    let ok = app["status"] == "ok" && events["status"] == "ok";
    let body = json!({
        "status": if ok { "ok" } else { "error" },
        "app_store": app,
        "event_store": events,
        "ingest": {
            "accepted": stats.accepted.load(Ordering::Relaxed),
            "stored": stats.stored.load(Ordering::Relaxed),
            "store_errors": stats.store_errors.load(Ordering::Relaxed),
            "log_writes": stats.log_writes.load(Ordering::Relaxed),
            "live_sessions": state.ingestor.sessions().len(),
        },
        "geolocation": state.config.geo_status,
    });
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
