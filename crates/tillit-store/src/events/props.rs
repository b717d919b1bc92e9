//! Property copies: the events of a built day that carry custom properties, kept beside its
//! roll-ups in `day_prop_events` (a `day` column, then the columns of `events`).
//!
//! Why: under a filter on a custom property (the dashboard after a click on a property value)
//! every panel scanned the range's events and tested each one's property lists, 120–155 ms a panel
//! at 10 M events, though a few percent of events carry properties at all. A filter that only
//! events with properties can pass ([`crate::query::Filter::requires_props`]) keeps exactly the
//! same events from the copy, so a statement that reads the range's events only through that
//! filter reads the copy for built days instead (`sql::copies_serve` says when).
//!
//! A day whose events mostly carry properties gains little from a copy and would nearly double
//! in size: more than [`MAX_SHARE`] of them, and the day is marked as not copied and read from its
//! events. The marker cell (`dim` [`MARKER`], `value` [`COPIED`] or [`SKIPPED`]) records the
//! decision; a day built before copies existed has none, and its next build copies it alone.
//!
//! The copy is written in the day's build transaction after the first-event marks (it copies
//! them), and removed with the day's other tables (`duckdb::DAY_TABLES`). It changes no answer: a
//! backend without it reads the events, as for days not yet built.

use super::rollup::{DAY, DayJob};
use super::sql::lit;

/// The marker cell's dimension.
pub const MARKER: &str = "props";
/// The marker's value for a day whose events with properties are in the copy.
pub const COPIED: &str = "copied";
/// The marker's value for a day left to its events (see [`MAX_SHARE`]).
pub const SKIPPED: &str = "skipped";

/// The largest share of a day's events with properties (numerator, denominator) it is copied at:
/// reading the copy then costs at most half of reading the events.
const MAX_SHARE: (u32, u32) = (1, 2);

/// The table, with the columns `events` has now (run after its migrations).
pub const CREATE: &str =
    "CREATE TABLE IF NOT EXISTS day_prop_events AS SELECT CAST(0 AS BIGINT) AS day, * FROM events LIMIT 0";

/// Drops the copies when `events` gained or changed a column the copies lack (each is read with
/// the statement's column list of `events`), and forgets which days were copied: the next builds
/// copy them again.
pub fn reset() -> String {
    format!("DROP TABLE IF EXISTS day_prop_events; DELETE FROM day_cells WHERE dim = {};", lit(MARKER))
}

/// Whether the copies' columns are those of `events` (name and type, in order): a query whose
/// single row says so.
pub const SAME_COLUMNS: &str = "SELECT \
    (SELECT list(column_name || ' ' || data_type ORDER BY column_index) FROM duckdb_columns() \
     WHERE table_name = 'events' AND schema_name = 'main') = \
    (SELECT list(column_name || ' ' || data_type ORDER BY column_index) FROM duckdb_columns() \
     WHERE table_name = 'day_prop_events' AND schema_name = 'main' AND column_name <> 'day')";

/// The statements that copy one day's events with properties, or mark it as not copied (see the
/// module doc). They replace any copy and marker the day had.
pub fn build_statements(job: &DayJob<'_>) -> Vec<String> {
    let DayJob { site_id, day, .. } = *job;
    let day_events = format!("site_id = {site_id} AND ts >= {} AND ts < {}", day * DAY, (day + 1) * DAY);
    let (num, den) = MAX_SHARE;
    let small = format!(
        "(SELECT {den} * count(*) FILTER (WHERE len(prop_keys) > 0) <= {num} * count(*) FROM events WHERE {day_events})"
    );
    vec![
        format!("DELETE FROM day_prop_events WHERE site_id = {site_id} AND day = {day}"),
        format!("DELETE FROM day_cells WHERE site_id = {site_id} AND day = {day} AND dim = {}", lit(MARKER)),
        format!(
            "INSERT INTO day_prop_events BY NAME SELECT {day} AS day, * FROM events \
             WHERE {day_events} AND len(prop_keys) > 0 AND {small}"
        ),
        format!(
            "INSERT INTO day_cells (site_id, day, dim, grain, bucket, value) \
             SELECT {site_id}, {day}, {}, 0, 0, CASE WHEN {small} THEN {} ELSE {} END",
            lit(MARKER),
            lit(COPIED),
            lit(SKIPPED)
        ),
    ]
}
