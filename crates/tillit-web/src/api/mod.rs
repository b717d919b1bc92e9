//! JSON endpoints: the Events API, the Stats API, health, and the admin API (sites, goals,
//! funnels, keys, shared links, users, settings, audit log).

pub mod event;
pub mod goals;
pub mod health;
pub mod keys;
pub mod links;
pub mod sites;
pub mod stats;
pub mod users;
