//! Black-box tests: the real `tillit` binary, real DuckDB and SQLite files in a temporary data
//! directory, driven over HTTP and the command line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod browser;
mod cli;
mod conformance;
mod durability;
mod ingest;
mod ledger;
mod mail;
mod stats;
mod support;
