//! Pair cells: per built UTC day, the visitors, pageviews and events of each page, each event
//! name and each goal within the visits of each value of a few visit attributes (source,
//! channel, country, device, browser, operating system), within all visits, and within each
//! value of two attributes an event carries for itself (its entry page, and for names and goals
//! its page); and, but for those two, the visits that have them, with those visits' bounces,
//! durations and pageviews.
//!
//! Why: a click on a source, a country or a device filters the dashboard by it, and its top pages,
//! events and goals were then a scan of every event of the range that tested the attribute, even with
//! the first-event marks (`events::firsts`): 160–260 ms a panel at 10 M events, 1.4–1.8 s at
//! 100 M. A click on a page, an event or a goal is the same question the other way round: the
//! sources, countries and devices of the visits that have it, and their totals, which were a
//! lookup of every matching event's visit (250–570 ms a panel). The pairs are far fewer than the
//! events, and a panel reads only those of the chosen value or key.
//!
//! Exact for the reasons day cells are: visitor ids are daily, so a visitor is counted in one
//! day's pairs only, and no visit crosses a UTC midnight, so a day's visits are whole. Every event
//! of a visit carries the visit's attributes fixed at its start, so the visitors of a pair are those
//! of the raw query over that day. The entry page is not fixed at a visit's start (events before
//! its first pageview have none), and a visit has many pages, so their pairs group the events by
//! their own value, as the raw query groups them, and hold no visit columns. Only a filter that
//! picks one value or one key exactly is read from pairs: with two, a visitor of both would be
//! counted twice. The pairs are written with the day's other cells and go wherever they go
//! (`DAY_TABLES`).

