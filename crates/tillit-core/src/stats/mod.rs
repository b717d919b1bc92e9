//! The stats engine's domain: what a question means and what its answer must be.
//!
//! - [`reference`]: every metric defined plainly over an in-memory list of events; the store
//!   backends (which compile [`tillit_store::query::StatsQuery`] to SQL) must agree with it.
//! - [`period`]: Plausible's periods and date ranges, resolved in the site's time zone to UTC
//!   bounds and the offsets that bucket time.
//! - [`api`]: Plausible's Stats API v1 parameters and v2 query documents, validated and resolved
//!   into a `StatsQuery`, with errors in Plausible's wording.
//! - [`service`]: Stats API keys, their hourly budgets, and running queries off the runtime.

pub mod api;
pub mod period;
pub mod reference;
pub mod service;

#[cfg(test)]
mod tests;
