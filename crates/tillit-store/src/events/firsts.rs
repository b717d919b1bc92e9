//! First-event marks: on each event of a built day, whether it is its visitor's first event of its
//! page (or of its name) that UTC day, and whether that visitor made more than one visit that day.
//!
//! Why: a breakdown by page or event name under a filter (the dashboard's top pages after a click
//! on a source or a country) cannot use the day cells, which hold one dimension each, and its
//! visitors were a distinct count over every matching event: a hash table of (page, visitor)
//! pairs, two thirds of the statement's time. With the marks, a visitor who made one visit that
//! day is counted by counting its marked event: every event of one visit has the same visit
//! attributes, so a filter on them holds for the visitor's marked event exactly when it holds for
//! any of its events of that page; and a filter on the page itself is constant within the page.
//! Only visitors with several visits that day (whose visits may differ in source, country…) are
//! still counted distinctly. Visitor ids are daily, so the counts of different days add up.
//!
//! The marks are written by the day's build, in the same transaction as its cells, and are read
//! only for built days (a write into a built day invalidates it, and the next build marks the day
//! again). They change no answer: a backend without them counts distinctly, as the raw path does.

use super::rollup::{DAY, DayJob, assemble, raw_ranges, raw_visitors, runs};
use super::sql::{Dialect, WholeVisits, compile_parts, condition, goal_condition, grouping, lit, shown};
use crate::query::{Dimension, Filter, FilterOp, GoalKind, Metric, StatsQuery, goal_name_selected};

/// The event is its visitor's first (non-engagement) event of its page that UTC day.
const FIRST_OF_PAGE: u8 = 1;
/// The event is its visitor's first (non-engagement) event of its name that UTC day.
const FIRST_OF_NAME: u8 = 2;
/// The event's visitor made more than one visit that UTC day.
const SEVERAL_VISITS: u8 = 4;

/// The statement that marks the events of one UTC day (see the module doc). It reads the day's
/// visits from the build table of `visits::build_statements`, which must exist.
pub fn build_statement(job: &DayJob<'_>) -> String {
    let DayJob { site_id, day, .. } = *job;
    let day_events = format!("site_id = {site_id} AND ts >= {} AND ts < {}", day * DAY, (day + 1) * DAY);
    // Which event stands for a group does not matter (see the module doc): the first stored.
    let first_of = |key: &str| {
        format!(
            "rowid IN (SELECT min(rowid) FROM events WHERE {day_events} AND name <> 'engagement' GROUP BY visitor_id, {key})"
        )
    };
    format!(
        "UPDATE events SET marks = CAST((CASE WHEN {} THEN {FIRST_OF_PAGE} ELSE 0 END) \
         | (CASE WHEN {} THEN {FIRST_OF_NAME} ELSE 0 END) \
         | (CASE WHEN visitor_id IN ({}) THEN {SEVERAL_VISITS} ELSE 0 END) AS UTINYINT) WHERE {day_events}",
        first_of("pathname"),
        first_of("name"),
        super::visits::several_visits(),
    )
}

/// What the marks of built days answer, for a query they can.
enum Plan {
    /// A breakdown by page or event name: visitors counted by this mark.
    Breakdown(u8),
    /// The goal breakdown: custom-event goals counted by their name's mark, pageview goals (which
    /// may match several pages) distinctly, and the conversion rate's visitors from visit rows.
    Goals,
}

/// The plan for `q`, when the marks can answer it: one dimension, the page or the event name
/// (visitors, and pageviews or events: plain counts), or the goal (visitors, events, conversion
/// rate); no scroll goals in play (their completions are engagement events, which carry no
/// marks); and a filter on nothing but attributes fixed at a visit's start and, except for
/// goals, the grouped dimension.
fn plan(q: &StatsQuery) -> Option<Plan> {
    let (plan, metrics_ok) = match q.dimensions.as_slice() {
        [Dimension::Page | Dimension::Name] => (
            Plan::Breakdown(if q.dimensions[0] == Dimension::Page { FIRST_OF_PAGE } else { FIRST_OF_NAME }),
            q.metrics.contains(&Metric::Visitors)
                && q.metrics.iter().all(|m| matches!(m, Metric::Visitors | Metric::Pageviews | Metric::Events)),
        ),
        [Dimension::Goal] => (
            Plan::Goals,
            q.metrics.iter().all(|m| matches!(m, Metric::Visitors | Metric::Events | Metric::ConversionRate)),
        ),
        _ => return None,
    };
    let grouped = (!matches!(plan, Plan::Goals)).then(|| &q.dimensions[0]);
    let mut filter_ok = true;
    if let Some(f) = &q.filter {
        f.dimensions(&mut |d| {
            filter_ok &= Some(d) == grouped || matches!(d, Dimension::Visit(v) if v.fixed_at_start());
        });
    }
    (metrics_ok && filter_ok && q.scroll_goals_in_play().is_empty()).then_some(plan)
}

