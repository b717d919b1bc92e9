//! Storage for Tillit: one interface per store, with the backend chosen at start-up.
//!
//! - [`events::EventStore`]: anonymous analytics events (embedded DuckDB; ClickHouse later).
//! - [`app::AppStore`]: sites, salts and other application data (embedded SQLite; PostgreSQL later).
//! - [`ingest_log`]: the group-committed, append-only log that makes an accepted event durable
//!   before it reaches the event store; [`codec`] encodes the records in it.
//!
//! The two stores never share a connection, a file or an identifier: analytics data is anonymous and
//! must never be joinable with personal data held elsewhere.

pub mod app;
pub mod codec;
pub mod countries;
pub mod events;
pub mod ingest_log;
pub mod query;
pub mod record;

pub use record::{EventRecord, Revenue, SessionAttrs, VisitDelta, VisitState, visitor_id};
