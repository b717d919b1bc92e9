//! Compiles a [`StatsQuery`] to one SQL statement over the `events` table.
//!
//! Written for any SQL engine with window functions, `count(DISTINCT …)` and regular expressions;
//! what differs between engines sits behind [`Dialect`] (DuckDB now, ClickHouse later). Values are
//! embedded as escaped literals: a query has a variable number of them, all already validated.
//!
//! The statement computes, per group of dimension values (see `tillit_core::stats::reference` for
//! the definitions the result must equal):
//! - `m`: the range's non-engagement events that pass the filter → visitors, visits, pageviews,
//!   events;
//! - `sess`: every visit with at least one event in `m`, summarised from all of its events in the
//!   range → bounce rate, visit duration, views per visit (grouped by the visit's own values: entry
//!   page for `event:page`, the bucket of its first event for time);
//! - `eng`: engagement events that pass the filter → time on page, scroll depth;
//! - denominators for percentage and conversion rates.
//!
//! Sides are joined on the dimension values, ordered and paginated in SQL.
//!
//! Visit metrics of whole visits: where a span of the range holds every event of each of its
//! visits (see [`WholeVisits`]), `sess` is not grouped by visit at all: each event carries what it
//! added to its visit's count, bounce and duration (`tillit_store::record::VisitDelta`), and their
//! sums per group are the visit metrics. Grouping millions of events by visit was the largest cost
//! of a query over today.

use std::fmt::Write;

use crate::query::{
    Dimension, Direction, Filter, FilterOp, FunnelQuery, Goal, GoalKind, LocalTime, Metric, OrderKey, StatsQuery,
    TimeGrain, VisitField, bounce_entry_condition, goal_name_selected,
};

/// What differs between SQL engines.
pub trait Dialect {
    /// Start (local seconds) of the month containing the local second `expr`.
    fn month_start(&self, expr: &str) -> String;
    /// True when `expr` matches `regex` anywhere (RE2 syntax).
    fn regex_matches(&self, expr: &str, regex: &str) -> String;
    /// The value of property `key`, or `(none)`.
    fn prop_value(&self, key: &str) -> String;
    /// True when the event has property `key`.
    fn prop_present(&self, key: &str) -> String;
    /// What follows a CTE's name for a CTE that must be read again wherever it is referenced
    /// rather than stored once: the events a statement reads are cheaper to scan twice than to
    /// hold (see `Compiler::prelude`).
    fn inlined(&self) -> &'static str;
    /// A join clause keeping the rows whose `key` is (`keep`) or is not (`!keep`) among `table`'s:
    /// a hash semi or anti join. `NOT IN` and `NOT EXISTS` over a subquery were 1.2× and 5× slower
    /// in DuckDB (null-aware mark joins over every event).
    fn key_join(&self, keep: bool, table: &str, key: &str) -> String;
}

pub struct DuckDbDialect;

impl Dialect for DuckDbDialect {
    fn month_start(&self, expr: &str) -> String {
        format!("epoch(date_trunc('month', make_timestamp(({expr}) * 1000000)))::BIGINT")
    }

    fn regex_matches(&self, expr: &str, regex: &str) -> String {
        format!("regexp_matches({expr}, {})", lit(regex))
    }

    fn prop_value(&self, key: &str) -> String {
        format!("coalesce(prop_values[list_position(prop_keys, {})], '(none)')", lit(key))
    }

    fn prop_present(&self, key: &str) -> String {
        format!("list_contains(prop_keys, {})", lit(key))
    }

    fn inlined(&self) -> &'static str {
        "AS NOT MATERIALIZED"
    }

    fn key_join(&self, keep: bool, table: &str, key: &str) -> String {
        format!(" {} JOIN {table} USING ({key})", if keep { "SEMI" } else { "ANTI" })
    }
}

/// A SQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

const DAY: i64 = 86_400;

/// A stretch of raw events a statement reads, `[from, to)` in UTC seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub from: i64,
    pub to: i64,
    /// Every visit with an event here has all its events here, and they carry visit deltas.
    pub whole: bool,
    /// Whole UTC days whose visit rows (`events::visits`) stand for their visits: the visit side
    /// reads those rows instead of grouping the span's events by visit.
    pub built: bool,
    /// Read from the days' copies of their events with properties (`events::props`) instead of
    /// their events: everything read of the span passes a filter that needs a property.
    pub copied: bool,
}

/// Which stretches of raw events hold whole visits with deltas. No visit spans a UTC midnight, so
/// every visit in `[from, to)` is whole when `from` is a UTC midnight and `to` is one too, or lies
/// after `now` (no event is later than now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WholeVisits {
    /// The first UTC second whose events carry deltas (a UTC midnight; 0 for a store created with
    /// them, the day after the upgrade for an older one).
    pub since: i64,
    /// Now, read after the snapshot the statement runs in was taken.
    pub now: i64,
}

impl WholeVisits {
    /// `[from, to)` cut at the UTC midnights that separate whole stretches from the rest.
    pub fn spans(&self, from: i64, to: i64) -> Vec<Span> {
        // The first UTC midnight in the range whose events carry deltas, and where whole visits end.
        let first = ((from + DAY - 1).div_euclid(DAY) * DAY).max(self.since);
        let last = if to > self.now { to } else { to.div_euclid(DAY) * DAY };
        let mut out = Vec::new();
        let mut push = |from: i64, to: i64, whole: bool| {
            if from < to {
                out.push(Span { from, to, whole, built: false, copied: false });
            }
        };
        if first < last {
            push(from, first, false);
            push(first, last, true);
            push(last, to, false);
        } else {
            push(from, to, false);
        }
        out
    }
}

/// The statement: columns `d0…` (dimensions), `m0…` (metrics), then `total_rows`.
pub fn compile(q: &StatsQuery, whole: WholeVisits, d: &dyn Dialect) -> String {
    let c = Compiler::new(q, d, &[(q.start, q.end)], whole);
    c.statement()
}

/// Whether the visit side of `q` can read visit rows for built days (see
/// [`Shortcuts::days`]): it has visit metrics, groups by nothing but attributes fixed at a
/// visit's start, its entry page, or the page (which the visit side reads as the entry page), and
/// reads nothing of a visit's last event.
pub fn visit_rows_serve(q: &StatsQuery) -> bool {
    let dims_ok = q.dimensions.iter().all(|d| match d {
        Dimension::Page => true,
        Dimension::Visit(f) => f.fixed_at_start() || *f == VisitField::EntryPage,
        _ => false,
    });
    let c = Compiler::bare(q, &DuckDbDialect);
    dims_ok && q.metrics.iter().any(|m| m.is_session_metric()) && !c.needs_visit_ends()
}

/// What a statement of [`compile_with`] reads from elsewhere instead of counting it from the
/// range's events.
#[derive(Debug, Default)]
pub struct Shortcuts {
    /// Built whole UTC days, read through what their build left: the visit side from their visit
    /// rows (the visits with an event that passes the filter are a semi-join of those rows on the
    /// matching events' visits, instead of a grouping of the days' events by visit), and with
    /// `marked_visitors` the visitors from the events' first-event marks. The events of the days
    /// still give the rest of the event side. Only for queries [`visit_rows_serve`] accepts or
    /// that have marked visitors.
    pub days: Vec<i64>,
    /// `firsts::built_day_visitors`.
    pub marked_visitors: Option<String>,
    /// A statement answering `StatsQuery::conversion_denominator`: its `m0` is what the
    /// conversion rate divides by.
    pub conv_visitors: Option<String>,
    /// Built whole UTC days whose events with properties are copied (`events::props`), read
    /// from the copies where [`copies_serve`] accepts `q` and nothing else reads the days' events.
    pub copied_days: Vec<i64>,
}

