//! Stats API v1: `GET /api/v1/stats/{aggregate,timeseries,breakdown}` parameters, checked in
//! Plausible's order and words, v1's filter syntax (and the JSON filters v1 also takes), and the
//! response documents. Tillit's funnel endpoint takes the same parameters.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use tillit_store::query::{
    DimValue, Dimension, Direction, Filter, FilterOp, Goal, Metric, OrderKey, QueryOutput, ResultRow, StatsQuery,
    TimeGrain, VisitField,
};

use super::{
    QueryError, SiteCtx, bad, change, dimension, empty_value, metric_json, shown_value, stored_value, wildcard_regex,
};
use crate::stats::period::{self, Range, Rules};

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
    /// A breakdown's result keys, one per dimension (`source`; `browser` and `browser_version`).
    pub keys: Vec<String>,
    /// Metrics the caller asked for (the query may compute a stand-in: `conversion_rate` is a group
    /// conversion rate in breakdowns, as in Plausible).
    pub asked: Vec<Metric>,
    pub grain: TimeGrain,
}

const DOCS_PERIODS: &str = "https://plausible.io/docs/stats-api#time-periods";
const DOCS_PROPERTIES: &str = "https://plausible.io/docs/stats-api#properties";

/// Metrics of the v1 API, by name.
fn metric(name: &str) -> Option<Metric> {
    Some(match name {
        "visitors" => Metric::Visitors,
        "visits" => Metric::Visits,
        "pageviews" => Metric::Pageviews,
        "views_per_visit" => Metric::ViewsPerVisit,
        "bounce_rate" => Metric::BounceRate,
        "visit_duration" => Metric::VisitDuration,
        "events" => Metric::Events,
        "conversion_rate" => Metric::ConversionRate,
        "time_on_page" => Metric::TimeOnPage,
        _ => return None,
    })
}

/// Properties v1 breaks down and filters by.
fn property(name: &str) -> Option<Dimension> {
    use VisitField as F;
    let dim = dimension(name, TimeGrain::Day)?;
    let allowed = match &dim {
        Dimension::Page | Dimension::Name | Dimension::Goal | Dimension::Hostname | Dimension::Prop(_) => true,
        Dimension::Visit(f) => {
            name != "visit:screen"
                && matches!(
                    f,
                    F::Source
                        | F::Channel
                        | F::Country
                        | F::Region
                        | F::City
                        | F::EntryPage
                        | F::ExitPage
                        | F::Referrer
                        | F::UtmMedium
                        | F::UtmSource
                        | F::UtmCampaign
                        | F::UtmContent
                        | F::UtmTerm
                        | F::Device
                        | F::Os
                        | F::OsVersion
                        | F::Browser
                        | F::BrowserVersion
                )
        }
        Dimension::Time(_) => false,
    };
    allowed.then_some(dim)
}

/// Parses `YYYY-MM-DD` as v1's `date`, with Plausible's two reasons for refusing one.
fn v1_date(s: &str) -> Result<jiff::civil::Date, QueryError> {
    let s = s.trim();
    s.parse().map_err(|_| {
        let shaped = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        let reason = if shaped { "invalid_date" } else { "invalid_format" };
        bad(format!("Error parsing `date` parameter: {reason}. Please specify a valid date in ISO-8601 format."))
    })
}

