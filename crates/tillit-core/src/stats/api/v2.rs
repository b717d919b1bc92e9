//! Stats API v2: `POST /api/v2/query` documents, checked as Plausible's JSON schema and query
//! builder check them (in the same order, so the first error is the one Plausible reports), and
//! the response document.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};
use tillit_store::query::{
    DimValue, Dimension, Direction, Filter, FilterOp, Metric, OrderKey, QueryOutput, ResultRow, StatsQuery, TimeGrain,
    VisitField,
};

use super::{
    QueryError, SiteCtx, bad, change, dimension, inspect, metric_json, missing_comparison_value, shown_value,
    stored_value,
};
use crate::stats::period::{self, Range, Rules};

/// Who is asking: API clients, or Tillit's own dashboard, which (like Plausible's) may graph views
/// per visit over time, which the public API refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Api,
    Dashboard,
}

/// What `include` asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Include {
    pub time_labels: bool,
    pub total_rows: bool,
    /// Imported data was asked for (Tillit has none yet: the answer says so).
    pub imports: bool,
}

/// A parsed v2 query, with what is needed to shape its answer.
#[derive(Clone, Debug)]
pub struct V2Query {
    pub query: StatsQuery,
    pub range: Range,
    pub include: Include,
    /// `include.comparisons`: the same query over the comparison range.
    pub comparison: Option<(StatsQuery, Range)>,
    /// The normalised query, echoed back under `query`.
    pub echo: Value,
}

const KEYS: [&str; 9] =
    ["site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "include", "pagination", "date"];

/// Metrics of the v2 API, by name.
fn metric(name: &str) -> Option<Metric> {
    Some(match name {
        "visitors" => Metric::Visitors,
        "visits" => Metric::Visits,
        "pageviews" => Metric::Pageviews,
        "views_per_visit" => Metric::ViewsPerVisit,
        "bounce_rate" => Metric::BounceRate,
        "visit_duration" => Metric::VisitDuration,
        "events" => Metric::Events,
        "percentage" => Metric::Percentage,
        "conversion_rate" => Metric::ConversionRate,
        "group_conversion_rate" => Metric::GroupConversionRate,
        "time_on_page" => Metric::TimeOnPage,
        "scroll_depth" => Metric::ScrollDepth,
        "exit_rate" => Metric::ExitRate,
        _ => return None,
    })
}

/// The `site_id` of a v2 document, to look the site up before [`parse_v2`].
pub fn v2_site_id(body: &Value) -> Result<String, QueryError> {
    match body.get("site_id") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(bad("#: Required property site_id was not present.")),
    }
}

/// JSON Schema's name for a value's type, as Plausible's messages give it.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

fn array<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Vec<Value>>, QueryError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(bad(format!("#/{key}: Type mismatch. Expected Array but got {}.", type_name(other)))),
    }
}

fn unique(items: &[Value], key: &str) -> Result<(), QueryError> {
    for (i, v) in items.iter().enumerate() {
        if items[..i].contains(v) {
            return Err(bad(format!("#/{key}: Expected items to be unique but they were not.")));
        }
    }
    Ok(())
}

