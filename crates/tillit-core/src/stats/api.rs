//! Plausible's Stats API languages — v1 query parameters and v2 query documents — validated and
//! resolved into a [`StatsQuery`], and results shaped as Plausible returns them.
//!
//! Errors carry Plausible's wording where it has one; the HTTP layer answers them with 400.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};
use tillit_store::query::{
    DimValue, Dimension, Direction, Filter, FilterOp, Goal, GoalKind, Metric, OrderKey, QueryOutput, StatsQuery,
    TimeGrain, VisitField,
};

use super::period::{self, Range, Rules};

/// What a query needs to know about its site.
#[derive(Clone, Debug)]
pub struct SiteCtx {
    pub id: u32,
    pub domain: String,
    pub tz: TimeZone,
    pub tz_name: String,
    pub goals: Vec<Goal>,
    /// The site's first stored event (Unix seconds), for the `all` period.
    pub first_event: Option<i64>,
}

/// A query the API refuses, with the reason in Plausible's words.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError(msg.into())
}

impl From<period::PeriodError> for QueryError {
    fn from(e: period::PeriodError) -> Self {
        QueryError(e.0)
    }
}

/// Plausible's display name of a pageview goal for `path`.
pub fn page_goal_name(path: &str) -> String {
    format!("Visit {path}")
}

/// Turns a goal definition into what the engine matches: a custom event by name, or pageviews
/// whose path matches Plausible's wildcards (`**` any characters, `*` any but `/`).
pub fn goal(event_name: Option<&str>, page_path: Option<&str>, display_name: &str) -> Goal {
    let kind = match (event_name, page_path) {
        (Some(name), _) => GoalKind::Event(name.to_owned()),
        (None, Some(path)) => GoalKind::Page(wildcard_regex(path)),
        (None, None) => GoalKind::Event(display_name.to_owned()),
    };
    Goal { name: display_name.to_owned(), kind }
}

