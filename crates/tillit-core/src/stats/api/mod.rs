//! Plausible's Stats API languages — v1 query parameters ([`v1`]) and v2 query documents
//! ([`v2`]) — validated and resolved into a [`StatsQuery`], and results shaped as Plausible
//! returns them. What both share lives here: the site a query is about, goals and Plausible's
//! wildcards, dimension names, how empty values are shown, metric values as JSON, and the
//! comparison change.
//!
//! Errors carry Plausible's wording, word for word (the conformance cases check them); the HTTP
//! layer answers them with 400.

pub mod v1;
pub mod v2;

use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tillit_store::app::GoalRow;
use tillit_store::query::{DimValue, Dimension, Filter, Goal, GoalKind, Metric, TimeGrain, VisitField, round_to};

use super::period;

pub use v1::{V1Endpoint, V1Query, parse_funnel, parse_v1, render_funnel, render_v1};
pub use v2::{Surface, V2Query, comparison_range, parse_v2, render_v2, v2_site_id};

/// What a query needs to know about its site.
#[derive(Clone, Debug)]
pub struct SiteCtx {
    pub id: u32,
    pub domain: String,
    pub tz: TimeZone,
    pub tz_name: String,
    /// Newest first, as Plausible lists them.
    pub goals: Vec<Goal>,
    /// The site's first stored event (Unix seconds), for the `all` period.
    pub first_event: Option<i64>,
}

/// A query the API refuses, with the reason in Plausible's words.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

pub(crate) fn bad(msg: impl Into<String>) -> QueryError {
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

/// Turns a stored goal into what the engine matches: a custom event by name, or pageviews (or
/// scrolls at least the threshold deep) whose path is the goal's path — or, when it has wildcards,
/// matches it as Plausible's [`wildcard_regex`] does.
pub fn goal(g: &GoalRow) -> Goal {
    let path_regex = |path: &str| {
        if path.contains('*') { wildcard_regex(path) } else { format!("^{}$", regex::escape(path)) }
    };
    let kind = match (&g.event_name, &g.page_path, g.scroll_threshold) {
        (Some(name), _, _) => GoalKind::Event(name.clone()),
        (None, Some(path), Some(threshold)) => GoalKind::Scroll { page: path_regex(path), threshold },
        (None, Some(path), None) => GoalKind::Page(path_regex(path)),
        (None, None, _) => GoalKind::Event(g.display_name.clone()),
    };
    Goal { name: g.display_name.clone(), kind }
}

/// An anchored regular expression for a Plausible wildcard pattern, made as Plausible makes it:
/// the pattern is escaped, then an escaped `|` becomes an alternative and `**` and `*` become any
/// characters (a single `*` crosses `/` too). So `/en/**|/pl/**` is `^/en/.*|/pl/.*$`.
pub fn wildcard_regex(pattern: &str) -> String {
    let escaped = regex::escape(pattern).replace("\\|", "|").replace("\\*\\*", ".*").replace("\\*", ".*");
    format!("^{escaped}$")
}

/// A dimension or filter property by name (`event:page`, `visit:source`, `event:props:plan`,
/// `time:day`); `time` alone resolves to `default_grain`. `None` for names Plausible does not
/// know; each API version words that refusal its own way.
pub fn dimension(name: &str, default_grain: TimeGrain) -> Option<Dimension> {
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
        // Plausible's older name for the device type.
        "visit:screen" => Dimension::Visit(VisitField::Device),
        other => {
            if let Some(key) = other.strip_prefix("event:props:") {
                if key.is_empty() {
                    return None;
                }
                Dimension::Prop(key.to_owned())
            } else {
                Dimension::Visit(other.strip_prefix("visit:").and_then(VisitField::from_name)?)
            }
        }
    };
    Some(dim)
}

