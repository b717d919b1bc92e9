//! Visit rows: one row per visit of a day whose roll-ups are built, with the visit's attributes
//! and what it adds to each visit metric.
//!
//! Why: a filtered query cannot use the day cells (they hold one dimension each), so it read and
//! grouped every event of the range. A filter on attributes fixed at a visit's start (source,
//! country, device, UTM tags…) holds for all of a visit's events or none, so a breakdown by such
//! attributes (and by entry page) over whole days needs one row per visit, not its events: about
//! four times fewer rows, and no grouping by visit at query time. Plausible keeps a sessions table
//! beside its events for the same reason.
//!
//! The rows are exact for the same reason day cells are: no visit crosses a UTC midnight, so a
//! built day's visits are whole. They are written with the day's cells, in the same transaction,
//! and go wherever the cells go (invalidation, retention, site deletion): a day is built with its
//! visit rows or not at all. A query reads the visit rows of its built whole days and the raw
//! events of the rest of its range, and adds the two like any other parts (`rollup::assemble`).
//! The build sums the day's whole-day cells of visit attributes from them too.
//!
//! The entry page is the one exception among the groupings: events before a visit's first pageview
//! carry none, so a visit that started with a custom event belongs to the empty entry page through
//! those events and to its page through the rest. `early_events` keeps that split.

use std::fmt::Write;

use super::rollup::{DAY, DayJob, accepts_empty, assemble, local_midnights, raw_ranges, runs};
use super::sql::{Dialect, WholeVisits, bucket_sql, compile_parts, condition, grouping, local_seconds, shown};
use crate::query::{Dimension, Filter, StatsQuery, TimeGrain, VisitField};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS day_visits (
    site_id UINTEGER NOT NULL,
    day BIGINT NOT NULL,
    visitor_id UBIGINT NOT NULL,
    -- Last minus first timestamp of its events (engagement events aside, as everywhere).
    duration BIGINT NOT NULL,
    pageviews BIGINT NOT NULL,
    events BIGINT NOT NULL,
    -- Its events before its first pageview, which have no entry page yet.
    early_events BIGINT NOT NULL,
    -- At most one interactive event.
    bounced BOOLEAN NOT NULL,
    entry_page VARCHAR NOT NULL,
    referrer VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    utm_medium VARCHAR NOT NULL,
    utm_source VARCHAR NOT NULL,
    utm_campaign VARCHAR NOT NULL,
    utm_content VARCHAR NOT NULL,
    utm_term VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    browser VARCHAR NOT NULL,
    browser_version VARCHAR NOT NULL,
    os VARCHAR NOT NULL,
    os_version VARCHAR NOT NULL,
    country VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    city VARCHAR NOT NULL,
    city_geoname_id UINTEGER NOT NULL,
    region_name VARCHAR,
    -- Its visitor made more than one visit that day.
    several BOOLEAN,
    -- The visit's events' session id: the visits with an event that passes a filter on pages,
    -- goals or properties are a semi-join on it.
    session_id UBIGINT,
    -- Its events and pageviews before the day's local midnight (all of them when the day has
    -- none or two): a graph by local day, week or month puts the rest in the next bucket.
    head_events BIGINT,
    head_pageviews BIGINT
);
ALTER TABLE day_visits ADD COLUMN IF NOT EXISTS several BOOLEAN;
ALTER TABLE day_visits ADD COLUMN IF NOT EXISTS session_id UBIGINT;
ALTER TABLE day_visits ADD COLUMN IF NOT EXISTS head_events BIGINT;
ALTER TABLE day_visits ADD COLUMN IF NOT EXISTS head_pageviews BIGINT;
"#;

/// The stored columns of the visit attributes a visit row holds: those of the fields fixed at a
/// visit's start, in [`SCHEMA`]'s order.
fn attribute_columns() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for field in VisitField::ALL.into_iter().filter(|f| f.fixed_at_start()) {
        for column in field.columns() {
            if !out.contains(column) {
                out.push(column);
            }
        }
    }
    let order = |c: &&str| SCHEMA.find(&format!("\n    {c} ")).unwrap_or(usize::MAX);
    out.sort_by_key(order);
    out
}

/// The temporary table a day's build groups the day's events into, once: per visit, what its
/// visit row holds and its halves before and after the day's local midnight (`split`). The visit
/// rows and every cell of a visit attribute (by whole day, by local day, and of the pieces at the
/// midnight) are summed from it, instead of grouping the day's events by visit for each.
pub(super) const BUILD_TABLE: &str = "build_visits";

