//! JSON endpoints: the Events API, the Stats API, health, and the admin API.

pub mod event;
pub mod goals;
pub mod health;
pub mod sites;
pub mod stats;
