//! `POST /api/event`, compatible with Plausible's Events API.
//!
//! 202 means every stored event is on disk (see `tillit_core::writer`). Events dropped for
//! non-validation reasons (unknown site, bot, spam) still get 202, counted in `x-plausible-dropped`.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use tillit_core::ingest::{Client, body};
use tillit_core::writer::{Ack, SubmitError};

use crate::AppState;
use crate::client_ip;
use crate::error::ApiError;

pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    // Taking the request whole, rather than a `HeaderMap` extractor, avoids copying every header.
    let (parts, payload) = request.into_parts();
    // Read at most one byte past the limit, so an oversize body is refused without buffering it.
    let Ok(payload) = axum::body::to_bytes(payload, body::MAX_BODY_BYTES).await else {
        let errors = json!({ "errors": { "request": ["Request body is larger than 1000000 bytes"] } });
        return cors((StatusCode::PAYLOAD_TOO_LARGE, Json(errors)).into_response());
    };
    let accepted = accept(&state, peer.ip(), &parts.headers, &payload);
    // Only the ack is held across the wait for the disk: the request is freed while it is still
    // in this core's cache, by the thread that allocated it.
    drop((parts, payload));
    let (ack, dropped) = match accepted {
        Ok(accepted) => accepted,
        Err(Refused::Invalid(errors)) => {
            return cors((StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response());
        }
        Err(Refused::Queue(e)) => return cors(submit_error(e)),
    };
    let res = match ack.wait().await {
        Ok(()) => {
            let mut res = (StatusCode::ACCEPTED, "ok").into_response();
            if dropped > 0 {
                res.headers_mut().insert("x-plausible-dropped", HeaderValue::from(dropped));
            }
            res
        }
        Err(e) => submit_error(e),
    };
    cors(res)
}

/// Why a request was refused before its events reached the writer.
enum Refused {
    Invalid(body::ValidationErrors),
    Queue(SubmitError),
}

/// Everything but the wait: parses the body, runs the privacy pipeline and hands the records to
/// the writer. Returns the ack to wait for and how many events were dropped.
fn accept(state: &AppState, peer: IpAddr, headers: &HeaderMap, payload: &[u8]) -> Result<(Ack, usize), Refused> {
    let req = body::parse(payload).map_err(Refused::Invalid)?;
    let ip = client_ip::resolve(peer, headers, &state.config.trusted_proxies);
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    // A place in the queue first: a request refused with 503 leaves the live sessions untouched.
    let reservation = state.sink.reserve().map_err(Refused::Queue)?;
    let processed = state.ingestor.process(&req, Client { ip, user_agent }, state.clock.now());
    Ok((reservation.send(processed.records), processed.dropped.len()))
}

fn submit_error(e: SubmitError) -> Response {
    match e {
        SubmitError::Overloaded => ApiError::Overloaded.into_response(),
        e @ (SubmitError::Closed | SubmitError::Io(_)) => ApiError::Internal(e.to_string()).into_response(),
    }
}

/// CORS pre-flight: any site may post events (the tracker runs on the customer's pages).
pub async fn preflight() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    cors(res)
}

fn cors(mut res: Response) -> Response {
    res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res
}