/// Where a day's local-day buckets and edges are cut: its one local midnight, or its end when it
/// has none (a UTC site). `None` when it has two (a clock change around midnight).
fn split(job: &DayJob<'_>) -> Option<i64> {
    match local_midnights(job.local, job.day).as_slice() {
        [] => Some((job.day + 1) * DAY),
        [s] => Some(*s),
        _ => None,
    }
}

/// The statements that group one UTC day's events by visit ([`BUILD_TABLE`]) and write its visit
/// rows, sorted by the attributes filters use most so that their columns compress well and their
/// zone maps skip. The cells of the day's visit attributes are built next ([`cell_parts`]), then
/// [`drop_statement`].
pub fn build_statements(job: &DayJob<'_>) -> Vec<String> {
    let DayJob { site_id, day, .. } = *job;
    let s = split(job).unwrap_or((day + 1) * DAY);
    let attrs = attribute_columns();
    let values: Vec<String> = attrs.iter().map(|c| format!("max({c}) AS {c}")).collect();
    vec![
        // `several`: whether the visit's visitor made more than one that day. Most visitors make
        // one, and a visitor with one visit is counted without hashing its id (see [`summed`]).
        format!(
            "CREATE OR REPLACE TEMP TABLE {BUILD_TABLE} AS WITH g AS (SELECT session_id, max(visitor_id) AS visitor_id, \
             min(ts) AS start, max(ts) AS last, count(*) FILTER (WHERE name = 'pageview') AS pageviews, \
             count(*) AS events, count(*) FILTER (WHERE entry_page = '') AS early_events, \
             count(*) FILTER (WHERE interactive) AS interactive, \
             count(*) FILTER (WHERE name = 'pageview' AND ts < {s}) AS head_pageviews, \
             count(*) FILTER (WHERE ts < {s}) AS head_events, \
             count(*) FILTER (WHERE interactive AND ts < {s}) AS head_interactive, \
             max(ts) FILTER (WHERE ts < {s}) AS head_last, min(ts) FILTER (WHERE ts >= {s}) AS tail_first, \
             max(entry_page) AS entry_page, {} FROM events WHERE site_id = {site_id} AND ts >= {} AND ts < {} \
             AND name <> 'engagement' GROUP BY session_id) \
             SELECT g.*, visitor_id IN (SELECT visitor_id FROM g GROUP BY visitor_id HAVING count(*) > 1) AS several \
             FROM g",
            values.join(", "),
            day * DAY,
            (day + 1) * DAY,
        ),
        format!(
            "INSERT INTO day_visits (site_id, day, visitor_id, duration, pageviews, events, early_events, bounced, \
             entry_page, {attrs}, several, session_id, head_events, head_pageviews) SELECT {site_id}, {day}, visitor_id, \
             last - start, pageviews, events, early_events, interactive <= 1, entry_page, {attrs}, several, session_id, \
             head_events, head_pageviews FROM {BUILD_TABLE} \
             ORDER BY source, country, device",
            attrs = attrs.join(", "),
        ),
    ]
}

/// The visitors of the build table with more than one visit.
pub(super) fn several_visits() -> String {
    format!("SELECT visitor_id FROM {BUILD_TABLE} WHERE several")
}

/// Ends a build begun with [`build_statements`].
pub fn drop_statement() -> String {
    format!("DROP TABLE IF EXISTS {BUILD_TABLE}")
}

