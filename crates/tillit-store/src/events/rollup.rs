//! Day roll-ups: per-UTC-day summaries that answer the common questions without scanning events.
//!
//! Why they are exact: a visitor id is a hash under the salt of one UTC day and no visit spans a UTC
//! midnight (see `tillit_core::ingest::{visitor, session}`). So for any dimension value, the
//! distinct visitors, distinct visits, pageviews, events, bounces, durations and views of a set of
//! whole UTC days are the sums of those of each day, and every metric a roll-up serves is one of
//! these or a ratio of two. A query over `[start, end)` reads the roll-ups of the whole UTC days
//! inside it that are built, and the raw events of everything else (the partial days at the edges,
//! today, days not built yet), and adds the two.
//!
//! A cell is `(site, UTC day, dimension, grain, bucket, value)`. Distinct counts add up across UTC
//! days but not across local days (one visit can cross a local midnight inside a UTC day), so each
//! grouping a query needs has cells of its own: per dimension, the whole day (`grain` 0) and local
//! days (1); for the time series without a dimension also weeks (2) and months (3). One UTC day
//! overlaps at most two local days, so it has at most two cells per value and grain. A day's cells
//! are valid only for the UTC offsets they were built with ([`day_signature`]); a site whose time
//! zone changes gets its days rebuilt.
//!
//! Goals: a day also holds one cell per goal of the site (`event:goal`, whole day) and a marker
//! cell (`goals`) whose value is the [`goals_signature`] of the goal set they were built for. A
//! goal breakdown reads only days whose marker matches the site's current goals; the build job
//! rebuilds the goal cells of days whose marker does not (a goal was added, changed or removed),
//! without touching the rest of the day.
//!
//! Edges: a query in a site's time zone starts and ends at local midnights, which fall inside UTC
//! days, so its first and last UTC days are partial. For each local midnight `s` inside a built day,
//! edge cells summarise the day's head `[day start, s)` (`grain` 4) and tail `[s, day end)` (5),
//! per dimension, with `bucket` = `s`. They hold exactly what a raw scan of that piece gives (visits
//! cut at the piece's bounds, as the raw path cuts them), and their visitor ids belong to that UTC
//! day alone, so they add to whole-day cells like any other day. A marker cell (`edges`) says a
//! day's edges are built; days built before edges existed get them added (see
//! `DuckDbReader::build_rollups`). Goal breakdowns read edges raw.
//!
//! Freshness: a day is built once it is [`BUILD_DELAY_SECS`] past its end. Any later write into a
//! day that may be built (imports, an ingest-log replay after a long outage, retention) deletes its
//! cells in the same transaction, and a build that overlapped such a write is discarded (see
//! `DuckDbReader::build_rollups`), so a roll-up never disagrees with the events it summarises.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::sql::{CELL_COLUMNS, Dialect, PART_COLUMNS, WholeVisits, compile_parts, lit, value_filter};
use crate::query::{Dimension, Filter, FilterOp, Goal, GoalKind, LocalTime, Metric, StatsQuery, TimeGrain, VisitField};

pub const DAY: i64 = 86_400;

/// How long after its end (UTC) a day may be summarised: visits end at midnight UTC, so this only
/// has to outlast batches still on their way to the store (seconds). Kept short because until
/// then every query that covers the day scans all of it; a later write invalidates anyway.
pub const BUILD_DELAY_SECS: i64 = 30 * 60;

/// Writes into days that ended at least this long ago invalidate their roll-ups. Shorter than
/// [`BUILD_DELAY_SECS`], so a write that raced a build's start is always seen as invalidating.
pub const INVALIDATE_DELAY_SECS: i64 = 15 * 60;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS day_cells (
    site_id UINTEGER NOT NULL,
    day BIGINT NOT NULL,
    dim VARCHAR NOT NULL,
    grain UTINYINT NOT NULL,
    -- Local start second of the time bucket; 0 for grain 0.
    bucket BIGINT NOT NULL,
    value VARCHAR NOT NULL,
    visitors BIGINT,
    visits BIGINT,
    pageviews BIGINT,
    events BIGINT,
    sessions BIGINT,
    bounces BIGINT,
    dur_sum BIGINT,
    pv_sum BIGINT
);
CREATE TABLE IF NOT EXISTS day_rollups (
    site_id UINTEGER NOT NULL,
    day BIGINT NOT NULL,
    signature VARCHAR NOT NULL,
    built_at BIGINT NOT NULL,
    PRIMARY KEY (site_id, day)
);
"#;