pub fn parse_v2(body: &Value, site: &SiteCtx, now: i64, surface: Surface) -> Result<V2Query, QueryError> {
    let Value::Object(obj) = body else {
        return Err(bad(format!("#: Type mismatch. Expected Object but got {}.", type_name(body))));
    };
    if obj.keys().any(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad("#: Schema does not allow additional properties."));
    }
    let missing: Vec<&str> =
        ["site_id", "metrics", "date_range"].into_iter().filter(|k| !obj.contains_key(*k)).collect();
    match missing.as_slice() {
        [] => {}
        [one] => return Err(bad(format!("#: Required property {one} was not present."))),
        many => return Err(bad(format!("#: Required properties {} were not present.", many.join(", ")))),
    }

    // metrics
    let metric_items =
        array(obj, "metrics")?.ok_or_else(|| bad("#/metrics: Required property metrics was not present."))?;
    if metric_items.is_empty() {
        return Err(bad("#/metrics: Expected a minimum of 1 items but got 0."));
    }
    unique(metric_items, "metrics")?;
    let mut metrics = Vec::new();
    for (i, m) in metric_items.iter().enumerate() {
        let found =
            m.as_str().and_then(metric).ok_or_else(|| bad(format!("#/metrics/{i}: Invalid metric {}", inspect(m))))?;
        metrics.push(found);
    }

    // date_range (and the relative date it is anchored to)
    let anchor = match obj.get("date") {
        None => period::today(&site.tz, now),
        Some(Value::String(s)) => s.parse().map_err(|_| bad(format!("Invalid date '{s}'.")))?,
        Some(other) => {
            return Err(bad(format!("#/date: Type mismatch. Expected String but got {}.", type_name(other))));
        }
    };
    let date_range = &obj["date_range"];
    let invalid_range = || bad(format!("#/date_range: Invalid date range {}", inspect(date_range)));
    let range = match date_range {
        Value::String(name) => named_range(name, site, anchor, now).ok_or_else(invalid_range)?,
        Value::Array(pair) if pair.len() == 2 => {
            let (Some(a), Some(b)) = (pair[0].as_str(), pair[1].as_str()) else { return Err(invalid_range()) };
            let refused = || bad(format!("Invalid date_range '{}'.", inspect(date_range)));
            if a.len() == 10 && b.len() == 10 {
                let (a, b) = (a.parse().map_err(|_| invalid_range())?, b.parse().map_err(|_| invalid_range())?);
                period::dates(&site.tz, a, b).map_err(|_| refused())?
            } else {
                let instant = |s: &str| s.parse::<Timestamp>().map(|t| t.as_second()).map_err(|_| invalid_range());
                period::instants(&site.tz, instant(a)?, instant(b)? + 1).map_err(|_| refused())?
            }
        }
        _ => return Err(invalid_range()),
    };
    let grain = time_grain(&range);

    // dimensions
    let dim_items: &[Value] = array(obj, "dimensions")?.map_or(&[], Vec::as_slice);
    unique(dim_items, "dimensions")?;
    let mut dimensions = Vec::new();
    for (i, d) in dim_items.iter().enumerate() {
        // Minutes are the realtime graph's, an internal dimension in Plausible too.
        let found = d
            .as_str()
            .and_then(|name| dimension(name, grain))
            .filter(|dim| surface == Surface::Dashboard || *dim != Dimension::Time(TimeGrain::Minute))
            .ok_or_else(|| bad(format!("#/dimensions/{i}: Invalid dimension {}", inspect(d))))?;
        dimensions.push(found);
    }
    if dimensions.iter().filter(|d| matches!(d, Dimension::Time(_))).count() > 1 {
        return Err(bad(format!("Invalid dimensions '{}'", inspect(&Value::Array(dim_items.to_vec())))));
    }

    // filters
    let filter_items: &[Value] = array(obj, "filters")?.map_or(&[], Vec::as_slice);
    let mut filters = Vec::new();
    for (i, f) in filter_items.iter().enumerate() {
        filters.push(filter(f, grain).ok_or_else(|| bad(format!("#/filters/{i}: Invalid filter {}", inspect(f))))?);
    }

    // order_by (checked against the query after the schema)
    let order_items: &[Value] = array(obj, "order_by")?.map_or(&[], Vec::as_slice);
    let mut order_entries = Vec::new();
    for (i, e) in order_items.iter().enumerate() {
        let shaped = e.as_array().filter(|a| a.len() == 2).and_then(|a| {
            let dir = match a[1].as_str()? {
                "asc" => Direction::Asc,
                "desc" => Direction::Desc,
                _ => return None,
            };
            Some((a[0].as_str()?.to_owned(), dir))
        });
        order_entries
            .push(shaped.ok_or_else(|| bad(format!("#/order_by/{i}: Invalid value in order_by {}", inspect(e))))?);
    }

    // include
    let mut include = Include::default();
    let mut comparison_spec: Option<&Value> = None;
    if let Some(inc) = obj.get("include") {
        let Value::Object(inc) = inc else {
            return Err(bad(format!("#/include: Type mismatch. Expected Object but got {}.", type_name(inc))));
        };
        for (k, v) in inc {
            match (k.as_str(), v) {
                ("time_labels", Value::Bool(b)) => include.time_labels = *b,
                ("total_rows", Value::Bool(b)) => include.total_rows = *b,
                ("imports", Value::Bool(b)) => include.imports = *b,
                ("comparisons", Value::Object(_)) => comparison_spec = Some(v),
                ("comparisons", Value::Null) => {}
                ("time_labels" | "total_rows" | "imports", other) | ("comparisons", other) => {
                    let expected = if k == "comparisons" { "Object" } else { "Boolean" };
                    return Err(bad(format!(
                        "#/include/{k}: Type mismatch. Expected {expected} but got {}.",
                        type_name(other)
                    )));
                }
                _ => return Err(bad("#/include: Schema does not allow additional properties.")),
            }
        }
    }

    // pagination
    let (mut limit, mut offset) = (10_000usize, 0usize);
    if let Some(p) = obj.get("pagination") {
        let Value::Object(p) = p else {
            return Err(bad(format!("#/pagination: Type mismatch. Expected Object but got {}.", type_name(p))));
        };
        for (k, v) in p {
            let n = v.as_i64().ok_or_else(|| {
                bad(format!("#/pagination/{k}: Type mismatch. Expected Integer but got {}.", type_name(v)))
            })?;
            match k.as_str() {
                "limit" if n < 1 => return Err(bad("#/pagination/limit: Expected the value to be >= 1")),
                "limit" if n > 10_000 => return Err(bad("#/pagination/limit: Expected the value to be <= 10000")),
                "limit" => limit = n as usize,
                "offset" if n < 0 => return Err(bad("#/pagination/offset: Expected the value to be >= 0")),
                "offset" => offset = n as usize,
                _ => return Err(bad("#/pagination: Schema does not allow additional properties.")),
            }
        }
    }

    // What the query builder checks once the document has the schema's shape.
    let mut order_by = Vec::new();
    for (key, dir) in &order_entries {
        let found = if let Some(m) = metric(key).filter(|m| metrics.contains(m)) {
            Some(OrderKey::Metric(m))
        } else {
            dimension(key, grain).and_then(|d| dimensions.iter().position(|x| *x == d)).map(OrderKey::Dimension)
        };
        let Some(found) = found else {
            let shown = match metric(key) {
                Some(_) => format!("{{:{key}, :{}}}", direction_name(*dir)),
                None => format!("{{{}, :{}}}", Value::String(key.clone()), direction_name(*dir)),
            };
            return Err(bad(format!("Invalid order_by entry '{shown}'. Entry is not a queried metric or dimension.")));
        };
        order_by.push((found, *dir));
    }
    for f in &filters {
        check_country_codes(f)?;
        check_nesting(f, 0)?;
    }
    for f in &filters {
        check_goals_exist(f, site)?;
    }
    super::extend_hostname_filters(&mut filters, &dimensions);
    let filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(Filter::And(filters)),
    };
    check_metrics(&metrics, &dimensions, filter.as_ref(), surface)?;
    if include.time_labels && !dimensions.iter().any(|d| matches!(d, Dimension::Time(_))) {
        return Err(bad("Invalid include.time_labels: requires a time dimension."));
    }
    if order_by.is_empty() {
        if let Some(i) = dimensions.iter().position(|d| matches!(d, Dimension::Time(_))) {
            order_by.push((OrderKey::Dimension(i), Direction::Asc));
        }
        order_by.push((OrderKey::Metric(metrics[0]), Direction::Desc));
    }

    let query = StatsQuery {
        metrics,
        dimensions,
        filter,
        order_by,
        limit,
        offset,
        goals: site.goals.clone(),
        ..StatsQuery::over(site.id, range.start, range.end, range.local.clone())
    };
    let comparison = match comparison_spec {
        None => None,
        Some(spec) => {
            let other = comparison_range(spec, &range, &site.tz, period::today(&site.tz, now))?;
            // Every comparison row, so each result row can find its counterpart.
            let q = StatsQuery {
                start: other.start,
                end: other.end,
                local: other.local.clone(),
                limit: 10_000,
                offset: 0,
                ..query.clone()
            };
            Some((q, other))
        }
    };
    let echo = echo(obj, site, &query, &range, include);
    Ok(V2Query { query, range, include, comparison, echo })
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Asc => "asc",
        Direction::Desc => "desc",
    }
}

