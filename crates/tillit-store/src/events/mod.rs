//! The event store: where anonymous analytics events live, behind one interface.
//!
//! The embedded default is DuckDB ([`duckdb::DuckDbEvents`]); a ClickHouse backend will be a second
//! variant of [`EventStore`], chosen at start-up from the configured URL. Callers never see the
//! backend. All methods block: the server drives the store from one dedicated writer thread.

mod duckdb;
mod firsts;
mod pairs;
mod props;
mod rollup;
mod sql;
mod visits;

use std::collections::HashSet;
use std::path::Path;

use crate::ingest_log::Applied;
use crate::record::EventRecord;

pub use self::duckdb::{DuckDbEvents, DuckDbReader};

use crate::query::{FunnelQuery, Goal, LocalTime, QueryOutput, StatsQuery};

/// Errors from an event-store backend.
#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    /// Another process holds the store open (DuckDB allows one writing process per file).
    #[error("the event store at {0} is in use by another process (is `tillit serve` running?)")]
    Locked(String),
    #[error("event store: {0}")]
    Backend(String),
}

/// Tuning for an embedded event store.
#[derive(Clone, Debug)]
pub struct EventStoreOptions {
    /// Upper bound on the engine's memory, in MiB.
    pub memory_limit_mb: u32,
    /// Threads the engine runs each statement on (1: the calling thread alone).
    pub threads: u16,
    /// Threads while day roll-ups are built (see `DuckDbReader::build_rollups`): a background
    /// job that, after an upgrade or an import, summarises many days in a row.
    pub build_threads: u16,
}

impl Default for EventStoreOptions {
    fn default() -> Self {
        EventStoreOptions { memory_limit_mb: 512, threads: 2, build_threads: 2 }
    }
}

impl EventStoreOptions {
    /// The memory limit for a store of `store_bytes` when none is configured: an eighth of the
    /// store, at least 192 and at most 512 MiB. Why: at 10 M events (a 451 MB store) the
    /// dashboard's views were as fast under 192 MiB as under 512 (within 10 %) and the server's
    /// peak memory fell from 480 to 278 MB; at 100 M events (3.6 GB) the filtered views took up to
    /// half as long again under 192 MiB, so a large store keeps more (BENCHMARKS.md).
    pub fn memory_limit_for(store_bytes: u64) -> u32 {
        let eighth_mb = store_bytes / 8 / (1024 * 1024);
        u32::try_from(eighth_mb.clamp(192, 512)).unwrap_or(512)
    }
}

/// What a commit of staged rows made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    pub applied: Applied,
    pub rows: u64,
}

impl Commit {
    /// Two commits in a row, as one: the later position, the rows of both.
    pub fn and(earlier: Option<Commit>, later: Option<Commit>) -> Option<Commit> {
        match (earlier, later) {
            (Some(a), Some(b)) => Some(Commit { applied: b.applied, rows: a.rows + b.rows }),
            (a, b) => b.or(a),
        }
    }
}

/// The analytics event store. One concrete type; the backend is picked when it is opened.
pub enum EventStore {
    DuckDb(DuckDbEvents),
}

impl EventStore {
    /// Opens (creating if needed) the embedded DuckDB store at `path`.
    pub fn open_duckdb(path: &Path, options: &EventStoreOptions) -> Result<EventStore, EventStoreError> {
        Ok(EventStore::DuckDb(DuckDbEvents::open(path, options)?))
    }