/// The `grain` column: a whole UTC day, or a time bucket within it.
fn grain_code(grain: Option<TimeGrain>) -> u8 {
    match grain {
        None => 0,
        Some(TimeGrain::Minute | TimeGrain::Day | TimeGrain::Hour) => 1,
        Some(TimeGrain::Week) => 2,
        Some(TimeGrain::Month) => 3,
    }
}

/// The `grain` of edge cells: the head of a UTC day (before a local midnight) and its tail.
const HEAD: u8 = 4;
const TAIL: u8 = 5;

/// The marker cell saying a day's edge cells are built.
pub const EDGES_MARKER: &str = "edges";

/// A part of a UTC day cut at a local midnight: `[day start, split)` (head) or `[split, day end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub day: i64,
    pub split: i64,
    pub head: bool,
}

impl Edge {
    /// The UTC seconds it covers, `[from, to)`.
    pub fn range(&self) -> (i64, i64) {
        if self.head { (self.day * DAY, self.split) } else { (self.split, (self.day + 1) * DAY) }
    }

    fn grain(&self) -> u8 {
        if self.head { HEAD } else { TAIL }
    }

    /// The edge a raw piece `[from, to)` of `day` is, if it is one (it must start or end the day
    /// and be cut where one of `splits` lies).
    pub fn of_piece(day: i64, (from, to): (i64, i64), splits: &[(u8, i64)]) -> Option<Edge> {
        let (start, end) = (day * DAY, (day + 1) * DAY);
        if from == start && to < end && splits.contains(&(HEAD, to)) {
            Some(Edge { day, split: to, head: true })
        } else if to == end && from > start && splits.contains(&(TAIL, from)) {
            Some(Edge { day, split: from, head: false })
        } else {
            None
        }
    }

    /// Local seconds of a moment inside it (every moment of an edge is on one local date).
    fn local_moment(&self, local: &LocalTime) -> i64 {
        if self.head { local.local(self.split - 1) } else { local.local(self.split) }
    }
}

/// The local midnights strictly inside UTC day `day`, as UTC seconds.
pub fn local_midnights(local: &LocalTime, day: i64) -> Vec<i64> {
    let (start, end) = (day * DAY, (day + 1) * DAY);
    let mut out = Vec::new();
    for (i, (from, offset)) in local.segments.iter().enumerate() {
        let until = local.segments.get(i + 1).map_or(i64::MAX, |s| s.0);
        let (lo, hi) = ((*from).max(start + 1), until.min(end));
        if lo >= hi {
            continue;
        }
        // The first t >= lo with t + offset on a local midnight.
        let off = i64::from(*offset);
        let mut t = lo + (DAY - (lo + off).rem_euclid(DAY)) % DAY;
        while t < hi {
            out.push(t);
            t += DAY;
        }
    }
    out
}

/// One site's UTC day to build cells for.
#[derive(Clone, Copy, Debug)]
pub struct DayJob<'a> {
    pub site_id: u32,
    pub day: i64,
    /// The site's time zone (local buckets and midnights).
    pub local: &'a LocalTime,
    pub whole: WholeVisits,
    /// Whether the day's visits are grouped in the build table (`visits::build_statements`), so
    /// the cells of visit attributes are summed from it.
    pub visits_grouped: bool,
}

/// The statements that fill one day's edge cells (every dimension by whole piece) and its marker.
pub fn edge_statements(job: &DayJob<'_>) -> Vec<String> {
    let DayJob { site_id, day, local, .. } = *job;
    let mut out = Vec::new();
    for split in local_midnights(local, day) {
        for head in [true, false] {
            let edge = Edge { day, split, head };
            for (key, dim, grain) in rolled_up_dimensions() {
                if grain.is_none() {
                    let bucket = split.to_string();
                    let target = Target { job, key: &key, code: edge.grain(), bucket: &bucket, range: edge.range() };
                    out.push(fill(&target, dim.as_ref(), None, &[]));
                }
            }
        }
    }
    out.push(format!(
        "INSERT INTO day_cells (site_id, day, dim, grain, bucket, value) VALUES ({site_id}, {day}, {}, 0, 0, '')",
        lit(EDGES_MARKER)
    ));
    out
}

/// What is rolled up: `(dim key, dimension, grain)`, the key being the dimension's label (`""` for
/// none). Every dimension by whole day and by local day; no dimension also by week and month.
pub fn rolled_up_dimensions() -> Vec<(String, Option<Dimension>, Option<TimeGrain>)> {
    let mut out = vec![
        (String::new(), None, None),
        (String::new(), None, Some(TimeGrain::Day)),
        (String::new(), None, Some(TimeGrain::Week)),
        (String::new(), None, Some(TimeGrain::Month)),
    ];
    let dims = [Dimension::Page, Dimension::Hostname, Dimension::Name]
        .into_iter()
        .chain(crate::query::VisitField::ALL.into_iter().filter(|f| rolled_up(*f)).map(Dimension::Visit));
    for dim in dims {
        for grain in [None, Some(TimeGrain::Day)] {
            out.push((dim.label(), Some(dim.clone()), grain));
        }
    }
    out
}