/// Whether a statement of [`compile_with`] for `q` reads events only through its filter, and the
/// filter passes only events with properties (`Filter::requires_props`): then the copies of built
/// days' events with properties serve for them, for the visit side too where visit rows serve it
/// (see [`Shortcuts::copied_days`]). Not when something reads events under another filter: the
/// last event of a visit, exit rates, or conversion rates whose denominator is not a statement of
/// its own (`conversion_apart`).
pub fn copies_serve(q: &StatsQuery, conversion_apart: bool) -> bool {
    let c = Compiler::bare(q, &DuckDbDialect);
    q.filter.as_ref().is_some_and(Filter::requires_props)
        && !c.needs_visit_ends()
        && !q.metrics.iter().any(|m| match m {
            Metric::ExitRate | Metric::GroupConversionRate => true,
            Metric::ConversionRate => !conversion_apart,
            _ => false,
        })
}

/// `spans` cut at the edges of `days` (UTC day numbers), `mark` applied to the pieces within them
/// for which `applies` holds.
fn cut_at_days(
    spans: Vec<Span>,
    days: &[i64],
    applies: impl Fn(&Span) -> bool,
    mark: impl Fn(Span) -> Span,
) -> Vec<Span> {
    let mut out = Vec::new();
    for s in spans {
        if !applies(&s) {
            out.push(s);
            continue;
        }
        let mut at = s.from;
        for (a, b) in super::rollup::runs(days) {
            let (from, to) = ((a * DAY).max(at), ((b + 1) * DAY).min(s.to));
            if from < to {
                if at < from {
                    out.push(Span { from: at, to: from, ..s });
                }
                out.push(mark(Span { from, to, ..s }));
                at = to;
            }
        }
        if at < s.to {
            out.push(Span { from: at, ..s });
        }
    }
    out
}

/// [`compile`], with what `shortcuts` reads elsewhere.
pub fn compile_with(q: &StatsQuery, whole: WholeVisits, shortcuts: Shortcuts, d: &dyn Dialect) -> String {
    let Shortcuts { days, marked_visitors, conv_visitors, copied_days } = shortcuts;
    let mut c = Compiler::new(q, d, &[(q.start, q.end)], whole);
    let spans = cut_at_days(c.spans, &days, |_| true, |s| Span { built: true, ..s });
    // Without visit metrics only the filter reads events; with them, the visit side reads every
    // event of a visit unless visit rows stand for it.
    let session = q.metrics.iter().any(|m| m.is_session_metric());
    let copied = if copies_serve(q, conv_visitors.is_some()) { copied_days } else { Vec::new() };
    c.spans = cut_at_days(spans, &copied, |s| s.built || !session, |s| Span { copied: true, ..s });
    c.marked_visitors = marked_visitors;
    c.conv_visitors = conv_visitors;
    c.statement()
}

/// The additive parts of the metrics a day roll-up can serve, per group of `q`'s dimensions, over
/// the events in `ranges` (each `[from, to)`, UTC seconds; `q.start`/`q.end` are ignored). Columns:
/// `d0…`, then [`PART_COLUMNS`], NULL where `q.metrics` does not need one (`events` is always
/// there). Summed over disjoint sets of whole visits, these give the same metrics as one query over
/// their union (see `rollup`). A filter applies, with the bounce rate's entry-page rule under a
/// page filter (`bounce_sessions`).
pub fn compile_parts(q: &StatsQuery, ranges: &[(i64, i64)], whole: WholeVisits, d: &dyn Dialect) -> String {
    let q = StatsQuery { order_by: Vec::new(), ..q.clone() };
    let c = Compiler::new(&q, d, ranges, whole);
    let (mut sql, from) = c.body();
    let n = q.dimensions.len();
    let needs_visitors =
        q.metrics.iter().any(|m| matches!(m, Metric::Visitors | Metric::Percentage | Metric::ConversionRate));
    let session = q.metrics.iter().any(|m| m.is_session_metric());
    let present = [
        needs_visitors,
        c.has(Metric::Visits),
        c.has(Metric::Pageviews),
        true,
        session,
        session,
        session,
        session,
        session,
    ];
    let cols: Vec<String> = PART_COLUMNS
        .iter()
        .zip(present)
        .map(|(col, here)| if here { (*col).to_owned() } else { format!("NULL::BIGINT AS {col}") })
        .collect();
    let dims: String = (0..n).map(|i| format!("d{i}, ")).collect();
    let _ = write!(sql, " SELECT {dims}{} FROM {from}", cols.join(", "));
    sql
}

/// The summable columns of [`compile_parts`], in order. `bounce_sessions` are the visits the bounce
/// rate divides by: every visit (`sessions`), but under a filter on pages only those that entered
/// on a page it accepts (Plausible's rule); the day cells hold every column before it
/// ([`CELL_COLUMNS`]), as they are built without a filter.
pub const PART_COLUMNS: [&str; 9] =
    ["visitors", "visits", "pageviews", "events", "sessions", "bounces", "dur_sum", "pv_sum", "bounce_sessions"];

/// The [`PART_COLUMNS`] a day cell stores: all but `bounce_sessions`, which is `sessions` there.
pub const CELL_COLUMNS: [&str; 8] =
    ["visitors", "visits", "pageviews", "events", "sessions", "bounces", "dur_sum", "pv_sum"];

struct Compiler<'a> {
    q: &'a StatsQuery,
    d: &'a dyn Dialect,
    /// What to read (`q.start..q.end`, or the ranges of a parts statement).
    spans: Vec<Span>,
    /// How the matching events (tagged `built`, with their `marks`) count visitors, when the
    /// first-event marks of built days count them (`firsts::built_day_visitors`).
    marked_visitors: Option<String>,
    /// A statement whose `m0` is the conversion rate's denominator ([`Shortcuts::conv_visitors`]).
    conv_visitors: Option<String>,
}

