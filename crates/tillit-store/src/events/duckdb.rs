//! The embedded DuckDB event store.
//!
//! Rows arrive in batches from the writer thread and are appended through Arrow, which is the
//! fastest way into DuckDB. Visit attributes are stored on every event (as Plausible does): columnar
//! compression makes the repetition cheap, and no query has to join to find an event's source.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::rollup::{self, DAY};
use super::sql::{DuckDbDialect, WholeVisits};
use super::{firsts, pairs, props, visits};
use crate::query::{DimValue, Dimension, FunnelQuery, Goal, LocalTime, Metric, QueryOutput, ResultRow, StatsQuery};

use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Int8Builder, Int32Builder, Int64Builder, ListBuilder, StringBuilder, UInt8Builder,
    UInt32Builder, UInt64Builder,
};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{AccessMode, Config, Connection, OptionalExt, params};

use super::{Commit, EventStoreError, EventStoreOptions};
use crate::ingest_log::{Applied, LogPosition};
use crate::record::{EventRecord, SessionAttrs, VisitDelta};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    site_id UINTEGER NOT NULL,
    -- Seconds since the Unix epoch, UTC. Plain integers: sorted, they pack into a few bits per row
    -- (a TIMESTAMP counts microseconds, so consecutive seconds lie a million apart).
    ts BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    hostname VARCHAR NOT NULL,
    pathname VARCHAR NOT NULL,
    visitor_id UBIGINT NOT NULL,
    session_id UBIGINT NOT NULL,
    interactive BOOLEAN NOT NULL,
    prop_keys VARCHAR[] NOT NULL,
    prop_values VARCHAR[] NOT NULL,
    revenue_milli BIGINT,
    revenue_currency VARCHAR,
    scroll_depth UTINYINT,
    engagement_ms UINTEGER,
    entry_page VARCHAR NOT NULL,
    referrer VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    utm_medium VARCHAR NOT NULL,
    utm_source VARCHAR NOT NULL,
    utm_campaign VARCHAR NOT NULL,
    utm_content VARCHAR NOT NULL,
    utm_term VARCHAR NOT NULL,
    click_id VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    browser VARCHAR NOT NULL,
    browser_version VARCHAR NOT NULL,
    os VARCHAR NOT NULL,
    os_version VARCHAR NOT NULL,
    country VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    city VARCHAR NOT NULL,
    city_geoname_id UINTEGER NOT NULL,
    import_key UBIGINT,
    -- Added after the first release: nullable, so older stores can gain it in place.
    region_name VARCHAR DEFAULT '',
    -- What the event added to its visit (`VisitDelta`); NULL in events stored before they existed
    -- (see `store_meta.visit_deltas_since`). A visit's first event is the one whose bounce_delta
    -- is 1, so its start needs no column of its own.
    bounce_delta TINYINT,
    duration_delta INTEGER,
    -- First-event marks (`firsts`), written when the event's day is built; NULL until then.
    marks UTINYINT
);
CREATE TABLE IF NOT EXISTS store_meta (
    key VARCHAR PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ingest_state (
    id INTEGER PRIMARY KEY,
    segment UBIGINT NOT NULL,
    "offset" UBIGINT NOT NULL
);
-- Added later: rows after the position already applied (see `ingest_log::Applied`).
ALTER TABLE ingest_state ADD COLUMN IF NOT EXISTS skip_rows UBIGINT DEFAULT 0;
"#;

/// Serialises the commits that touch roll-ups: a build commits only if no invalidating write
/// committed since it began (the count below tells), and an invalidating write begins its
/// transaction only after any build's commit, so its deletions see the new cells.
#[derive(Default)]
struct RollupGuard {
    invalidations: Mutex<u64>,
}

/// Query connections to one DuckDB database: a small pool of clones of the writer's connection
/// (a connection runs one statement at a time, so the pool is what lets queries run side by side).
pub struct DuckDbReader {
    base: Mutex<Connection>,
    idle: Mutex<Vec<Connection>>,
    rollups: Arc<RollupGuard>,
    /// One roll-up build at a time: it is background work and should not crowd out queries.
    building: Mutex<()>,
    deltas_since: i64,
    /// The engine's threads and memory limit (MiB) for queries, and while building roll-ups.
    threads: u16,
    build_threads: u16,
    memory_mb: u32,
    build_memory_mb: u32,
}

/// The least memory (MiB) the engine has while it builds roll-ups, whatever the queries' limit
/// (by default 192 MiB for a small store): a day's build groups all its events by visit, and a
/// rebuild of 29 days at 10 M events took 161 s under 192 MiB against 120 s under 512
/// (BENCHMARKS.md).
const BUILD_MEMORY_FLOOR_MB: u32 = 512;

impl DuckDbReader {
    /// Which raw events hold whole visits with deltas; call once the statement's snapshot is taken.
    fn whole_visits(&self) -> WholeVisits {
        WholeVisits { since: self.deltas_since, now: unix_now() }
    }

    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T, duckdb::Error>) -> Result<T, EventStoreError> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => self.base.lock().unwrap_or_else(|e| e.into_inner()).try_clone().map_err(backend)?,
        };
        let out = f(&conn).map_err(backend);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        out
    }

    pub(super) fn query(&self, q: &StatsQuery) -> Result<QueryOutput, EventStoreError> {
        let n = q.dimensions.len();
        let k = q.metrics.len();
        let (rows, total) = self.with_conn(|conn| {
            // One snapshot for choosing the built days and reading them.
            let tx = conn.unchecked_transaction()?;
            let sql = self.statement(&tx, q)?;
            let started = std::time::Instant::now();
            let mut stmt = tx.prepare(&sql)?;
            let mut total = 0usize;
            let rows = stmt
                .query_map([], |r| {
                    let mut dimensions = Vec::with_capacity(n);
                    for (i, dim) in q.dimensions.iter().enumerate() {
                        dimensions.push(match dim {
                            Dimension::Time(_) => DimValue::Bucket(r.get(i)?),
                            _ => DimValue::Text(r.get(i)?),
                        });
                    }
                    let metrics = (0..k).map(|j| r.get::<_, Option<f64>>(n + j)).collect::<Result<Vec<_>, _>>()?;
                    let total: i64 = r.get(n + k)?;
                    Ok((ResultRow { dimensions, metrics }, total))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            if let Some((_, t)) = rows.first() {
                total = usize::try_from(*t).unwrap_or(0);
            }
            drop(stmt);
            // Opt-in (`TILLIT_LOG=tillit_store::sql=trace`), for finding where a slow view spends
            // its time. Statements hold no visitor data: only the query's own values.
            tracing::trace!(target: "tillit_store::sql", ms = started.elapsed().as_millis() as u64, %sql, "stats statement");
            tx.commit()?;
            Ok((rows.into_iter().map(|(r, _)| r).collect::<Vec<_>>(), total))
        })?;
        if rows.is_empty() && q.offset > 0 {
            // Past the last page: the count comes from the first one.
            let first = StatsQuery { offset: 0, limit: 1, ..q.clone() };
            let total_rows = self.query(&first)?.total_rows;
            return Ok(QueryOutput { rows, total_rows });
        }
        Ok(QueryOutput { rows, total_rows: total })
    }

    /// The statement answering `q` in `tx`'s snapshot, from whatever serves it there: day cells,
    /// visit rows, pair cells, first-event marks, or the raw events.
    fn statement(&self, tx: &duckdb::Transaction<'_>, q: &StatsQuery) -> Result<String, duckdb::Error> {
        let (first, last) = rollup::whole_days(q.start, q.end);
        let use_rollups = rollup::eligible(q);
        // What the cells cannot answer, visit rows may (filters on visit attributes).
        let use_visits = !use_rollups && visits::eligible(q);
        // Breakdowns by page or name under such filters, the first-event marks of built days.
        let use_marks = !use_rollups && !use_visits && firsts::eligible(q);
        let whole = self.whole_visits();
        if use_rollups {
            // The partial UTC days at the ends may have edge cells.
            let (lo, hi) = (q.start.div_euclid(DAY), (q.end - 1).div_euclid(DAY) + 1);
            let built = built_days(tx, q.site_id, lo, hi, &q.local)?;
            let mut days: Vec<i64> = built.iter().copied().filter(|d| (first..last).contains(d)).collect();
            let mut edges = Vec::new();
            if q.dimensions.contains(&Dimension::Goal) {
                // Goal cells are by whole day only.
                let marked = goal_days(tx, q.site_id, first, last, &rollup::goals_signature(&q.goals))?;
                days.retain(|d| marked.contains(d));
            } else {
                edges = built_edges(tx, q, &built, &days)?;
            }
            if !days.is_empty() || !edges.is_empty() {
                return Ok(rollup::compile(q, &days, &edges, whole, &DuckDbDialect));
            }
            return Ok(super::sql::compile(q, whole, &DuckDbDialect));
        }
        let days = built_days(tx, q.site_id, first, last, &q.local)?;
        // Under one page, event or goal, grouped by a paired attribute or nothing: its pairs.
        let keyed = if use_visits { None } else { pairs::Keyed::plan(q, &DuckDbDialect) };
        if let Some(keyed) = keyed.filter(|_| !days.is_empty()) {
            let mut days = days.clone();
            if keyed.of_goal() {
                let paired = goal_pair_days(tx, q, first, last)?;
                days.retain(|d| paired.contains(d));
            }
            // A conversion rate divides by the visitors without the goal: a statement of its own.
            let conversion = match q.conversion_denominator() {
                Some(den) if !days.is_empty() => Some(self.statement(tx, &den)?),
                _ => None,
            };
            if !days.is_empty() && (conversion.is_some() || !q.metrics.contains(&Metric::ConversionRate)) {
                return Ok(keyed.compile(q, &days, conversion, whole, &DuckDbDialect));
            }
        }
        if use_visits && !days.is_empty() {
            return Ok(visits::compile(q, &days, whole, &DuckDbDialect));
        }
        if use_marks && !days.is_empty() {
            let paired_goals =
                if q.dimensions.contains(&Dimension::Goal) { goal_pair_days(tx, q, first, last)? } else { Vec::new() };
            return Ok(firsts::compile(q, &days, &paired_goals, whole, &DuckDbDialect));
        }
        // Anything else: the raw events, with the visit side of built days from their visit rows
        // and, under a filter on one page or goal, their visitors from the marks.
        let mut shortcuts = super::sql::Shortcuts::default();
        // A conversion rate divides by the visitors under the filter without its goals and
        // properties: a query of its own, which cells or visit rows usually answer.
        if let Some(den) = q.conversion_denominator() {
            shortcuts.conv_visitors = Some(self.statement(tx, &den)?);
        }
        // Under a filter that needs a property, the copies of built days' events with properties.
        if !days.is_empty() && super::sql::copies_serve(q, shortcuts.conv_visitors.is_some()) {
            let copied = marked_days(tx, q.site_id, first, last, props::MARKER, Some(props::COPIED))?;
            shortcuts.copied_days = days.iter().copied().filter(|d| copied.contains(d)).collect();
        }
        if !use_visits && !use_marks {
            let marked_visitors = firsts::built_day_visitors(q);
            if super::sql::visit_rows_serve(q) || marked_visitors.is_some() {
                shortcuts.days = days;
                shortcuts.marked_visitors = marked_visitors;
            }
        }
        Ok(super::sql::compile_with(q, whole, shortcuts, &DuckDbDialect))
    }

    /// Builds the roll-ups of the site's UTC days in `[first_day, last_day)` that ended at least
    /// [`rollup::BUILD_DELAY_SECS`] before `now` and are missing or were built under other UTC
    /// offsets than `local` gives, newest first: the views people open most cover the last days,
    /// and until a day is built they read its events. Returns how many days were built.
    ///
    /// While days are due the engine runs on `build_threads` rather than `threads`: a rebuild of
    /// every day (an upgrade, an import, a time zone change) took 77 s a day at 100 M events on
    /// one thread and 54 s on two (BENCHMARKS.md). Likewise it has at least
    /// [`BUILD_MEMORY_FLOOR_MB`] of memory. The settings are the engine's, so queries that run
    /// meanwhile may use the threads and the memory too.
    pub(super) fn build_rollups(
        &self,
        site_id: u32,
        first_day: i64,
        last_day: i64,
        local: &LocalTime,
        goals: &[Goal],
        now: i64,
    ) -> Result<usize, EventStoreError> {
        let _one = self.building.lock().unwrap_or_else(|e| e.into_inner());
        let last_day = last_day.min((now - rollup::BUILD_DELAY_SECS).div_euclid(DAY));
        if first_day >= last_day {
            return Ok(0);
        }
        let signature = rollup::goals_signature(goals);
        let (built, goals_built, edges_built, props_built) = self.with_conn(|conn| {
            Ok((
                built_days(conn, site_id, first_day, last_day, local)?,
                goal_days(conn, site_id, first_day, last_day, &signature)?,
                marked_days(conn, site_id, first_day, last_day, rollup::EDGES_MARKER, None)?,
                marked_days(conn, site_id, first_day, last_day, props::MARKER, None)?,
            ))
        })?;
        let due: Vec<DueDay> = (first_day..last_day)
            .rev()
            .map(|day| {
                let whole = !built.contains(&day);
                DueDay {
                    day,
                    whole,
                    goals: whole || !goals_built.contains(&day),
                    edges: whole || !edges_built.contains(&day),
                    props: whole || !props_built.contains(&day),
                }
            })
            .filter(|d| d.goals || d.edges || d.props)
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let engine = |threads: u16, mb: u32| {
            self.with_conn(|conn| conn.execute_batch(&format!("SET threads = {threads}; SET memory_limit = '{mb}MB'")))
        };
        engine(self.build_threads, self.build_memory_mb)?;
        let built = self.build_days(site_id, local, goals, now, &due);
        let reset = engine(self.threads, self.memory_mb);
        let count = built?;
        reset?;
        Ok(count)
    }

    /// Builds the `due` days (see [`Self::build_rollups`]), each in a transaction of its own.
    fn build_days(
        &self,
        site_id: u32,
        local: &LocalTime,
        goals: &[Goal],
        now: i64,
        due: &[DueDay],
    ) -> Result<usize, EventStoreError> {
        let dims = rollup::rolled_up_dimensions();
        let mut count = 0;
        for &DueDay { day, whole, goals: goals_due, edges: edges_due, props: props_due } in due {
            let seen = *self.rollups.invalidations.lock().unwrap_or_else(|e| e.into_inner());
            let committed = self.with_conn(|conn| {
                let tx = conn.unchecked_transaction()?;
                let job = rollup::DayJob { site_id, day, local, whole: self.whole_visits(), visits_grouped: whole };
                if whole {
                    for table in DAY_TABLES {
                        tx.execute(
                            &format!("DELETE FROM {table} WHERE site_id = ? AND day = ?"),
                            params![site_id, day],
                        )?;
                    }
                    // Visits first: the visit rows and the cells of visit attributes are summed
                    // from them.
                    for sql in visits::build_statements(&job) {
                        run_traced(&tx, &sql)?;
                    }
                    run_traced(&tx, &firsts::build_statement(&job))?;
                    for sql in pairs::build_statements(&job) {
                        run_traced(&tx, &sql)?;
                    }
                    for (key, dim, grain) in &dims {
                        let sql = rollup::build_statement(&job, key, dim.as_ref(), *grain, &[]);
                        run_traced(&tx, &sql)?;
                    }
                    tx.execute(
                        "INSERT INTO day_rollups VALUES (?, ?, ?, ?)",
                        params![site_id, day, rollup::day_signature(local, day), now],
                    )?;
                }
                if goals_due {
                    // Replace the day's goal cells (on their own when only the goals changed).
                    tx.execute(
                        "DELETE FROM day_cells WHERE site_id = ? AND day = ? AND dim IN (?, ?)",
                        params![site_id, day, rollup::GOAL_KEY, rollup::GOALS_MARKER],
                    )?;
                    for sql in rollup::goal_statements(&job, goals) {
                        run_traced(&tx, &sql)?;
                    }
                    for sql in pairs::goal_statements(&job, goals) {
                        run_traced(&tx, &sql)?;
                    }
                }
                if edges_due && !whole {
                    // A day built before edge cells existed.
                    tx.execute(
                        "DELETE FROM day_cells WHERE site_id = ? AND day = ? AND grain IN (4, 5)",
                        params![site_id, day],
                    )?;
                }
                if edges_due {
                    for sql in rollup::edge_statements(&job) {
                        run_traced(&tx, &sql)?;
                    }
                }
                if props_due {
                    // After the first-event marks: the copy carries them.
                    for sql in props::build_statements(&job) {
                        run_traced(&tx, &sql)?;
                    }
                }
                if whole {
                    tx.execute_batch(&visits::drop_statement())?;
                }
                let guard = self.rollups.invalidations.lock().unwrap_or_else(|e| e.into_inner());
                if *guard != seen {
                    // A write into a finished day committed meanwhile; this build may have missed it.
                    tx.rollback()?;
                    return Ok(false);
                }
                tx.commit()?;
                drop(guard);
                Ok(true)
            })?;
            count += usize::from(committed);
        }
        Ok(count)
    }

    pub(super) fn funnel(&self, f: &FunnelQuery) -> Result<Vec<u64>, EventStoreError> {
        let sql = super::sql::compile_funnel(f, &DuckDbDialect);
        let n = f.steps.len();
        self.with_conn(|conn| conn.query_row(&sql, [], |r| (0..n).map(|i| r.get::<_, u64>(i)).collect()))
    }

    pub(super) fn current_visitors(&self, site_id: u32, since: i64) -> Result<u64, EventStoreError> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT count(DISTINCT visitor_id) FROM events WHERE site_id = ? AND ts >= ? AND name <> 'engagement'",
                params![site_id, since],
                |r| r.get(0),
            )
        })
    }

    pub(super) fn prop_keys(
        &self,
        site_id: u32,
        start: i64,
        end: i64,
        limit: u32,
    ) -> Result<Vec<String>, EventStoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT k FROM (SELECT unnest(prop_keys) AS k FROM events WHERE site_id = ? AND ts >= ? AND ts < ?) \
                 GROUP BY k ORDER BY count(*) DESC, k LIMIT ?",
            )?;
            let rows = stmt.query_map(params![site_id, start, end, limit], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }

    pub(super) fn first_event(&self, site_id: u32) -> Result<Option<i64>, EventStoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT min(ts) FROM events WHERE site_id = ?", params![site_id], |r| r.get(0))
        })
    }
}