/// Visit fields with cells. The entry and exit hosts came after the cells' layout; their
/// breakdowns are read from the events.
fn rolled_up(f: crate::query::VisitField) -> bool {
    !matches!(f, crate::query::VisitField::EntryPageHostname | crate::query::VisitField::ExitPageHostname)
}

/// The visit field of a filter the cells can apply: every leaf is on that one field, which has
/// cells, and the visits the filter selects, with all their events, are exactly those whose
/// group by that field the filter accepts. So a breakdown by the field reads the cells of the
/// accepted values; a query without a dimension can read them only when there is one such value
/// (visitors do not add up across values: see [`single_value`]).
///
/// Fields fixed at a visit's start hold for every event, and so does the exit page. The entry page
/// does only where the filter rejects the empty value: a visit's events before its first pageview
/// have none yet.
fn cell_filter_field(f: &Filter) -> Option<VisitField> {
    let mut fields = Vec::new();
    f.dimensions(&mut |d| fields.push(if let Dimension::Visit(v) = d { Some(*v) } else { None }));
    let field = fields.first().copied().flatten()?;
    let one = fields.iter().all(|x| *x == Some(field));
    let per_visit = match field {
        VisitField::EntryPage => accepts_empty(f) == Some(false),
        // Joined to every event of its visit (see `sql::Compiler::prelude`).
        VisitField::ExitPage => true,
        other => other.fixed_at_start(),
    };
    (one && rolled_up(field) && per_visit).then_some(field)
}

/// Whether the filter accepts the empty value (`None`: cannot tell without running a regular
/// expression).
pub(super) fn accepts_empty(f: &Filter) -> Option<bool> {
    match f {
        Filter::And(v) => v.iter().try_fold(true, |acc, c| Some(acc && accepts_empty(c)?)),
        Filter::Or(v) => v.iter().try_fold(false, |acc, c| Some(acc || accepts_empty(c)?)),
        Filter::Not(c) => accepts_empty(c).map(|b| !b),
        Filter::Leaf { op, values, .. } => {
            // `""` is, and contains, only the empty value.
            let listed = values.iter().any(String::is_empty);
            match op {
                FilterOp::Is | FilterOp::Contains => Some(listed),
                FilterOp::IsNot | FilterOp::ContainsNot => Some(!listed),
                FilterOp::Matches | FilterOp::MatchesNot => None,
            }
        }
    }
}

/// The dimension of a filter that picks one page or one event name exactly (`is`, one value,
/// compared as it is): the cells of that value hold exactly the events the filter keeps and their
/// visitors, by whole day and by local day.
fn event_cell_filter(f: &Filter) -> Option<Dimension> {
    match f {
        Filter::Leaf {
            op: FilterOp::Is,
            dimension: dim @ (Dimension::Page | Dimension::Name),
            values,
            case_sensitive: true,
        } if values.len() == 1 => Some(dim.clone()),
        _ => None,
    }
}

/// Whether the filter is `is` with one value, compared as it is: one group's cells.
fn single_value(f: &Filter) -> bool {
    matches!(f, Filter::Leaf { op: FilterOp::Is, values, case_sensitive: true, .. } if values.len() == 1)
}

