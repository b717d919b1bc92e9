//! Pair cells: per built UTC day, the visitors, pageviews and events of each page, each event
//! name and each goal within the visits of each value of a few visit attributes (source,
//! channel, country, device).
//!
//! Why: a click on a source, a country or a device filters the dashboard by it, and its top pages,
//! events and goals were then a scan of every event of the range that tested the attribute, even with
//! the first-event marks (`events::firsts`): 160–260 ms a panel at 10 M events, 1.4–1.8 s at
//! 100 M. The pairs of those attributes with the page and the name are far fewer than the events
//! (about a quarter of them at 10 M, for four attributes), and the panel reads only the pairs of
//! the chosen value.
//!
//! Exact for the reasons day cells are: visitor ids are daily, so a visitor is counted in one
//! day's pairs only, and every event of a visit carries the visit's attributes, so the visitors
//! of a pair are those of the raw query over that day. Only a filter that picks one value exactly
//! is read from pairs: with two values a visitor of both would be counted twice. The pairs are
//! written with the day's other cells and go wherever they go (`DAY_TABLES`).

use super::rollup::{DAY, DayJob, runs};
use super::sql::{Dialect, DuckDbDialect, goal_condition, grouping, lit, shown};
use crate::query::{Dimension, Filter, FilterOp, Goal, StatsQuery, VisitField};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS day_pairs (
    site_id UINTEGER NOT NULL,
    day BIGINT NOT NULL,
    -- The visit attribute's column, and its value.
    field VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    -- 0: `key` is a page; 1: an event name; 2: a goal (written with the day's goal cells, under
    -- their goals' signature).
    kind UTINYINT NOT NULL,
    key VARCHAR NOT NULL,
    visitors BIGINT NOT NULL,
    pageviews BIGINT NOT NULL,
    events BIGINT NOT NULL
);
"#;

/// The visit attributes paired with pages and names: those of the dashboard's source, location
/// and device panels a click filters by.
const FIELDS: [VisitField; 4] = [VisitField::Source, VisitField::Channel, VisitField::Country, VisitField::Device];

/// The kinds of key, with the event column that holds them.
const KINDS: [(u8, &str); 2] = [(0, "pathname"), (1, "name")];

/// The kind of the pairs of goals (see [`goal_statements`]).
const GOAL_KIND: u8 = 2;

/// The statements that write one UTC day's pairs, one per attribute and kind of key.
pub fn build_statements(job: &DayJob<'_>) -> Vec<String> {
    let DayJob { site_id, day, .. } = *job;
    let mut out = Vec::new();
    for field in FIELDS {
        let column = field.name();
        for (kind, key) in KINDS {
            out.push(format!(
                "INSERT INTO day_pairs SELECT {site_id}, {day}, {}, {column}, {kind}, {key}, count(DISTINCT visitor_id), \
                 count(*) FILTER (WHERE name = 'pageview'), count(*) FROM events WHERE site_id = {site_id} \
                 AND ts >= {} AND ts < {} AND name <> 'engagement' GROUP BY {column}, {key}",
                lit(column),
                day * DAY,
                (day + 1) * DAY,
            ));
        }
    }
    out
}

/// The statements that replace one UTC day's goal pairs for the site's `goals`: per paired
/// attribute, each goal's visitors and completions. They run with the day's goal cells
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
    for field in FIELDS {
        let column = field.name();
        let rows: Vec<String> = goals
            .iter()
            .map(|g| {
                format!(
                    "SELECT {column}, visitor_id, {} AS goal FROM events WHERE site_id = {site_id} AND ts >= {} \
                     AND ts < {} AND name <> 'engagement' AND {}",
                    lit(&g.name),
                    day * DAY,
                    (day + 1) * DAY,
                    goal_condition(&q, &g.kind, &DuckDbDialect)
                )
            })
            .collect();
        out.push(format!(
            "INSERT INTO day_pairs SELECT {site_id}, {day}, {}, {column}, {GOAL_KIND}, goal, count(DISTINCT visitor_id), \
             0, count(*) FROM ({}) GROUP BY {column}, goal",
            lit(column),
            rows.join(" UNION ALL ")
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
/// filter is one case-sensitive `is` with one value on a paired attribute.
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

/// The parts of the pairs of `kind` of `days` under `field = value`, grouped by key.
fn pair_parts(q: &StatsQuery, days: &[i64], field: VisitField, value: &str, kind: u8, d: &dyn Dialect) -> String {
    let day_runs: Vec<String> = runs(days).iter().map(|(a, b)| format!("day BETWEEN {a} AND {b}")).collect();
    let grouped = format!(
        "(SELECT key AS d0, CAST(sum(visitors) AS BIGINT) AS visitors, NULL::BIGINT AS visits, \
         CAST(sum(pageviews) AS BIGINT) AS pageviews, CAST(sum(events) AS BIGINT) AS events, \
         NULL::BIGINT AS sessions, NULL::BIGINT AS bounces, NULL::BIGINT AS dur_sum, NULL::BIGINT AS pv_sum \
         FROM day_pairs WHERE site_id = {} AND ({}) AND field = {} AND value = {} AND kind = {kind} GROUP BY key) pair_parts",
        q.site_id,
        if day_runs.is_empty() { "false".to_owned() } else { day_runs.join(" OR ") },
        lit(field.name()),
        lit(value),
    );
    shown(q, grouped, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_attributes_are_stored_columns_of_their_own_name() {
        for field in FIELDS {
            assert!(field.fixed_at_start(), "{field:?} is the same on every event of a visit");
            assert_eq!(field.columns(), &[field.name()], "{field:?}");
        }
    }
}