/// The days in `[first, last)` whose roll-ups exist and were built under the offsets `local` gives.
fn built_days(
    conn: &Connection,
    site_id: u32,
    first: i64,
    last: i64,
    local: &LocalTime,
) -> Result<Vec<i64>, duckdb::Error> {
    let mut stmt = conn.prepare("SELECT day, signature FROM day_rollups WHERE site_id = ? AND day >= ? AND day < ?")?;
    let rows = stmt.query_map(params![site_id, first, last], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut days = Vec::new();
    for row in rows {
        let (day, signature) = row?;
        if signature == rollup::day_signature(local, day) {
            days.push(day);
        }
    }
    days.sort_unstable();
    Ok(days)
}

/// The edges (see `rollup`) among the pieces of `q`'s range that `days` leave to scan, for those
/// of the `built` days whose edge cells exist.
fn built_edges(
    conn: &Connection,
    q: &StatsQuery,
    built: &[i64],
    days: &[i64],
) -> Result<Vec<rollup::Edge>, duckdb::Error> {
    let pieces: Vec<(i64, (i64, i64))> =
        rollup::day_pieces(q.start, q.end, days).into_iter().filter(|(day, _)| built.contains(day)).collect();
    let mut edges = Vec::new();
    for (day, piece) in pieces {
        let mut stmt = conn.prepare_cached(
            "SELECT grain, bucket FROM day_cells WHERE site_id = ? AND day = ? AND dim = '' AND grain IN (4, 5) \
             AND EXISTS (SELECT 1 FROM day_cells WHERE site_id = ? AND day = ? AND dim = ?)",
        )?;
        let splits = stmt
            .query_map(params![q.site_id, day, q.site_id, day, rollup::EDGES_MARKER], |r| {
                Ok((r.get::<_, u8>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        edges.extend(rollup::Edge::of_piece(day, piece, &splits));
    }
    Ok(edges)
}

/// The days in `[first, last)` whose goal cells and goal pairs are those of `q`'s goals: goal pairs
/// hold the goals they were built for. (A day's marker outlives a change of time zone: callers
/// intersect with the built days.)
fn goal_pair_days(conn: &Connection, q: &StatsQuery, first: i64, last: i64) -> Result<Vec<i64>, duckdb::Error> {
    goal_days(conn, q.site_id, first, last, &rollup::goals_signature(&q.goals))
}

/// The days in `[first, last)` whose goal cells were built for the goal set with `signature`.
fn goal_days(
    conn: &Connection,
    site_id: u32,
    first: i64,
    last: i64,
    signature: &str,
) -> Result<Vec<i64>, duckdb::Error> {
    marked_days(conn, site_id, first, last, rollup::GOALS_MARKER, Some(signature))
}

/// The days in `[first, last)` that have a marker cell `marker` (with the value `value`, or any).
fn marked_days(
    conn: &Connection,
    site_id: u32,
    first: i64,
    last: i64,
    marker: &str,
    value: Option<&str>,
) -> Result<Vec<i64>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT day FROM day_cells WHERE site_id = ? AND dim = ? AND day >= ? AND day < ? \
         AND (CAST(? AS VARCHAR) IS NULL OR value = ?) ORDER BY day",
    )?;
    let rows = stmt.query_map(params![site_id, marker, first, last, value, value], |r| r.get::<_, i64>(0))?;
    rows.collect()
}

/// Creates the property copies' table (see `props`), or re-creates it when the columns of
/// `events` changed since it was made.
fn ensure_prop_copies(conn: &Connection) -> Result<(), EventStoreError> {
    conn.execute_batch(props::CREATE).map_err(backend)?;
    let same: Option<bool> = conn.query_row(props::SAME_COLUMNS, [], |r| r.get(0)).map_err(backend)?;
    if same != Some(true) {
        conn.execute_batch(&props::reset()).map_err(backend)?;
        conn.execute_batch(props::CREATE).map_err(backend)?;
    }
    Ok(())
}

/// Stores made by builds before 2026-11-25 kept `ts` as a TIMESTAMP; convert them in place, once.
fn table_exists(conn: &Connection, name: &str) -> Result<bool, EventStoreError> {
    conn.query_row("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", params![name], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
        .map_err(backend)
}

/// Gives a store the visit-delta columns and returns the first second whose events have them: 0
/// for a new store; for an older one, the next UTC midnight, as the events of the day in progress
/// were written without. Whole days before it have their roll-ups, and raw reads of them group
/// events by visit as before.
fn migrate_visit_deltas(conn: &Connection, had_events: bool) -> Result<i64, EventStoreError> {
    const KEY: &str = "visit_deltas_since";
    let stored = conn
        .query_row("SELECT value FROM store_meta WHERE key = ?", params![KEY], |r| r.get::<_, i64>(0))
        .optional()
        .map_err(backend)?;
    if let Some(since) = stored {
        // The first version of these columns also stored each visit's start, which the bounce
        // delta already tells.
        conn.execute_batch("ALTER TABLE events DROP COLUMN IF EXISTS visit_start").map_err(backend)?;
        return Ok(since);
    }
    let since = if had_events { (unix_now().div_euclid(DAY) + 1) * DAY } else { 0 };
    let tx = conn.unchecked_transaction().map_err(backend)?;
    tx.execute_batch(
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS bounce_delta TINYINT;
         ALTER TABLE events ADD COLUMN IF NOT EXISTS duration_delta INTEGER;",
    )
    .map_err(backend)?;
    tx.execute("INSERT INTO store_meta VALUES (?, ?)", params![KEY, since]).map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(since)
}

fn migrate_ts_to_seconds(conn: &Connection) -> Result<(), EventStoreError> {
    let ty: String = conn
        .query_row(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'events' AND column_name = 'ts'",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    if ty.starts_with("TIMESTAMP") {
        conn.execute_batch("ALTER TABLE events ALTER ts TYPE BIGINT USING epoch(ts)::BIGINT; CHECKPOINT;")
            .map_err(backend)?;
    }
    Ok(())
}

/// The DuckDB backend of [`super::EventStore`].
pub struct DuckDbEvents {
    conn: Connection,
    path: PathBuf,
    schema: Arc<Schema>,
    rollups: Arc<RollupGuard>,
    /// The first UTC second whose events carry visit deltas.
    deltas_since: i64,
    /// Events appended since the last checkpoint (see [`ROW_GROUP_ROWS`]).
    unchecked_rows: usize,
    /// The engine's threads for statements, and while building roll-ups; its memory limit (MiB).
    threads: u16,
    build_threads: u16,
    memory_mb: u32,
    /// The open transaction of staged rows, if any.
    staged: Option<Staged>,
    /// How far the committed rows have applied the ingest log.
    committed: Applied,
}

/// An open transaction holding staged event rows.
#[derive(Clone, Copy, Debug)]
struct Staged {
    rows: usize,
    /// How far the committed and staged rows together have applied the log.
    applied: Applied,
}

/// The first UTC day whose roll-ups an insert need not drop (see `rollup::INVALIDATE_DELAY_SECS`).
fn first_unfinished_day() -> i64 {
    (unix_now() - rollup::INVALIDATE_DELAY_SECS).div_euclid(DAY)
}

/// Records `a` in the open transaction on `conn`.
fn write_applied(conn: &Connection, a: Applied) -> Result<(), duckdb::Error> {
    conn.execute(
        "INSERT OR REPLACE INTO ingest_state (id, segment, \"offset\", skip_rows) VALUES (1, ?, ?, ?)",
        params![a.log.segment, a.log.offset, a.skip],
    )
    .map(|_| ())
}

fn read_applied(conn: &Connection) -> Result<Applied, EventStoreError> {
    conn.query_row("SELECT segment, \"offset\", coalesce(skip_rows, 0) FROM ingest_state WHERE id = 1", [], |r| {
        Ok(Applied { log: LogPosition { segment: r.get(0)?, offset: r.get(1)? }, skip: r.get(2)? })
    })
    .optional()
    .map_err(backend)
    .map(Option::unwrap_or_default)
}

/// DuckDB's row group: the unit it compresses and writes at a checkpoint.
///
/// The event writer checkpoints when the rows appended since the last one would overflow a row
/// group, rather than after so many bytes of write-ahead log as DuckDB does on its own. Why: rows
/// appended after a checkpoint start a new row group, so checkpoints at arbitrary points leave
/// partly filled groups that every later checkpoint merges and recompresses (DuckDB's vacuum),
/// which blocked commits for up to a second and was where peak memory came from. Aligned, each
/// checkpoint compresses one nearly full group once.
const ROW_GROUP_ROWS: usize = 122_880;

/// What a built day consists of, beside its events: its cells, its visit rows, its pair cells, the
/// copy of its events with properties and the row saying it is built. They are written together
/// and removed together.
const DAY_TABLES: [&str; 5] = ["day_cells", "day_visits", "day_pairs", "day_prop_events", "day_rollups"];

/// A day with something to build: all of it (`whole`), or its goal or edge cells or its property
/// copy alone.
#[derive(Clone, Copy, Debug)]
struct DueDay {
    day: i64,
    whole: bool,
    goals: bool,
    edges: bool,
    props: bool,
}

impl DuckDbEvents {
    pub(super) fn open(path: &Path, options: &EventStoreOptions) -> Result<DuckDbEvents, EventStoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| EventStoreError::Backend(e.to_string()))?;
        }
        let config = Config::default()
            .access_mode(AccessMode::ReadWrite)
            .and_then(|c| c.max_memory(&format!("{}MB", options.memory_limit_mb)))
            .and_then(|c| c.threads(i64::from(options.threads.max(1))))
            // Nothing may be fetched at run time: extensions are compiled in or absent.
            .and_then(|c| c.with("autoinstall_known_extensions", "false"))
            .and_then(|c| c.with("autoload_known_extensions", "false"))
            // Event inserts checkpoint at row-group boundaries (`ROW_GROUP_ROWS`); DuckDB's own
            // checkpoint by log size only backs that up, for other writes and unusually wide rows.
            .and_then(|c| c.with("checkpoint_threshold", "128MB"))
            // New files in DuckDB 1.5's storage format (existing files keep theirs): its one combined
            // dictionary+FSST string compression is analysed once per column instead of twice,
            // which took ~20 % off the store thread's CPU per ingested event, at the same file size
            // and query speed (BENCHMARKS.md (o)). Older DuckDB releases cannot open such files.
            .and_then(|c| c.with("storage_compatibility_version", "v1.5.0"))
            .map_err(backend)?;
        let conn = Connection::open_with_flags(path, config).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("Could not set lock") || msg.contains("Conflicting lock") {
                EventStoreError::Locked(path.display().to_string())
            } else {
                backend(e)
            }
        })?;
        let had_events = table_exists(&conn, "events")?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        conn.execute_batch(rollup::SCHEMA).map_err(backend)?;
        conn.execute_batch(visits::SCHEMA).map_err(backend)?;
        conn.execute_batch(pairs::SCHEMA).map_err(backend)?;
        migrate_ts_to_seconds(&conn)?;
        conn.execute_batch(
            "ALTER TABLE events ADD COLUMN IF NOT EXISTS region_name VARCHAR DEFAULT '';
             ALTER TABLE events ADD COLUMN IF NOT EXISTS marks UTINYINT;",
        )
        .map_err(backend)?;
        let deltas_since = migrate_visit_deltas(&conn, had_events)?;
        ensure_prop_copies(&conn)?;
        let committed = read_applied(&conn)?;
        Ok(DuckDbEvents {
            conn,
            path: path.to_path_buf(),
            schema: Arc::new(arrow_schema()),
            rollups: Arc::default(),
            deltas_since,
            unchecked_rows: 0,
            threads: options.threads.max(1),
            build_threads: options.build_threads.max(1),
            memory_mb: options.memory_limit_mb,
            staged: None,
            committed,
        })
    }

    pub(super) fn reader(&self) -> Result<DuckDbReader, EventStoreError> {
        let conn = self.conn.try_clone().map_err(backend)?;
        Ok(DuckDbReader {
            base: Mutex::new(conn),
            idle: Mutex::new(Vec::new()),
            rollups: self.rollups.clone(),
            building: Mutex::new(()),
            deltas_since: self.deltas_since,
            threads: self.threads,
            build_threads: self.build_threads,
            memory_mb: self.memory_mb,
            build_memory_mb: self.memory_mb.max(BUILD_MEMORY_FLOOR_MB),
        })
    }

    pub(super) fn applied_position(&self) -> Result<Applied, EventStoreError> {
        Ok(self.committed)
    }

    pub const COMMIT_ROWS: usize = ROW_GROUP_ROWS;

    pub(super) fn staged_rows(&self) -> usize {
        self.staged.map_or(0, |s| s.rows)
    }

    /// See [`super::EventStore::stage`]. Why: a transaction of exactly one row group is written
    /// compressed straight to the file when it commits, and DuckDB's write-ahead log gets only its
    /// block pointers. Committed in smaller pieces, every row went to that log first (a second
    /// copy of what the ingest log already holds) and was compressed again at the next checkpoint.
    pub(super) fn stage(&mut self, rows: &[EventRecord], applied: Applied) -> Result<Option<Commit>, EventStoreError> {
        let out = self.stage_rows(rows, applied);
        if out.is_err() {
            self.rollback_staged();
        }
        out
    }

    fn stage_rows(&mut self, rows: &[EventRecord], applied: Applied) -> Result<Option<Commit>, EventStoreError> {
        // Rows of finished days (a replay after long downtime) drop roll-ups, which is ordered
        // against roll-up builds: that takes the one-transaction path.
        let finished = first_unfinished_day();
        if rows.iter().any(|r| r.ts.div_euclid(DAY) < finished) {
            let before = self.commit_staged()?;
            self.insert_committed(rows, Some(applied))?;
            return Ok(Commit::and(before, Some(Commit { applied, rows: rows.len() as u64 })));
        }
        let before = self.staged.map_or(self.committed, |s| s.applied);
        let mut done: Option<Commit> = None;
        let mut taken = 0u64;
        let mut rest = rows;
        while !rest.is_empty() {
            let open = self.staged_rows();
            let (head, tail) = rest.split_at((ROW_GROUP_ROWS - open).min(rest.len()));
            taken += head.len() as u64;
            // A commit that ends inside these rows records how many of them it holds.
            let through =
                if tail.is_empty() { applied } else { Applied { log: before.log, skip: before.skip + taken } };
            self.append_staged(head, before, through)?;
            if open + head.len() == ROW_GROUP_ROWS {
                done = Commit::and(done, self.commit_staged()?);
            }
            rest = tail;
        }
        if let Some(s) = self.staged.as_mut() {
            s.applied = applied;
        }
        Ok(done)
    }

    fn append_staged(
        &mut self,
        rows: &[EventRecord],
        before: Applied,
        through: Applied,
    ) -> Result<(), EventStoreError> {
        if self.staged.is_none() {
            self.checkpoint_before(rows.len());
            self.conn.execute_batch("BEGIN TRANSACTION").map_err(backend)?;
            self.staged = Some(Staged { rows: 0, applied: before });
        }
        let batch = self.to_batch(rows)?;
        let mut appender = self.conn.appender("events").map_err(backend)?;
        appender.append_record_batch(batch).map_err(backend)?;
        appender.flush().map_err(backend)?;
        if let Some(s) = self.staged.as_mut() {
            s.rows += rows.len();
            s.applied = through;
        }
        Ok(())
    }

    pub(super) fn commit_staged(&mut self) -> Result<Option<Commit>, EventStoreError> {
        let Some(staged) = self.staged else { return Ok(None) };
        let a = staged.applied;
        let res = write_applied(&self.conn, a).and_then(|()| self.conn.execute_batch("COMMIT"));
        if let Err(e) = res {
            self.rollback_staged();
            return Err(backend(e));
        }
        self.staged = None;
        self.committed = a;
        // A whole group went to the file compressed; anything less waits in memory for a checkpoint.
        if staged.rows < ROW_GROUP_ROWS {
            self.unchecked_rows += staged.rows;
        }
        Ok(Some(Commit { applied: a, rows: staged.rows as u64 }))
    }

    /// Checkpoints when `rows` more would overflow the row group the uncheckpointed rows fill.
    fn checkpoint_before(&mut self, rows: usize) {
        if self.unchecked_rows > 0 && self.unchecked_rows + rows > ROW_GROUP_ROWS {
            // A failed checkpoint loses nothing (the rows stay in DuckDB's log); the next insert
            // or DuckDB's own threshold tries again.
            if let Err(e) = self.checkpoint() {
                tracing::warn!(error = %e, "event store checkpoint failed");
            }
        }
    }

    fn rollback_staged(&mut self) {
        if self.staged.take().is_some()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "rolling back staged events failed");
        }
    }

    pub(super) fn insert(&mut self, rows: &[EventRecord], applied: Option<Applied>) -> Result<(), EventStoreError> {
        self.commit_staged()?;
        self.insert_committed(rows, applied)
    }

    fn insert_committed(&mut self, rows: &[EventRecord], applied: Option<Applied>) -> Result<(), EventStoreError> {
        self.checkpoint_before(rows.len());
        let batch = self.to_batch(rows)?;
        // Live events land in today; only back-fills reach days that may have roll-ups.
        let finished = first_unfinished_day();
        let mut stale: Vec<(u32, i64)> =
            rows.iter().map(|r| (r.site_id, r.ts.div_euclid(DAY))).filter(|(_, day)| *day < finished).collect();
        stale.sort_unstable();
        stale.dedup();
        self.write_invalidating(!stale.is_empty(), &stale, |tx| {
            if batch.num_rows() > 0 {
                let mut appender = tx.appender("events")?;
                appender.append_record_batch(batch)?;
                appender.flush()?;
            }
            if let Some(a) = applied {
                write_applied(tx, a)?;
            }
            Ok(())
        })?;
        self.unchecked_rows += rows.len();
        if let Some(a) = applied {
            self.committed = a;
        }
        Ok(())
    }

    /// Runs `write` in a transaction that also drops the roll-ups of the given (site, day) pairs.
    /// With `invalidates` (the write touches finished days) it is ordered against roll-up builds;
    /// see [`RollupGuard`].
    fn write_invalidating<T>(
        &mut self,
        invalidates: bool,
        days: &[(u32, i64)],
        write: impl FnOnce(&duckdb::Transaction<'_>) -> Result<T, duckdb::Error>,
    ) -> Result<T, EventStoreError> {
        let rollups = self.rollups.clone();
        let mut guard = invalidates.then(|| rollups.invalidations.lock().unwrap_or_else(|e| e.into_inner()));
        let tx = self.conn.transaction().map_err(backend)?;
        let out = write(&tx).map_err(backend)?;
        for (site, day) in days {
            for table in DAY_TABLES {
                tx.execute(&format!("DELETE FROM {table} WHERE site_id = ? AND day = ?"), params![site, day])
                    .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        if let Some(g) = guard.as_mut() {
            **g += 1;
        }
        Ok(out)
    }

    /// Deletes the site's events before `cutoff`, rounded up to a UTC midnight: whole days go, so
    /// no visit is left cut in two (whole-day reads rely on it; see `sql::WholeVisits`).
    pub(super) fn delete_before(&mut self, site_id: u32, cutoff: i64) -> Result<u64, EventStoreError> {
        self.commit_staged()?;
        let cutoff = (cutoff + DAY - 1).div_euclid(DAY) * DAY;
        // Nearly always nothing is due: don't disturb roll-up builds for nothing.
        let due: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM events WHERE site_id = ? AND ts < ?)",
                params![site_id, cutoff],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if !due {
            return Ok(0);
        }
        // Cells of days before the cutoff go with their events.
        let n = self.write_invalidating(true, &[], |tx| {
            for table in DAY_TABLES {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE site_id = ? AND day < ?"),
                    params![site_id, cutoff.div_euclid(DAY)],
                )?;
            }
            tx.execute("DELETE FROM events WHERE site_id = ? AND ts < ?", params![site_id, cutoff])
        })?;
        Ok(n as u64)
    }

    pub(super) fn delete_site(&mut self, site_id: u32) -> Result<u64, EventStoreError> {
        self.commit_staged()?;
        let n = self.write_invalidating(true, &[], |tx| {
            for table in DAY_TABLES {
                tx.execute(&format!("DELETE FROM {table} WHERE site_id = ?"), params![site_id])?;
            }
            tx.execute("DELETE FROM events WHERE site_id = ?", params![site_id])
        })?;
        Ok(n as u64)
    }

    pub(super) fn count(&self, site_id: Option<u32>) -> Result<u64, EventStoreError> {
        let n: i64 = match site_id {
            Some(id) => self.conn.query_row("SELECT count(*) FROM events WHERE site_id = ?", params![id], |r| r.get(0)),
            None => self.conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)),
        }
        .map_err(backend)?;
        Ok(n as u64)
    }

    pub(super) fn import_keys(&self, site_id: u32) -> Result<HashSet<u64>, EventStoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT import_key FROM events WHERE site_id = ? AND import_key IS NOT NULL")
            .map_err(backend)?;
        let keys = stmt.query_map(params![site_id], |r| r.get::<_, u64>(0)).map_err(backend)?;
        keys.collect::<Result<HashSet<u64>, _>>().map_err(backend)
    }

    /// Every live event (not imported) of the visits with an event in the last `seconds`, oldest
    /// first: whole visits, so the session tracker can restore their totals.
    pub(super) fn recent(&self, now: i64, seconds: i64) -> Result<Vec<EventRecord>, EventStoreError> {
        let since = now - seconds;
        // Visits end at midnight UTC: none of them has an event before that day began.
        let day_start = since.div_euclid(DAY) * DAY;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT site_id, ts, name, hostname, pathname, visitor_id, session_id, interactive,
                        entry_page, referrer, source, channel, utm_medium, utm_source, utm_campaign, utm_content,
                        utm_term, click_id, device, browser, browser_version, os, os_version, country, region, city,
                        city_geoname_id, prop_keys, prop_values, coalesce(region_name, ''),
                        coalesce(bounce_delta, 0), coalesce(duration_delta, 0)
                 FROM events WHERE ts >= ? AND import_key IS NULL
                   AND session_id IN (SELECT session_id FROM events WHERE ts >= ? AND import_key IS NULL)
                 ORDER BY ts",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![day_start, since], |r| {
                Ok(EventRecord {
                    site_id: r.get(0)?,
                    ts: r.get(1)?,
                    name: r.get(2)?,
                    hostname: r.get(3)?,
                    pathname: r.get(4)?,
                    visitor_id: r.get(5)?,
                    session_id: r.get(6)?,
                    interactive: r.get(7)?,
                    props: strings(r.get(27)?).into_iter().zip(strings(r.get(28)?)).collect(),
                    revenue: None,
                    scroll_depth: None,
                    engagement_ms: None,
                    session: Arc::new(SessionAttrs {
                        entry_page: r.get(8)?,
                        referrer: r.get(9)?,
                        source: r.get(10)?,
                        channel: r.get(11)?,
                        utm_medium: r.get(12)?,
                        utm_source: r.get(13)?,
                        utm_campaign: r.get(14)?,
                        utm_content: r.get(15)?,
                        utm_term: r.get(16)?,
                        click_id: r.get(17)?,
                        device: r.get(18)?,
                        browser: r.get(19)?,
                        browser_version: r.get(20)?,
                        os: r.get(21)?,
                        os_version: r.get(22)?,
                        country: r.get(23)?,
                        region: r.get(24)?,
                        city: r.get(25)?,
                        city_geoname_id: r.get(26)?,
                        region_name: r.get(29)?,
                    }),
                    import_key: None,
                    visit: VisitDelta::from_stored(r.get(30)?, r.get(31)?),
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    pub(super) fn checkpoint(&mut self) -> Result<(), EventStoreError> {
        self.commit_staged()?;
        let started = std::time::Instant::now();
        self.conn.execute_batch("CHECKPOINT").map_err(backend)?;
        tracing::debug!(
            rows = self.unchecked_rows,
            ms = started.elapsed().as_millis() as u64,
            "event store checkpoint"
        );
        self.unchecked_rows = 0;
        Ok(())
    }

    pub(super) fn size_on_disk(&self) -> u64 {
        let wal = PathBuf::from(format!("{}.wal", self.path.display()));
        [&self.path, &wal].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
    }

    fn to_batch(&self, rows: &[EventRecord]) -> Result<RecordBatch, EventStoreError> {
        let n = rows.len();
        let mut site_id = UInt32Builder::with_capacity(n);
        let mut ts = Int64Builder::with_capacity(n);
        let mut visitor_id = UInt64Builder::with_capacity(n);
        let mut session_id = UInt64Builder::with_capacity(n);
        let mut interactive = BooleanBuilder::with_capacity(n);
        let mut prop_keys = ListBuilder::new(StringBuilder::new());
        let mut prop_values = ListBuilder::new(StringBuilder::new());
        let mut revenue_milli = Int64Builder::with_capacity(n);
        let mut revenue_currency = StringBuilder::new();
        let mut scroll_depth = UInt8Builder::with_capacity(n);
        let mut engagement_ms = UInt32Builder::with_capacity(n);
        let mut city_geoname_id = UInt32Builder::with_capacity(n);
        let mut import_key = UInt64Builder::with_capacity(n);
        let mut bounce_delta = Int8Builder::with_capacity(n);
        let mut duration_delta = Int32Builder::with_capacity(n);
        // The string columns, in schema order, each read from a record by a plain accessor.
        let string_columns: [fn(&EventRecord) -> &str; 22] = [
            |r| &r.name,
            |r| &r.hostname,
            |r| &r.pathname,
            |r| &r.session.entry_page,
            |r| &r.session.referrer,
            |r| &r.session.source,
            |r| &r.session.channel,
            |r| &r.session.utm_medium,
            |r| &r.session.utm_source,
            |r| &r.session.utm_campaign,
            |r| &r.session.utm_content,
            |r| &r.session.utm_term,
            |r| &r.session.click_id,
            |r| &r.session.device,
            |r| &r.session.browser,
            |r| &r.session.browser_version,
            |r| &r.session.os,
            |r| &r.session.os_version,
            |r| &r.session.country,
            |r| &r.session.region,
            |r| &r.session.city,
            |r| &r.session.region_name,
        ];
        // Sized up front: grown by doubling, the buffers were copied and faulted in again per batch.
        let mut strings: Vec<StringBuilder> = string_columns
            .iter()
            .map(|get| StringBuilder::with_capacity(n, rows.iter().map(|r| get(r).len()).sum()))
            .collect();
        for row in rows {
            site_id.append_value(row.site_id);
            ts.append_value(row.ts);
            visitor_id.append_value(row.visitor_id);
            session_id.append_value(row.session_id);
            interactive.append_value(row.interactive);
            for (k, v) in &row.props {
                prop_keys.values().append_value(k);
                prop_values.values().append_value(v);
            }
            prop_keys.append(true);
            prop_values.append(true);
            revenue_milli.append_option(row.revenue.as_ref().map(|r| r.amount_milli));
            revenue_currency.append_option(row.revenue.as_ref().map(|r| r.currency.as_str()));
            scroll_depth.append_option(row.scroll_depth);
            engagement_ms.append_option(row.engagement_ms);
            city_geoname_id.append_value(row.session.city_geoname_id);
            import_key.append_option(row.import_key);
            bounce_delta.append_value(row.visit.bounce);
            duration_delta.append_value(row.visit.duration);
            for (builder, get) in strings.iter_mut().zip(string_columns.iter()) {
                builder.append_value(get(row));
            }
        }
        let mut s = strings.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef);
        let mut next_string = || s.next().ok_or_else(|| EventStoreError::Backend("column count mismatch".into()));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(site_id.finish()),
            Arc::new(ts.finish()),
            next_string()?,
            next_string()?,
            next_string()?,
            Arc::new(visitor_id.finish()),
            Arc::new(session_id.finish()),
            Arc::new(interactive.finish()),
            Arc::new(prop_keys.finish()),
            Arc::new(prop_values.finish()),
            Arc::new(revenue_milli.finish()),
            Arc::new(revenue_currency.finish()),
            Arc::new(scroll_depth.finish()),
            Arc::new(engagement_ms.finish()),
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            next_string()?,
            Arc::new(city_geoname_id.finish()),
            Arc::new(import_key.finish()),
            next_string()?,
            Arc::new(bounce_delta.finish()),
            Arc::new(duration_delta.finish()),
            // Marks come with the day's build (`firsts`).
            duckdb::arrow::array::new_null_array(&DataType::UInt8, n),
        ];
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| EventStoreError::Backend(e.to_string()))
    }
}