/// Parses v1 parameters (`period`, `date`, `metrics`, `filters`, `property`, `interval`, `limit`,
/// `page`, `compare`), checking them in the order Plausible does.
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
                bad(format!("The `date` parameter is required when using a custom period. See {DOCS_PERIODS}"))
            })?;
            let invalid = || {
                bad(format!(
                    "Invalid format for `date` parameter. When using a custom period, please include two ISO-8601 \
                     formatted dates joined by a comma. See {DOCS_PERIODS}"
                ))
            };
            let (a, b) = date.split_once(',').ok_or_else(invalid)?;
            let (a, b) = (a.trim().parse().map_err(|_| invalid())?, b.trim().parse().map_err(|_| invalid())?);
            period::dates(&site.tz, a, b)?
        }
        "day" | "7d" | "30d" | "month" | "6mo" | "12mo" => {
            let date = params.get("date").map(|d| v1_date(d)).transpose()?.unwrap_or(today);
            period::named(&site.tz, period_name, date, Rules::V1, site.first_event)?
        }
        other => {
            return Err(bad(format!(
                "Error parsing `period` parameter: invalid period `{other}`. Please find accepted values in our docs: {DOCS_PERIODS}"
            )));
        }
    };

    let mut grain = match period_name {
        "day" => TimeGrain::Hour,
        "6mo" | "12mo" => TimeGrain::Month,
        _ => TimeGrain::Day,
    };
    let mut dimensions = Vec::new();
    let mut keys = Vec::new();
    match endpoint {
        V1Endpoint::Aggregate => {}
        V1Endpoint::Breakdown => {
            let prop = params.get("property").ok_or_else(|| {
                bad("The `property` parameter is required. Please provide at least one property to show a breakdown by.")
            })?;
            if prop == "event:hostname" {
                return Err(bad(format!(
                    "Property 'event:hostname' is currently not supported for breakdowns.  Please provide a valid property for the breakdown endpoint: {DOCS_PROPERTIES}"
                )));
            }
            let dim = property(prop).ok_or_else(|| {
                bad(format!("Invalid property '{prop}'. Please provide a valid property for the breakdown endpoint: {DOCS_PROPERTIES}"))
            })?;
            // A version is only meaningful with what it is a version of.
            let parent = match &dim {
                Dimension::Visit(VisitField::BrowserVersion) => Some(VisitField::Browser),
                Dimension::Visit(VisitField::OsVersion) => Some(VisitField::Os),
                _ => None,
            };
            if let Some(p) = parent {
                dimensions.push(Dimension::Visit(p));
                keys.push(p.name().to_owned());
            }
            keys.push(prop.rsplit(':').next().unwrap_or(prop).to_owned());
            dimensions.push(dim);
        }
        V1Endpoint::Timeseries => {
            if let Some(i) = params.get("interval") {
                grain = match i.as_str() {
                    "date" | "day" => TimeGrain::Day,
                    "month" => TimeGrain::Month,
                    other => {
                        return Err(bad(format!(
                            "Error parsing `interval` parameter: invalid interval `{other}`. Valid intervals are `day`, `month`"
                        )));
                    }
                };
            }
            dimensions.push(Dimension::Time(grain));
            keys.push("date".into());
        }
    }

    let filters = match params.get("filters").map(|f| f.trim()).filter(|f| !f.is_empty()) {
        Some(f) => parse_filters(f, grain)?,
        None => Vec::new(),
    };
    check_goals_exist(&filters, site)?;

    let asked = parse_metrics(params.get("metrics").map_or("visitors", String::as_str))?;
    let breakdown_dim = (endpoint == V1Endpoint::Breakdown).then(|| dimensions.last()).flatten();
    check_metrics(&asked, breakdown_dim, &filters)?;

    let limit = match params.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| bad("Please provide limit as a number between 1 and 1000."))?,
    };
    let page = match params.get("page") {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad(format!("Please provide page as a number, starting from 1. Got: {p}")))?,
    };

    // In breakdowns and time series, the conversion rate is that of the group (the page, the
    // day…), except where the group is the goal or a property of the conversions themselves.
    let group_cr = match endpoint {
        V1Endpoint::Aggregate => false,
        V1Endpoint::Timeseries => true,
        V1Endpoint::Breakdown => !matches!(breakdown_dim, Some(Dimension::Goal | Dimension::Prop(_))),
    };
    let metrics: Vec<Metric> = asked
        .iter()
        .map(|m| if *m == Metric::ConversionRate && group_cr { Metric::GroupConversionRate } else { *m })
        .collect();
    let mut filters = filters;
    if let Some(dim) = breakdown_dim {
        // Plausible's v1 breakdowns leave out visits without a value for these.
        let without_empty = matches!(
            dim,
            Dimension::Visit(
                VisitField::City
                    | VisitField::Country
                    | VisitField::Region
                    | VisitField::UtmMedium
                    | VisitField::UtmSource
                    | VisitField::UtmCampaign
                    | VisitField::UtmContent
                    | VisitField::UtmTerm
                    | VisitField::EntryPage
                    | VisitField::ExitPage
            )
        );
        if without_empty {
            filters.push(Filter::Leaf {
                op: FilterOp::IsNot,
                dimension: dim.clone(),
                values: vec![String::new()],
                case_sensitive: true,
            });
        }
    }
    super::extend_hostname_filters(&mut filters, &dimensions);
    let (limit, offset) = match endpoint {
        V1Endpoint::Breakdown => (limit, (page - 1) * limit),
        _ => (10_000, 0),
    };
    let order_by = match endpoint {
        V1Endpoint::Timeseries => vec![(OrderKey::Dimension(0), Direction::Asc)],
        V1Endpoint::Aggregate => Vec::new(),
        V1Endpoint::Breakdown => {
            let first = metrics.iter().find(|m| **m != Metric::TimeOnPage).copied().unwrap_or(metrics[0]);
            vec![(OrderKey::Metric(first), Direction::Desc)]
        }
    };
    let filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(Filter::And(filters)),
    };
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
    let previous = match params.get("compare").map(String::as_str) {
        None => None,
        Some("previous_period") if endpoint == V1Endpoint::Aggregate => {
            let other = super::v2::comparison_range(&json!({"mode": "previous_period"}), &range, &site.tz, today)?;
            Some(StatsQuery { start: other.start, end: other.end, local: other.local, ..query.clone() })
        }
        Some(other) => {
            return Err(bad(format!(
                "Invalid value for `compare`: `{other}`. Use `previous_period` with the aggregate endpoint."
            )));
        }
    };
    Ok(V1Query { endpoint, query, range, previous, keys, asked, grain })
}