/// Whether the marks of built days can answer `q` (see [`plan`]).
pub fn eligible(q: &StatsQuery) -> bool {
    plan(q).is_some()
}

/// How the matching events of built days count `q`'s visitors by their marks, for a query that
/// groups by nothing but attributes fixed at a visit's start (the dashboard's sources, countries
/// and devices, and its totals, after a click on a page or a goal) under a filter that selects one
/// page, one event name or one custom-event goal exactly, beside conditions on such attributes.
/// A visitor who made one visit that day then has its matching events all on that page (or of that
/// name) and all in one group, and exactly one of them carries the page's (the name's) mark. `None`
/// when the marks cannot count them. The expression reads the `built` tag of
/// `sql::Shortcuts::days`: other events are counted distinctly, and as visitor ids are
/// daily, no visitor is counted both ways.
pub fn built_day_visitors(q: &StatsQuery) -> Option<String> {
    let dims_ok = q.dimensions.iter().all(|d| matches!(d, Dimension::Visit(v) if v.fixed_at_start()));
    if !dims_ok || !q.scroll_goals_in_play().is_empty() {
        return None;
    }
    let members: Vec<&Filter> = match q.filter.as_ref()? {
        Filter::And(v) => v.iter().collect(),
        f => vec![f],
    };
    let mut rest = members.into_iter().filter(|f| !f.is_per_visit());
    let (Some(anchor), None) = (rest.next(), rest.next()) else { return None };
    let bit = exact_mark(q, anchor)?;
    Some(format!(
        "count(*) FILTER (WHERE built AND marks & {bit} <> 0 AND marks & {SEVERAL_VISITS} = 0) \
         + count(DISTINCT visitor_id) FILTER (WHERE NOT built OR marks & {SEVERAL_VISITS} <> 0)"
    ))
}