/// An anchored regular expression for a Plausible wildcard pattern.
pub fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**") {
            out.push_str(".*");
            rest = r;
        } else if let Some(r) = rest.strip_prefix('*') {
            out.push_str("[^/]*");
            rest = r;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            out.push_str(&regex::escape(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push('$');
    out
}

/// Parses a dimension or filter property name (`event:page`, `visit:source`, `event:props:plan`,
/// `time:day`). `time` alone resolves to `default_grain`.
pub fn parse_dimension(name: &str, default_grain: TimeGrain) -> Result<Dimension, QueryError> {
    let dim = match name {
        "event:page" => Dimension::Page,
        "event:hostname" => Dimension::Hostname,
        "event:name" => Dimension::Name,
        "event:goal" => Dimension::Goal,
        "time" => Dimension::Time(default_grain),
        "time:minute" => Dimension::Time(TimeGrain::Minute),
        "time:hour" => Dimension::Time(TimeGrain::Hour),
        "time:day" => Dimension::Time(TimeGrain::Day),
        "time:week" => Dimension::Time(TimeGrain::Week),
        "time:month" => Dimension::Time(TimeGrain::Month),
        other => {
            if let Some(key) = other.strip_prefix("event:props:") {
                if key.is_empty() {
                    return Err(bad(format!("Invalid property '{other}'")));
                }
                Dimension::Prop(key.to_owned())
            } else if let Some(f) = other.strip_prefix("visit:").and_then(VisitField::from_name) {
                Dimension::Visit(f)
            } else {
                return Err(bad(format!("Invalid dimension '{other}'")));
            }
        }
    };
    Ok(dim)
}

/// How an empty stored value is shown (and may be filtered for), as Plausible's dashboard does.
fn display_empty(dim: &Dimension) -> Option<&'static str> {
    match dim {
        Dimension::Visit(VisitField::Source | VisitField::Referrer) => Some("Direct / None"),
        Dimension::Visit(VisitField::Channel) => Some("Direct"),
        Dimension::Visit(_) => Some("(not set)"),
        _ => None,
    }
}

fn stored_value(dim: &Dimension, value: &str) -> String {
    match display_empty(dim) {
        Some(shown) if shown == value => String::new(),
        _ => value.to_owned(),
    }
}

fn shown_value(dim: &Dimension, value: &DimValue) -> Value {
    match (dim, value) {
        (Dimension::Time(g), DimValue::Bucket(b)) => Value::String(period::label(*g, *b)),
        (_, DimValue::Bucket(b)) => json!(b),
        (d, DimValue::Text(s)) if s.is_empty() => {
            Value::String(display_empty(d).map_or_else(String::new, str::to_owned))
        }
        (_, DimValue::Text(s)) => Value::String(s.clone()),
    }
}

/// A metric's value as JSON: whole numbers for counts, rates and durations, decimals for ratios.
pub fn metric_json(m: Metric, v: Option<f64>) -> Value {
    match v {
        None => Value::Null,
        Some(x) => match m {
            Metric::ViewsPerVisit | Metric::Percentage | Metric::ConversionRate | Metric::GroupConversionRate => {
                json!(x)
            }
            _ => json!(x as i64),
        },
    }
}

fn leaf(op: FilterOp, dimension: Dimension, values: Vec<String>, case_sensitive: bool) -> Result<Filter, QueryError> {
    if let Dimension::Time(_) = dimension {
        return Err(bad("Invalid filter: time dimensions cannot be filtered on; use date_range"));
    }
    if dimension == Dimension::Goal && !matches!(op, FilterOp::Is | FilterOp::Contains) {
        return Err(bad("Invalid filter: event:goal can only be filtered with 'is' or 'contains'"));
    }
    if op.positive() == FilterOp::Matches {
        for v in &values {
            regex::Regex::new(v)
                .map_err(|_| bad(format!("Invalid filter: '{v}' is not a valid regular expression")))?;
        }
    }
    let values = values.iter().map(|v| stored_value(&dimension, v)).collect();
    Ok(Filter::Leaf { op, dimension, values, case_sensitive })
}

/// An empty query for the site over `range` (no metrics yet), for the parsers to fill in.
fn over_site(site: &SiteCtx, range: &Range) -> StatsQuery {
    StatsQuery { goals: site.goals.clone(), ..StatsQuery::over(site.id, range.start, range.end, range.local.clone()) }
}

/// The same query over another range (comparisons).
fn over(q: &StatsQuery, range: &Range) -> StatsQuery {
    StatsQuery { start: range.start, end: range.end, local: range.local.clone(), ..q.clone() }
}

/// Checks combinations Plausible refuses.
fn validate(q: &StatsQuery) -> Result<(), QueryError> {
    let mut filtered: Vec<Dimension> = Vec::new();
    if let Some(f) = &q.filter {
        f.dimensions(&mut |d| filtered.push(d.clone()));
    }
    let mentions = |d: &Dimension| q.dimensions.contains(d) || filtered.contains(d);
    let session: Vec<&str> = q.metrics.iter().filter(|m| m.is_session_metric()).map(|m| m.name()).collect();
    if !session.is_empty()
        && let Some(d) = q.dimensions.iter().find(|d| d.is_event_only())
    {
        return Err(bad(format!(
            "Session metric(s) `{}` cannot be queried along with event dimension(s) `{}`",
            session.join(", "),
            d.label()
        )));
    }
    for m in &q.metrics {
        match m {
            Metric::ConversionRate | Metric::GroupConversionRate if !mentions(&Dimension::Goal) => {
                return Err(bad(format!(
                    "Metric `{}` can only be queried with event:goal filters or dimensions.",
                    m.name()
                )));
            }
            Metric::TimeOnPage | Metric::ScrollDepth if !mentions(&Dimension::Page) => {
                return Err(bad(format!(
                    "Metric `{}` can only be queried with event:page filters or dimensions.",
                    m.name()
                )));
            }
            Metric::Percentage if q.dimensions.is_empty() => {
                return Err(bad("Metric `percentage` can only be queried with a dimension."));
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_metrics<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Vec<Metric>, QueryError> {
    let mut metrics = Vec::new();
    for name in names {
        let m = Metric::from_name(name.trim()).ok_or_else(|| {
            bad(format!(
                "The metric `{}` is not recognized. Find valid metrics from the documentation: \
                 https://plausible.io/docs/stats-api#metrics",
                name.trim()
            ))
        })?;
        if metrics.contains(&m) {
            return Err(bad(format!("Metrics cannot be queried multiple times: `{}`", m.name())));
        }
        metrics.push(m);
    }
    if metrics.is_empty() {
        return Err(bad("At least one metric is required"));
    }
    Ok(metrics)
}

// ---------------------------------------------------------------------------------------------
// v2

/// What `include` asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Include {
    pub time_labels: bool,
    pub total_rows: bool,
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

const V2_KEYS: [&str; 8] =
    ["site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "include", "pagination"];

/// The `site_id` of a v2 document, to look the site up before [`parse_v2`].
pub fn v2_site_id(body: &Value) -> Result<String, QueryError> {
    match body.get("site_id") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(bad("#/site_id: Required property site_id was not present.")),
    }
}

pub fn parse_v2(body: &Value, site: &SiteCtx, now: i64) -> Result<V2Query, QueryError> {
    let Value::Object(obj) = body else { return Err(bad("#: Type mismatch. Expected Object but got other.")) };
    if let Some(k) = obj.keys().find(|k| !V2_KEYS.contains(&k.as_str())) {
        return Err(bad(format!("#/{k}: Schema does not allow additional properties.")));
    }
    let metric_names: Vec<&str> = match obj.get("metrics") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().ok_or_else(|| bad("#/metrics: expected a list of strings")))
            .collect::<Result<_, _>>()?,
        _ => return Err(bad("#/metrics: Required property metrics was not present.")),
    };
    let metrics = parse_metrics(metric_names)?;

    let today = period::today(&site.tz, now);
    let (range, period_name) = match obj.get("date_range") {
        Some(Value::String(name)) if name == "24h" => (period::instants(&site.tz, now - 86_400, now + 1)?, "24h"),
        Some(Value::String(name)) => (
            period::named(&site.tz, name, today, Rules::V2, site.first_event)
                .map_err(|_| bad(format!("#/date_range: Invalid date range '{name}'")))?,
            name.as_str(),
        ),
        Some(Value::Array(pair)) if pair.len() == 2 => {
            let a = pair[0].as_str().unwrap_or_default();
            let b = pair[1].as_str().unwrap_or_default();
            if a.len() == 10 && b.len() == 10 {
                (period::dates(&site.tz, period::parse_date(a)?, period::parse_date(b)?)?, "custom")
            } else {
                let parse = |s: &str| {
                    s.parse::<Timestamp>()
                        .map(|t| t.as_second())
                        .map_err(|_| bad(format!("Invalid date_range '{s}': expected an ISO 8601 date or date-time")))
                };
                (period::instants(&site.tz, parse(a)?, parse(b)? + 1)?, "custom")
            }
        }
        _ => return Err(bad("#/date_range: Required property date_range was not present.")),
    };
    let grain = period::default_grain(period_name, &range);

    let mut dimensions = Vec::new();
    if let Some(dims) = obj.get("dimensions") {
        let Value::Array(dims) = dims else { return Err(bad("#/dimensions: Type mismatch. Expected Array.")) };
        for d in dims {
            let name = d.as_str().ok_or_else(|| bad("#/dimensions: expected strings"))?;
            let dim = parse_dimension(name, grain)?;
            if dimensions.contains(&dim) {
                return Err(bad(format!("Some dimensions are listed multiple times: `{name}`")));
            }
            dimensions.push(dim);
        }
    }
    if dimensions.iter().filter(|d| matches!(d, Dimension::Time(_))).count() > 1 {
        return Err(bad("Only one time dimension may be queried at a time"));
    }

    let filter = match obj.get("filters") {
        None => None,
        Some(Value::Array(items)) if items.is_empty() => None,
        Some(Value::Array(items)) => {
            let parsed = items.iter().map(|f| v2_filter(f, grain)).collect::<Result<Vec<_>, _>>()?;
            Some(if parsed.len() == 1 {
                parsed.into_iter().next().unwrap_or(Filter::And(Vec::new()))
            } else {
                Filter::And(parsed)
            })
        }
        Some(_) => return Err(bad("#/filters: Type mismatch. Expected Array.")),
    };

    let mut order_by = Vec::new();
    if let Some(order) = obj.get("order_by") {
        let Value::Array(entries) = order else { return Err(bad("#/order_by: Type mismatch. Expected Array.")) };
        for e in entries {
            let (Some(key), Some(dir)) = (e.get(0).and_then(Value::as_str), e.get(1).and_then(Value::as_str)) else {
                return Err(bad(format!("Invalid order_by entry '{e}'")));
            };
            let dir = match dir {
                "asc" => Direction::Asc,
                "desc" => Direction::Desc,
                _ => return Err(bad(format!("Invalid order_by entry '{e}': direction must be asc or desc"))),
            };
            let key = if let Some(m) = Metric::from_name(key).filter(|m| metrics.contains(m)) {
                OrderKey::Metric(m)
            } else if let Some(i) =
                parse_dimension(key, grain).ok().and_then(|d| dimensions.iter().position(|x| *x == d))
            {
                OrderKey::Dimension(i)
            } else {
                return Err(bad(format!("Invalid order_by entry '{e}'. Entry is not a queried metric or dimension.")));
            };
            order_by.push((key, dir));
        }
    }
    if order_by.is_empty() {
        if let Some(i) = dimensions.iter().position(|d| matches!(d, Dimension::Time(_))) {
            order_by.push((OrderKey::Dimension(i), Direction::Asc));
        }
        order_by.push((OrderKey::Metric(metrics[0]), Direction::Desc));
    }

    let mut include = Include::default();
    let mut comparison_spec: Option<&Value> = None;
    if let Some(inc) = obj.get("include") {
        let Value::Object(inc) = inc else { return Err(bad("#/include: Type mismatch. Expected Object.")) };
        for (k, v) in inc {
            match (k.as_str(), v) {
                ("time_labels", Value::Bool(b)) => include.time_labels = *b,
                ("total_rows", Value::Bool(b)) => include.total_rows = *b,
                ("imports", Value::Bool(_)) => {}
                ("comparisons", Value::Object(_)) => comparison_spec = Some(v),
                _ => return Err(bad(format!("#/include/{k}: Schema does not allow this property."))),
            }
        }
    }
    if include.time_labels && !dimensions.iter().any(|d| matches!(d, Dimension::Time(_))) {
        return Err(bad("Invalid include.time_labels: requires a time dimension"));
    }
    let (mut limit, mut offset) = (10_000usize, 0usize);
    if let Some(p) = obj.get("pagination") {
        if let Some(l) = p.get("limit") {
            limit = l
                .as_u64()
                .filter(|l| (1..=10_000).contains(l))
                .ok_or_else(|| bad("#/pagination/limit: Integer value must be between 1 and 10000."))?
                as usize;
        }
        if let Some(o) = p.get("offset") {
            offset = o.as_u64().ok_or_else(|| bad("#/pagination/offset: Integer value must be at least 0."))? as usize;
        }
    }

    let query = StatsQuery { metrics, dimensions, filter, order_by, limit, offset, ..over_site(site, &range) };
    validate(&query)?;
    let comparison = match comparison_spec {
        None => None,
        Some(spec) => {
            let other = comparison_range(spec, &range, &site.tz)?;
            // Every comparison row, so each result row can find its counterpart.
            Some((StatsQuery { limit: 10_000, offset: 0, ..over(&query, &other) }, other))
        }
    };
    let iso = |t: i64| {
        Timestamp::from_second(t).map_or_else(
            |_| t.to_string(),
            |ts| ts.to_zoned(site.tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        )
    };
    let echo = json!({
        "site_id": site.domain,
        "metrics": query.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "date_range": [iso(range.start), iso(range.end - 1)],
        "dimensions": obj.get("dimensions").cloned().unwrap_or_else(|| json!([])),
        "filters": obj.get("filters").cloned().unwrap_or_else(|| json!([])),
        "order_by": query.order_by.iter().map(|(k, d)| {
            let key = match k {
                OrderKey::Metric(m) => m.name().to_owned(),
                OrderKey::Dimension(i) => obj.get("dimensions").and_then(|v| v.get(*i)).and_then(Value::as_str).unwrap_or_default().to_owned(),
            };
            json!([key, d])
        }).collect::<Vec<_>>(),
        "include": {"time_labels": include.time_labels, "total_rows": include.total_rows, "imports": false},
        "pagination": {"limit": limit, "offset": offset},
        "timezone": site.tz_name,
    });
    Ok(V2Query { query, range, include, comparison, echo })
}

/// The range compared against: the period just before (same length), the same dates a year
/// earlier, or explicit dates.
pub fn comparison_range(spec: &Value, range: &Range, tz: &TimeZone) -> Result<Range, QueryError> {
    match spec.get("mode").and_then(Value::as_str) {
        Some("previous_period") => Ok(period::previous(tz, range)?),
        Some("year_over_year") => Ok(period::year_before(tz, range)?),
        Some("custom") => {
            let dates = spec.get("date_range").and_then(Value::as_array).filter(|a| a.len() == 2).ok_or_else(|| {
                bad("#/include/comparisons: a custom comparison needs date_range: [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]")
            })?;
            let date = |v: &Value| period::parse_date(v.as_str().unwrap_or_default());
            Ok(period::dates(tz, date(&dates[0])?, date(&dates[1])?)?)
        }
        _ => Err(bad("#/include/comparisons/mode: expected previous_period, year_over_year or custom")),
    }
}

fn v2_filter(f: &Value, grain: TimeGrain) -> Result<Filter, QueryError> {
    let invalid = || bad(format!("#/filters: Invalid filter '{f}'"));
    let Value::Array(parts) = f else { return Err(invalid()) };
    let op = parts.first().and_then(Value::as_str).ok_or_else(invalid)?;
    match op {
        "and" | "or" => {
            let Some(Value::Array(children)) = parts.get(1) else { return Err(invalid()) };
            if children.is_empty() {
                return Err(invalid());
            }
            let children = children.iter().map(|c| v2_filter(c, grain)).collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "and" { Filter::And(children) } else { Filter::Or(children) })
        }
        "not" => Ok(Filter::Not(Box::new(v2_filter(parts.get(1).ok_or_else(invalid)?, grain)?))),
        "is" | "is_not" | "contains" | "contains_not" | "matches" | "matches_not" => {
            let op = match op {
                "is" => FilterOp::Is,
                "is_not" => FilterOp::IsNot,
                "contains" => FilterOp::Contains,
                "contains_not" => FilterOp::ContainsNot,
                "matches" => FilterOp::Matches,
                _ => FilterOp::MatchesNot,
            };
            let dim = parse_dimension(parts.get(1).and_then(Value::as_str).ok_or_else(invalid)?, grain)?;
            let Some(Value::Array(clauses)) = parts.get(2) else { return Err(invalid()) };
            let values = clauses
                .iter()
                .map(|c| match c {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(invalid()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let case_sensitive = match parts.get(3) {
                None => true,
                Some(Value::Object(m)) => m.get("case_sensitive").and_then(Value::as_bool).unwrap_or(true),
                Some(_) => return Err(invalid()),
            };
            leaf(op, dim, values, case_sensitive)
        }
        _ => Err(invalid()),
    }
}

/// The v2 response document.
pub fn render_v2(q: &V2Query, out: &QueryOutput, compared: Option<&QueryOutput>) -> Value {
    let dims = |r: &tillit_store::query::ResultRow| -> Vec<Value> {
        q.query.dimensions.iter().zip(&r.dimensions).map(|(d, v)| shown_value(d, v)).collect()
    };
    let metrics = |r: &tillit_store::query::ResultRow| -> Vec<Value> {
        q.query.metrics.iter().zip(&r.metrics).map(|(m, v)| metric_json(*m, *v)).collect()
    };
    let matcher = compared.zip(q.comparison.as_ref()).map(|(c, (_, range))| ComparisonIndex::new(q, range, c));
    let results: Vec<Value> = out
        .rows
        .iter()
        .map(|r| {
            let mut row = json!({ "metrics": metrics(r), "dimensions": dims(r) });
            if let Some(index) = &matcher {
                let other = index.find(r);
                let change: Vec<Value> = q
                    .query
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(i, m)| change(*m, r.metrics[i], other.and_then(|o| o.metrics[i])))
                    .collect();
                row["comparison"] = json!({
                    "dimensions": other.map_or_else(Vec::new, dims),
                    "metrics": other.map_or_else(|| q.query.metrics.iter().map(|m| metric_json(*m, empty_value(*m))).collect(), metrics),
                    "change": change,
                });
            }
            row
        })
        .collect();
    let mut meta = Map::new();
    meta.insert("imports_included".into(), json!(false));
    if q.include.time_labels
        && let Some(Dimension::Time(g)) = q.query.dimensions.iter().find(|d| matches!(d, Dimension::Time(_)))
    {
        let labels: Vec<String> = period::buckets(&q.range, *g).into_iter().map(|b| period::label(*g, b)).collect();
        meta.insert("time_labels".into(), json!(labels));
    }
    if q.include.total_rows {
        meta.insert("total_rows".into(), json!(out.total_rows));
    }
    json!({ "results": results, "meta": meta, "query": q.echo })
}

/// Finds the comparison row for a result row: same non-time dimension values, and for time the
/// bucket at the same position in the comparison range.
struct ComparisonIndex<'a> {
    time: Option<(usize, TimeGrain)>,
    main_buckets: Vec<i64>,
    other_buckets: Vec<i64>,
    rows: HashMap<Vec<DimValue>, &'a tillit_store::query::ResultRow>,
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

    fn find(&self, r: &tillit_store::query::ResultRow) -> Option<&'a tillit_store::query::ResultRow> {
        let mut key = r.dimensions.clone();
        if let Some((i, _)) = self.time {
            let DimValue::Bucket(b) = key[i] else { return None };
            let pos = self.main_buckets.iter().position(|x| *x == b)?;
            key[i] = DimValue::Bucket(*self.other_buckets.get(pos)?);
        }
        self.rows.get(&key).copied()
    }
}

// ---------------------------------------------------------------------------------------------
// v1

/// Which v1 endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V1Endpoint {
    Aggregate,
    Timeseries,
    Breakdown,
}

/// A parsed v1 request.
#[derive(Clone, Debug)]
pub struct V1Query {
    pub endpoint: V1Endpoint,
    pub query: StatsQuery,
    pub range: Range,
    /// The previous period's query, for `compare=previous_period`.
    pub previous: Option<StatsQuery>,
    /// Breakdown result key (`source`, `page`, the property name…) and time grain for series.
    pub key: String,
    pub grain: TimeGrain,
}

/// Parses v1 parameters (`period`, `date`, `metrics`, `filters`, `property`, `interval`, `limit`,
/// `page`, `compare`).
pub fn parse_v1(
    endpoint: V1Endpoint,
    params: &HashMap<String, String>,
    site: &SiteCtx,
    now: i64,
) -> Result<V1Query, QueryError> {
    let period_name = params.get("period").map_or("30d", String::as_str);
    let today = period::today(&site.tz, now);
    let range = match period_name {
        "custom" => {
            let date = params.get("date").ok_or_else(|| {
                bad("The `date` parameter is required when using a custom period. See https://plausible.io/docs/stats-api#time-periods")
            })?;
            let (a, b) = date.split_once(',').ok_or_else(|| {
                bad(format!(
                    "Invalid date '{date}'. For a custom period, date must be two dates: YYYY-MM-DD,YYYY-MM-DD"
                ))
            })?;
            period::dates(&site.tz, period::parse_date(a)?, period::parse_date(b)?)?
        }
        name => {
            let date = params.get("date").map(|d| period::parse_date(d)).transpose()?.unwrap_or(today);
            period::named(&site.tz, name, date, Rules::V1, site.first_event).map_err(|_| {
                bad(format!(
                    "Error parsing `period` parameter: invalid period `{name}`. Please find accepted values in our docs: https://plausible.io/docs/stats-api#time-periods"
                ))
            })?
        }
    };
    let metrics = parse_metrics(params.get("metrics").map_or("visitors", String::as_str).split(','))?;
    let mut grain = period::default_grain(period_name, &range);
    if let Some(i) = params.get("interval") {
        grain = match i.as_str() {
            "date" | "day" => TimeGrain::Day,
            "month" => TimeGrain::Month,
            "week" => TimeGrain::Week,
            "hour" => TimeGrain::Hour,
            other => {
                return Err(bad(format!(
                    "Error parsing `interval` parameter: invalid interval `{other}`. Valid intervals are `date`, `month`"
                )));
            }
        };
    }
    let filter = params.get("filters").filter(|f| !f.is_empty()).map(|f| v1_filters(f, grain)).transpose()?;

    let (dimensions, key) = match endpoint {
        V1Endpoint::Aggregate => (Vec::new(), String::new()),
        V1Endpoint::Timeseries => (vec![Dimension::Time(grain)], "date".to_owned()),
        V1Endpoint::Breakdown => {
            let prop = params.get("property").ok_or_else(|| {
                bad("The `property` parameter is required for breakdown. See https://plausible.io/docs/stats-api#get-apiv1statsbreakdown")
            })?;
            if prop == "event:hostname" {
                return Err(bad("Property 'event:hostname' is currently not supported for breakdowns."));
            }
            let dim = parse_dimension(prop, grain)?;
            if matches!(dim, Dimension::Time(_)) {
                return Err(bad(format!("Invalid property '{prop}'")));
            }
            let key = prop.rsplit(':').next().unwrap_or(prop).to_owned();
            (vec![dim], key)
        }
    };
    if endpoint == V1Endpoint::Breakdown && metrics.contains(&Metric::ViewsPerVisit) {
        return Err(bad("Metric `views_per_visit` is not supported in breakdown queries."));
    }
    let limit = match params.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| bad(format!("Please provide limit as a number between 1 and 1000. Got: {l}")))?,
    };
    let page = match params.get("page") {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad(format!("Please provide page as a number, starting from 1. Got: {p}")))?,
    };
    let (limit, offset) = match endpoint {
        V1Endpoint::Breakdown => (limit, (page - 1) * limit),
        _ => (10_000, 0),
    };
    let order_by = match endpoint {
        V1Endpoint::Timeseries => vec![(OrderKey::Dimension(0), Direction::Asc)],
        _ => vec![(OrderKey::Metric(metrics[0]), Direction::Desc)],
    };
    let query = StatsQuery { metrics, dimensions, filter, order_by, limit, offset, ..over_site(site, &range) };
    validate(&query)?;
    let previous = match params.get("compare").map(String::as_str) {
        None => None,
        Some("previous_period") if endpoint == V1Endpoint::Aggregate => {
            Some(over(&query, &period::previous(&site.tz, &range)?))
        }
        Some(other) => {
            return Err(bad(format!(
                "Invalid value for `compare`: `{other}`. Use `previous_period` with the aggregate endpoint."
            )));
        }
    };
    Ok(V1Query { endpoint, query, range, previous, key, grain })
}