fn parse_metrics(list: &str) -> Result<Vec<Metric>, QueryError> {
    let names: Vec<&str> = list.split(',').map(str::trim).collect();
    if names.iter().enumerate().any(|(i, n)| names[..i].contains(n)) {
        return Err(bad("Metrics cannot be queried multiple times."));
    }
    names
        .into_iter()
        .map(|name| {
            metric(name).ok_or_else(|| {
                bad(format!(
                    "The metric `{name}` is not recognized. Find valid metrics from the documentation: https://plausible.io/docs/stats-api#metrics"
                ))
            })
        })
        .collect()
}

/// Plausible's per-metric checks of v1, in its order.
fn check_metrics(metrics: &[Metric], property: Option<&Dimension>, filters: &[Filter]) -> Result<(), QueryError> {
    let filtered = |pred: &dyn Fn(&Dimension) -> bool| {
        filters.iter().find_map(|f| match f {
            Filter::Leaf { dimension, .. } if pred(dimension) => Some(dimension.label()),
            _ => None,
        })
    };
    let event_only = |d: &Dimension| matches!(d, Dimension::Name | Dimension::Goal | Dimension::Prop(_));
    for m in metrics {
        match m {
            Metric::TimeOnPage => {
                if filtered(&|d| *d == Dimension::Goal).is_some() {
                    return Err(bad("Metric `time_on_page` cannot be queried when filtering by `event:goal`"));
                }
                if filtered(&|d| *d == Dimension::Name).is_some() {
                    return Err(bad("Metric `time_on_page` cannot be queried when filtering by `event:name`"));
                }
                match property {
                    Some(Dimension::Page) => {}
                    Some(_) => {
                        return Err(bad(
                            "Metric `time_on_page` is not supported in breakdown queries (except `event:page` breakdown)",
                        ));
                    }
                    None if filtered(&|d| *d == Dimension::Page).is_some() => {}
                    None => {
                        return Err(bad(
                            "Metric `time_on_page` can only be queried in a page breakdown or with a page filter.",
                        ));
                    }
                }
            }
            Metric::ConversionRate
                if property != Some(&Dimension::Goal) && filtered(&|d| *d == Dimension::Goal).is_none() =>
            {
                return Err(bad(
                    "Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter",
                ));
            }
            Metric::ViewsPerVisit if filtered(&|d| *d == Dimension::Page).is_some() => {
                return Err(bad("Metric `views_per_visit` cannot be queried with a filter on `event:page`."));
            }
            Metric::ViewsPerVisit if property.is_some() => {
                return Err(bad("Metric `views_per_visit` is not supported in breakdown queries."));
            }
            _ => {}
        }
        if matches!(m, Metric::Visits | Metric::BounceRate | Metric::VisitDuration | Metric::ViewsPerVisit) {
            if let Some(p) = property.filter(|p| event_only(p)) {
                return Err(bad(format!(
                    "Session metric `{}` cannot be queried for breakdown by `{}`.",
                    m.name(),
                    p.label()
                )));
            }
            if let Some(d) = filtered(&event_only) {
                return Err(bad(format!(
                    "Session metric `{}` cannot be queried when using a filter on `{d}`.",
                    m.name()
                )));
            }
        }
    }
    Ok(())
}