/// Whether roll-ups can answer `q`: no filter (or one the cells apply, see [`cell_filter_field`]),
/// metrics that are sums or ratios of sums, and a grouping that has cells (see
/// [`rolled_up_dimensions`]).
pub fn eligible(q: &StatsQuery) -> bool {
    // Percentages and conversion rates divide by a total the cells hold too.
    let metrics_ok =
        q.metrics.iter().all(|m| m.sums_over_visits() || matches!(m, Metric::Percentage | Metric::ConversionRate));
    let times: Vec<TimeGrain> =
        q.dimensions.iter().filter_map(|d| if let Dimension::Time(g) = d { Some(*g) } else { None }).collect();
    let others: Vec<&Dimension> = q.dimensions.iter().filter(|d| !matches!(d, Dimension::Time(_))).collect();
    let grouping_ok = match (times.as_slice(), others.as_slice()) {
        ([] | [TimeGrain::Day | TimeGrain::Week | TimeGrain::Month], []) => true,
        // Goal cells exist for whole days only, and hold no visit metrics.
        ([], [Dimension::Goal]) => !q.metrics.iter().any(|m| m.is_session_metric()),
        ([] | [TimeGrain::Day], [d]) => match d {
            Dimension::Page | Dimension::Hostname | Dimension::Name => true,
            Dimension::Visit(f) => rolled_up(*f),
            _ => false,
        },
        _ => false,
    };
    let filter_ok = match (&q.filter, q.filter.as_ref().and_then(event_cell_filter)) {
        (None, _) => true,
        // Under one page or event name, its own cells hold the events and visitors (not visits:
        // a page's cells count visits by their entry page).
        (Some(_), Some(dim)) => {
            (others.is_empty() || others == [&dim])
                && times.iter().all(|g| *g == TimeGrain::Day)
                && q.metrics.iter().all(|m| matches!(m, Metric::Visitors | Metric::Pageviews | Metric::Events))
        }
        (Some(f), None) => cell_filter_field(f).is_some_and(|field| {
            let grouped = others.as_slice() == [&Dimension::Visit(field)];
            // Cells of a field by whole day or local day; with a filter in place, the
            // denominators of percentages and conversion rates are no cell's.
            (grouped || (others.is_empty() && single_value(f)))
                && times.iter().all(|g| *g == TimeGrain::Day)
                && !q.metrics.iter().any(|m| matches!(m, Metric::Percentage | Metric::ConversionRate))
        }),
    };
    filter_ok && metrics_ok && grouping_ok
}

/// The roll-up key of `q`'s non-time dimension, or of the field its filter is on (`""` when it
/// has neither).
fn dim_key(q: &StatsQuery) -> String {
    let filtered = q.filter.as_ref().and_then(|f| {
        cell_filter_field(f)
            .map(|field| Dimension::Visit(field).label())
            .or_else(|| event_cell_filter(f).map(|d| d.label()))
    });
    q.dimensions
        .iter()
        .find(|d| !matches!(d, Dimension::Time(_)))
        .map(Dimension::label)
        .or(filtered)
        .unwrap_or_default()
}

/// The grain of `q`'s time dimension, if it has one.
fn time_grain(q: &StatsQuery) -> Option<TimeGrain> {
    q.dimensions.iter().find_map(|d| if let Dimension::Time(g) = d { Some(*g) } else { None })
}

/// The UTC days wholly inside `[start, end)`.
pub fn whole_days(start: i64, end: i64) -> (i64, i64) {
    let first = start.div_euclid(DAY) + i64::from(start.rem_euclid(DAY) != 0);
    let last = end.div_euclid(DAY);
    (first, last.max(first))
}

/// What a day's cells hold. Bump it when the cells change (a dimension added, a column's meaning):
/// days built under another version are rebuilt rather than read without the new cells.
///
/// 3: an entry page's visits count the visits with an event in the group, as a query does (the
/// empty entry page's visits were those of no group). 4: a built day also has its visit rows
/// (`visits`). 5: and its events their first-event marks (`firsts`). 6: visit rows hold their
/// session ids. 7: a built day also has its pair cells (`pairs`). 8: pairs of all visits, of
/// browsers, systems and entry pages, and the visits of each page and name. 9: visit rows hold
/// their events and pageviews before the day's local midnight.
const CELLS_VERSION: u32 = 9;

/// The cells' version and the UTC offsets in force during a day, as text: roll-ups built under
/// another version or other offsets are stale.
pub fn day_signature(local: &LocalTime, day: i64) -> String {
    let (from, to) = (day * DAY, (day + 1) * DAY);
    let mut sig = format!("v{CELLS_VERSION} {}", local.offset_at(from));
    for (at, offset) in &local.segments {
        if *at > from && *at < to {
            let _ = write!(sig, " {at}:{offset}");
        }
    }
    sig
}