/// Plausible's v1 filter syntax: `a==x;b!=y|z`, `*` wildcards, `\|` for a literal pipe.
pub fn v1_filters(s: &str, grain: TimeGrain) -> Result<Filter, QueryError> {
    let mut leaves = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (prop, value, negated) = if let Some((p, v)) = part.split_once("!=") {
            (p, v, true)
        } else if let Some((p, v)) = part.split_once("==") {
            (p, v, false)
        } else {
            return Err(bad(format!("Invalid filter expression '{part}'")));
        };
        let dim = parse_dimension(prop.trim(), grain)?;
        let values: Vec<String> = split_unescaped_pipes(value.trim()).into_iter().filter(|v| !v.is_empty()).collect();
        if values.is_empty() {
            return Err(bad(format!("Invalid filter expression '{part}'")));
        }
        if let Dimension::Visit(VisitField::Country) = dim
            && values.iter().any(|v| v.chars().count() != 2)
        {
            return Err(bad("Invalid country code: use ISO 3166-1 alpha-2 codes such as NO or SE"));
        }
        if dim == Dimension::Goal {
            if negated {
                return Err(bad("Invalid filter: negated goal filters are not supported"));
            }
            leaves.push(leaf(FilterOp::Is, dim, values, true)?);
        } else if values.iter().any(|v| v.contains('*')) {
            let regexes = values.iter().map(|v| wildcard_regex(v)).collect();
            leaves.push(leaf(if negated { FilterOp::MatchesNot } else { FilterOp::Matches }, dim, regexes, true)?);
        } else {
            leaves.push(leaf(if negated { FilterOp::IsNot } else { FilterOp::Is }, dim, values, true)?);
        }
    }
    Ok(if leaves.len() == 1 { leaves.remove(0) } else { Filter::And(leaves) })
}