impl<'a> Compiler<'a> {
    /// Reads `ranges`, split into whole and cut spans only when the deltas would serve `q`.
    fn new(q: &'a StatsQuery, d: &'a dyn Dialect, ranges: &[(i64, i64)], whole: WholeVisits) -> Compiler<'a> {
        let spans = if uses_deltas(q) {
            ranges.iter().flat_map(|(a, b)| whole.spans(*a, *b)).collect()
        } else {
            ranges.iter().map(|(a, b)| Span { from: *a, to: *b, whole: false, built: false, copied: false }).collect()
        };
        Compiler { q, d, spans, marked_visitors: None, conv_visitors: None }
    }

    /// A compiler for conditions and expressions, reading nothing.
    fn bare(q: &'a StatsQuery, d: &'a dyn Dialect) -> Compiler<'a> {
        Compiler { q, d, spans: Vec::new(), marked_visitors: None, conv_visitors: None }
    }

    /// Whether anything reads a value of the visit's first or last event (exit page, entry and
    /// exit hosts), which the prelude joins to every event.
    fn needs_visit_ends(&self) -> bool {
        self.needs_exit() || self.needs_entry_host()
    }

    /// Whether a dimension or the filter is on one of `fields`.
    fn uses_any(&self, fields: &[VisitField]) -> bool {
        let on = |d: &Dimension| matches!(d, Dimension::Visit(v) if fields.contains(v));
        let mut needed = self.q.dimensions.iter().any(on);
        if let Some(f) = &self.q.filter {
            f.dimensions(&mut |dim| needed |= on(dim));
        }
        needed
    }

    /// The exit page or host: from each visit's last pageview.
    fn needs_exit(&self) -> bool {
        self.uses_any(&[VisitField::ExitPage, VisitField::ExitPageHostname])
    }

    /// The entry host: from each visit's first event.
    fn needs_entry_host(&self) -> bool {
        self.uses_any(&[VisitField::EntryPageHostname])
    }

    /// The bounce rate's entry-page rule, as a condition on a visit's `entry_page` (see
    /// [`bounce_entry_condition`]).
    fn bounce_rule(&self) -> Option<String> {
        bounce_entry_condition(self.q.filter.as_ref()).map(|c| self.filter(&c))
    }

    fn has(&self, m: Metric) -> bool {
        self.q.metrics.contains(&m)
    }

    fn has_goal_dim(&self) -> bool {
        self.q.dimensions.contains(&Dimension::Goal)
    }

    /// The condition on an event (of the visit side) that its visit qualifies: it has an event
    /// that passes the filter. Conditions that hold per visit are tested on the event itself, which
    /// also narrows the lookup of visits with a matching event when the rest needs one; without a
    /// filter, every visit qualifies. When some spans are built, their visits are read from visit
    /// rows ([`Self::qualifying_rows`]); a visit lies in one UTC day, so the matching events of the
    /// others are among the events not built, and looking up only those keeps the lookup small.
    fn qualifying_visits(&self) -> String {
        let Some(filter) = &self.q.filter else { return String::new() };
        let (per_visit, rest) = filter.split_per_visit();
        let mut out = per_visit.map_or_else(String::new, |f| format!(" AND {}", self.filter(&f)));
        if rest.is_some() {
            let side = if self.rows_apply() { " WHERE NOT built" } else { "" };
            let _ = write!(out, " AND session_id IN (SELECT session_id FROM m{side})");
        }
        out
    }

    /// [`Self::qualifying_visits`] for the visit rows of built days, as `(source, condition)`: the
    /// rows to read, and the condition on them. The lookup of visits with a matching event is a
    /// join of their distinct ids with the rows, written in that order. As `IN (…)`, or with the
    /// rows first, DuckDB built its hash table from the visit rows (2.4 M for 28 days at 10 M
    /// events) rather than from the few matching visits; this way it builds from those and skips
    /// the rows outside their range of ids: 150 → 58 ms under a property filter.
    fn qualifying_rows(&self) -> (String, String) {
        let Some(filter) = &self.q.filter else { return ("day_visits".into(), String::new()) };
        let (per_visit, rest) = filter.split_per_visit();
        let condition = per_visit.map_or_else(String::new, |f| format!(" AND {}", self.filter(&f)));
        let source = if rest.is_some() {
            "(SELECT DISTINCT session_id FROM m WHERE built) matching JOIN day_visits USING (session_id)"
        } else {
            "day_visits"
        };
        (source.to_owned(), condition)
    }

    /// Whether visit metrics come from the deltas of whole spans (see [`uses_deltas`]) that are
    /// not read from visit rows.
    fn deltas_apply(&self) -> bool {
        self.spans.iter().any(|s| s.whole && !s.built)
    }

    /// Whether some spans are read from visit rows (see [`Shortcuts::days`]).
    fn rows_apply(&self) -> bool {
        self.spans.iter().any(|s| s.built)
    }

    /// The count of distinct visitors among matching events: by the marks of built days' events
    /// where they serve, else distinctly.
    fn visitors(&self) -> &str {
        match &self.marked_visitors {
            Some(marked) if self.rows_apply() => marked,
            _ => "count(DISTINCT visitor_id)",
        }
    }

    /// Local time in seconds, from the offset segments.
    fn local_ts(&self) -> String {
        local_seconds(&self.q.local, "ts")
    }

    /// The bucket of a row (`ts`, `lts`: its UTC and local seconds; SQL expressions).
    fn bucket(&self, grain: TimeGrain, ts: &str, l: &str) -> String {
        if grain == TimeGrain::Hour { self.hour_start(ts) } else { bucket_sql(grain, l, self.d) }
    }

    /// `LocalTime::hour_start` in SQL: the start of the row's local day (from the day starts
    /// around the range, newest first), then whole hours from it.
    fn hour_start(&self, ts: &str) -> String {
        let local = &self.q.local;
        let first = local.local(self.q.start).div_euclid(DAY) - 1;
        let last = local.local(self.q.end).div_euclid(DAY) + 1;
        let mut day = String::from("(CASE");
        for d in (first + 1..=last).rev() {
            let start = local.day_start(d);
            let _ = write!(day, " WHEN {ts} >= {start} THEN {start}");
        }
        let _ = write!(day, " ELSE {} END)", local.day_start(first));
        format!("({day} + ({ts} - {day}) // 3600 * 3600)")
    }

    /// The value of a dimension for one event row (`Goal` is attached by `goal_rows`).
    fn event_dim(&self, dim: &Dimension) -> String {
        match dim {
            Dimension::Page => "pathname".into(),
            Dimension::Hostname => "hostname".into(),
            Dimension::Name => "name".into(),
            Dimension::Goal => "goal".into(),
            Dimension::Prop(key) => self.d.prop_value(key),
            Dimension::Visit(f) => visit_expr(*f),
            Dimension::Time(g) => self.bucket(*g, "ts", "lts"),
        }
    }

    /// What a side groups a dimension by: its value, except that countries are grouped by code
    /// and named once per group at the end (see [`Compiler::named`]): naming every event took
    /// more time than the rest of a country breakdown.
    fn group_dim(&self, dim: &Dimension) -> String {
        match dim {
            Dimension::Visit(VisitField::CountryName) => "country".into(),
            other => self.event_dim(other),
        }
    }

    /// `from` with the values of grouped-by-code dimensions replaced by their names. Names and
    /// codes correspond one to one, so the groups stay the same.
    fn named(&self, from: String) -> String {
        let names: Vec<String> = self
            .q
            .dimensions
            .iter()
            .enumerate()
            .filter(|(_, d)| **d == Dimension::Visit(VisitField::CountryName))
            .map(|(i, _)| format!("{} AS d{i}", country_name(&format!("d{i}"))))
            .collect();
        if names.is_empty() { from } else { format!("(SELECT * REPLACE ({}) FROM {from}) named", names.join(", ")) }
    }

    /// The value of a dimension for a visit, in the `sess` summary.
    fn session_dim(&self, dim: &Dimension) -> String {
        match dim {
            Dimension::Visit(VisitField::CountryName) => "max(country)".into(),
            // The greatest value, so a visit whose entry page was filled in late still has one.
            Dimension::Page => "max(entry_page)".into(),
            Dimension::Time(g) => self.bucket(*g, "min(ts)", "arg_min(lts, ts)"),
            Dimension::Visit(f) => format!("max({})", visit_expr(*f)),
            // Rejected before a query gets here (session metrics with event-only dimensions).
            other => format!("max({})", self.event_dim(other)),
        }
    }

    fn goal_condition(&self, kind: &GoalKind) -> String {
        match kind {
            GoalKind::Event(name) => format!("name = {}", lit(name)),
            GoalKind::Page(regex) => {
                format!("(name = 'pageview' AND {})", self.d.regex_matches("pathname", regex))
            }
            GoalKind::Scroll { page, threshold } => format!(
                "(name = 'engagement' AND scroll_depth BETWEEN {threshold} AND 100 AND {})",
                self.d.regex_matches("pathname", page)
            ),
        }
    }

    /// The condition on `name` of the events a query counts: not engagement events, unless they
    /// complete one of `scroll` (the scroll goals in play).
    fn countable(&self, scroll: &[&Goal]) -> String {
        if scroll.is_empty() {
            return "name <> 'engagement'".into();
        }
        let conds: Vec<String> = scroll.iter().map(|g| self.goal_condition(&g.kind)).collect();
        format!("(name <> 'engagement' OR {})", conds.join(" OR "))
    }

    fn text_leaf(&self, expr: &str, op: FilterOp, values: &[String], case_sensitive: bool) -> String {
        text_leaf(self.d, expr, op, values, case_sensitive)
    }

    fn filter(&self, f: &Filter) -> String {
        match f {
            Filter::And(v) if v.is_empty() => "true".into(),
            Filter::Or(v) if v.is_empty() => "false".into(),
            Filter::And(v) => format!("({})", v.iter().map(|c| self.filter(c)).collect::<Vec<_>>().join(" AND ")),
            Filter::Or(v) => format!("({})", v.iter().map(|c| self.filter(c)).collect::<Vec<_>>().join(" OR ")),
            Filter::Not(c) => format!("(NOT {})", self.filter(c)),
            Filter::Leaf { op, dimension: Dimension::Goal, values, case_sensitive } => {
                // Which goals the leaf selects is known now; the row must match one of them.
                let selected: Vec<String> = self
                    .q
                    .goals
                    .iter()
                    .filter(|g| goal_name_selected(*op, &g.name, values, *case_sensitive))
                    .map(|g| self.goal_condition(&g.kind))
                    .collect();
                let any = if selected.is_empty() { "false".to_owned() } else { format!("({})", selected.join(" OR ")) };
                if op.is_negated() { format!("(NOT {any})") } else { any }
            }
            Filter::Leaf { op, dimension: Dimension::Prop(key), values, case_sensitive } => {
                // A missing property is the value `(none)` to `is` and `is_not`, and matches no
                // other operator, negated or not (as the reference has it).
                let present = self.d.prop_present(key);
                let value = self.d.prop_value(key);
                let positive = self.text_leaf(&value, op.positive(), values, *case_sensitive);
                let none_listed = values.iter().any(|v| v == "(none)");
                match op {
                    FilterOp::Is => format!("(({present} AND {positive}) OR ({none_listed} AND NOT {present}))"),
                    FilterOp::IsNot => {
                        format!("(({present} AND NOT {positive}) OR (NOT {none_listed} AND NOT {present}))")
                    }
                    _ if op.is_negated() => format!("({present} AND NOT {positive})"),
                    _ => format!("({present} AND {positive})"),
                }
            }
            Filter::Leaf { op, dimension, values, case_sensitive } => {
                self.text_leaf(&self.event_dim(dimension), *op, values, *case_sensitive)
            }
        }
    }

    fn dims_select(&self, exprs: &[String]) -> String {
        exprs.iter().enumerate().map(|(i, e)| format!("{e} AS d{i}, ")).collect()
    }

    fn group_by(&self, n: usize) -> String {
        if n == 0 {
            String::new()
        } else {
            format!(" GROUP BY {}", (0..n).map(|i| format!("d{i}")).collect::<Vec<_>>().join(", "))
        }
    }

    /// Rows of `source` with a `goal` column: one copy per goal the row completes.
    fn goal_rows(&self, source: &str) -> String {
        let parts: Vec<String> = self
            .q
            .goals
            .iter()
            .map(|g| format!("SELECT *, {} AS goal FROM {source} WHERE {}", lit(&g.name), self.goal_condition(&g.kind)))
            .collect();
        if parts.is_empty() {
            format!("SELECT *, '' AS goal FROM {source} WHERE false")
        } else {
            parts.join(" UNION ALL ")
        }
    }

    /// The stored columns the statement reads. Naming them (rather than `*`) keeps DuckDB from
    /// carrying all 34 columns through CTEs that are read more than once.
    fn columns(&self) -> Vec<&'static str> {
        let mut cols = vec!["ts", "name", "pathname", "visitor_id", "session_id", "interactive"];
        let mut add = |dim: &Dimension| match dim {
            Dimension::Hostname => cols.push("hostname"),
            Dimension::Prop(_) => cols.extend(["prop_keys", "prop_values"]),
            Dimension::Visit(f) => cols.extend(f.columns()),
            // The session side groups `event:page` by entry page.
            Dimension::Page => cols.push("entry_page"),
            _ => {}
        };
        self.q.dimensions.iter().for_each(&mut add);
        if let Some(f) = &self.q.filter {
            f.dimensions(&mut add);
        }
        if self.has(Metric::TimeOnPage) || self.has(Metric::ScrollDepth) {
            cols.extend(["scroll_depth", "engagement_ms"]);
        }
        if self.q.goals.iter().any(|g| g.kind.is_scroll()) {
            cols.push("scroll_depth");
        }
        if self.q.metrics.contains(&Metric::BounceRate) && self.bounce_rule().is_some() {
            cols.push("entry_page");
        }
        if self.needs_visit_ends() {
            cols.extend(["hostname", "bounce_delta"]);
        }
        if self.marked_visitors.is_some() && self.rows_apply() {
            cols.push("marks");
        }
        if self.deltas_apply() {
            cols.extend(["bounce_delta", "duration_delta"]);
        }
        cols.sort_unstable();
        cols.dedup();
        cols
    }

    /// `WITH ev0 …, ev AS (…)`: the site's events in the range with their local time (and exit
    /// page, when something needs it).
    fn prelude(&self) -> String {
        let q = self.q;
        // One scan per span: a disjunction of ranges would keep DuckDB from skipping row groups
        // by their min/max `ts`, and it would read the whole table.
        let (tagged, columns, lts) = (self.deltas_apply(), self.columns().join(", "), self.local_ts());
        let rows = self.rows_apply();
        let select = |s: &Span| {
            let mut tag = if tagged { format!(", {} AS whole", s.whole && !s.built) } else { String::new() };
            if rows {
                let _ = write!(tag, ", {} AS built", s.built);
            }
            let table = if s.copied { "day_prop_events" } else { "events" };
            format!("SELECT {columns}, {lts} AS lts{tag} FROM {table} WHERE site_id = {}", q.site_id)
        };
        let scans: Vec<String> = if self.spans.is_empty() {
            vec![format!("{} AND false", select(&Span { from: 0, to: 0, whole: false, built: false, copied: false }))]
        } else {
            self.spans.iter().map(|s| format!("{} AND ts >= {} AND ts < {}", select(s), s.from, s.to)).collect()
        };
        // DuckDB would store a CTE read more than once; for the range's events (up to millions of
        // rows) that meant spilling under the memory limit: a filtered statement took 3.5–5.5 s
        // instead of 0.8 s.
        let inlined = self.d.inlined();
        let mut sql = format!("WITH ev0 {inlined} ({})", scans.join(" UNION ALL "));
        if self.needs_visit_ends() {
            // Exit page and host: those of the visit's last pageview (the greatest on a tie);
            // entry host: that of its first event, the one whose visit delta starts the visit (or
            // the earliest, for days stored before deltas), as the reference has them. Each only
            // where something reads it: every one groups all the range's events by visit.
            let (mut columns, mut joins) = (String::new(), String::new());
            if self.needs_exit() {
                sql.push_str(
                    ", lastpv AS (SELECT session_id, max(ts) AS mts FROM ev0 WHERE name = 'pageview' GROUP BY session_id)\
                     , ex AS (SELECT e.session_id, max(e.pathname) AS exit_page, max(e.hostname) AS exit_hostname \
                       FROM ev0 e JOIN lastpv l ON e.session_id = l.session_id AND e.ts = l.mts \
                       WHERE e.name = 'pageview' GROUP BY e.session_id)",
                );
                columns.push_str(
                    ", coalesce(ex.exit_page, '') AS exit_page, coalesce(ex.exit_hostname, '') AS exit_hostname",
                );
                joins.push_str(" LEFT JOIN ex USING (session_id)");
            }
            if self.needs_entry_host() {
                sql.push_str(
                    ", firstev AS (SELECT session_id, min(ts) AS fts, bool_or(coalesce(bounce_delta, 0) = 1) AS has_start \
                       FROM ev0 WHERE name <> 'engagement' GROUP BY session_id)\
                     , en AS (SELECT e.session_id, min(e.hostname) AS entry_hostname FROM ev0 e JOIN firstev f \
                       ON e.session_id = f.session_id \
                       AND CASE WHEN f.has_start THEN coalesce(e.bounce_delta, 0) = 1 ELSE e.ts = f.fts END \
                       WHERE e.name <> 'engagement' GROUP BY e.session_id)",
                );
                columns.push_str(", coalesce(en.entry_hostname, '') AS entry_hostname");
                joins.push_str(" LEFT JOIN en USING (session_id)");
            }
            let _ = write!(sql, ", ev {inlined} (SELECT ev0.*{columns} FROM ev0{joins})");
        } else {
            let _ = write!(sql, ", ev {inlined} (SELECT * FROM ev0)");
        }
        sql
    }

    fn statement(&self) -> String {
        let (mut sql, from) = self.body();
        select_page(&mut sql, self.q, &from);
        sql
    }

    /// The CTEs and the `FROM` clause joining every side on the dimension values.
    fn body(&self) -> (String, String) {
        let q = self.q;
        let n = q.dimensions.len();
        let filter = q.filter.as_ref().map_or_else(|| "true".to_owned(), |f| self.filter(f));
        let mut sql = self.prelude();
        let scroll = q.scroll_goals_in_play();
        let _ = write!(sql, ", m AS (SELECT * FROM ev WHERE {} AND {filter})", self.countable(&scroll));
        let event_source = if self.has_goal_dim() {
            let _ = write!(sql, ", mg AS ({})", self.goal_rows("m"));
            "mg"
        } else {
            "m"
        };
        let event_dims: Vec<String> = q.dimensions.iter().map(|d| self.group_dim(d)).collect();

        // Event side. Distinct counts are the expensive part: only those the metrics need.
        let needs_visitors = q.metrics.iter().any(|m| {
            matches!(m, Metric::Visitors | Metric::Percentage | Metric::ConversionRate | Metric::GroupConversionRate)
        });
        let session_metrics = q.metrics.iter().any(|m| m.is_session_metric());
        let deltas = self.deltas_apply();
        let cut_any = self.spans.iter().any(|s| !s.whole && !s.built);
        // Grouped by nothing or by visit attributes every event of a visit carries alike, the
        // visits with a matching event are exactly the visit side's rows: count them there instead
        // of a second distinct count. Not by entry page: a visit that started with a custom event
        // has events without one, in the empty group, which the visit side (grouped by the visit's
        // entry page) does not count.
        let visits_from_sessions = session_metrics
            && q.dimensions.iter().all(|d| matches!(d, Dimension::Visit(f) if *f != VisitField::EntryPage));
        // Scroll-goal completions are engagement events: they make visitors, not events.
        let mut aggs = vec![if scroll.is_empty() {
            "count(*) AS events".to_owned()
        } else {
            "count(*) FILTER (WHERE name <> 'engagement') AS events".to_owned()
        }];
        if needs_visitors {
            aggs.push(format!("{} AS visitors", self.visitors()));
        }
        if self.has(Metric::Visits) && !visits_from_sessions {
            if deltas && q.filter.as_ref().is_none_or(Filter::is_per_visit) {
                // Every event of a group's visits is in the group: whole spans count their starts.
                aggs.push(
                    "count(*) FILTER (WHERE whole AND bounce_delta = 1) \
                     + count(DISTINCT session_id) FILTER (WHERE NOT whole) AS visits"
                        .into(),
                );
            } else {
                aggs.push("count(DISTINCT session_id) AS visits".into());
            }
        }
        if self.has(Metric::Pageviews) {
            aggs.push("count(*) FILTER (WHERE name = 'pageview') AS pageviews".into());
        }
        let _ = write!(
            sql,
            ", e_agg AS (SELECT {}{} FROM {event_source}{})",
            self.dims_select(&event_dims),
            aggs.join(", "),
            self.group_by(n)
        );
        let mut sides = vec!["e_agg"];

        // Visit side.
        if session_metrics {
            let qualifying = self.qualifying_visits();
            let dims = (0..n).map(|i| format!("d{i}, ")).collect::<String>();
            let visits = if visits_from_sessions && self.has(Metric::Visits) {
                "CAST(sum(sessions) AS BIGINT) AS visits, "
            } else {
                ""
            };
            let mut parts = Vec::new();
            // The bounce rate's entry-page rule, when it applies.
            let rule = self.bounce_rule().filter(|_| self.has(Metric::BounceRate));
            // The events whose visits are grouped or summed here: those of built days have their
            // visit rows instead.
            let vev = if self.rows_apply() {
                let _ = write!(sql, ", vev {} (SELECT * FROM ev WHERE NOT built)", self.d.inlined());
                "vev"
            } else {
                "ev"
            };
            if self.rows_apply() {
                let row_dims: Vec<String> = q
                    .dimensions
                    .iter()
                    .map(|d| if *d == Dimension::Page { "entry_page".to_owned() } else { self.group_dim(d) })
                    .collect();
                let counted = rule.as_deref().unwrap_or("true");
                let days: Vec<String> = self
                    .spans
                    .iter()
                    .filter(|s| s.built)
                    .map(|s| format!("day BETWEEN {} AND {}", s.from.div_euclid(DAY), (s.to - 1).div_euclid(DAY)))
                    .collect();
                let (source, condition) = self.qualifying_rows();
                let _ = write!(
                    sql,
                    ", s_rows AS (SELECT {}count(*) AS sessions, count(*) FILTER (WHERE {counted}) AS bounce_sessions, \
                     count(*) FILTER (WHERE bounced AND {counted}) AS bounces, CAST(sum(duration) AS BIGINT) AS dur_sum, \
                     CAST(sum(pageviews) AS BIGINT) AS pv_sum FROM {source} WHERE site_id = {} AND ({}){condition}{})",
                    self.dims_select(&row_dims),
                    q.site_id,
                    days.join(" OR "),
                    self.group_by(n)
                );
                parts.push("s_rows");
            }
            if deltas {
                // Under the entry-page rule, a visit's events carry its entry page from its start,
                // unless it started before its first pageview: those few visits are grouped below.
                let (counted, clean) = match &rule {
                    Some(rule) => {
                        let _ = write!(
                            sql,
                            ", late_entry AS (SELECT session_id FROM {vev} WHERE whole AND bounce_delta = 1 \
                             AND entry_page = '')"
                        );
                        (rule.as_str(), self.d.key_join(false, "late_entry", "session_id"))
                    }
                    None => ("true", String::new()),
                };
                let _ = write!(
                    sql,
                    ", s_whole AS (SELECT {}count(*) FILTER (WHERE bounce_delta = 1) AS sessions, \
                     count(*) FILTER (WHERE bounce_delta = 1 AND {counted}) AS bounce_sessions, \
                     CAST(coalesce(sum(bounce_delta) FILTER (WHERE {counted}), 0) AS BIGINT) AS bounces, \
                     CAST(sum(duration_delta) AS BIGINT) AS dur_sum, \
                     count(*) FILTER (WHERE name = 'pageview') AS pv_sum FROM {vev}{clean} \
                     WHERE name <> 'engagement' AND whole{qualifying}{})",
                    self.dims_select(&event_dims),
                    self.group_by(n)
                );
                parts.push("s_whole");
            }
            let unbuilt = self.spans.iter().any(|s| !s.built);
            if unbuilt && (!deltas || cut_any || rule.is_some()) {
                let sess_dims: Vec<String> = q.dimensions.iter().map(|d| self.session_dim(d)).collect();
                // The events of cut spans, and under the entry-page rule those of late entries.
                let (source, cut) = match (deltas, &rule) {
                    (false, _) => (vev.to_owned(), ""),
                    (true, None) => (vev.to_owned(), " AND NOT whole"),
                    (true, Some(_)) => (
                        format!(
                            "(SELECT * FROM {vev} WHERE NOT whole UNION ALL SELECT {vev}.* FROM {vev}{} WHERE whole) ev",
                            self.d.key_join(true, "late_entry", "session_id")
                        ),
                        "",
                    ),
                };
                // The bounce rate counts only visits that entered on a page the filter accepts.
                let (entry, counted) = match &rule {
                    Some(rule) => (", max(entry_page) AS entry_page", rule.as_str()),
                    None => ("", "true"),
                };
                let _ = write!(
                    sql,
                    ", sess AS (SELECT {}count(*) FILTER (WHERE name = 'pageview') AS pv, \
                     count(*) FILTER (WHERE interactive) AS ni, max(ts) - min(ts) AS dur{entry} FROM {source} \
                     WHERE name <> 'engagement'{cut}{qualifying} GROUP BY session_id)\
                     , s_cut AS (SELECT {dims}count(*) AS sessions, count(*) FILTER (WHERE {counted}) AS bounce_sessions, \
                     count(*) FILTER (WHERE ni <= 1 AND {counted}) AS bounces, \
                     sum(dur) AS dur_sum, sum(pv) AS pv_sum FROM sess{})",
                    self.dims_select(&sess_dims),
                    self.group_by(n)
                );
                parts.push("s_cut");
            }
            let union: Vec<String> = parts.iter().map(|p| format!("SELECT * FROM {p}")).collect();
            let _ = write!(
                sql,
                ", s_agg AS (SELECT {dims}CAST(sum(sessions) AS BIGINT) AS sessions, {visits}\
                 CAST(sum(bounce_sessions) AS BIGINT) AS bounce_sessions, CAST(sum(bounces) AS BIGINT) AS bounces, CAST(sum(dur_sum) AS BIGINT) AS dur_sum, \
                 CAST(sum(pv_sum) AS BIGINT) AS pv_sum FROM ({}){})",
                union.join(" UNION ALL "),
                self.group_by(n)
            );
            sides.push("s_agg");
        }

        // Engagement side.
        if self.has(Metric::TimeOnPage) || self.has(Metric::ScrollDepth) {
            let _ = write!(sql, ", eng AS (SELECT * FROM ev WHERE name = 'engagement' AND {filter})");
            let eng_source = if self.has_goal_dim() {
                let _ = write!(sql, ", engg AS ({})", self.goal_rows("eng"));
                "engg"
            } else {
                "eng"
            };
            let dims = self.dims_select(&event_dims);
            let _ = write!(
                sql,
                ", sd_sess AS (SELECT {dims}session_id, max(scroll_depth) AS sd FROM {eng_source} \
                 WHERE scroll_depth IS NOT NULL GROUP BY ALL)\
                 , g_agg AS (SELECT {dims}sum(engagement_ms) AS eng_ms, count(DISTINCT session_id) AS eng_sessions \
                 FROM {eng_source}{})\
                 , sd_agg AS (SELECT {}sum(sd) AS sd_sum, count(*) AS sd_sessions FROM sd_sess{})",
                self.group_by(n),
                (0..n).map(|i| format!("d{i}, ")).collect::<String>(),
                self.group_by(n)
            );
            sides.push("g_agg");
            sides.push("sd_agg");
        }

        // Exit rate: pageviews of each page, under the filter without its exit-page conditions.
        if self.has(Metric::ExitRate) {
            let exit = Dimension::Visit(VisitField::ExitPage);
            let page_filter = q
                .filter
                .as_ref()
                .and_then(|f| f.without_top_level(&|d| *d == exit))
                .map_or_else(|| "true".to_owned(), |f| self.filter(&f));
            let _ = write!(
                sql,
                ", xpv AS (SELECT pathname AS d0, count(*) AS page_pageviews FROM ev \
                 WHERE name = 'pageview' AND {page_filter} GROUP BY pathname)"
            );
        }

        // Denominators.
        if self.has(Metric::Percentage) {
            let _ = write!(sql, ", tot AS (SELECT {} AS tot_visitors FROM m)", self.visitors());
        }
        let conv_filter = q
            .filter
            .as_ref()
            .and_then(|f| f.without_goals_and_props())
            .map_or_else(|| "true".to_owned(), |f| self.filter(&f));
        if self.has(Metric::ConversionRate) {
            match &self.conv_visitors {
                Some(den) => {
                    let _ = write!(sql, ", conv AS (SELECT CAST(m0 AS BIGINT) AS conv_visitors FROM ({den}) den)");
                }
                None => {
                    let _ = write!(
                        sql,
                        ", conv AS (SELECT count(DISTINCT visitor_id) AS conv_visitors FROM ev \
                         WHERE name <> 'engagement' AND {conv_filter})"
                    );
                }
            }
        }
        let non_goal: Vec<usize> = (0..n).filter(|i| q.dimensions[*i] != Dimension::Goal).collect();
        if self.has(Metric::GroupConversionRate) {
            let dims: String = non_goal.iter().map(|i| format!("{} AS d{i}, ", event_dims[*i])).collect();
            let group = if non_goal.is_empty() {
                String::new()
            } else {
                format!(" GROUP BY {}", non_goal.iter().map(|i| format!("d{i}")).collect::<Vec<_>>().join(", "))
            };
            let _ = write!(
                sql,
                ", gconv AS (SELECT {dims}count(DISTINCT visitor_id) AS group_visitors FROM ev \
                 WHERE name <> 'engagement' AND {conv_filter}{group})"
            );
        }

        // Join the sides on the dimension values.
        let dim_cols: Vec<String> = (0..n).map(|i| format!("d{i}")).collect();
        let mut from = String::new();
        if n == 0 {
            from = sides.join(" CROSS JOIN ");
        } else {
            let _ = write!(from, "(SELECT {} FROM (", dim_cols.join(", "));
            let keys: Vec<String> = sides.iter().map(|s| format!("SELECT {} FROM {s}", dim_cols.join(", "))).collect();
            let _ = write!(from, "{}) GROUP BY ALL) k", keys.join(" UNION ALL "));
            for s in &sides {
                let _ = write!(from, " LEFT JOIN {s} USING ({})", dim_cols.join(", "));
            }
        }
        if self.has(Metric::ExitRate) {
            from.push_str(" LEFT JOIN xpv USING (d0)");
        }
        if self.has(Metric::Percentage) {
            from.push_str(" CROSS JOIN tot");
        }
        if self.has(Metric::ConversionRate) {
            from.push_str(" CROSS JOIN conv");
        }
        if self.has(Metric::GroupConversionRate) {
            if non_goal.is_empty() {
                from.push_str(" CROSS JOIN gconv");
            } else {
                let cols: Vec<String> = non_goal.iter().map(|i| format!("d{i}")).collect();
                let _ = write!(from, " LEFT JOIN gconv USING ({})", cols.join(", "));
            }
        }

        (sql, self.named(from))
    }
}