/// A named range: the shorthands of Plausible's v2 API.
fn named_range(name: &str, site: &SiteCtx, anchor: jiff::civil::Date, now: i64) -> Option<Range> {
    match name {
        "24h" => period::instants(&site.tz, now - 86_400, now + 1).ok(),
        other => period::named(&site.tz, other, anchor, Rules::V2, site.first_event).ok(),
    }
}

/// The bucket `time` stands for: hours up to two days, days up to 40, weeks up to 52, months.
fn time_grain(range: &Range) -> TimeGrain {
    let span = range.end - 1 - range.start;
    if span <= 48 * 3600 {
        TimeGrain::Hour
    } else if span <= 40 * 86_400 {
        TimeGrain::Day
    } else if span / (7 * 86_400) <= 52 {
        TimeGrain::Week
    } else {
        TimeGrain::Month
    }
}

/// One filter of the document: `None` when the schema would refuse it.
pub(crate) fn filter(f: &Value, grain: TimeGrain) -> Option<Filter> {
    filter_with(f, grain, false)
}

/// A filter, with Plausible's internal wildcard operators too when `wildcards` (v1's JSON filters
/// take them: `matches_wildcard`, `matches_wildcard_not`).
pub(crate) fn filter_with(f: &Value, grain: TimeGrain, wildcards: bool) -> Option<Filter> {
    let parts = f.as_array()?;
    let op = parts.first()?.as_str()?;
    match op {
        "and" | "or" => {
            if parts.len() != 2 {
                return None;
            }
            let children = parts[1].as_array().filter(|c| !c.is_empty())?;
            let children = children.iter().map(|c| filter_with(c, grain, wildcards)).collect::<Option<Vec<_>>>()?;
            Some(if op == "and" { Filter::And(children) } else { Filter::Or(children) })
        }
        "not" => (parts.len() == 2)
            .then(|| filter_with(&parts[1], grain, wildcards))
            .flatten()
            .map(|c| Filter::Not(Box::new(c))),
        _ => {
            let wildcard = wildcards && matches!(op, "matches_wildcard" | "matches_wildcard_not");
            let op = match op {
                "matches_wildcard" if wildcards => FilterOp::Matches,
                "matches_wildcard_not" if wildcards => FilterOp::MatchesNot,
                "is" => FilterOp::Is,
                "is_not" => FilterOp::IsNot,
                "contains" => FilterOp::Contains,
                "contains_not" => FilterOp::ContainsNot,
                "matches" => FilterOp::Matches,
                "matches_not" => FilterOp::MatchesNot,
                _ => return None,
            };
            let modifiers_allowed = !matches!(op, FilterOp::Matches | FilterOp::MatchesNot);
            if !(parts.len() == 3 || (parts.len() == 4 && modifiers_allowed)) {
                return None;
            }
            let dim = dimension(parts[1].as_str()?, grain)?;
            match &dim {
                Dimension::Time(_) => return None,
                Dimension::Goal if !matches!(op, FilterOp::Is | FilterOp::Contains) => return None,
                _ => {}
            }
            let values = parts[2]
                .as_array()?
                .iter()
                .map(|c| match c {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            let case_sensitive = match parts.get(3) {
                None => true,
                Some(Value::Object(m)) if m.keys().all(|k| k == "case_sensitive") => {
                    m.get("case_sensitive").map_or(Some(true), Value::as_bool)?
                }
                Some(_) => return None,
            };
            if op.positive() == FilterOp::Matches && values.iter().any(|v| regex::Regex::new(v).is_err()) {
                return None;
            }
            let values = if op.positive() == FilterOp::Is {
                values.iter().map(|v| stored_value(&dim, v)).collect()
            } else if wildcard {
                values.iter().map(|v| super::wildcard_regex(v)).collect()
            } else {
                values
            };
            Some(Filter::Leaf { op, dimension: dim, values, case_sensitive })
        }
    }
}

fn check_country_codes(f: &Filter) -> Result<(), QueryError> {
    match f {
        Filter::And(v) | Filter::Or(v) => v.iter().try_for_each(check_country_codes),
        Filter::Not(c) => check_country_codes(c),
        Filter::Leaf { op, dimension: Dimension::Visit(VisitField::Country), values, .. }
            if op.positive() == FilterOp::Is && values.iter().any(|v| !v.is_empty() && v.len() != 2) =>
        {
            Err(bad("Invalid visit:country filter, visit:country needs to be a valid 2-letter country code."))
        }
        Filter::Leaf { .. } => Ok(()),
    }
}

/// Goal and hostname filters only at the top level, as Plausible allows them.
fn check_nesting(f: &Filter, depth: usize) -> Result<(), QueryError> {
    match f {
        Filter::And(v) | Filter::Or(v) => v.iter().try_for_each(|c| check_nesting(c, depth + 1)),
        Filter::Not(c) => check_nesting(c, depth + 1),
        Filter::Leaf { dimension: d @ (Dimension::Goal | Dimension::Hostname), .. } if depth > 0 => {
            Err(bad(format!("Invalid filters. Dimension `{}` can only be filtered at the top level.", d.label())))
        }
        Filter::Leaf { .. } => Ok(()),
    }
}

/// An `is` goal filter must name goals the site has.
fn check_goals_exist(f: &Filter, site: &SiteCtx) -> Result<(), QueryError> {
    match f {
        Filter::And(v) | Filter::Or(v) => v.iter().try_for_each(|c| check_goals_exist(c, site)),
        Filter::Not(c) => check_goals_exist(c, site),
        Filter::Leaf { op: FilterOp::Is, dimension: Dimension::Goal, values, case_sensitive: true } => {
            match values.iter().find(|v| !site.goals.iter().any(|g| g.name == **v)) {
                Some(missing) => Err(bad(format!(
                    "Invalid filters. The goal `{missing}` is not configured for this site. \
                     Find out how to configure goals here: https://plausible.io/docs/stats-api#filtering-by-goals"
                ))),
                None => Ok(()),
            }
        }
        Filter::Leaf { .. } => Ok(()),
    }
}

/// Whether any leaf filters on `dim`; `top` looks only at the top level.
fn filters_on(f: Option<&Filter>, top: bool, pred: &dyn Fn(&Dimension) -> bool) -> bool {
    let Some(f) = f else { return false };
    match f {
        Filter::Leaf { dimension, .. } => pred(dimension),
        Filter::And(v) if top => v.iter().any(|c| filters_on(Some(c), true, pred)),
        _ if top => false,
        other => {
            let mut found = false;
            other.dimensions(&mut |d| found |= pred(d));
            found
        }
    }
}

/// Plausible's checks of what metrics may go with which dimensions and filters, in its order.
pub(crate) fn check_metrics(
    metrics: &[Metric],
    dims: &[Dimension],
    f: Option<&Filter>,
    surface: Surface,
) -> Result<(), QueryError> {
    let is_page = |d: &Dimension| *d == Dimension::Page;
    let is_goal = |d: &Dimension| *d == Dimension::Goal;
    let is_event = |d: &Dimension| {
        matches!(d, Dimension::Page | Dimension::Hostname | Dimension::Name | Dimension::Goal | Dimension::Prop(_))
    };
    for m in metrics {
        match m {
            Metric::ConversionRate | Metric::GroupConversionRate
                if !dims.iter().any(is_goal) && !filters_on(f, false, &is_goal) =>
            {
                return Err(bad(format!(
                    "Metric `{}` can only be queried with event:goal filters or dimensions.",
                    m.name()
                )));
            }
            Metric::ScrollDepth | Metric::TimeOnPage if !dims.iter().any(is_page) && !filters_on(f, true, &is_page) => {
                return Err(bad(format!(
                    "Metric `{}` can only be queried with event:page filters or dimensions.",
                    m.name()
                )));
            }
            Metric::ExitRate if dims != [Dimension::Visit(VisitField::ExitPage)] => {
                return Err(bad(
                    "Metric `exit_rate` requires a `\"visit:exit_page\"` dimension. No other dimensions are allowed.",
                ));
            }
            Metric::ExitRate if filters_on(f, false, &is_event) => {
                return Err(bad("Metric `exit_rate` cannot be queried when filtering on event dimensions."));
            }
            Metric::ViewsPerVisit if filters_on(f, false, &is_page) => {
                return Err(bad("Metric `views_per_visit` cannot be queried with a filter on `event:page`."));
            }
            Metric::ViewsPerVisit if !dims.is_empty() && surface == Surface::Api => {
                return Err(bad("Metric `views_per_visit` cannot be queried with `dimensions`."));
            }
            _ => {}
        }
    }
    let event_dims: Vec<&Dimension> = dims.iter().filter(|d| is_event(d)).collect();
    if event_dims.len() == 1 && *event_dims[0] == Dimension::Page {
        return Ok(());
    }
    let session_metrics: Vec<&str> = metrics.iter().filter(|m| m.is_session_metric()).map(|m| m.name()).collect();
    if !session_metrics.is_empty() && !event_dims.is_empty() {
        return Err(bad(format!(
            "Session metric(s) {} cannot be queried along with event dimension(s) {}",
            backticked(session_metrics),
            backticked(event_dims.iter().map(|d| d.label()))
        )));
    }
    let session_dims: Vec<String> = dims
        .iter()
        .filter(|d| {
            matches!(
                d,
                Dimension::Visit(
                    VisitField::EntryPage
                        | VisitField::ExitPage
                        | VisitField::EntryPageHostname
                        | VisitField::ExitPageHostname
                )
            )
        })
        .map(Dimension::label)
        .collect();
    let event_metrics: Vec<&str> = metrics
        .iter()
        .filter(|m| matches!(m, Metric::Pageviews | Metric::Events | Metric::ScrollDepth | Metric::TimeOnPage))
        .map(|m| m.name())
        .collect();
    if !event_metrics.is_empty() && !session_dims.is_empty() {
        return Err(bad(format!(
            "Event metric(s) {} cannot be queried along with session dimension(s) {}",
            backticked(event_metrics),
            backticked(session_dims)
        )));
    }
    Ok(())
}

fn backticked<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items.into_iter().map(|s| format!("`{}`", s.as_ref())).collect::<Vec<_>>().join(", ")
}

/// The range compared against: the period just before (as long as the part of the range up to
/// today), the same dates 365 days earlier, or explicit dates; moved to start on the same weekday
/// when `match_day_of_week` asks.
pub fn comparison_range(
    spec: &Value,
    range: &Range,
    tz: &TimeZone,
    today: jiff::civil::Date,
) -> Result<Range, QueryError> {
    let last = range.last.min(today.max(range.first));
    let days = |n: i64| jiff::Span::new().days(n);
    let shift = |d: jiff::civil::Date, n: i64| d.checked_add(days(n)).map_err(|e| bad(e.to_string()));
    let (first, last) = match spec.get("mode").and_then(Value::as_str) {
        Some("previous_period") => {
            let len = last.since(range.first).map_or(0, |s| i64::from(s.get_days())) + 1;
            (shift(range.first, -len)?, shift(last, -len)?)
        }
        Some("year_over_year") => (shift(range.first, -365)?, shift(last, -365)?),
        Some("custom") => {
            let dates = spec.get("date_range").and_then(Value::as_array).filter(|a| a.len() == 2).ok_or_else(|| {
                bad("#/include/comparisons: a custom comparison needs date_range: [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]")
            })?;
            let date = |v: &Value| {
                v.as_str()
                    .and_then(|s| s.parse::<jiff::civil::Date>().ok())
                    .ok_or_else(|| bad(format!("Invalid comparison date_range '{}'.", inspect(v))))
            };
            (date(&dates[0])?, date(&dates[1])?)
        }
        _ => return Err(bad("#/include/comparisons/mode: Value is not allowed in enum.")),
    };
    let (first, last) = if spec.get("match_day_of_week").and_then(Value::as_bool) == Some(true) {
        let n = day_of_week_shift(range.first, first);
        (shift(first, n)?, shift(last, n)?)
    } else {
        (first, last)
    };
    Ok(period::dates(tz, first, last)?)
}

/// Days to move a comparison starting on `other` so that it starts on the weekday of `first`:
/// the nearer of the next and the previous such day (never `first` itself).
fn day_of_week_shift(first: jiff::civil::Date, other: jiff::civil::Date) -> i64 {
    let want = first.weekday().to_monday_zero_offset();
    let have = other.weekday().to_monday_zero_offset();
    if want == have {
        return 0;
    }
    let forward = i64::from((want - have).rem_euclid(7));
    let backward = forward - 7;
    let lands_on_first = |n: i64| other.checked_add(jiff::Span::new().days(n)).is_ok_and(|d| d == first);
    if forward <= -backward && !lands_on_first(forward) { forward } else { backward }
}

/// The normalised query Plausible echoes back.
fn echo(obj: &Map<String, Value>, site: &SiteCtx, q: &StatsQuery, range: &Range, include: Include) -> Value {
    let iso = |t: i64| {
        Timestamp::from_second(t).map_or_else(
            |_| t.to_string(),
            |ts| ts.to_zoned(site.tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        )
    };
    let dimensions: Vec<String> = q.dimensions.iter().map(Dimension::label).collect();
    let order_by: Vec<Value> = q
        .order_by
        .iter()
        .map(|(k, d)| {
            let key = match k {
                OrderKey::Metric(m) => m.name().to_owned(),
                OrderKey::Dimension(i) => dimensions.get(*i).cloned().unwrap_or_default(),
            };
            json!([key, direction_name(*d)])
        })
        .collect();
    let mut inc = Map::new();
    for (k, on) in
        [("time_labels", include.time_labels), ("total_rows", include.total_rows), ("imports", include.imports)]
    {
        if on {
            inc.insert(k.into(), Value::Bool(true));
        }
    }
    if let Some(c) = obj.get("include").and_then(|i| i.get("comparisons")).filter(|c| c.is_object()) {
        inc.insert("comparisons".into(), c.clone());
    }
    json!({
        "site_id": site.domain,
        "metrics": q.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "date_range": [iso(range.start), iso(range.end - 1)],
        "filters": obj.get("filters").cloned().unwrap_or_else(|| json!([])),
        "dimensions": dimensions,
        "order_by": order_by,
        "include": inc,
        "pagination": {"limit": q.limit, "offset": q.offset},
    })
}

/// The v2 response document.
pub fn render_v2(q: &V2Query, out: &QueryOutput, compared: Option<&QueryOutput>) -> Value {
    let label = |g: TimeGrain, b: i64| period::label_in(&q.range, g, b);
    let dims = |r: &ResultRow| -> Vec<Value> {
        q.query.dimensions.iter().zip(&r.dimensions).map(|(d, v)| shown_value(d, v, label)).collect()
    };
    let metrics = |r: &ResultRow| -> Vec<Value> {
        q.query.metrics.iter().zip(&r.metrics).map(|(m, v)| metric_json(*m, *v)).collect()
    };
    let time_only = matches!(q.query.dimensions.as_slice(), [Dimension::Time(_)]);
    // With comparisons, a time series has a row for every bucket of the range.
    let filled: Vec<ResultRow>;
    let rows: &[ResultRow] = match (&q.comparison, &q.query.dimensions[..]) {
        (Some(_), [Dimension::Time(g)]) if time_only => {
            let by_bucket: HashMap<&DimValue, &ResultRow> =
                out.rows.iter().filter_map(|r| r.dimensions.first().map(|d| (d, r))).collect();
            filled = period::buckets(&q.range, *g)
                .into_iter()
                .map(|b| {
                    by_bucket.get(&DimValue::Bucket(b)).map_or_else(
                        || ResultRow {
                            dimensions: vec![DimValue::Bucket(b)],
                            metrics: vec![Some(0.0); q.query.metrics.len()],
                        },
                        |r| (*r).clone(),
                    )
                })
                .collect();
            &filled
        }
        _ => &out.rows,
    };
    let matcher = compared.zip(q.comparison.as_ref()).map(|(c, (_, range))| ComparisonIndex::new(q, range, c));
    let results: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut row = json!({ "metrics": metrics(r), "dimensions": dims(r) });
            if let Some(index) = &matcher {
                let (other_dims, other) = index.find(r);
                let other_metrics: Vec<Option<f64>> = match other {
                    Some(o) => o.metrics.clone(),
                    None => q.query.metrics.iter().map(|m| missing_comparison_value(*m)).collect(),
                };
                let change: Vec<Value> = q
                    .query
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(i, m)| change(*m, r.metrics[i], other_metrics[i]))
                    .collect();
                let shown_dims: Vec<Value> = q
                    .query
                    .dimensions
                    .iter()
                    .zip(&other_dims)
                    .map(|(d, v)| v.as_ref().map_or(Value::Null, |v| shown_value(d, v, label)))
                    .collect();
                row["comparison"] = json!({
                    "dimensions": shown_dims,
                    "metrics": q.query.metrics.iter().zip(&other_metrics).map(|(m, v)| metric_json(*m, *v)).collect::<Vec<_>>(),
                    "change": change,
                });
            }
            row
        })
        .collect();
    let mut meta = Map::new();
    if q.include.imports {
        meta.insert("imports_included".into(), json!(false));
        meta.insert("imports_skip_reason".into(), json!("no_imported_data"));
    }
    if q.include.time_labels
        && let Some(Dimension::Time(g)) = q.query.dimensions.iter().find(|d| matches!(d, Dimension::Time(_)))
    {
        let labels: Vec<String> =
            period::buckets(&q.range, *g).into_iter().map(|b| period::label_in(&q.range, *g, b)).collect();
        meta.insert("time_labels".into(), json!(labels));
    }
    if q.include.total_rows {
        meta.insert("total_rows".into(), json!(out.total_rows));
    }
    json!({ "results": results, "meta": meta, "query": q.echo })
}