/// v1 filters: a JSON list in the v2 syntax, or `a==x;b!=y|z` with `*` wildcards and `\|` for a
/// literal pipe, read as Plausible reads it (parts it cannot read are skipped, as are country
/// codes that are not two letters; `!=` on goals and on lists means `==`).
pub fn parse_filters(s: &str, grain: TimeGrain) -> Result<Vec<Filter>, QueryError> {
    if s.starts_with('[') || s.starts_with('{') {
        return match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(items)) => items
                .iter()
                .map(|f| {
                    super::v2::filter_with(f, grain, true)
                        .ok_or_else(|| bad(format!("Invalid filter '{}'", super::inspect(f))))
                })
                .collect(),
            _ => Ok(Vec::new()),
        };
    }
    let mut out = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let negated = part.contains("!=");
        let pieces: Vec<&str> = if negated { part.split("!=").collect() } else { part.split("==").collect() };
        let [prop, value] = pieces.as_slice() else { continue };
        let (prop, value) = (prop.trim(), value.trim());
        let dim = property(prop).ok_or_else(|| {
            bad(format!("Invalid filter property '{prop}'. Please provide a valid filter property: {DOCS_PROPERTIES}"))
        })?;
        let values = split_unescaped_pipes(value);
        if dim == Dimension::Visit(VisitField::Country) && values.iter().any(|v| v.len() != 2) {
            continue;
        }
        let leaf = |op: FilterOp, values: Vec<String>| Filter::Leaf {
            op,
            dimension: dim.clone(),
            values,
            case_sensitive: true,
        };
        out.push(if dim == Dimension::Goal {
            leaf(FilterOp::Is, values)
        } else if value.contains('*') {
            let op = if negated { FilterOp::MatchesNot } else { FilterOp::Matches };
            leaf(op, vec![wildcard_regex(value)])
        } else if values.len() > 1 {
            leaf(FilterOp::Is, values.iter().map(|v| stored_value(&dim, v)).collect())
        } else {
            let op = if negated { FilterOp::IsNot } else { FilterOp::Is };
            leaf(op, values.iter().map(|v| stored_value(&dim, v)).collect())
        });
    }
    Ok(out)
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

/// Every goal a filter names must be one of the site's.
fn check_goals_exist(filters: &[Filter], site: &SiteCtx) -> Result<(), QueryError> {
    for f in filters {
        let mut missing = None;
        goal_names(f, &mut |name| {
            if missing.is_none() && !site.goals.iter().any(|g| g.name == name) {
                missing = Some(name.to_owned());
            }
        });
        if let Some(name) = missing {
            let how = "Find out how to configure goals here: https://plausible.io/docs/stats-api#filtering-by-goals";
            return Err(bad(match name.strip_prefix("Visit ") {
                Some(path) => {
                    format!("The pageview goal for the pathname `{path}` is not configured for this site. {how}")
                }
                None => format!("The goal `{name}` is not configured for this site. {how}"),
            }));
        }
    }
    Ok(())
}

fn goal_names(f: &Filter, found: &mut dyn FnMut(&str)) {
    match f {
        Filter::And(v) | Filter::Or(v) => v.iter().for_each(|c| goal_names(c, found)),
        Filter::Not(c) => goal_names(c, found),
        Filter::Leaf { op: FilterOp::Is, dimension: Dimension::Goal, values, .. } => {
            values.iter().for_each(|v| found(v))
        }
        Filter::Leaf { .. } => {}
    }
}

/// A metric's value as v1 shows it: rates and durations as whole numbers.
fn v1_value(m: Metric, v: Option<f64>) -> Value {
    match (m, v) {
        (Metric::BounceRate | Metric::VisitDuration | Metric::TimeOnPage, Some(x)) => json!(x.round() as i64),
        _ => metric_json(m, v),
    }
}

/// A metric's value in an empty bucket of a time series.
fn empty_bucket(m: Metric) -> Option<f64> {
    match m {
        Metric::VisitDuration => None,
        Metric::TimeOnPage => Some(0.0),
        other => empty_value(other),
    }
}