    /// How far the committed rows have applied the ingest log.
    pub fn applied_position(&self) -> Result<Applied, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.applied_position(),
        }
    }

    /// Appends `rows` atomically, and records `applied` as the log position they bring the store up
    /// to, in the same transaction. Commits anything staged first.
    pub fn insert(&mut self, rows: &[EventRecord], applied: Option<Applied>) -> Result<(), EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.insert(rows, applied),
        }
    }

    /// Adds the rows of the ingest log up to `applied` (which follow directly on what was staged or
    /// committed before) to an open transaction. The backend commits by itself whenever the open
    /// rows reach [`EventStore::commit_rows`], ending the commit inside `rows` if need be, and says
    /// so. On error the open transaction is rolled back: everything after
    /// [`EventStore::applied_position`] must be staged again from the log.
    pub fn stage(&mut self, rows: &[EventRecord], applied: Applied) -> Result<Option<Commit>, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.stage(rows, applied),
        }
    }

    /// Commits the staged rows, if any.
    pub fn commit_staged(&mut self) -> Result<Option<Commit>, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.commit_staged(),
        }
    }

    /// Rows staged and not yet committed (invisible to queries).
    pub fn staged_rows(&self) -> usize {
        match self {
            EventStore::DuckDb(db) => db.staged_rows(),
        }
    }

    /// The commit size the backend writes best: DuckDB's row group, which a commit of exactly that
    /// many rows writes compressed to the file once, bypassing its write-ahead log.
    pub fn commit_rows(&self) -> usize {
        match self {
            EventStore::DuckDb(_) => DuckDbEvents::COMMIT_ROWS,
        }
    }

    /// Deletes the site's events older than `cutoff` (Unix seconds), rounded up to a UTC midnight:
    /// whole days at a time. Returns the number deleted.
    pub fn delete_before(&mut self, site_id: u32, cutoff: i64) -> Result<u64, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.delete_before(site_id, cutoff),
        }
    }

    /// Deletes every event of a site.
    pub fn delete_site(&mut self, site_id: u32) -> Result<u64, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.delete_site(site_id),
        }
    }

    /// Number of stored events, for one site or all.
    pub fn count(&self, site_id: Option<u32>) -> Result<u64, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.count(site_id),
        }
    }

    /// Import keys already stored for a site, so an import can skip lines it has seen.
    pub fn import_keys(&self, site_id: u32) -> Result<HashSet<u64>, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.import_keys(site_id),
        }
    }

    /// Every event of the visits active in the last `seconds` before `now`, oldest first (not
    /// imported ones): used to rebuild live sessions and their totals after a restart.
    pub fn recent(&self, now: i64, seconds: i64) -> Result<Vec<EventRecord>, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.recent(now, seconds),
        }
    }

    /// Writes everything to the main file and truncates the engine's own write-ahead log.
    pub fn checkpoint(&mut self) -> Result<(), EventStoreError> {
        match self {
            EventStore::DuckDb(db) => db.checkpoint(),
        }
    }

    /// A cheap liveness check.
    pub fn health(&self) -> Result<(), EventStoreError> {
        self.count(Some(0)).map(|_| ())
    }

    /// A read-only handle for queries, usable from other threads while this one writes.
    pub fn reader(&self) -> Result<EventReader, EventStoreError> {
        match self {
            EventStore::DuckDb(db) => Ok(EventReader::DuckDb(db.reader()?)),
        }
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        match self {
            EventStore::DuckDb(db) => db.size_on_disk(),
        }
    }
}

/// Answers stats queries. Cheap to share (`Arc`); every method blocks, so call it off the async
/// runtime's workers.
pub enum EventReader {
    DuckDb(DuckDbReader),
}

impl EventReader {
    /// Runs a resolved stats query.
    pub fn query(&self, q: &StatsQuery) -> Result<QueryOutput, EventStoreError> {
        match self {
            EventReader::DuckDb(r) => r.query(q),
        }
    }

    /// Visitors reaching each step of a funnel.
    pub fn funnel(&self, f: &FunnelQuery) -> Result<Vec<u64>, EventStoreError> {
        match self {
            EventReader::DuckDb(r) => r.funnel(f),
        }
    }

    /// Summarises the site's finished UTC days in `[first_day, last_day)` (day numbers since the
    /// epoch) that have no valid roll-up yet, so later queries over them need not scan events.
    /// `local` must cover those days. `goals` are the site's goals: days whose goal cells were
    /// built for other goals get theirs rebuilt. Returns the number of days (re)built.
    pub fn build_rollups(
        &self,
        site_id: u32,
        first_day: i64,
        last_day: i64,
        local: &LocalTime,
        goals: &[Goal],
        now: i64,
    ) -> Result<usize, EventStoreError> {
        match self {
            EventReader::DuckDb(r) => r.build_rollups(site_id, first_day, last_day, local, goals, now),
        }
    }

    /// Distinct visitors of a site with an event at or after `since` (Unix seconds).
    pub fn current_visitors(&self, site_id: u32, since: i64) -> Result<u64, EventStoreError> {
        match self {
            EventReader::DuckDb(r) => r.current_visitors(site_id, since),
        }
    }

    /// The custom property keys used in `[start, end)`, most used first (at most `limit`).
    pub fn prop_keys(&self, site_id: u32, start: i64, end: i64, limit: u32) -> Result<Vec<String>, EventStoreError> {
        match self {
            EventReader::DuckDb(r) => r.prop_keys(site_id, start, end, limit),
        }
    }

    /// The site's first event, if any (Unix seconds): the start of the `all` period.
    pub fn first_event(&self, site_id: u32) -> Result<Option<i64>, EventStoreError> {
        match self {
            EventReader::DuckDb(r) => r.first_event(site_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventStoreOptions;

    #[test]
    fn the_default_memory_limit_is_an_eighth_of_the_store_within_192_and_512_mib() {
        const MIB: u64 = 1024 * 1024;
        assert_eq!(EventStoreOptions::memory_limit_for(0), 192, "an empty or new store");
        assert_eq!(EventStoreOptions::memory_limit_for(451 * MIB), 192, "10 M events");
        assert_eq!(EventStoreOptions::memory_limit_for(2400 * MIB), 300);
        assert_eq!(EventStoreOptions::memory_limit_for(3428 * MIB), 428, "100 M events");
        assert_eq!(EventStoreOptions::memory_limit_for(40_000 * MIB), 512);
        assert_eq!(EventStoreOptions::memory_limit_for(u64::MAX), 512);
    }
}