/// One leaf's condition on the text value `expr`: any of `values` matches.
fn text_leaf(d: &dyn Dialect, expr: &str, op: FilterOp, values: &[String], case_sensitive: bool) -> String {
    let any = |parts: Vec<String>| {
        if parts.is_empty() { "false".to_owned() } else { format!("({})", parts.join(" OR ")) }
    };
    let (cmp, norm): (String, fn(&str) -> String) =
        if case_sensitive { (expr.to_owned(), str::to_owned) } else { (format!("lower({expr})"), str::to_lowercase) };
    let positive = match op.positive() {
        FilterOp::Is => {
            let list: Vec<String> = values.iter().map(|v| lit(&norm(v))).collect();
            if list.is_empty() { "false".to_owned() } else { format!("{cmp} IN ({})", list.join(", ")) }
        }
        FilterOp::Contains => any(values.iter().map(|v| format!("contains({cmp}, {})", lit(&norm(v)))).collect()),
        _ => {
            let flag = if case_sensitive { "" } else { "(?i)" };
            any(values.iter().map(|v| d.regex_matches(expr, &format!("{flag}{v}"))).collect())
        }
    };
    if op.is_negated() { format!("(NOT {positive})") } else { positive }
}

/// A filter whose leaves are all on one dimension, as a condition on `expr`, that dimension's
/// value (roll-up cells hold the value of their dimension in one column).
pub fn value_filter(f: &Filter, expr: &str, d: &dyn Dialect) -> String {
    let all = |v: &[Filter], sep: &str| v.iter().map(|c| value_filter(c, expr, d)).collect::<Vec<_>>().join(sep);
    match f {
        Filter::And(v) if v.is_empty() => "true".into(),
        Filter::Or(v) if v.is_empty() => "false".into(),
        Filter::And(v) => format!("({})", all(v, " AND ")),
        Filter::Or(v) => format!("({})", all(v, " OR ")),
        Filter::Not(c) => format!("(NOT {})", value_filter(c, expr, d)),
        Filter::Leaf { op, values, case_sensitive, .. } => text_leaf(d, expr, *op, values, *case_sensitive),
    }
}

