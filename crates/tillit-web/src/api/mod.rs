//! JSON endpoints: the Events API, the Stats API, health, and the admin API (sites, goals,
//! funnels, keys, shared links, users, settings, audit log), and the consent ledger's API.

pub mod event;
pub mod goals;
pub mod health;
pub mod keys;
pub mod ledger;
pub mod links;
pub mod sites;
pub mod stats;
pub mod users;

use crate::error::ApiError;

/// A JSON request body, or 400 saying what is wrong with it.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))
}

/// A name people give a key or a link: trimmed, 1 to 120 characters.
pub(crate) fn label(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(ApiError::BadRequest("name must have 1 to 120 characters".into()));
    }
    Ok(name)
}