/// The parts (`d0`, for a local-day grain `d1`, and `sql::PART_COLUMNS`) of one cell set of a
/// visit attribute, summed from the build's visits ([`build_statements`]): `code` is the cells'
/// grain (0 whole day, 1 local day, 4 and 5 the pieces before and after the local midnight, whose
/// visits are cut there as a raw scan of the piece cuts them). `None` where the build table does
/// not serve: other dimensions, and local days or pieces of a day with two local midnights.
pub fn cell_parts(job: &DayJob<'_>, dim: &Dimension, code: u8) -> Option<String> {
    if !matches!(dim, Dimension::Visit(f) if f.fixed_at_start()) {
        return None;
    }
    let s = if code == 0 { (job.day + 1) * DAY } else { split(job)? };
    let d = &super::sql::DuckDbDialect;
    let local_day = |t: i64| {
        let l = job.local.local(t);
        l - l.rem_euclid(DAY)
    };
    let mut q = StatsQuery { dimensions: vec![dim.clone()], ..StatsQuery::over(job.site_id, 0, 0, job.local.clone()) };
    let g = grouping(&q, dim, d);
    let t = BUILD_TABLE;
    // Columns: k…, visitor_id, pageviews, events, sessions, bounced, duration, pv (the visit's
    // pageviews where it counts as a visit), several. A visit cut at the local midnight is two
    // rows, but in two local days or pieces, so a visitor with one visit is in a group once.
    let rows = match code {
        0 => format!(
            "SELECT {g} AS k0, visitor_id, pageviews, events, 1 AS sessions, interactive <= 1 AS bounced, \
             last - start AS duration, pageviews AS pv, several FROM {t}"
        ),
        1 => {
            q.dimensions.push(Dimension::Time(crate::query::TimeGrain::Day));
            // Events count in the local day they happened in, a visit in the one it started in.
            format!(
                "SELECT {g} AS k0, {} AS k1, visitor_id, head_pageviews AS pageviews, head_events AS events, \
                 1 AS sessions, interactive <= 1 AS bounced, last - start AS duration, pageviews AS pv, \
                 several FROM {t} WHERE start < {s} \
                 UNION ALL SELECT {g}, {}, visitor_id, pageviews - head_pageviews, events - head_events, \
                 CASE WHEN start >= {s} THEN 1 ELSE 0 END, start >= {s} AND interactive <= 1, \
                 CASE WHEN start >= {s} THEN last - start ELSE 0 END, CASE WHEN start >= {s} THEN pageviews ELSE 0 END, \
                 several FROM {t} WHERE last >= {s}",
                local_day(job.day * DAY),
                local_day(s)
            )
        }
        4 => format!(
            "SELECT {g} AS k0, visitor_id, head_pageviews AS pageviews, head_events AS events, 1 AS sessions, \
             head_interactive <= 1 AS bounced, head_last - start AS duration, head_pageviews AS pv, several \
             FROM {t} WHERE start < {s}"
        ),
        5 => format!(
            "SELECT {g} AS k0, visitor_id, pageviews - head_pageviews AS pageviews, events - head_events AS events, \
             1 AS sessions, interactive - head_interactive <= 1 AS bounced, last - tail_first AS duration, \
             pageviews - head_pageviews AS pv, several FROM {t} WHERE last >= {s}"
        ),
        _ => return None,
    };
    Some(format!("SELECT * FROM {}", summed(&q, &rows, d)))
}

/// Whether visit rows can answer `q` for its built days: no filter or one whose every top-level
/// condition holds per visit ([`Filter::is_per_visit`]) or is on the entry page and rejects the
/// empty one (see [`entry_condition`]), groups by visit attributes fixed at the start, the entry
/// page, or one calendar bucket (days, weeks or months: see [`in_one_bucket`]), and metrics that
/// are sums over visits or ratios of them.
pub fn eligible(q: &StatsQuery) -> bool {
    let filter_ok = q.filter.as_ref().is_none_or(|f| members(f).iter().all(|m| m.is_per_visit() || entry_condition(m)));
    let buckets = q.dimensions.iter().filter(|d| matches!(d, Dimension::Time(_))).count();
    filter_ok
        && buckets <= 1
        && q.dimensions.iter().all(|d| match d {
            Dimension::Visit(f) => f.fixed_at_start() || *f == VisitField::EntryPage,
            Dimension::Time(g) => matches!(g, TimeGrain::Day | TimeGrain::Week | TimeGrain::Month),
            _ => false,
        })
        && q.metrics.iter().all(|m| m.sums_over_visits())
}

/// Whether the whole UTC `day` lies in one of `q`'s calendar buckets (always, without a time
/// dimension). Only such days are read from visit rows under a time dimension: each of their
/// visits, its start and its events fall in that bucket, so the day's rows go there whole. A day
/// that a local midnight starting a bucket cuts is read raw, as any piece of a day is.
fn in_one_bucket(q: &StatsQuery, day: i64) -> bool {
    q.dimensions.iter().all(|d| match d {
        Dimension::Time(g) => {
            let (first, last) = (q.local.local(day * DAY), q.local.local((day + 1) * DAY - 1));
            g.bucket_start(first) == g.bucket_start(last)
        }
        _ => true,
    })
}

/// Where `q`'s calendar bucket boundary cuts the UTC `day`, when its visit rows can be split
/// there ([`cut_parts`]): the day's one local midnight, which its visit rows' head columns were
/// built at (the day's roll-ups are of `q`'s time zone), and no entry page in play (a visit's
/// events before its first pageview are counted apart, and its rows do not say on which side).
fn cut_at(q: &StatsQuery, day: i64) -> Option<i64> {
    let entry = Dimension::Visit(VisitField::EntryPage);
    if q.dimensions.contains(&entry) || entry_filtered(q) {
        return None;
    }
    let grain = q.dimensions.iter().find_map(|d| if let Dimension::Time(g) = d { Some(*g) } else { None })?;
    let [split] = local_midnights(&q.local, day)[..] else { return None };
    let bucket = |t: i64| grain.bucket_start(q.local.local(t));
    // Each side in one bucket: the midnight is the only place a day, week or month starts.
    (bucket(day * DAY) == bucket(split - 1) && bucket(split) == bucket((day + 1) * DAY - 1)).then_some(split)
}