/// The start (local seconds) of the `grain` bucket holding the local second `l`.
/// The local second of UTC second `utc` (an SQL expression), from the offset segments.
pub(super) fn local_seconds(local: &LocalTime, utc: &str) -> String {
    let segs = &local.segments;
    if segs.len() <= 1 {
        let off = segs.first().map_or(0, |s| s.1);
        return format!("({utc} + {off})");
    }
    let mut out = format!("({utc} + CASE");
    for w in segs.windows(2).rev() {
        let _ = write!(out, " WHEN {utc} >= {} THEN {}", w[1].0, w[1].1);
    }
    let _ = write!(out, " ELSE {} END)", segs[0].1);
    out
}

pub(super) fn bucket_sql(grain: TimeGrain, l: &str, d: &dyn Dialect) -> String {
    match grain {
        TimeGrain::Minute => format!("({l} - ({l}) % 60)"),
        TimeGrain::Hour => format!("({l} - ({l}) % 3600)"),
        TimeGrain::Day => format!("({l} - ({l}) % 86400)"),
        // 1970-01-01 was a Thursday: day n is a Monday when (n + 3) % 7 == 0.
        TimeGrain::Week => format!("(({l}) // 86400 - (({l}) // 86400 + 3) % 7) * 86400"),
        TimeGrain::Month => d.month_start(l),
    }
}