/// Finds the comparison row for a result row: the same non-time dimension values, and for time
/// the bucket at the same position in the comparison range.
struct ComparisonIndex<'a> {
    time: Option<(usize, TimeGrain)>,
    main_buckets: Vec<i64>,
    other_buckets: Vec<i64>,
    rows: HashMap<Vec<DimValue>, &'a ResultRow>,
}

impl<'a> ComparisonIndex<'a> {
    fn new(q: &V2Query, other: &Range, out: &'a QueryOutput) -> ComparisonIndex<'a> {
        let time = q.query.dimensions.iter().enumerate().find_map(|(i, d)| match d {
            Dimension::Time(g) => Some((i, *g)),
            _ => None,
        });
        let (main_buckets, other_buckets) = match time {
            Some((_, g)) => (period::buckets(&q.range, g), period::buckets(other, g)),
            None => (Vec::new(), Vec::new()),
        };
        let rows = out.rows.iter().map(|r| (r.dimensions.clone(), r)).collect();
        ComparisonIndex { time, main_buckets, other_buckets, rows }
    }

    /// The counterpart's dimension values (`None` for a bucket past the comparison's end) and row.
    fn find(&self, r: &ResultRow) -> (Vec<Option<DimValue>>, Option<&'a ResultRow>) {
        let mut key: Vec<Option<DimValue>> = r.dimensions.iter().cloned().map(Some).collect();
        if let Some((i, _)) = self.time {
            let other = match &r.dimensions[i] {
                DimValue::Bucket(b) => self
                    .main_buckets
                    .iter()
                    .position(|x| x == b)
                    .and_then(|pos| self.other_buckets.get(pos))
                    .map(|b| DimValue::Bucket(*b)),
                DimValue::Text(_) => None,
            };
            key[i] = other;
        }
        let row = key.iter().cloned().collect::<Option<Vec<DimValue>>>().and_then(|k| self.rows.get(&k).copied());
        (key, row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteCtx {
        super::super::test_site()
    }

    fn err(body: Value) -> String {
        parse_v2(&body, &site(), 1_716_000_000, Surface::Api).unwrap_err().0
    }

    #[test]
    fn schema_errors_name_their_place() {
        let base = |extra: Value| {
            let mut b = json!({"site_id": "a.test", "metrics": ["visitors"], "date_range": "7d"});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        assert_eq!(err(base(json!({"bogus": 1}))), "#: Schema does not allow additional properties.");
        assert_eq!(err(json!({"site_id": "a.test"})), "#: Required properties metrics, date_range were not present.");
        assert_eq!(err(base(json!({"metrics": ["visitors", "baa"]}))), "#/metrics/1: Invalid metric \"baa\"");
        assert_eq!(
            err(base(json!({"metrics": ["visitors", "visitors"]}))),
            "#/metrics: Expected items to be unique but they were not."
        );
        assert_eq!(err(base(json!({"date_range": "bad_period"}))), "#/date_range: Invalid date range \"bad_period\"");
        assert_eq!(
            err(base(json!({"dimensions": ["badproperty"]}))),
            "#/dimensions/0: Invalid dimension \"badproperty\""
        );
        assert_eq!(
            err(base(json!({"filters": [["is", "segment", [1]]]}))),
            "#/filters/0: Invalid filter [\"is\", \"segment\", [1]]"
        );
        assert_eq!(
            err(base(json!({"pagination": {"limit": 10001}}))),
            "#/pagination/limit: Expected the value to be <= 10000"
        );
    }

    #[test]
    fn query_builder_errors() {
        let q = |extra: Value| {
            let mut b = json!({"site_id": "a.test", "metrics": ["visitors"], "date_range": "7d"});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            err(b)
        };
        assert_eq!(
            q(json!({"metrics": ["bounce_rate"], "dimensions": ["event:name"]})),
            "Session metric(s) `bounce_rate` cannot be queried along with event dimension(s) `event:name`"
        );
        assert_eq!(
            q(json!({"metrics": ["views_per_visit"], "dimensions": ["event:name"]})),
            "Metric `views_per_visit` cannot be queried with `dimensions`."
        );
        assert!(
            q(json!({"filters": [["is", "event:goal", ["Register"]]]}))
                .contains("The goal `Register` is not configured")
        );
        assert!(q(json!({"filters": [["is", "visit:country", ["USA"]]]})).starts_with("Invalid visit:country filter"));
        assert_eq!(
            q(json!({"order_by": [["bounce_rate", "desc"]]})),
            "Invalid order_by entry '{:bounce_rate, :desc}'. Entry is not a queried metric or dimension."
        );
    }

    /// Plausible's "uses site timezone to determine 'today'" (query_timezone_test.exs), which the
    /// conformance suite cannot replay: it sets the server's clock.
    #[test]
    fn today_is_the_sites() {
        let at = |tz: &str, now: &str| {
            let site = SiteCtx { tz: TimeZone::get(tz).unwrap(), tz_name: tz.into(), ..site() };
            let now = now.parse::<Timestamp>().unwrap().as_second();
            let q = parse_v2(
                &json!({"site_id": "a.test", "metrics": ["pageviews"], "date_range": "day"}),
                &site,
                now,
                Surface::Api,
            );
            let range = q.unwrap().range;
            (range.first.to_string(), range.last.to_string())
        };
        let day = |d: &str| (d.to_owned(), d.to_owned());
        assert_eq!(at("America/New_York", "2024-01-02T02:00:00Z"), day("2024-01-01"));
        assert_eq!(at("Asia/Tokyo", "2024-01-01T16:00:00Z"), day("2024-01-02"));
    }

    #[test]
    fn time_stands_for_a_grain_by_the_range_length() {
        let tz = TimeZone::UTC;
        let d = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        let r = |a: &str, b: &str| period::dates(&tz, d(a), d(b)).unwrap();
        assert_eq!(time_grain(&r("2024-01-01", "2024-01-02")), TimeGrain::Hour);
        assert_eq!(time_grain(&r("2024-01-01", "2024-01-03")), TimeGrain::Day);
        assert_eq!(time_grain(&r("2024-01-01", "2024-03-31")), TimeGrain::Week);
        assert_eq!(time_grain(&r("2023-01-01", "2024-12-31")), TimeGrain::Month);
    }

    #[test]
    fn comparisons_start_on_the_same_weekday_when_asked() {
        let tz = TimeZone::UTC;
        let d = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        let range = period::dates(&tz, d("2021-01-07"), d("2021-01-13")).unwrap();
        let prev = comparison_range(&json!({"mode": "previous_period"}), &range, &tz, d("2021-02-01")).unwrap();
        assert_eq!((prev.first, prev.last), (d("2020-12-31"), d("2021-01-06")));
        let yoy = comparison_range(&json!({"mode": "year_over_year"}), &range, &tz, d("2021-02-01")).unwrap();
        assert_eq!(yoy.first, d("2020-01-08"));
        // A month to date on the 10th compares with the ten days before the 1st.
        let month = period::dates(&tz, d("2021-03-01"), d("2021-03-31")).unwrap();
        let prev = comparison_range(&json!({"mode": "previous_period"}), &month, &tz, d("2021-03-10")).unwrap();
        assert_eq!((prev.first, prev.last), (d("2021-02-19"), d("2021-02-28")));
        let matched = comparison_range(
            &json!({"mode": "year_over_year", "match_day_of_week": true}),
            &range,
            &tz,
            d("2021-02-01"),
        )
        .unwrap();
        assert_eq!(matched.first.weekday(), range.first.weekday());
    }
}