fn split_unescaped_pipes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                current.push('|');
            }
            '|' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out
}

/// Plausible's comparison change: percentage points for bounce rate, points for conversion rate,
/// otherwise the relative change in percent (100 when growing from zero).
pub fn change(m: Metric, new: Option<f64>, old: Option<f64>) -> Value {
    let (new, old) = (new.unwrap_or(0.0), old.unwrap_or(0.0));
    match m {
        Metric::BounceRate => {
            if old == 0.0 {
                Value::Null
            } else {
                json!((new - old) as i64)
            }
        }
        Metric::ConversionRate => json!(tillit_store::query::round_to(new - old, 1)),
        _ => {
            if old == 0.0 {
                json!(if new > 0.0 { 100 } else { 0 })
            } else {
                json!(((new - old) / old * 100.0).round() as i64)
            }
        }
    }
}

/// The v1 response document.
pub fn render_v1(q: &V1Query, out: &QueryOutput, previous: Option<&QueryOutput>) -> Value {
    match q.endpoint {
        V1Endpoint::Aggregate => {
            let row = out.rows.first();
            let prev = previous.and_then(|p| p.rows.first());
            let mut results = Map::new();
            for (i, m) in q.query.metrics.iter().enumerate() {
                let v = row.and_then(|r| r.metrics[i]);
                let mut entry = json!({ "value": metric_json(*m, v) });
                if let Some(p) = previous.map(|_| prev.and_then(|r| r.metrics[i])) {
                    entry["change"] = change(*m, v, p);
                }
                results.insert(m.name().into(), entry);
            }
            json!({ "results": results })
        }
        V1Endpoint::Timeseries => {
            // Every bucket of the range, zeros where nothing happened.
            let by_bucket: HashMap<&DimValue, &tillit_store::query::ResultRow> =
                out.rows.iter().filter_map(|r| r.dimensions.first().map(|d| (d, r))).collect();
            let results: Vec<Value> = period::buckets(&q.range, q.grain)
                .into_iter()
                .map(|b| {
                    let mut obj = Map::new();
                    obj.insert("date".into(), json!(period::label(q.grain, b)));
                    let row = by_bucket.get(&DimValue::Bucket(b));
                    for (i, m) in q.query.metrics.iter().enumerate() {
                        let v = row.map_or_else(|| empty_value(*m), |r| r.metrics[i]);
                        obj.insert(m.name().into(), metric_json(*m, v));
                    }
                    Value::Object(obj)
                })
                .collect();
            json!({ "results": results })
        }
        V1Endpoint::Breakdown => {
            let dim = &q.query.dimensions[0];
            let results: Vec<Value> = out
                .rows
                .iter()
                .map(|r| {
                    let mut obj = Map::new();
                    obj.insert(q.key.clone(), shown_value(dim, &r.dimensions[0]));
                    for (i, m) in q.query.metrics.iter().enumerate() {
                        obj.insert(m.name().into(), metric_json(*m, r.metrics[i]));
                    }
                    Value::Object(obj)
                })
                .collect();
            json!({ "results": results })
        }
    }
}