use super::rollup::{DAY, DayJob, assemble, raw_ranges, runs};
use super::sql::{
    Dialect, DuckDbDialect, WholeVisits, compile_parts, goal_condition, grouping, lit, shown, value_filter,
};
use crate::query::{Dimension, Filter, FilterOp, Goal, Metric, StatsQuery, VisitField, goal_name_selected};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS day_pairs (
    site_id UINTEGER NOT NULL,
    day BIGINT NOT NULL,
    -- The attribute's column ('entry_page' and 'pathname': the event's own), and its value;
    -- '' and '' for all visits.
    field VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    -- 0: `key` is a page; 1: an event name; 2: a goal (written with the day's goal cells, under
    -- their goals' signature).
    kind UTINYINT NOT NULL,
    key VARCHAR NOT NULL,
    visitors BIGINT NOT NULL,
    pageviews BIGINT NOT NULL,
    events BIGINT NOT NULL,
    -- The visits with an event of the key, those of them that bounced, those that entered on
    -- the key (a page) and of those the ones that bounced, their durations and pageviews. Under
    -- the entry page and the page only `visits` (those of the pair's events), and for goals no
    -- `entries` or `entry_bounces`.
    visits BIGINT,
    bounces BIGINT,
    entries BIGINT,
    entry_bounces BIGINT,
    dur_sum BIGINT,
    pv_sum BIGINT
);
ALTER TABLE day_pairs ADD COLUMN IF NOT EXISTS visits BIGINT;
ALTER TABLE day_pairs ADD COLUMN IF NOT EXISTS bounces BIGINT;
ALTER TABLE day_pairs ADD COLUMN IF NOT EXISTS entries BIGINT;
ALTER TABLE day_pairs ADD COLUMN IF NOT EXISTS entry_bounces BIGINT;
ALTER TABLE day_pairs ADD COLUMN IF NOT EXISTS dur_sum BIGINT;
ALTER TABLE day_pairs ADD COLUMN IF NOT EXISTS pv_sum BIGINT;
"#;

/// The visit attributes fixed at a visit's start that are paired with pages, names and goals:
/// those of the dashboard's source, location and device panels.
const FIELDS: [VisitField; 6] = [
    VisitField::Source,
    VisitField::Channel,
    VisitField::Country,
    VisitField::Device,
    VisitField::Browser,
    VisitField::Os,
];

/// The `field` (and `value`) of the pairs of all visits: the totals under one key.
const ALL: &str = "";

/// The paired columns an event carries for itself rather than for its visit (see the module doc):
/// their pairs hold the visits of their events, not those visits' bounces or durations.
const ENTRY_PAGE: &str = "entry_page";
const PAGE: &str = "pathname";

/// The kinds of key, with the event column that holds them.
const KINDS: [(u8, &str); 2] = [(0, "pathname"), (1, "name")];

/// The kind of the pairs of goals (see [`goal_statements`]).
const GOAL_KIND: u8 = 2;

/// The temporary table of one day's build: per visit and key, its pageviews and events.
const KEYS_TABLE: &str = "build_keys";

/// The statements that write one UTC day's pairs. They read the day's visits from the build
/// table of `visits::build_statements`, which must exist.
pub fn build_statements(job: &DayJob<'_>) -> Vec<String> {
    let DayJob { site_id, day, .. } = *job;
    let day_events =
        format!("site_id = {site_id} AND ts >= {} AND ts < {} AND name <> 'engagement'", day * DAY, (day + 1) * DAY);
    let visits = super::visits::BUILD_TABLE;
    let keyed: Vec<String> = KINDS
        .iter()
        .map(|(kind, key)| {
            format!(
                "SELECT session_id, CAST({kind} AS UTINYINT) AS kind, {key} AS key, count(*) FILTER (WHERE name = 'pageview') \
                 AS pageviews, count(*) AS events FROM events WHERE {day_events} GROUP BY session_id, {key}"
            )
        })
        .collect();
    let mut out = vec![format!("CREATE OR REPLACE TEMP TABLE {KEYS_TABLE} AS {}", keyed.join(" UNION ALL "))];
    // Attributes fixed at a visit's start, and all visits: from the day's visits. A visit is one
    // row per key, so a visitor with one visit that day is counted without hashing its id.
    let visitors = "count(*) FILTER (WHERE NOT v.several) + count(DISTINCT v.visitor_id) FILTER (WHERE v.several)";
    let columns: Vec<(&str, String, String)> = std::iter::once((ALL, "''".to_owned(), String::new()))
        .chain(FIELDS.iter().map(|f| (f.name(), format!("v.{}", f.name()), format!("v.{}, ", f.name()))))
        .collect();
    for (field, value, grouped) in columns {
        out.push(format!(
            "INSERT INTO day_pairs SELECT {site_id}, {day}, {}, {value}, k.kind, k.key, {visitors}, \
             sum(k.pageviews), sum(k.events), count(*), count(*) FILTER (WHERE v.interactive <= 1), \
             count(*) FILTER (WHERE k.kind = 0 AND v.entry_page = k.key), \
             count(*) FILTER (WHERE k.kind = 0 AND v.entry_page = k.key AND v.interactive <= 1), \
             sum(v.last - v.start), sum(v.pageviews) FROM {KEYS_TABLE} k JOIN {visits} v USING (session_id) \
             GROUP BY {grouped}k.kind, k.key",
            lit(field),
        ));
    }
    // The entry page, and the page of event names: each event under its own, from the events.
    for (field, kind, key) in [(ENTRY_PAGE, 0, "pathname"), (ENTRY_PAGE, 1, "name"), (PAGE, 1, "name")] {
        out.push(format!(
            "INSERT INTO day_pairs (site_id, day, field, value, kind, key, visitors, pageviews, events, visits) \
             SELECT {site_id}, {day}, {}, {field}, {kind}, {key}, count(DISTINCT visitor_id), \
             count(*) FILTER (WHERE name = 'pageview'), count(*), count(DISTINCT session_id) FROM events \
             WHERE {day_events} GROUP BY {field}, {key}",
            lit(field)
        ));
    }
    out.push(format!("DROP TABLE {KEYS_TABLE}"));
    out
}

/// The statements that replace one UTC day's goal pairs for the site's `goals`: per paired
/// attribute, each goal's visitors, completions and the visits with one (their bounces,
/// durations and pageviews from the day's visit rows, written first). They run with the day's goal cells
/// (`rollup::goal_statements`), so the goals' signature those carry holds for the pairs too.
/// Scroll goals have none: their completions are engagement events, which the dashboard's goal
/// breakdown counts from the events.
pub fn goal_statements(job: &DayJob<'_>, goals: &[Goal]) -> Vec<String> {
    let DayJob { site_id, day, .. } = *job;
    let mut out =
        vec![format!("DELETE FROM day_pairs WHERE site_id = {site_id} AND day = {day} AND kind = {GOAL_KIND}")];
    let goals: Vec<&Goal> = goals.iter().filter(|g| !g.kind.is_scroll()).collect();
    if goals.is_empty() {
        return out;
    }
    let q = StatsQuery::over(site_id, 0, 0, crate::query::LocalTime::utc());
    let columns: Vec<(&str, &str)> = std::iter::once((ALL, "''"))
        .chain(FIELDS.iter().map(|f| (f.name(), f.name())))
        .chain([(ENTRY_PAGE, ENTRY_PAGE), (PAGE, PAGE)])
        .collect();
    for (field, column) in columns {
        let rows: Vec<String> = goals
            .iter()
            .map(|g| {
                format!(
                    "SELECT {column} AS value, session_id, visitor_id, name, {} AS goal FROM events WHERE site_id = {site_id} \
                     AND ts >= {} AND ts < {} AND name <> 'engagement' AND {}",
                    lit(&g.name),
                    day * DAY,
                    (day + 1) * DAY,
                    goal_condition(&q, &g.kind, &DuckDbDialect)
                )
            })
            .collect();
        let completions = format!(
            "SELECT value, goal, session_id, max(visitor_id) AS visitor_id, count(*) FILTER (WHERE name = 'pageview') \
             AS pageviews, count(*) AS events FROM ({}) GROUP BY value, goal, session_id",
            rows.join(" UNION ALL ")
        );
        // Visits with a completion: from the day's visit rows, written before.
        let visit_columns = if [ENTRY_PAGE, PAGE].contains(&field) {
            "count(*), NULL, NULL, NULL, NULL, NULL"
        } else {
            "count(v.session_id), count(*) FILTER (WHERE v.bounced), NULL, NULL, sum(v.duration), sum(v.pageviews)"
        };
        out.push(format!(
            "INSERT INTO day_pairs SELECT {site_id}, {day}, {}, c.value, {GOAL_KIND}, c.goal, count(DISTINCT c.visitor_id), \
             sum(c.pageviews), sum(c.events), {visit_columns} FROM ({completions}) c LEFT JOIN (SELECT session_id, bounced, \
             duration, pageviews FROM day_visits WHERE site_id = {site_id} AND day = {day}) v USING (session_id) \
             GROUP BY c.value, c.goal",
            lit(field),
        ));
    }
    out
}

/// The parts (`d0` and `sql::PART_COLUMNS`) of `q`'s goal breakdown (visitors and events) over the
/// built `days` whose goal pairs are those of `q.goals`, from their pairs; `None` unless `q`'s
/// filter picks one value of a paired attribute (see [`picked`]) and no scroll goal is in play.
pub fn goal_parts(q: &StatsQuery, days: &[i64], d: &dyn Dialect) -> Option<String> {
    let (field, value) = picked(q)?;
    if q.dimensions.as_slice() != [Dimension::Goal] || q.goals.iter().any(|g| g.kind.is_scroll()) {
        return None;
    }
    Some(pair_parts(q, days, field, value, GOAL_KIND, d))
}

/// The attribute and value of `q`'s filter when pairs answer its breakdown by page or name: the
/// filter is one case-sensitive `is` with one value on a paired attribute fixed at a visit's start.
fn picked(q: &StatsQuery) -> Option<(VisitField, &str)> {
    let Some(Filter::Leaf { op: FilterOp::Is, dimension: Dimension::Visit(field), values, case_sensitive: true }) =
        &q.filter
    else {
        return None;
    };
    match values.as_slice() {
        [value] if FIELDS.contains(field) => Some((*field, value.as_str())),
        _ => None,
    }
}

/// The parts (`d0` and `sql::PART_COLUMNS`) of `q`'s breakdown by page or event name over the
/// built `days`, from their pairs; `None` when the pairs cannot answer it (see [`picked`]). The
/// caller has checked the rest (`firsts`: one dimension, visitors with pageviews or events).
pub fn parts(q: &StatsQuery, days: &[i64], d: &dyn Dialect) -> Option<String> {
    let (field, value) = picked(q)?;
    let (kind, column) = match q.dimensions.as_slice() {
        [Dimension::Page] => KINDS[0],
        [Dimension::Name] => KINDS[1],
        _ => return None,
    };
    // The key is what the raw query groups by: the stored value itself for pages and names.
    if grouping(q, &q.dimensions[0], d) != column {
        return None;
    }
    Some(pair_parts(q, days, field, value, kind, d))
}

/// The days and the selection of the pairs of `kind` under `field = value`.
fn selection(q: &StatsQuery, days: &[i64], field: &str, kind: u8) -> String {
    let day_runs: Vec<String> = runs(days).iter().map(|(a, b)| format!("day BETWEEN {a} AND {b}")).collect();
    format!(
        "day_pairs WHERE site_id = {} AND ({}) AND field = {} AND kind = {kind}",
        q.site_id,
        if day_runs.is_empty() { "false".to_owned() } else { day_runs.join(" OR ") },
        lit(field),
    )
}

/// The parts of the pairs of `kind` of `days` under `field = value`, grouped by key.
fn pair_parts(q: &StatsQuery, days: &[i64], field: VisitField, value: &str, kind: u8, d: &dyn Dialect) -> String {
    let grouped = format!(
        "(SELECT key AS d0, CAST(sum(visitors) AS BIGINT) AS visitors, NULL::BIGINT AS visits, \
         CAST(sum(pageviews) AS BIGINT) AS pageviews, CAST(sum(events) AS BIGINT) AS events, \
         NULL::BIGINT AS sessions, NULL::BIGINT AS bounces, NULL::BIGINT AS dur_sum, NULL::BIGINT AS pv_sum, \
         NULL::BIGINT AS bounce_sessions FROM {} AND value = {} GROUP BY key) pair_parts",
        selection(q, days, field.name(), kind),
        lit(value),
    );
    shown(q, grouped, d)
}

/// A query the pairs of one value and one key answer on built days. Under a filter that picks
/// one page, one event name or one goal exactly, grouped by a paired attribute or by nothing (the
/// dashboard's sources, countries, devices and totals after a click on a page, an event or a
/// goal): the pairs of that key, grouped by value. Under a filter that picks one page, grouped by
/// event name or goal (the events and goals panels after a click on a page): the pairs of that
/// page, grouped by key.
pub struct Keyed {
    /// The paired column ([`ALL`] for all visits).
    field: &'static str,
    kind: u8,
    /// The key (or, grouped by key, the value) every pair read has.
    fixed: String,
    /// Grouped by key, else by value (or nothing, for [`ALL`]).
    by_key: bool,
    /// Conditions on the values of the grouped attribute (SQL, each with a leading `AND`).
    only: String,
}

impl Keyed {
    /// The plan for `q`, when its pairs can answer it: metrics that are sums over the pairs (visit
    /// metrics only under attributes fixed at a visit's start or all visits, whose pairs hold
    /// visits; a conversion rate only for goals and without a grouping by value, against the total
    /// the caller computes) and no scroll goal in play.
    pub fn plan(q: &StatsQuery, d: &dyn Dialect) -> Option<Keyed> {
        // The condition on the key, and any on the grouped attribute itself (Plausible's v1
        // breakdowns add `is_not ""` on it), which the pairs' values answer.
        let members: Vec<&Filter> = match q.filter.as_ref()? {
            Filter::And(v) => v.iter().collect(),
            f => vec![f],
        };
        let on_grouped = |f: &Filter| {
            let mut only = matches!(q.dimensions.as_slice(), [Dimension::Visit(v)] if *v != VisitField::CountryName);
            f.dimensions(&mut |dim| only &= q.dimensions.first() == Some(dim));
            only
        };
        let (grouped_conditions, anchors): (Vec<&Filter>, Vec<&Filter>) =
            members.into_iter().partition(|f| on_grouped(f));
        let [Filter::Leaf { op: FilterOp::Is, dimension, values, case_sensitive }] = anchors.as_slice() else {
            return None;
        };
        let [value] = values.as_slice() else { return None };
        if !q.scroll_goals_in_play().is_empty() {
            return None;
        }
        let plain = |dim: &Dimension, column: &str| grouping(q, dim, d) == column;
        let kind_of = |dim: &Dimension| match dim {
            Dimension::Page => KINDS[0].0,
            Dimension::Name => KINDS[1].0,
            _ => GOAL_KIND,
        };
        let (field, kind, by_key, fixed) = match (dimension, q.dimensions.as_slice()) {
            // One entry page, grouped by page, event name or goal (a click in the entry pages
            // panel): the filter tests each event's own entry page, as the pairs of the entry page
            // group them, so a visit's events before its first pageview are of the empty one.
            (
                Dimension::Visit(VisitField::EntryPage),
                [dim @ (Dimension::Page | Dimension::Name | Dimension::Goal)],
            ) if *case_sensitive => {
                let plain_key = match dim {
                    Dimension::Page => plain(dim, KINDS[0].1),
                    Dimension::Name => plain(dim, KINDS[1].1),
                    _ => true,
                };
                if !plain_key {
                    return None;
                }
                (ENTRY_PAGE, kind_of(dim), true, value.clone())
            }
            // One page, grouped by event name or goal.
            (Dimension::Page, [dim @ (Dimension::Name | Dimension::Goal)]) if *case_sensitive => {
                if *dim == Dimension::Name && !plain(dim, KINDS[1].1) {
                    return None;
                }
                (PAGE, kind_of(dim), true, value.clone())
            }
            (_, dims) => {
                let (kind, key) = match dimension {
                    Dimension::Page if *case_sensitive => (KINDS[0].0, value.clone()),
                    Dimension::Name if *case_sensitive => (KINDS[1].0, value.clone()),
                    Dimension::Goal => {
                        let mut picked = q
                            .goals
                            .iter()
                            .filter(|g| goal_name_selected(FilterOp::Is, &g.name, values, *case_sensitive));
                        match (picked.next(), picked.next()) {
                            (Some(g), None) => (GOAL_KIND, g.name.clone()),
                            _ => return None,
                        }
                    }
                    _ => return None,
                };
                let field = match dims {
                    [] => ALL,
                    // Countries by name: the pairs of their codes, named as they are shown (each
                    // code has its own name).
                    [Dimension::Visit(VisitField::CountryName)] => VisitField::Country.name(),
                    [dim @ Dimension::Visit(f)] if FIELDS.contains(f) || *f == VisitField::EntryPage => {
                        // The stored value itself is what the raw query groups by.
                        if !plain(dim, f.name()) {
                            return None;
                        }
                        f.name()
                    }
                    // Pages under an event name or a goal.
                    [dim @ Dimension::Page] if kind != KINDS[0].0 && plain(dim, PAGE) => PAGE,
                    _ => return None,
                };
                (field, kind, false, key)
            }
        };
        let visits_held = field == ALL || FIELDS.iter().any(|f| f.name() == field);
        let metrics_ok = q.metrics.iter().all(|m| match m {
            // Every pair counts the visits of its events.
            Metric::Visitors | Metric::Events | Metric::Pageviews | Metric::Visits => true,
            Metric::BounceRate | Metric::VisitDuration | Metric::ViewsPerVisit => visits_held,
            // One total for all rows: of the whole range, or of the goals under one page.
            Metric::ConversionRate => kind == GOAL_KIND && (field == ALL || by_key),
            _ => false,
        });
        let only = grouped_conditions.iter().map(|f| format!(" AND {}", value_filter(f, "value", d))).collect();
        metrics_ok.then_some(Keyed { field, kind, fixed, by_key, only })
    }

    /// Whether the pairs are goal pairs, which only days built for the site's goals hold.
    pub fn of_goal(&self) -> bool {
        self.kind == GOAL_KIND
    }

    /// One statement answering `q` from the pairs of `days` (UTC day numbers, built; for goals,
    /// built for `q.goals`) and the raw events of the rest of the range. `conversion` is a
    /// statement whose `m0` is the conversion rate's denominator, when `q` asks for one.
    pub fn compile(
        &self,
        q: &StatsQuery,
        days: &[i64],
        conversion: Option<String>,
        whole: WholeVisits,
        d: &dyn Dialect,
    ) -> String {
        // Under a page, Plausible's bounce rate counts only the visits that entered on it.
        let (bounce_sessions, bounces) =
            if self.kind == KINDS[0].0 { ("entries", "entry_bounces") } else { ("visits", "bounces") };
        let (fixed, grouped) = if self.by_key { ("value", "key") } else { ("key", "value") };
        let (d0, group) = if q.dimensions.is_empty() {
            (String::new(), String::new())
        } else {
            (format!("{grouped} AS d0, "), format!(" GROUP BY {grouped}"))
        };
        let sum = |c: &str, as_: &str| format!("CAST(sum({c}) AS BIGINT) AS {as_}");
        let sums = [
            sum("visitors", "visitors"),
            sum("visits", "visits"),
            sum("pageviews", "pageviews"),
            sum("events", "events"),
            sum("visits", "sessions"),
            sum(bounces, "bounces"),
            sum("dur_sum", "dur_sum"),
            sum("pv_sum", "pv_sum"),
            sum(bounce_sessions, "bounce_sessions"),
        ];
        let pairs = format!(
            "(SELECT {d0}{} FROM {} AND {fixed} = {}{}{group}) keyed_parts",
            sums.join(", "),
            selection(q, days, self.field, self.kind),
            lit(&self.fixed),
            self.only,
        );
        let mut parts = vec![format!("SELECT * FROM {}", shown(q, pairs, d))];
        let raw = raw_ranges(q.start, q.end, days);
        if !raw.is_empty() {
            parts.push(format!("SELECT * FROM ({})", compile_parts(q, &raw, whole, d)));
        }
        let totals: Vec<String> = conversion.map(|c| format!("SELECT m0 AS visitors FROM ({c})")).into_iter().collect();
        assemble(q, &parts, &totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_code_has_a_name_of_its_own() {
        // Countries by name are summed from the pairs of their codes (see `Keyed::plan`).
        let mut names: Vec<&str> = crate::countries::COUNTRIES.iter().map(|(_, name)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), crate::countries::COUNTRIES.len());
        assert!(crate::countries::COUNTRIES.iter().all(|(code, _)| !names.contains(code)), "no name is a code");
    }

    #[test]
    fn one_entry_page_s_pages_events_and_goals_are_read_from_its_pairs() {
        let under = |page: &str, dimension: Dimension| StatsQuery {
            metrics: vec![Metric::Visitors, Metric::Events],
            dimensions: vec![dimension],
            filter: Some(Filter::Leaf {
                op: FilterOp::Is,
                dimension: Dimension::Visit(VisitField::EntryPage),
                values: vec![page.into()],
                case_sensitive: true,
            }),
            goals: vec![Goal { name: "Signup".into(), kind: crate::query::GoalKind::Event("Signup".into()) }],
            ..StatsQuery::over(1, 0, 86_400, crate::query::LocalTime::utc())
        };
        for (dimension, kind) in [(Dimension::Page, 0), (Dimension::Name, 1), (Dimension::Goal, GOAL_KIND)] {
            let plan = Keyed::plan(&under("/", dimension.clone()), &DuckDbDialect);
            let plan = plan.unwrap_or_else(|| panic!("{dimension:?}"));
            assert_eq!((plan.field, plan.kind, plan.by_key, plan.fixed.as_str()), (ENTRY_PAGE, kind, true, "/"));
        }
        // The bounce rate of a page is of the visits that entered on it, which these pairs do not hold.
        let bounce = StatsQuery { metrics: vec![Metric::BounceRate], ..under("/", Dimension::Page) };
        assert!(Keyed::plan(&bounce, &DuckDbDialect).is_none());
    }

    #[test]
    fn paired_attributes_are_stored_columns_of_their_own_name() {
        for field in FIELDS {
            assert!(field.fixed_at_start(), "{field:?} is the same on every event of a visit");
            assert_eq!(field.columns(), &[field.name()], "{field:?}");
        }
    }
}