/// Whether `q` takes anything from visit deltas: visit metrics, or visits (counted from visit
/// starts when every event of a visit falls in its group, which needs no filter but one that
/// holds per visit). The groups must be visit attributes that every event of a visit carries
/// alike: not the entry page, which a visit starting with a custom event gets only later; not a
/// time bucket, which is the first event's. (The bounce rate's entry-page rule is a condition on
/// the entry page too: the visits that got theirs late are grouped by visit instead.)
fn uses_deltas(q: &StatsQuery) -> bool {
    let wanted = q.metrics.iter().any(|m| m.is_session_metric())
        || (q.metrics.contains(&Metric::Visits) && q.filter.as_ref().is_none_or(Filter::is_per_visit));
    wanted && q.dimensions.iter().all(|d| matches!(d, Dimension::Visit(f) if *f != VisitField::EntryPage))
}

/// Ends a statement whose CTEs `sql` holds: the query's dimensions (`d0…`, already columns of
/// `from`) and metrics (`m0…`, computed over them) as result rows, with the number of all of them
/// (`total_rows`, for paging), ordered and cut to the query's page.
///
/// Why not `count(*) OVER ()`: DuckDB 1.5.5 races in parallel window execution over a filtered
/// input and now and then fails such a statement with an internal error, after which the whole
/// database refuses work until the process restarts (duckdb/duckdb#25713; the stats property test
/// hit it). A scalar subquery over the same rows gives the same count without a window; the rows
/// are materialised so that they are computed once for both.
pub(super) fn select_page(sql: &mut String, q: &StatsQuery, from: &str) {
    let columns: Vec<String> = (0..q.dimensions.len())
        .map(|i| format!("d{i}"))
        .chain(q.metrics.iter().enumerate().map(|(i, m)| format!("{} AS m{i}", metric_sql(*m))))
        .collect();
    let _ = write!(
        sql,
        ", res AS MATERIALIZED (SELECT {} FROM {from}) SELECT {}, (SELECT count(*) FROM res) AS total_rows FROM res",
        columns.join(", "),
        output_columns(q.dimensions.len(), q.metrics.len())
    );
    sql.push_str(&order_and_page(q));
}