/// A metric's value where no event fell.
fn empty_value(m: Metric) -> Option<f64> {
    match m {
        Metric::TimeOnPage | Metric::ScrollDepth | Metric::Percentage => None,
        _ => Some(0.0),
    }
}

// ---------------------------------------------------------------------------------------------
// Funnels (a Tillit extension in the v1 style: `GET /api/v1/stats/funnel`)

/// Parses `period`, `date` and `filters` for a funnel over `steps`.
pub fn parse_funnel(
    params: &HashMap<String, String>,
    site: &SiteCtx,
    steps: Vec<Goal>,
    now: i64,
) -> Result<tillit_store::query::FunnelQuery, QueryError> {
    if !(2..=8).contains(&steps.len()) {
        return Err(bad("A funnel has 2 to 8 steps"));
    }
    // The same period rules as the other v1 endpoints.
    let q = parse_v1(V1Endpoint::Aggregate, params, site, now)?;
    Ok(tillit_store::query::FunnelQuery {
        site_id: site.id,
        start: q.query.start,
        end: q.query.end,
        filter: q.query.filter,
        steps,
    })
}

/// Per step: visitors, conversion from the first step, drop-off from the previous one.
pub fn render_funnel(name: &str, steps: &[Goal], visitors: &[u64]) -> Value {
    let first = visitors.first().copied().unwrap_or(0) as f64;
    let rows: Vec<Value> = steps
        .iter()
        .zip(visitors)
        .enumerate()
        .map(|(i, (step, v))| {
            let prev = if i == 0 { *v } else { visitors[i - 1] };
            let dropoff = prev.saturating_sub(*v);
            json!({
                "name": step.name,
                "visitors": v,
                "conversion_rate": tillit_store::query::ratio(*v as f64, first, 100.0, 2).unwrap_or(0.0),
                "dropoff": dropoff,
                "dropoff_percentage": tillit_store::query::ratio(dropoff as f64, prev as f64, 100.0, 2).unwrap_or(0.0),
            })
        })
        .collect();
    json!({ "results": { "name": name, "steps": rows } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteCtx {
        SiteCtx {
            id: 1,
            domain: "a.test".into(),
            tz: TimeZone::UTC,
            tz_name: "UTC".into(),
            goals: vec![goal(Some("Signup"), None, "Signup")],
            first_event: None,
        }
    }

    #[test]
    fn wildcards_follow_plausible() {
        let re = regex::Regex::new(&wildcard_regex("/blog/*")).unwrap();
        assert!(re.is_match("/blog/post") && !re.is_match("/blog/a/b") && !re.is_match("/blogs"));
        let re = regex::Regex::new(&wildcard_regex("/docs/**")).unwrap();
        assert!(re.is_match("/docs/a/b/c"));
        let re = regex::Regex::new(&wildcard_regex("/a.b?c")).unwrap();
        assert!(re.is_match("/a.b?c") && !re.is_match("/axb?c"));
    }

    #[test]
    fn v1_filter_syntax() {
        let f = v1_filters("event:page==/blog/*;visit:source!=Google|Bing;visit:utm_campaign==a\\|b", TimeGrain::Day)
            .unwrap();
        let Filter::And(leaves) = f else { panic!("and") };
        assert_eq!(leaves.len(), 3);
        assert!(matches!(&leaves[0], Filter::Leaf { op: FilterOp::Matches, .. }));
        assert!(matches!(&leaves[1], Filter::Leaf { op: FilterOp::IsNot, values, .. } if values.len() == 2));
        assert!(matches!(&leaves[2], Filter::Leaf { values, .. } if values == &vec!["a|b".to_owned()]));
        assert!(v1_filters("visit:country==NOR", TimeGrain::Day).is_err());
        assert!(v1_filters("visit:nonsense==x", TimeGrain::Day).is_err());
        assert!(v1_filters("event:goal!=Signup", TimeGrain::Day).is_err());
    }

    #[test]
    fn v2_validation_messages() {
        let now = 1_716_000_000;
        let err = |body: Value| parse_v2(&body, &site(), now).unwrap_err().0;
        assert!(
            err(json!({"site_id": "a.test", "metrics": ["visitors"], "date_range": "7d", "bogus": 1}))
                .contains("additional properties")
        );
        assert!(
            err(json!({"site_id": "a.test", "metrics": ["nope"], "date_range": "7d"}))
                .contains("`nope` is not recognized")
        );
        assert!(err(json!({"site_id": "a.test", "metrics": ["bounce_rate"], "date_range": "7d", "dimensions": ["event:goal"]}))
            .contains("Session metric"));
        assert!(
            err(json!({"site_id": "a.test", "metrics": ["conversion_rate"], "date_range": "7d"}))
                .contains("event:goal")
        );
        assert!(
            err(json!({"site_id": "a.test", "metrics": ["visitors"], "date_range": ["2024-02-01", "2024-01-01"]}))
                .contains("before")
        );
        assert!(err(json!({"site_id": "a.test", "metrics": ["visitors"], "date_range": "7d", "filters": [["is", "visit:source"]]}))
            .contains("Invalid filter"));
        let ok = parse_v2(
            &json!({"site_id": "a.test", "metrics": ["visitors", "pageviews"], "date_range": "7d",
                    "dimensions": ["time:day", "visit:source"],
                    "filters": [["is", "visit:source", ["Direct / None"]], ["not", ["contains", "event:page", ["/admin"]]]],
                    "include": {"time_labels": true}}),
            &site(),
            now,
        )
        .unwrap();
        assert_eq!(ok.query.order_by[0], (OrderKey::Dimension(0), Direction::Asc));
        let Some(Filter::And(f)) = &ok.query.filter else { panic!("and") };
        assert!(
            matches!(&f[0], Filter::Leaf { values, .. } if values == &vec![String::new()]),
            "display name maps to empty"
        );
    }

    #[test]
    fn comparison_changes() {
        assert_eq!(change(Metric::Visitors, Some(150.0), Some(100.0)), json!(50));
        assert_eq!(change(Metric::Visitors, Some(5.0), Some(0.0)), json!(100));
        assert_eq!(change(Metric::BounceRate, Some(40.0), Some(50.0)), json!(-10));
        assert_eq!(change(Metric::ConversionRate, Some(2.5), Some(1.2)), json!(1.3));
    }
}