/// The v1 response document.
pub fn render_v1(q: &V1Query, out: &QueryOutput, previous: Option<&QueryOutput>) -> Value {
    let names = |i: usize| q.asked.get(i).map_or_else(|| q.query.metrics[i].name(), |m| m.name());
    match q.endpoint {
        V1Endpoint::Aggregate => {
            let row = out.rows.first();
            let prev = previous.and_then(|p| p.rows.first());
            let mut results = Map::new();
            for (i, m) in q.query.metrics.iter().enumerate() {
                let v = row.map_or_else(|| empty_value(*m), |r| r.metrics[i]);
                let mut entry = json!({ "value": v1_value(*m, v) });
                if previous.is_some() {
                    let p = prev.map_or_else(|| empty_value(*m), |r| r.metrics[i]);
                    entry["comparison_value"] = v1_value(*m, p);
                    entry["change"] = change(*m, v, p);
                }
                results.insert(names(i).into(), entry);
            }
            json!({ "results": results })
        }
        V1Endpoint::Timeseries => {
            // Every bucket of the range, the empty ones too.
            let by_bucket: HashMap<&DimValue, &ResultRow> =
                out.rows.iter().filter_map(|r| r.dimensions.first().map(|d| (d, r))).collect();
            let results: Vec<Value> = period::buckets(&q.range, q.grain)
                .into_iter()
                .map(|b| {
                    let mut obj = Map::new();
                    obj.insert("date".into(), json!(period::label_in(&q.range, q.grain, b)));
                    let row = by_bucket.get(&DimValue::Bucket(b));
                    for (i, m) in q.query.metrics.iter().enumerate() {
                        let v = row.map_or_else(|| empty_bucket(*m), |r| r.metrics[i]);
                        obj.insert(names(i).into(), v1_value(*m, v));
                    }
                    Value::Object(obj)
                })
                .collect();
            json!({ "results": results })
        }
        V1Endpoint::Breakdown => {
            let results: Vec<Value> = out
                .rows
                .iter()
                .map(|r| {
                    let mut obj = Map::new();
                    for ((key, dim), value) in q.keys.iter().zip(&q.query.dimensions).zip(&r.dimensions) {
                        obj.insert(key.clone(), shown_value(dim, value, |g, b| period::label_in(&q.range, g, b)));
                    }
                    for (i, m) in q.query.metrics.iter().enumerate() {
                        obj.insert(names(i).into(), v1_value(*m, r.metrics[i]));
                    }
                    Value::Object(obj)
                })
                .collect();
            json!({ "results": results })
        }
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
        super::super::test_site()
    }

    fn err(endpoint: V1Endpoint, params: &[(&str, &str)]) -> String {
        let params = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        parse_v1(endpoint, &params, &site(), 1_716_000_000).unwrap_err().0
    }

    #[test]
    fn filter_syntax() {
        let f = parse_filters("event:page==/blog/*;visit:source!=Google;visit:utm_campaign==a\\|b", TimeGrain::Day)
            .unwrap();
        assert_eq!(f.len(), 3);
        assert!(matches!(&f[0], Filter::Leaf { op: FilterOp::Matches, .. }));
        assert!(matches!(&f[1], Filter::Leaf { op: FilterOp::IsNot, .. }));
        assert!(matches!(&f[2], Filter::Leaf { values, .. } if values == &vec!["a|b".to_owned()]));
        // Plausible's quirks: a negated list means `is`, a negated goal too, bad country codes vanish.
        let f = parse_filters("visit:browser!=Chrome|Firefox;event:goal!=Signup;visit:country==NOR", TimeGrain::Day)
            .unwrap();
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|l| matches!(l, Filter::Leaf { op: FilterOp::Is, .. })));
        assert!(
            parse_filters("visit:nonsense==x", TimeGrain::Day).unwrap_err().0.starts_with("Invalid filter property")
        );
        let json = parse_filters(r#"[["contains","event:page",["/en"]]]"#, TimeGrain::Day).unwrap();
        assert!(matches!(&json[0], Filter::Leaf { op: FilterOp::Contains, .. }));
    }

    #[test]
    fn messages_in_plausibles_order() {
        use V1Endpoint::*;
        assert!(err(Aggregate, &[("period", "month"), ("date", "2021-dkjbAS")]).contains("invalid_format"));
        assert!(err(Aggregate, &[("period", "month"), ("date", "2021-02-30")]).contains("invalid_date"));
        assert!(err(Aggregate, &[("period", "fortnight")]).starts_with("Error parsing `period` parameter"));
        assert_eq!(err(Aggregate, &[("metrics", "visitors,visitors")]), "Metrics cannot be queried multiple times.");
        assert_eq!(
            err(Breakdown, &[("property", "event:name"), ("metrics", "bounce_rate")]),
            "Session metric `bounce_rate` cannot be queried for breakdown by `event:name`."
        );
        assert_eq!(
            err(Aggregate, &[("filters", "event:goal==Register")]),
            "The goal `Register` is not configured for this site. Find out how to configure goals here: https://plausible.io/docs/stats-api#filtering-by-goals"
        );
        assert!(err(Breakdown, &[("property", "visit:source"), ("limit", "1001")]).starts_with("Please provide limit"));
        assert!(err(Timeseries, &[("interval", "week")]).ends_with("Valid intervals are `day`, `month`"));
    }
}