/// The goal set's identity: the same for the same goals in any order, different when any goal's
/// name or definition differs.
pub fn goals_signature(goals: &[Goal]) -> String {
    let mut defs: Vec<String> = goals
        .iter()
        .map(|g| match &g.kind {
            GoalKind::Event(name) => format!("{}\u{1f}event\u{1f}{name}", g.name),
            GoalKind::Page(re) => format!("{}\u{1f}page\u{1f}{re}", g.name),
            GoalKind::Scroll { page, threshold } => format!("{}\u{1f}scroll\u{1f}{threshold}\u{1f}{page}", g.name),
        })
        .collect();
    defs.sort();
    let digest = Sha256::digest(defs.join("\u{1e}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The roll-up key of goal cells, and of the marker naming the goal set they were built for.
pub const GOAL_KEY: &str = "event:goal";
pub const GOALS_MARKER: &str = "goals";

/// The statements that fill one day's goal cells and its goal-set marker.
pub fn goal_statements(job: &DayJob<'_>, goals: &[Goal]) -> Vec<String> {
    let DayJob { site_id, day, .. } = *job;
    let mut out: Vec<String> = goals
        .iter()
        .map(|g| build_statement(job, GOAL_KEY, Some(&Dimension::Goal), None, std::slice::from_ref(g)))
        .collect();
    out.push(format!(
        "INSERT INTO day_cells (site_id, day, dim, grain, bucket, value) VALUES ({site_id}, {day}, {}, 0, 0, {})",
        lit(GOALS_MARKER),
        lit(&goals_signature(goals))
    ));
    out
}

/// Where a fill statement puts its cells.
struct Target<'a> {
    job: &'a DayJob<'a>,
    key: &'a str,
    /// The `grain` column.
    code: u8,
    /// SQL for the `bucket` column, over the parts' `d…` columns.
    bucket: &'a str,
    /// The UTC seconds summarised, `[from, to)`.
    range: (i64, i64),
}

/// The statement that fills one day's cells for one dimension and grain (`goals`: the goals a
/// goal dimension groups by).
pub fn build_statement(
    job: &DayJob<'_>,
    key: &str,
    dim: Option<&Dimension>,
    grain: Option<TimeGrain>,
    goals: &[Goal],
) -> String {
    let day = job.day;
    let bucket = match (grain, dim) {
        (None, _) => "0",
        (Some(_), Some(_)) => "d1",
        (Some(_), None) => "d0",
    };
    let target = Target { job, key, code: grain_code(grain), bucket, range: (day * DAY, (day + 1) * DAY) };
    fill(&target, dim, grain, goals)
}

fn fill(t: &Target<'_>, dim: Option<&Dimension>, grain: Option<TimeGrain>, goals: &[Goal]) -> String {
    let dimensions: Vec<Dimension> = dim.cloned().into_iter().chain(grain.map(Dimension::Time)).collect();
    let mut metrics = vec![Metric::Visitors, Metric::Visits, Metric::Pageviews, Metric::Events];
    // Visit metrics (bounces, durations) belong to visits, which goals do not group.
    if dim != Some(&Dimension::Goal) {
        metrics.push(Metric::BounceRate);
    }
    let q = StatsQuery {
        metrics,
        dimensions,
        goals: goals.to_vec(),
        ..StatsQuery::over(t.job.site_id, t.range.0, t.range.1, t.job.local.clone())
    };
    // A visit attribute: from the visits the build grouped once (a quarter of the rows).
    let from_visits = dim.filter(|_| t.job.visits_grouped).and_then(|d| super::visits::cell_parts(t.job, d, t.code));
    let parts = from_visits.unwrap_or_else(|| compile_parts(&q, &[t.range], t.job.whole, &super::sql::DuckDbDialect));
    let value = if dim.is_some() { "d0" } else { "''" };
    format!(
        "INSERT INTO day_cells SELECT {}, {}, {}, {}, {}, {value}, {} FROM ({parts})",
        t.job.site_id,
        t.job.day,
        lit(t.key),
        t.code,
        t.bucket,
        CELL_COLUMNS.join(", ")
    )
}

/// One statement answering `q` from the cells of `days` (UTC day numbers, built and valid) and of
/// `edges` (built, inside the range), plus the raw events of the rest of the range. Same output
/// columns as `sql::compile`.
pub fn compile(q: &StatsQuery, days: &[i64], edges: &[Edge], whole: WholeVisits, d: &dyn Dialect) -> String {
    let n = q.dimensions.len();
    let edge_ranges: Vec<(i64, i64)> = edges.iter().map(Edge::range).collect();
    let raw = joined(
        day_pieces(q.start, q.end, days).into_iter().map(|(_, r)| r).filter(|r| !edge_ranges.contains(r)).collect(),
    );
    let day_runs: Vec<String> = runs(days).iter().map(|(a, b)| format!("day BETWEEN {a} AND {b}")).collect();
    // Cells hold no filter, so every visit counts for the bounce rate.
    let sums_of_parts = CELL_COLUMNS.iter().map(|c| format!("sum({c}) AS {c}, ")).collect::<String>()
        + "sum(sessions) AS bounce_sessions";
    // A filter reads the cells of the values it accepts (the raw parts apply it themselves).
    let only = q.filter.as_ref().map_or_else(String::new, |f| format!(" AND {}", value_filter(f, "value", d)));
    let cells = |key: &str, grain: Option<TimeGrain>, select: &str, group: bool, only: &str| {
        let group_by = if group { " GROUP BY ALL" } else { "" };
        format!(
            "SELECT {select}{sums_of_parts} FROM day_cells WHERE site_id = {} AND dim = {} AND grain = {} AND ({}){only}{group_by}",
            q.site_id,
            lit(key),
            grain_code(grain),
            if day_runs.is_empty() { "false".to_owned() } else { day_runs.join(" OR ") }
        )
    };
    // An edge's cells, with its local date's bucket for any time dimension.
    let edge_cells = |edge: &Edge, key: &str, dims: &[Dimension], only: &str| {
        let moment = edge.local_moment(&q.local);
        let select: String = dims
            .iter()
            .enumerate()
            .map(|(i, dim)| match dim {
                Dimension::Time(g) => {
                    format!("{} AS d{i}, ", super::sql::bucket_sql(*g, &format!("CAST({moment} AS BIGINT)"), d))
                }
                _ => format!("value AS d{i}, "),
            })
            .collect();
        // A constant bucket is no grouping key to DuckDB: without HAVING, no rows would still give one.
        let group_by = if dims.is_empty() { "" } else { " GROUP BY ALL HAVING count(*) > 0" };
        // The cell without a dimension exists even for an empty piece; a time bucket must not.
        let nonempty = if key.is_empty() && !dims.is_empty() { " AND events > 0" } else { "" };
        format!(
            "SELECT {select}{sums_of_parts} FROM day_cells WHERE site_id = {} AND dim = {} AND grain = {} AND day = {} \
             AND bucket = {}{nonempty}{only}{group_by}",
            q.site_id,
            lit(key),
            edge.grain(),
            edge.day,
            edge.split
        )
    };
    let dim_exprs: String = q
        .dimensions
        .iter()
        .enumerate()
        .map(|(i, dim)| match dim {
            Dimension::Time(_) => format!("bucket AS d{i}, "),
            _ => format!("value AS d{i}, "),
        })
        .collect();
    let mut parts = vec![cells(&dim_key(q), time_grain(q), &dim_exprs, n > 0, &only)];
    parts.extend(edges.iter().map(|e| edge_cells(e, &dim_key(q), &q.dimensions, &only)));
    if !raw.is_empty() {
        parts.push(format!("SELECT * FROM ({})", compile_parts(q, &raw, whole, d)));
    }
    // Without a filter, a conversion rate's denominator is every visitor of the range: the same
    // total a percentage divides by.
    let mut totals = Vec::new();
    if q.metrics.contains(&Metric::Percentage) || q.metrics.contains(&Metric::ConversionRate) {
        totals.push(format!("SELECT visitors FROM ({})", cells("", None, "", false, "")));
        totals.extend(edges.iter().map(|e| format!("SELECT visitors FROM ({})", edge_cells(e, "", &[], ""))));
        if !raw.is_empty() {
            totals.push(raw_visitors(q, &raw, whole, d));
        }
    }
    assemble(q, &parts, &totals)
}

/// A total for [`assemble`]: the visitors of the events in `raw` that pass `q`'s filter.
pub(super) fn raw_visitors(q: &StatsQuery, raw: &[(i64, i64)], whole: WholeVisits, d: &dyn Dialect) -> String {
    let all = StatsQuery { dimensions: Vec::new(), metrics: vec![Metric::Visitors], ..q.clone() };
    format!("SELECT visitors FROM ({})", compile_parts(&all, raw, whole, d))
}

/// The statement that sums `parts` (each a `SELECT` of `d…` and [`PART_COLUMNS`] over disjoint
/// sets of whole visits: cells, raw events, visit rows) per group and pages the result. `totals`
/// (each a `SELECT` of one `visitors` column) add up to the denominator of percentages and
/// conversion rates, when the query asks for them.
pub(super) fn assemble(q: &StatsQuery, parts: &[String], totals: &[String]) -> String {
    let n = q.dimensions.len();
    let dim_cols: Vec<String> = (0..n).map(|i| format!("d{i}")).collect();
    let dims: String = dim_cols.iter().map(|c| format!("{c}, ")).collect();
    let sums: Vec<String> = PART_COLUMNS.iter().map(|c| format!("sum({c}) AS {c}")).collect();
    let group = if n > 0 { " GROUP BY ALL" } else { "" };
    // Without visit metrics a plain query has rows only where events are; the cells also hold
    // groups that only visits have (an entry page outside the range's events). Goal cells hold no
    // visits, and a scroll goal's completions are no events: every goal group stays.
    let visit_metrics = q.metrics.iter().any(|m| m.is_session_metric());
    let having = if n > 0 && !visit_metrics && !q.dimensions.contains(&Dimension::Goal) {
        " HAVING coalesce(sum(events), 0) > 0"
    } else {
        ""
    };
    let mut sql = format!(
        "WITH parts AS ({}), agg AS (SELECT {dims}{} FROM parts{group}{having})",
        parts.join(" UNION ALL "),
        sums.join(", ")
    );
    let mut from = "agg".to_owned();
    if !totals.is_empty() {
        let _ = write!(
            sql,
            ", tot AS (SELECT sum(visitors) AS tot_visitors, sum(visitors) AS conv_visitors FROM ({}))",
            totals.join(" UNION ALL ")
        );
        from.push_str(" CROSS JOIN tot");
    }
    super::sql::select_page(&mut sql, q, &from);
    sql
}

/// Sorted ranges with those that touch joined into one: the raw pieces of a year without roll-ups
/// (the previous period of a 12-month view) are one scan instead of 365 in one statement. Visits do
/// not cross a UTC midnight, so the parts of the joined range are those of its pieces together.
fn joined(ranges: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (from, to) in ranges {
        match out.last_mut() {
            Some(last) if last.1 == from => last.1 = to,
            _ => out.push((from, to)),
        }
    }
    out
}

/// Sorted days as inclusive runs of consecutive days.
pub(super) fn runs(days: &[i64]) -> Vec<(i64, i64)> {
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for d in sorted {
        match out.last_mut() {
            Some((_, b)) if *b + 1 == d => *b = d,
            _ => out.push((d, d)),
        }
    }
    out
}

/// `[start, end)` minus the given whole days, cut at UTC midnights: `(day, [from, to))`, sorted.
pub fn day_pieces(start: i64, end: i64, days: &[i64]) -> Vec<(i64, (i64, i64))> {
    raw_ranges(start, end, days)
        .into_iter()
        .flat_map(|(from, to)| {
            (from.div_euclid(DAY)..=(to - 1).div_euclid(DAY))
                .map(move |day| (day, (from.max(day * DAY), to.min((day + 1) * DAY))))
        })
        .collect()
}

/// `[start, end)` minus the given whole days, as sorted disjoint ranges.
pub fn raw_ranges(start: i64, end: i64, days: &[i64]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut at = start;
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    for day in sorted {
        let (a, b) = (day * DAY, (day + 1) * DAY);
        if a > at {
            out.push((at, a.min(end)));
        }
        at = at.max(b);
    }
    if at < end {
        out.push((at, end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_days_and_the_rest() {
        assert_eq!(whole_days(DAY / 2, 3 * DAY), (1, 3));
        assert_eq!(whole_days(DAY, 3 * DAY + 5), (1, 3));
        assert_eq!(whole_days(10, 20), (1, 1), "no whole day");
        assert_eq!(raw_ranges(DAY / 2, 3 * DAY + 5, &[1, 2]), vec![(DAY / 2, DAY), (3 * DAY, 3 * DAY + 5)]);
        assert_eq!(raw_ranges(0, 4 * DAY, &[2, 1]), vec![(0, DAY), (3 * DAY, 4 * DAY)]);
        assert_eq!(raw_ranges(0, 4 * DAY, &[0, 2]), vec![(DAY, 2 * DAY), (3 * DAY, 4 * DAY)]);
        assert_eq!(raw_ranges(DAY, 2 * DAY, &[1]), Vec::<(i64, i64)>::new());
        assert_eq!(runs(&[5, 1, 2, 3, 7, 6]), vec![(1, 3), (5, 7)]);
        assert_eq!(joined(vec![(0, 5), (5, 9), (10, 12), (12, 20)]), vec![(0, 9), (10, 20)]);
        assert_eq!(
            day_pieces(DAY / 2, 4 * DAY + 5, &[2]),
            vec![(0, (DAY / 2, DAY)), (1, (DAY, 2 * DAY)), (3, (3 * DAY, 4 * DAY)), (4, (4 * DAY, 4 * DAY + 5))]
        );
    }

    #[test]
    fn local_midnights_cut_utc_days() {
        // UTC+1, then UTC+2 from 01:00 UTC on day 10 (as Europe's spring change).
        let local = LocalTime { segments: vec![(i64::MIN, 3600), (10 * DAY + 3600, 7200)] };
        assert_eq!(local_midnights(&local, 9), vec![10 * DAY - 3600], "23:00 UTC");
        assert_eq!(local_midnights(&local, 10), vec![11 * DAY - 7200], "22:00 UTC after the change");
        assert_eq!(local_midnights(&LocalTime::utc(), 10), Vec::<i64>::new(), "UTC days have no cut");
        let west = LocalTime { segments: vec![(i64::MIN, -5 * 3600)] };
        assert_eq!(local_midnights(&west, 3), vec![3 * DAY + 5 * 3600]);
    }

    #[test]
    fn pieces_are_edges_only_where_cells_were_cut() {
        let splits = [(HEAD, 10 * DAY - 3600), (TAIL, 10 * DAY - 3600)];
        let s = 10 * DAY - 3600;
        assert_eq!(Edge::of_piece(9, (9 * DAY, s), &splits), Some(Edge { day: 9, split: s, head: true }));
        assert_eq!(Edge::of_piece(9, (s, 10 * DAY), &splits), Some(Edge { day: 9, split: s, head: false }));
        assert_eq!(Edge::of_piece(9, (9 * DAY, s - 1), &splits), None, "not a cut");
        assert_eq!(Edge::of_piece(9, (9 * DAY + 1, s), &splits), None, "not from the day's start");
        assert_eq!(Edge::of_piece(9, (9 * DAY, s), &[(TAIL, s)]), None, "only the tail was built");
        assert_eq!(Edge { day: 9, split: s, head: true }.range(), (9 * DAY, s));
    }

    fn leaf(op: FilterOp, field: VisitField, values: &[&str], case_sensitive: bool) -> Filter {
        let values = values.iter().map(|v| (*v).to_owned()).collect();
        Filter::Leaf { op, dimension: Dimension::Visit(field), values, case_sensitive }
    }

    #[test]
    fn cells_apply_filters_on_one_visit_field_as_groups() {
        let q = |dims: Vec<Dimension>, filter: Filter| StatsQuery {
            dimensions: dims,
            filter: Some(filter),
            ..StatsQuery::over(1, 0, DAY, LocalTime::utc())
        };
        let google = leaf(FilterOp::Is, VisitField::Source, &["Google"], true);
        let day = Dimension::Time(TimeGrain::Day);
        assert!(eligible(&q(vec![], google.clone())), "one value, no breakdown");
        assert!(eligible(&q(vec![day.clone()], google.clone())), "daily series");
        assert!(!eligible(&q(vec![Dimension::Time(TimeGrain::Week)], google.clone())), "no weekly cells per field");
        assert!(!eligible(&q(vec![Dimension::Page], google.clone())), "no cells of two fields");
        let either = leaf(FilterOp::Is, VisitField::Source, &["Google", "Bing"], true);
        assert!(!eligible(&q(vec![], either.clone())), "visitors do not add up across values");
        assert!(eligible(&q(vec![Dimension::Visit(VisitField::Source)], either)), "but groups are kept apart");
        let any_case = leaf(FilterOp::Is, VisitField::Source, &["google"], false);
        assert!(!eligible(&q(vec![], any_case)));
        let known = leaf(FilterOp::IsNot, VisitField::Country, &[""], true);
        assert!(eligible(&q(vec![Dimension::Visit(VisitField::Country)], known.clone())));
        assert!(!eligible(&q(vec![Dimension::Visit(VisitField::Source)], known)), "filter on another field");
        // Events before a visit's first pageview have no entry page yet.
        let entry = Dimension::Visit(VisitField::EntryPage);
        assert!(eligible(&q(vec![entry.clone()], leaf(FilterOp::IsNot, VisitField::EntryPage, &[""], true))));
        assert!(!eligible(&q(vec![entry.clone()], leaf(FilterOp::Is, VisitField::EntryPage, &["", "/"], true))));
        assert!(!eligible(&q(vec![entry], leaf(FilterOp::Matches, VisitField::EntryPage, &["^/"], true))));
        assert!(eligible(&q(vec![], leaf(FilterOp::Is, VisitField::ExitPage, &["/"], true))), "exit page");

        let sql = compile(
            &q(vec![day], google),
            &[0],
            &[],
            WholeVisits { since: 0, now: DAY },
            &super::super::sql::DuckDbDialect,
        );
        assert!(sql.contains("dim = 'visit:source'") && sql.contains("value IN ('Google')"), "{sql}");
    }

    #[test]
    fn signatures_follow_offset_changes_within_the_day() {
        let local = LocalTime { segments: vec![(i64::MIN, 3600), (10 * DAY + 3600, 7200)] };
        assert_eq!(day_signature(&local, 9), format!("v{CELLS_VERSION} 3600"));
        assert_eq!(day_signature(&local, 10), format!("v{CELLS_VERSION} 3600 {}:7200", 10 * DAY + 3600));
        assert_eq!(day_signature(&local, 11), format!("v{CELLS_VERSION} 7200"));
        assert_eq!(day_signature(&LocalTime::utc(), 11), format!("v{CELLS_VERSION} 0"));
    }
}
