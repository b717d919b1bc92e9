//! JSON endpoints: the Events API, health, and the admin API.

pub mod event;
pub mod health;
pub mod sites;