/// The parts of the visits of `cut` days (with where each is cut) that pass `q`'s filter, each
/// visit in the bucket of the day's start for its events before the cut and in the next for the
/// rest: events count where they happened, a visit (its bounce, duration and pageviews) where it
/// started, as in the day's cells of local days (`cell_parts`).
fn cut_parts(q: &StatsQuery, cut: &[(i64, i64)], d: &dyn Dialect) -> String {
    let filter = q.filter.as_ref().map_or_else(|| "true".to_owned(), |f| condition(q, f, d));
    let splits: Vec<String> =
        cut.iter().map(|(day, split)| format!("(CAST({day} AS BIGINT), CAST({split} AS BIGINT))")).collect();
    let from = format!(
        "day_visits JOIN (VALUES {}) cut(day, boundary) USING (day) WHERE site_id = {} AND {filter}",
        splits.join(", "),
        q.site_id
    );
    let rows = format!(
        "SELECT {}visitor_id, head_pageviews AS pageviews, head_events AS events, 1 AS sessions, bounced, duration, \
         pageviews AS pv, several FROM {from} AND head_events > 0 \
         UNION ALL SELECT {}visitor_id, pageviews - head_pageviews, events - head_events, \
         CASE WHEN head_events = 0 THEN 1 ELSE 0 END, head_events = 0 AND bounced, \
         CASE WHEN head_events = 0 THEN duration ELSE 0 END, CASE WHEN head_events = 0 THEN pageviews ELSE 0 END, \
         several FROM {from} AND events > head_events",
        row_keys(q, &format!("day * {DAY}"), false, d),
        row_keys(q, "boundary", false, d),
    );
    summed(q, &rows, d)
}

/// The group keys (`k0…`) of a visit row: time buckets at the local time of `at` (seconds since
/// the epoch, an SQL expression), the empty entry page for a visit's `early` events (those before
/// its first pageview), other dimensions as the visit row holds them.
fn row_keys(q: &StatsQuery, at: &str, early: bool, d: &dyn Dialect) -> String {
    q.dimensions
        .iter()
        .enumerate()
        .map(|(i, dim)| match dim {
            Dimension::Visit(VisitField::EntryPage) if early => format!("'' AS k{i}, "),
            Dimension::Time(g) => format!("{} AS k{i}, ", bucket_sql(*g, &local_seconds(&q.local, at), d)),
            _ => format!("{} AS k{i}, ", grouping(q, dim, d)),
        })
        .collect()
}

/// The top-level conditions of a filter (the members of an `and`, or the filter itself).
fn members(f: &Filter) -> Vec<&Filter> {
    match f {
        Filter::And(v) => v.iter().collect(),
        other => vec![other],
    }
}

/// Whether `f` is only about the entry page and rejects the empty one (Plausible's v1 entry-page
/// breakdown adds `is_not ""`). Under such a condition a visit's events before its first pageview
/// never match, and the rest match exactly when its entry page does.
fn entry_condition(f: &Filter) -> bool {
    let mut only_entry = true;
    f.dimensions(&mut |d| only_entry &= *d == Dimension::Visit(VisitField::EntryPage));
    only_entry && accepts_empty(f) == Some(false)
}

/// Whether `q`'s filter has an entry-page condition (see [`entry_condition`]).
fn entry_filtered(q: &StatsQuery) -> bool {
    q.filter.as_ref().is_some_and(|f| members(f).iter().any(|m| !m.is_per_visit() && entry_condition(m)))
}

/// One statement answering `q` (see [`eligible`]) from the visit rows of `days` (UTC day numbers,
/// built) and the raw events of the rest of the range.
pub fn compile(q: &StatsQuery, days: &[i64], whole: WholeVisits, d: &dyn Dialect) -> String {
    let (mut read, mut cut) = (Vec::new(), Vec::new());
    for &day in days {
        if in_one_bucket(q, day) {
            read.push(day);
        } else if let Some(split) = cut_at(q, day) {
            cut.push((day, split));
        }
    }
    let mut parts = vec![format!("SELECT * FROM {}", parts(q, &read, d))];
    if !cut.is_empty() {
        parts.push(format!("SELECT * FROM {}", cut_parts(q, &cut, d)));
    }
    read.extend(cut.iter().map(|(day, _)| *day));
    read.sort_unstable();
    let raw = raw_ranges(q.start, q.end, &read);
    if !raw.is_empty() {
        parts.push(format!("SELECT * FROM ({})", compile_parts(q, &raw, whole, d)));
    }
    assemble(q, &parts, &[])
}

