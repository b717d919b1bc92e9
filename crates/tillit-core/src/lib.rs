//! Tillit's domain logic, free of HTTP and of any particular storage engine.
//!
//! - [`ingest`]: the privacy pipeline that turns an Events API request into anonymous
//!   [`tillit_store::EventRecord`]s (parse, validate, enrich, hash, sessionise).
//! - [`writer`]: the durable path from accepted records to the event store (group-committed
//!   log, then batched store writes on one thread).
//! - [`access`]: roles, scopes and the one access decision ([`access::Principal::can`]).
//! - [`accounts`]: users, passwords, sessions, two-factor sign-in, throttling and the audit log.
//! - [`ledger`]: the consent ledger: purposes, notices, contacts, consent with proof, double
//!   opt-in, the preference centre, signed receipts and the send gate.
//! - [`secret`]: random tokens and the hashes they are stored as.
//! - [`mail`]: outgoing email over SMTP.
//! - [`i18n`]: the supported languages, choosing one, and numbers and dates per locale.
//! - [`goals`]: validation of conversion goals.
//! - [`sites`]: validation of site settings (domain, time zone, retention).
//! - [`stats`]: the meaning of stats queries: periods, validation, the reference definitions.
//! - [`time`]: the clock every time-dependent rule reads, so tests can control it.

pub mod access;
pub mod accounts;
pub mod goals;
pub mod i18n;
pub mod ingest;
pub mod ledger;
pub mod mail;
pub mod secret;
pub mod sites;
pub mod stats;
pub mod time;
pub mod writer;