fn arrow_schema() -> Schema {
    let s = |name: &str| Field::new(name, DataType::Utf8, false);
    let list = |name: &str| Field::new(name, DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), false);
    Schema::new(vec![
        Field::new("site_id", DataType::UInt32, false),
        Field::new("ts", DataType::Int64, false),
        s("name"),
        s("hostname"),
        s("pathname"),
        Field::new("visitor_id", DataType::UInt64, false),
        Field::new("session_id", DataType::UInt64, false),
        Field::new("interactive", DataType::Boolean, false),
        list("prop_keys"),
        list("prop_values"),
        Field::new("revenue_milli", DataType::Int64, true),
        Field::new("revenue_currency", DataType::Utf8, true),
        Field::new("scroll_depth", DataType::UInt8, true),
        Field::new("engagement_ms", DataType::UInt32, true),
        s("entry_page"),
        s("referrer"),
        s("source"),
        s("channel"),
        s("utm_medium"),
        s("utm_source"),
        s("utm_campaign"),
        s("utm_content"),
        s("utm_term"),
        s("click_id"),
        s("device"),
        s("browser"),
        s("browser_version"),
        s("os"),
        s("os_version"),
        s("country"),
        s("region"),
        s("city"),
        Field::new("city_geoname_id", DataType::UInt32, false),
        Field::new("import_key", DataType::UInt64, true),
        Field::new("region_name", DataType::Utf8, true),
        Field::new("bounce_delta", DataType::Int8, true),
        Field::new("duration_delta", DataType::Int32, true),
        Field::new("marks", DataType::UInt8, true),
    ])
}