/// The parts (`d…` and `sql::PART_COLUMNS`) of the visits of `days` that pass `q`'s filter (see
/// [`eligible`]).
pub(super) fn parts(q: &StatsQuery, days: &[i64], d: &dyn Dialect) -> String {
    let day_runs: Vec<String> = runs(days).iter().map(|(a, b)| format!("day BETWEEN {a} AND {b}")).collect();
    let filter = q.filter.as_ref().map_or_else(|| "true".to_owned(), |f| condition(q, f, d));
    let from = format!(
        "day_visits WHERE site_id = {} AND ({}) AND {filter}",
        q.site_id,
        if day_runs.is_empty() { "false".to_owned() } else { day_runs.join(" OR ") }
    );
    let entry = Dimension::Visit(VisitField::EntryPage);
    // The bucket of the day's start: the whole day is in it (see `in_one_bucket`).
    let start = format!("day * {DAY}");
    // A visit's row: all of its metrics, and where the entry page matters the events that carry it.
    let by_entry = q.dimensions.contains(&entry);
    let events = if by_entry || entry_filtered(q) {
        "events - CASE WHEN entry_page <> '' THEN early_events ELSE 0 END"
    } else {
        "events"
    };
    let mut rows = format!(
        "SELECT {}visitor_id, pageviews, {events} AS events, 1 AS sessions, bounced, duration, pageviews AS pv, \
         several FROM {from}",
        row_keys(q, &start, false, d)
    );
    if by_entry && !entry_filtered(q) {
        // Its events before its first pageview, under the empty entry page: a visit of that group
        // too, but no visit metrics there (those group visits by their entry page).
        let _ = write!(
            rows,
            " UNION ALL SELECT {}visitor_id, 0, early_events, 0, false, 0, 0, several FROM {from} \
             AND entry_page <> '' AND early_events > 0",
            row_keys(q, &start, true, d)
        );
    }
    summed(q, &rows, d)
}

/// `rows` (columns `k0…` for `q`'s dimensions, `visitor_id`, `pageviews`, `events`, `sessions`,
/// `bounced`, `duration`, `pv`, `several`; one or more per visit) summed per group into parts: `d…`
/// with the values `q` shows, then `sql::PART_COLUMNS`.
///
/// Visitors: one who made a single visit that day is one row of its group, so its rows are
/// counted; only those with several visits (`several`, or not known) are counted distinctly. The
/// distinct count of every row took half of a filtered breakdown's time.
fn summed(q: &StatsQuery, rows: &str, d: &dyn Dialect) -> String {
    let n = q.dimensions.len();
    let select: String = (0..n).map(|i| format!("k{i} AS d{i}, ")).collect();
    let group = if n == 0 {
        String::new()
    } else {
        format!(" GROUP BY {}", (0..n).map(|i| format!("k{i}")).collect::<Vec<_>>().join(", "))
    };
    let grouped = format!(
        "(SELECT {select}count(*) FILTER (WHERE several = false) \
         + count(DISTINCT visitor_id) FILTER (WHERE several IS NOT false) AS visitors, count(*) AS visits, \
         CAST(sum(pageviews) AS BIGINT) AS pageviews, CAST(sum(events) AS BIGINT) AS events, \
         CAST(sum(sessions) AS BIGINT) AS sessions, count(*) FILTER (WHERE bounced AND sessions = 1) AS bounces, \
         CAST(sum(duration) AS BIGINT) AS dur_sum, CAST(sum(pv) AS BIGINT) AS pv_sum, \
         CAST(sum(sessions) AS BIGINT) AS bounce_sessions FROM ({rows}){group}) visit_parts"
    );
    shown(q, grouped, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hold_every_attribute_a_per_visit_filter_reads() {
        let columns = attribute_columns();
        for field in VisitField::ALL.into_iter().filter(|f| f.fixed_at_start()) {
            for column in field.columns() {
                assert!(columns.contains(column), "{column} of {field:?}");
                assert!(SCHEMA.contains(&format!("\n    {column} ")), "{column} in the schema");
            }
        }
    }
}