/// `d0…, m0…`: the columns of a result, in order.
pub(super) fn output_columns(n: usize, k: usize) -> String {
    (0..n).map(|i| format!("d{i}")).chain((0..k).map(|i| format!("m{i}"))).collect::<Vec<_>>().join(", ")
}

/// `ORDER BY … LIMIT … OFFSET …` over the output columns: the requested keys, then every dimension
/// ascending (so pages of results never overlap).
pub(super) fn order_and_page(q: &StatsQuery) -> String {
    let mut order: Vec<String> = q
        .order_by
        .iter()
        .map(|(key, dir)| {
            let expr = match key {
                OrderKey::Metric(m) => {
                    let i = q.metrics.iter().position(|x| x == m).unwrap_or(0);
                    format!("m{i}")
                }
                OrderKey::Dimension(i) => format!("d{i}"),
            };
            let dir = if *dir == Direction::Asc { "ASC" } else { "DESC" };
            format!("{expr} {dir} NULLS LAST")
        })
        .collect();
    order.extend((0..q.dimensions.len()).map(|i| format!("d{i} ASC")));
    let mut sql = String::new();
    if !order.is_empty() {
        let _ = write!(sql, " ORDER BY {}", order.join(", "));
    }
    let _ = write!(sql, " LIMIT {} OFFSET {}", q.limit, q.offset);
    sql
}