fn strings(value: duckdb::types::Value) -> Vec<String> {
    match value {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|v| match v {
                duckdb::types::Value::Text(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn backend(err: impl std::fmt::Display) -> EventStoreError {
    EventStoreError::Backend(err.to_string())
}

/// Runs one roll-up build statement, timed under the same opt-in trace as queries
/// (`TILLIT_LOG=tillit_store::sql=trace`).
fn run_traced(conn: &Connection, sql: &str) -> Result<(), duckdb::Error> {
    let started = std::time::Instant::now();
    conn.execute_batch(sql)?;
    tracing::trace!(target: "tillit_store::sql", ms = started.elapsed().as_millis() as u64, %sql, "roll-up statement");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventStore;
    use crate::record::Revenue;

    fn record(site_id: u32, ts: i64, path: &str) -> EventRecord {
        EventRecord {
            site_id,
            ts,
            name: "pageview".into(),
            hostname: "a.test".into(),
            pathname: path.into(),
            visitor_id: 7,
            session_id: 9,
            interactive: true,
            props: vec![("plan".into(), "pro".into()), ("seats".into(), "3".into())],
            revenue: Some(Revenue { amount_milli: 12_500, currency: "EUR".into() }),
            scroll_depth: Some(40),
            engagement_ms: Some(1200),
            session: Arc::new(SessionAttrs {
                source: "Google".into(),
                country: "NO".into(),
                ..SessionAttrs::default()
            }),
            import_key: None,
            visit: VisitDelta::default(),
        }
    }

    #[test]
    fn stores_with_timestamp_columns_are_converted_to_seconds() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("e.duckdb");
        {
            // The first release's table: `ts` a TIMESTAMP, no `region_name`, no visit deltas.
            let head = &SCHEMA[..SCHEMA.find("    import_key UBIGINT,").unwrap()];
            let old =
                format!("{head}    import_key UBIGINT\n);").replace("ts BIGINT NOT NULL", "ts TIMESTAMP NOT NULL");
            assert!(!old.contains("region_name") && !old.contains("bounce_delta"));
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&old).unwrap();
            conn.execute_batch(
                "INSERT INTO events (site_id, ts, name, hostname, pathname, visitor_id, session_id, interactive,
                   prop_keys, prop_values, entry_page, referrer, source, channel, utm_medium, utm_source,
                   utm_campaign, utm_content, utm_term, click_id, device, browser, browser_version, os,
                   os_version, country, region, city, city_geoname_id)
                 VALUES (1, make_timestamp(1700000000::BIGINT * 1000000), 'pageview', 'a.test', '/', 1, 2, true, [], [],
                   '/', '', '', 'Direct', '', '', '', '', '', '', 'Desktop', 'Firefox', '', '', '', '', '', '', 0)",
            )
            .unwrap();
        }
        let mut store = EventStore::open_duckdb(&path, &EventStoreOptions::default()).unwrap();
        let back = store.recent(1_700_000_000, 1_700_000_000).unwrap();
        assert_eq!(back.iter().map(|r| r.ts).collect::<Vec<_>>(), vec![1_700_000_000]);
        let mut next = record(1, 1_700_000_100, "/next");
        Arc::make_mut(&mut next.session).region_name = "Oslo".into();
        store.insert(&[next], None).unwrap();
        assert_eq!(store.count(Some(1)).unwrap(), 2);
        let names: Vec<String> =
            store.recent(1_700_000_100, 1_000).unwrap().into_iter().map(|r| r.session.region_name.clone()).collect();
        assert_eq!(names, vec![String::new(), "Oslo".to_owned()], "old rows read as no name; new ones keep theirs");
        // The day in progress was written without visit deltas: they count from the next one.
        let EventStore::DuckDb(db) = &store;
        let midnight = (unix_now().div_euclid(DAY) + 1) * DAY;
        assert_eq!(db.deltas_since, midnight);
        drop(store);
        let EventStore::DuckDb(db) = EventStore::open_duckdb(&path, &EventStoreOptions::default()).unwrap();
        assert_eq!(db.deltas_since, midnight, "kept across restarts");
    }

    /// An unfiltered query of site 1 with no dimension.
    fn query(start: i64, end: i64, local: LocalTime, metrics: Vec<crate::query::Metric>) -> crate::query::StatsQuery {
        crate::query::StatsQuery { metrics, limit: 10, ..crate::query::StatsQuery::over(1, start, end, local) }
    }

    #[test]
    fn partial_days_at_the_ends_are_read_from_edge_cells() {
        use crate::query::{Metric, StatsQuery};
        let tmp = tempfile::tempdir().unwrap();
        let mut store = EventStore::open_duckdb(&tmp.path().join("e.duckdb"), &EventStoreOptions::default()).unwrap();
        let day = 20_000;
        let berlin = LocalTime { segments: vec![(i64::MIN, 3600)] };
        // Local midnights: 23:00 UTC the day before, and 23:00 UTC on the day.
        let (from, split) = (day * DAY - 3600, (day + 1) * DAY - 3600);
        let visit =
            |id: u64, ts: i64, path: &str| EventRecord { visitor_id: id, session_id: id, ..record(1, ts, path) };
        let rows = [visit(1, day * DAY + 100, "/a"), visit(2, day * DAY + 7200, "/b"), visit(3, split + 60, "/c")];
        store.insert(&rows, None).unwrap();
        let reader = store.reader().unwrap();
        assert_eq!(reader.build_rollups(1, day, day + 1, &berlin, &[], (day + 2) * DAY).unwrap(), 1);
        let q = StatsQuery {
            dimensions: vec![Dimension::Page],
            ..query(from, split, berlin, vec![Metric::Visitors, Metric::Pageviews])
        };
        let pages = |q: &StatsQuery| -> Vec<(String, Vec<Option<f64>>)> {
            let out = reader.query(q).unwrap();
            out.rows.into_iter().map(|r| (format!("{:?}", r.dimensions[0]), r.metrics)).collect()
        };
        let expected = vec![
            (format!("{:?}", DimValue::Text("/a".into())), vec![Some(1.0), Some(1.0)]),
            (format!("{:?}", DimValue::Text("/b".into())), vec![Some(1.0), Some(1.0)]),
        ];
        assert_eq!(pages(&q), expected, "the local day holds the UTC day's head");
        // Take the events away behind the store's back: the head is still answered, from its cells…
        let EventStore::DuckDb(db) = &store;
        db.conn.execute_batch("DELETE FROM events").unwrap();
        assert_eq!(pages(&q), expected, "read from the edge cells");
        // …while a range cut elsewhere scans the (now empty) events.
        assert_eq!(pages(&StatsQuery { end: split - 1, ..q }), Vec::new());
    }

    #[test]
    fn a_property_filter_reads_built_days_from_their_copies_of_events_with_properties() {
        use crate::query::{Filter, FilterOp, Metric, StatsQuery};
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("e.duckdb");
        let mut store = EventStore::open_duckdb(&path, &EventStoreOptions::default()).unwrap();
        let day = 20_000;
        let event = |id: u64, ts: i64, name: &str, props: bool| EventRecord {
            visitor_id: id,
            session_id: id,
            name: name.into(),
            props: if props { vec![("plan".into(), "pro".into())] } else { Vec::new() },
            ..record(1, ts, "/")
        };
        // The first day: one event in four has properties (copied); the second: all of them.
        let first = [
            event(1, day * DAY + 10, "pageview", false),
            event(1, day * DAY + 20, "Signup", true),
            event(2, day * DAY + 30, "pageview", false),
            event(3, day * DAY + 40, "pageview", false),
        ];
        let second = [event(4, (day + 1) * DAY + 10, "pageview", true), event(5, (day + 1) * DAY + 20, "Signup", true)];
        store.insert(&first, None).unwrap();
        store.insert(&second, None).unwrap();
        let reader = store.reader().unwrap();
        assert_eq!(reader.build_rollups(1, day, day + 2, &LocalTime::utc(), &[], (day + 3) * DAY).unwrap(), 2);
        let EventStore::DuckDb(db) = &store;
        let marked = |value: &str| marked_days(&db.conn, 1, day, day + 2, props::MARKER, Some(value)).unwrap();
        assert_eq!((marked(props::COPIED), marked(props::SKIPPED)), (vec![day], vec![day + 1]));

        let pro = Filter::Leaf {
            op: FilterOp::Is,
            dimension: Dimension::Prop("plan".into()),
            values: vec!["pro".into()],
            case_sensitive: true,
        };
        let metrics = vec![Metric::Visitors, Metric::Events, Metric::BounceRate];
        let q = |from: i64| StatsQuery {
            filter: Some(pro.clone()),
            ..query(from, from + DAY, LocalTime::utc(), metrics.clone())
        };
        let answer = |q: &StatsQuery| reader.query(q).unwrap().rows[0].metrics.clone();
        // Visit 1 (a pageview and a signup) did not bounce; visits 4 and 5 did.
        assert_eq!(answer(&q(day * DAY)), vec![Some(1.0), Some(1.0), Some(0.0)]);
        assert_eq!(answer(&q((day + 1) * DAY)), vec![Some(2.0), Some(2.0), Some(100.0)]);
        // Take the events with properties away behind the store's back: the copied day still
        // answers from its copy, the other from its (now fewer) events.
        db.conn.execute_batch("DELETE FROM events WHERE len(prop_keys) > 0").unwrap();
        assert_eq!(answer(&q(day * DAY)), vec![Some(1.0), Some(1.0), Some(0.0)], "read from the copy");
        assert_eq!(answer(&q((day + 1) * DAY)), vec![Some(0.0), Some(0.0), Some(0.0)], "read from the events");
        drop(reader);
        drop(store);

        // The events gain a column: the copies lack it, so they go, and the next build makes them
        // again (alone: the days' roll-ups stand).
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("ALTER TABLE events ADD COLUMN later VARCHAR").unwrap();
        }
        let store = EventStore::open_duckdb(&path, &EventStoreOptions::default()).unwrap();
        let EventStore::DuckDb(db) = &store;
        let marked = |value: &str| marked_days(&db.conn, 1, day, day + 2, props::MARKER, Some(value)).unwrap();
        assert_eq!((marked(props::COPIED), marked(props::SKIPPED)), (vec![], vec![]));
        let copies: i64 = db.conn.query_row("SELECT count(*) FROM day_prop_events", [], |r| r.get(0)).unwrap();
        assert_eq!(copies, 0);
        let reader = store.reader().unwrap();
        assert_eq!(reader.build_rollups(1, day, day + 2, &LocalTime::utc(), &[], (day + 3) * DAY).unwrap(), 2);
        assert_eq!(marked(props::COPIED), vec![day, day + 1], "both days now have few events with properties");
    }

    #[test]
    fn whole_days_take_visit_metrics_from_the_deltas() {
        use crate::query::{Metric, StatsQuery};
        let tmp = tempfile::tempdir().unwrap();
        let mut store = EventStore::open_duckdb(&tmp.path().join("e.duckdb"), &EventStoreOptions::default()).unwrap();
        let day = 20_000;
        let at = |id: u64, ts: i64| EventRecord { visitor_id: id, session_id: id, ..record(1, day * DAY + ts, "/") };
        // Visit 1 lasts 100 s; visit 2 is one event (a bounce).
        let mut rows = vec![at(1, 1_000), at(1, 1_100), at(2, 5_000)];
        crate::record::fill_visit_deltas(&mut rows);
        store.insert(&rows, None).unwrap();
        let reader = store.reader().unwrap();
        let q = |start: i64, end: i64| {
            query(start, end, LocalTime::utc(), vec![Metric::Visits, Metric::BounceRate, Metric::VisitDuration])
        };
        let metrics = |q: &StatsQuery| reader.query(q).unwrap().rows[0].metrics.clone();
        let (whole, cut) = (q(day * DAY, (day + 1) * DAY), q(day * DAY, (day + 1) * DAY - 1));
        assert_eq!(metrics(&whole), vec![Some(2.0), Some(50.0), Some(50.0)]);
        assert_eq!(metrics(&cut), metrics(&whole));
        // Change the deltas behind the store's back: only the whole day reads them.
        let EventStore::DuckDb(db) = &store;
        db.conn.execute_batch("UPDATE events SET duration_delta = 0").unwrap();
        assert_eq!(metrics(&whole), vec![Some(2.0), Some(50.0), Some(0.0)], "read from the deltas");
        assert_eq!(metrics(&cut), vec![Some(2.0), Some(50.0), Some(50.0)], "grouped by visit");
    }

    #[test]
    fn inserts_checkpoint_at_row_group_boundaries() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = EventStore::open_duckdb(&tmp.path().join("e.duckdb"), &EventStoreOptions::default()).unwrap();
        let batch: Vec<EventRecord> = (0..30_000).map(|i| record(1, 1_000 + i, "/")).collect();
        let EventStore::DuckDb(db) = &mut store;
        // (row group, rows, written to the file) per row group of the first column.
        let groups = |db: &DuckDbEvents| -> Vec<(i64, i64, bool)> {
            let mut stmt = db
                .conn
                .prepare(
                    "SELECT row_group_id, sum(count)::BIGINT, bool_and(persistent) FROM pragma_storage_info('events') \
                     WHERE column_path = '[0]' GROUP BY 1 ORDER BY 1",
                )
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
        };
        for _ in 0..4 {
            db.insert(&batch, None).unwrap();
        }
        assert!(groups(db).iter().all(|g| !g.2), "120 000 rows fit one group: no checkpoint yet");
        // The fifth batch would overflow the group: the four before it are written first, as one
        // nearly full group, and the new rows start the next one.
        db.insert(&batch, None).unwrap();
        assert_eq!(groups(db), vec![(0, 120_000, true), (1, 30_000, false)]);
        for _ in 0..4 {
            db.insert(&batch, None).unwrap();
        }
        assert_eq!(groups(db)[..2], [(0, 120_000, true), (1, 120_000, true)]);
        assert_eq!(db.count(None).unwrap(), 270_000);
    }

    #[test]
    fn round_trip_positions_retention_and_site_deletion() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("e.duckdb");
        let mut store = EventStore::open_duckdb(&path, &EventStoreOptions::default()).unwrap();
        assert_eq!(store.applied_position().unwrap(), Applied::default());
        let rows = vec![record(1, 1_000, "/old"), record(1, 2_000_000, "/new"), record(2, 1_000, "/other")];
        let applied = Applied { log: LogPosition { segment: 3, offset: 99 }, skip: 2 };
        store.insert(&rows, Some(applied)).unwrap();
        assert_eq!(store.applied_position().unwrap(), applied);
        drop(store);
        let mut store = EventStore::open_duckdb(&path, &EventStoreOptions::default()).unwrap();
        assert_eq!(store.applied_position().unwrap(), applied, "the position is stored with the rows");
        let back = store.recent(2_000_000, 2_000_000).unwrap();
        assert_eq!(back.len(), 3);
        let new = back.iter().find(|r| r.pathname == "/new").unwrap();
        assert_eq!(new.props, rows[1].props);
        assert_eq!((new.session.source.as_str(), new.session.country.as_str(), new.ts), ("Google", "NO", 2_000_000));
        assert_eq!(store.delete_before(1, 1_000_000).unwrap(), 1);
        assert_eq!(store.count(Some(1)).unwrap(), 1);
        assert_eq!(store.count(Some(2)).unwrap(), 1, "retention of one site leaves others alone");
        assert_eq!(store.delete_site(2).unwrap(), 1);
        assert_eq!(store.count(None).unwrap(), 1);
    }

    #[test]
    fn import_keys_are_listed_per_site() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = EventStore::open_duckdb(&tmp.path().join("e.duckdb"), &EventStoreOptions::default()).unwrap();
        let mut a = record(1, 10, "/a");
        a.import_key = Some(42);
        let mut b = record(2, 10, "/b");
        b.import_key = Some(43);
        store.insert(&[a, b, record(1, 10, "/live")], None).unwrap();
        assert_eq!(store.import_keys(1).unwrap(), std::collections::HashSet::from([42]));
        assert_eq!(store.applied_position().unwrap(), Applied::default(), "imports leave the log position alone");
    }

    /// Staged rows commit by themselves in whole row groups, written compressed to the file rather
    /// than to DuckDB's log, and the commit that ends inside a batch records how far into it.
    #[test]
    fn staged_rows_commit_in_whole_row_groups_that_bypass_the_wal() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("e.duckdb");
        let mut store = EventStore::open_duckdb(&path, &EventStoreOptions::default()).unwrap();
        // Another connection, as queries use.
        let EventStore::DuckDb(db) = &store;
        let reader = db.conn.try_clone().unwrap();
        let visible = |c: &Connection| c.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0)).unwrap();
        let now = unix_now();
        let batch: Vec<EventRecord> = (0..50_000).map(|i| record(1, now - 60 + i % 60, "/")).collect();
        let at = |offset| Applied::at(LogPosition { segment: 1, offset });
        assert_eq!(store.stage(&batch, at(10)).unwrap(), None);
        assert_eq!(store.stage(&batch, at(20)).unwrap(), None);
        assert_eq!(store.staged_rows(), 100_000);
        assert_eq!(visible(&reader), 0, "staged rows are not visible yet");
        // The third batch fills the group 22 880 rows in: those commit, the rest stay staged.
        let commit = store.stage(&batch, at(30)).unwrap();
        let applied = Applied { log: LogPosition { segment: 1, offset: 20 }, skip: 22_880 };
        assert_eq!(commit, Some(Commit { applied, rows: 122_880 }));
        assert_eq!(store.staged_rows(), 27_120);
        assert_eq!(visible(&reader), 122_880);
        let EventStore::DuckDb(db) = &store;
        let persistent: bool = db
            .conn
            .query_row(
                "SELECT bool_and(persistent) FROM pragma_storage_info('events') WHERE row_group_id = 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(persistent, "the group is in the file without a checkpoint");
        let wal = std::fs::metadata(format!("{}.wal", path.display())).map_or(0, |m| m.len());
        assert!(wal < 1 << 20, "DuckDB's log holds {wal} bytes for a 122 880-row commit");
        // A crash now loses the staged rows and keeps the committed ones and their position.
        drop((store, reader));
        let store = EventStore::open_duckdb(&path, &EventStoreOptions::default()).unwrap();
        assert_eq!(store.count(None).unwrap(), 122_880);
        assert_eq!(store.applied_position().unwrap(), applied);
    }

    #[test]
    fn commands_after_staging_see_committed_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = EventStore::open_duckdb(&tmp.path().join("e.duckdb"), &EventStoreOptions::default()).unwrap();
        let now = unix_now();
        store
            .stage(&[record(1, now, "/a"), record(2, now, "/b")], Applied::at(LogPosition { segment: 1, offset: 5 }))
            .unwrap();
        assert_eq!(store.delete_site(2).unwrap(), 1, "the delete commits what was staged first");
        assert_eq!(store.staged_rows(), 0);
        assert_eq!(store.count(None).unwrap(), 1);
        assert_eq!(store.applied_position().unwrap(), Applied::at(LogPosition { segment: 1, offset: 5 }));
    }
}