/// How an empty stored value is shown (and may be filtered for), as Plausible shows it. Pages and
/// hostnames are shown as they are; an unknown location is `(not set)` like every other unknown
/// visit attribute (Plausible shows its raw column defaults there: a deliberate difference).
pub(crate) fn display_empty(dim: &Dimension) -> Option<&'static str> {
    match dim {
        Dimension::Visit(VisitField::Source | VisitField::Referrer) => Some("Direct / None"),
        Dimension::Visit(VisitField::Channel) => Some("Direct"),
        Dimension::Visit(
            VisitField::EntryPage | VisitField::ExitPage | VisitField::EntryPageHostname | VisitField::ExitPageHostname,
        ) => None,
        Dimension::Visit(_) => Some("(not set)"),
        _ => None,
    }
}

/// The stored value an `is` filter value stands for: `(not set)` is the empty value of any
/// dimension, and `Direct / None` that of the source, the referrer and the campaign parameters.
pub(crate) fn stored_value(dim: &Dimension, value: &str) -> String {
    let direct_none = matches!(
        dim,
        Dimension::Visit(
            VisitField::Source
                | VisitField::Referrer
                | VisitField::UtmMedium
                | VisitField::UtmSource
                | VisitField::UtmCampaign
                | VisitField::UtmContent
                | VisitField::UtmTerm
        )
    );
    let is_prop_or_goal = matches!(dim, Dimension::Prop(_) | Dimension::Goal);
    if (value == "(not set)" && !is_prop_or_goal) || (value == "Direct / None" && direct_none) {
        String::new()
    } else {
        value.to_owned()
    }
}

/// A result's dimension value as JSON.
pub(crate) fn shown_value(dim: &Dimension, value: &DimValue, grain_label: impl Fn(TimeGrain, i64) -> String) -> Value {
    match (dim, value) {
        (Dimension::Time(g), DimValue::Bucket(b)) => Value::String(grain_label(*g, *b)),
        (_, DimValue::Bucket(b)) => json!(b),
        // A city is its GeoNames id, a number.
        (Dimension::Visit(VisitField::City), DimValue::Text(s)) if !s.is_empty() => {
            s.parse::<u64>().map_or_else(|_| Value::String(s.clone()), |id| json!(id))
        }
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
            Metric::ViewsPerVisit
            | Metric::Percentage
            | Metric::ConversionRate
            | Metric::GroupConversionRate
            | Metric::ExitRate => json!(x),
            _ => json!(x as i64),
        },
    }
}

/// A metric's value where nothing happened.
pub(crate) fn empty_value(m: Metric) -> Option<f64> {
    match m {
        Metric::TimeOnPage | Metric::ScrollDepth | Metric::Percentage | Metric::ExitRate => None,
        _ => Some(0.0),
    }
}

/// A metric's value in a comparison row that has no counterpart (Plausible fills those in).
pub(crate) fn missing_comparison_value(m: Metric) -> Option<f64> {
    match m {
        Metric::VisitDuration | Metric::TimeOnPage | Metric::ScrollDepth | Metric::ExitRate => None,
        _ => Some(0.0),
    }
}

/// Plausible's comparison change: points for the conversion and exit rates, percentage points for
/// the bounce rate (none against a zero), otherwise the relative change in whole percent (100
/// when growing from zero, none when either side has no value).
pub fn change(m: Metric, new: Option<f64>, old: Option<f64>) -> Value {
    match m {
        Metric::ConversionRate | Metric::ExitRate => match (new, old) {
            (Some(n), Some(o)) => json!(round_to(n - o, 1)),
            _ => Value::Null,
        },
        Metric::BounceRate => match (new.unwrap_or(0.0), old.unwrap_or(0.0)) {
            (_, 0.0) => Value::Null,
            (n, o) => json!((n - o) as i64),
        },
        _ => match (new, old) {
            (Some(n), Some(0.0)) => json!(if n > 0.0 { 100 } else { 0 }),
            (Some(n), Some(o)) => json!(((n - o) / o * 100.0).round() as i64),
            _ => Value::Null,
        },
    }
}