/// `f` as a condition on rows with the event table's visit columns (events, or visit rows), as a
/// statement over events tests it.
pub(super) fn condition(q: &StatsQuery, f: &Filter, d: &dyn Dialect) -> String {
    Compiler::bare(q, d).filter(f)
}

/// The condition on an event that it completes a goal of `kind`.
pub(super) fn goal_condition(q: &StatsQuery, kind: &GoalKind, d: &dyn Dialect) -> String {
    Compiler::bare(q, d).goal_condition(kind)
}

/// What rows are grouped by for `dim` (see `Compiler::group_dim`).
pub(super) fn grouping(q: &StatsQuery, dim: &Dimension, d: &dyn Dialect) -> String {
    Compiler::bare(q, d).group_dim(dim)
}

/// `from`, grouped by [`grouping`], with the values `q` shows (see `Compiler::named`).
pub(super) fn shown(q: &StatsQuery, from: String, d: &dyn Dialect) -> String {
    Compiler::bare(q, d).named(from)
}

/// The SQL value of a visit field (the exit page is joined in by `prelude`).
fn visit_expr(f: VisitField) -> String {
    match f {
        VisitField::CountryName => country_name("country"),
        VisitField::City => "CASE WHEN city_geoname_id = 0 THEN '' ELSE CAST(city_geoname_id AS VARCHAR) END".into(),
        VisitField::CityName => "city".into(),
        VisitField::EntryPageHostname => "entry_hostname".into(),
        VisitField::ExitPageHostname => "exit_hostname".into(),
        other => other.name().into(),
    }
}

/// The English name of the country whose code `expr` is (unknown codes as they are).
fn country_name(expr: &str) -> String {
    let mut case = format!("CASE {expr}");
    for (code, name) in crate::countries::COUNTRIES {
        let _ = write!(case, " WHEN '{code}' THEN {}", lit(name));
    }
    let _ = write!(case, " ELSE {expr} END");
    case
}

/// Visitors reaching each step of a funnel. A visit reaches step k when, after the moment it
/// reached step k − 1 (the earliest such event), it has an event completing step k; the earliest
/// match is always the best one, so the chain of `min(ts)` below is exact.
pub fn compile_funnel(f: &FunnelQuery, d: &dyn Dialect) -> String {
    let q = f.as_stats_query();
    let c = Compiler {
        spans: vec![Span { from: q.start, to: q.end, whole: false, built: false, copied: false }],
        ..Compiler::bare(&q, d)
    };
    let filter = f.filter.as_ref().map_or_else(|| "true".to_owned(), |x| c.filter(x));
    let mut sql = c.prelude();
    let scroll: Vec<&Goal> = f.steps.iter().filter(|s| s.kind.is_scroll()).collect();
    let _ = write!(sql, ", m AS (SELECT * FROM ev WHERE {} AND {filter})", c.countable(&scroll));
    for (i, step) in f.steps.iter().enumerate() {
        let cond = c.goal_condition(&step.kind);
        if i == 0 {
            let _ = write!(
                sql,
                ", s0 AS (SELECT session_id, any_value(visitor_id) AS visitor_id, min(ts) AS t FROM m WHERE {cond} GROUP BY session_id)"
            );
        } else {
            let _ = write!(
                sql,
                ", s{i} AS (SELECT p.session_id, any_value(p.visitor_id) AS visitor_id, min(m.ts) AS t FROM s{} p \
                 JOIN m ON m.session_id = p.session_id AND m.ts >= p.t WHERE {cond} GROUP BY p.session_id)",
                i - 1
            );
        }
    }
    let counts: Vec<String> =
        (0..f.steps.len()).map(|i| format!("(SELECT count(DISTINCT visitor_id) FROM s{i})")).collect();
    let _ = write!(sql, " SELECT {}", counts.join(", "));
    sql
}

/// A metric's final value from the joined side columns; same formulas (and rounding) as the
/// reference engine's `tillit_store::query::finish_*` functions.
pub(super) fn metric_sql(m: Metric) -> String {
    let ratio = |num: &str, den: &str, scale: &str, digits: u8| {
        format!("round(CAST({scale} AS DOUBLE) * coalesce({num}, 0) / nullif(coalesce({den}, 0), 0), {digits})")
    };
    match m {
        Metric::Visitors => "CAST(coalesce(visitors, 0) AS DOUBLE)".into(),
        Metric::Visits => "CAST(coalesce(visits, 0) AS DOUBLE)".into(),
        Metric::Pageviews => "CAST(coalesce(pageviews, 0) AS DOUBLE)".into(),
        Metric::Events => "CAST(coalesce(events, 0) AS DOUBLE)".into(),
        Metric::BounceRate => format!("coalesce({}, 0)", ratio("bounces", "bounce_sessions", "100", 0)),
        Metric::VisitDuration => format!("coalesce({}, 0)", ratio("dur_sum", "sessions", "1", 0)),
        Metric::ViewsPerVisit => format!("coalesce({}, 0)", ratio("pv_sum", "sessions", "1", 2)),
        Metric::Percentage => ratio("visitors", "tot_visitors", "100", 1),
        Metric::ConversionRate => format!("coalesce({}, 0)", ratio("visitors", "conv_visitors", "100", 2)),
        Metric::GroupConversionRate => format!("coalesce({}, 0)", ratio("visitors", "group_visitors", "100", 2)),
        Metric::ExitRate => ratio("sessions", "page_pageviews", "100", 1),
        Metric::TimeOnPage => ratio("eng_ms", "eng_sessions", "0.001", 0),
        Metric::ScrollDepth => ratio("sd_sum", "sd_sessions", "1", 0),
    }
}