/// The mark of the events a filter member selects when it selects exactly one page or one event
/// name: a case-sensitive `is` with one value on the page or the name, or on a goal name that picks
/// one custom-event goal.
fn exact_mark(q: &StatsQuery, f: &Filter) -> Option<u8> {
    let Filter::Leaf { op: FilterOp::Is, dimension, values, case_sensitive } = f else { return None };
    if values.len() != 1 {
        return None;
    }
    match dimension {
        Dimension::Page if *case_sensitive => Some(FIRST_OF_PAGE),
        Dimension::Name if *case_sensitive => Some(FIRST_OF_NAME),
        Dimension::Goal => {
            let mut picked =
                q.goals.iter().filter(|g| goal_name_selected(FilterOp::Is, &g.name, values, *case_sensitive));
            match (picked.next(), picked.next()) {
                (Some(g), None) if matches!(g.kind, GoalKind::Event(_)) => Some(FIRST_OF_NAME),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One statement answering `q` (see [`eligible`]) from the marked events (and for conversion
/// rates the visit rows) of `days` (UTC day numbers, built) and the raw events of the rest of the
/// range; under one value of a paired visit attribute, from the pair cells of those days instead
/// (`pairs`), for goals those of `paired_goals` (the days whose goal pairs are of `q.goals`).
pub fn compile(q: &StatsQuery, days: &[i64], paired_goals: &[i64], whole: WholeVisits, d: &dyn Dialect) -> String {
    let raw = raw_ranges(q.start, q.end, days);
    let mut parts = Vec::new();
    let mut totals = Vec::new();
    if !days.is_empty() {
        let built = BuiltDays::new(q, days, d);
        match plan(q) {
            // Under one value of a paired visit attribute, its pair cells; else the marks.
            Some(Plan::Breakdown(bit)) => parts.push(format!(
                "SELECT * FROM {}",
                super::pairs::parts(q, days, d).unwrap_or_else(|| built.breakdown(bit))
            )),
            Some(Plan::Goals) => {
                let paired: Vec<i64> = days.iter().copied().filter(|day| paired_goals.contains(day)).collect();
                match super::pairs::goal_parts(q, &paired, d) {
                    Some(from_pairs) if !paired.is_empty() => {
                        parts.push(format!("SELECT * FROM {from_pairs}"));
                        let rest: Vec<i64> = days.iter().copied().filter(|day| !paired.contains(day)).collect();
                        if !rest.is_empty() {
                            parts.extend(BuiltDays::new(q, &rest, d).goals());
                        }
                    }
                    _ => parts.extend(built.goals()),
                }
                if q.metrics.contains(&Metric::ConversionRate) {
                    // Under a filter on visit attributes alone, the visitors of the visits that
                    // pass it.
                    let all = StatsQuery { dimensions: Vec::new(), metrics: vec![Metric::Visitors], ..q.clone() };
                    totals.push(format!("SELECT visitors FROM {}", super::visits::parts(&all, days, d)));
                    if !raw.is_empty() {
                        totals.push(raw_visitors(q, &raw, whole, d));
                    }
                }
            }
            None => {}
        }
    }
    if !raw.is_empty() || parts.is_empty() {
        parts.push(format!("SELECT * FROM ({})", compile_parts(q, &raw, whole, d)));
    }
    assemble(q, &parts, &totals)
}

/// SQL over the events of built days that pass a query's filter.
struct BuiltDays<'a> {
    q: &'a StatsQuery,
    d: &'a dyn Dialect,
    /// The condition on `ts` of the days' events.
    event_days: String,
    filter: String,
}

/// One visitor per event where the visitor made one visit that day and the event carries `bit`;
/// the others counted distinctly.
fn marked_visitors(bit: u8) -> String {
    format!(
        "count(*) FILTER (WHERE marks & {bit} <> 0 AND marks & {SEVERAL_VISITS} = 0) \
         + count(DISTINCT visitor_id) FILTER (WHERE marks & {SEVERAL_VISITS} <> 0)"
    )
}

/// The `sql::PART_COLUMNS` after `visitors` that a count of events fills.
const EVENT_PART_COLUMNS: &str = "NULL::BIGINT AS visits, count(*) FILTER (WHERE name = 'pageview') AS pageviews, \
     count(*) AS events, NULL::BIGINT AS sessions, NULL::BIGINT AS bounces, NULL::BIGINT AS dur_sum, \
     NULL::BIGINT AS pv_sum, NULL::BIGINT AS bounce_sessions";

impl<'a> BuiltDays<'a> {
    fn new(q: &'a StatsQuery, days: &[i64], d: &'a dyn Dialect) -> BuiltDays<'a> {
        let runs: Vec<String> =
            runs(days).iter().map(|(a, b)| format!("(ts >= {} AND ts < {})", a * DAY, (b + 1) * DAY)).collect();
        BuiltDays {
            q,
            d,
            event_days: format!("({})", runs.join(" OR ")),
            filter: q.filter.as_ref().map_or_else(|| "true".to_owned(), |f| condition(q, f, d)),
        }
    }

    /// The events of the days that pass the filter and are counted (not engagement events).
    fn events(&self) -> String {
        format!(
            "events WHERE site_id = {} AND {} AND name <> 'engagement' AND {}",
            self.q.site_id, self.event_days, self.filter
        )
    }

    /// The parts (`d0` and `sql::PART_COLUMNS`) of a breakdown by page or name.
    fn breakdown(&self, bit: u8) -> String {
        let key = grouping(self.q, &self.q.dimensions[0], self.d);
        let grouped = format!(
            "(SELECT {key} AS d0, {} AS visitors, {EVENT_PART_COLUMNS} FROM {} GROUP BY {key}) marked_parts",
            marked_visitors(bit),
            self.events()
        );
        shown(self.q, grouped, self.d)
    }

    /// The parts of each goal with completions, one `SELECT` each.
    fn goals(&self) -> Vec<String> {
        self.q
            .goals
            .iter()
            .map(|g| {
                let visitors = match &g.kind {
                    GoalKind::Event(_) => marked_visitors(FIRST_OF_NAME),
                    _ => "count(DISTINCT visitor_id)".to_owned(),
                };
                format!(
                    "SELECT {} AS d0, {visitors} AS visitors, {EVENT_PART_COLUMNS} FROM {} AND {} HAVING count(*) > 0",
                    lit(&g.name),
                    self.events(),
                    goal_condition(self.q, &g.kind, self.d)
                )
            })
            .collect()
    }
}