/// Plausible's hostname rule: with a top-level `event:hostname` filter, a breakdown by where
/// visits came from (source, referrer, campaign parameters, entry page) counts only visits that
/// entered on a matching host, and one by exit page only visits that left from one. The same
/// conditions are added on the entry or exit host.
pub(crate) fn extend_hostname_filters(filters: &mut Vec<Filter>, dims: &[Dimension]) {
    use VisitField as F;
    let hostnames: Vec<Filter> =
        filters.iter().filter(|f| matches!(f, Filter::Leaf { dimension: Dimension::Hostname, .. })).cloned().collect();
    for dim in dims {
        let target = match dim {
            Dimension::Visit(
                F::Source
                | F::EntryPage
                | F::UtmMedium
                | F::UtmSource
                | F::UtmCampaign
                | F::UtmContent
                | F::UtmTerm
                | F::Referrer,
            ) => F::EntryPageHostname,
            Dimension::Visit(F::ExitPage) => F::ExitPageHostname,
            _ => continue,
        };
        filters.extend(hostnames.iter().map(|f| f.on_dimension(&Dimension::Visit(target))));
    }
}

/// Elixir's `inspect` of a JSON value, as Plausible's messages quote what they refuse:
/// `["is", "segment", [1]]`, `%{"a" => 1}`.
pub(crate) fn inspect(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Array(items) => format!("[{}]", items.iter().map(inspect).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "%{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{} => {}", Value::String(k.clone()), inspect(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A UTC site with one custom-event goal, for the parsers' tests.
#[cfg(test)]
pub(super) fn test_site() -> SiteCtx {
    SiteCtx {
        id: 1,
        domain: "a.test".into(),
        tz: TimeZone::UTC,
        tz_name: "UTC".into(),
        goals: vec![Goal { name: "Signup".into(), kind: GoalKind::Event("Signup".into()) }],
        first_event: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_plausible() {
        let re = regex::Regex::new(&wildcard_regex("/blog/*")).unwrap();
        assert!(re.is_match("/blog/post") && re.is_match("/blog/a/b") && !re.is_match("/blogs"));
        let re = regex::Regex::new(&wildcard_regex("/docs/**")).unwrap();
        assert!(re.is_match("/docs/a/b/c"));
        let re = regex::Regex::new(&wildcard_regex("/a.b?c")).unwrap();
        assert!(re.is_match("/a.b?c") && !re.is_match("/axb?c"));
        let re = regex::Regex::new(&wildcard_regex("/en/**|/pl/**")).unwrap();
        assert!(re.is_match("/en/a") && re.is_match("/pl/b") && !re.is_match("/de/c"));
    }

    #[test]
    fn goal_paths_without_wildcards_match_exactly() {
        let row = |scroll_threshold| GoalRow {
            id: 1,
            site_id: 1,
            event_name: None,
            page_path: Some("/a|b".into()),
            scroll_threshold,
            display_name: "Visit /a|b".into(),
        };
        let GoalKind::Page(re) = goal(&row(None)).kind else { panic!("page goal") };
        let re = regex::Regex::new(&re).unwrap();
        assert!(re.is_match("/a|b") && !re.is_match("/a"));
        assert_eq!(goal(&row(Some(50))).kind, GoalKind::Scroll { page: "^/a\\|b$".into(), threshold: 50 });
    }

    #[test]
    fn comparison_changes() {
        assert_eq!(change(Metric::Visitors, Some(150.0), Some(100.0)), json!(50));
        assert_eq!(change(Metric::Visitors, Some(5.0), Some(0.0)), json!(100));
        assert_eq!(change(Metric::Visitors, Some(0.0), Some(0.0)), json!(0));
        assert_eq!(change(Metric::BounceRate, Some(40.0), Some(50.0)), json!(-10));
        assert_eq!(change(Metric::BounceRate, Some(40.0), Some(0.0)), Value::Null);
        assert_eq!(change(Metric::ConversionRate, Some(50.0), Some(33.33)), json!(16.7));
        assert_eq!(change(Metric::TimeOnPage, None, Some(60.0)), Value::Null);
    }

    #[test]
    fn inspect_reads_like_elixir() {
        assert_eq!(inspect(&json!(["is", "segment", [1]])), r#"["is", "segment", [1]]"#);
        assert_eq!(inspect(&json!({"a": 1})), r#"%{"a" => 1}"#);
    }
}
