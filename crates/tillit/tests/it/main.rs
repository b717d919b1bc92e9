//! Black-box tests: the real `tillit` binary, real DuckDB and SQLite files in a temporary data
//! directory, driven over HTTP and the command line.

mod browser;
mod cli;
mod durability;
mod ingest;
mod support;
