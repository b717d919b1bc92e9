//! What a dashboard URL asks for, and the links that change one part of it.
//!
//! The whole view lives in the query string so it can be bookmarked and shared: `period` (with
//! `date` for named periods moved back or forward, `from`/`to` for custom ranges), `compare`
//! (`previous_period`, `year_over_year`, `custom` with `compare_from`/`compare_to`), `interval`,
//! `metric` (what the graph shows), `filters`, the chosen tab of each panel (`sources`, `pages`,
//! `locations`, `devices`, `goals`, `prop`, `funnel`), and `lang`.
//!
//! Filters are `;`-separated `dimension OP value` terms, with `==` (is), `!=` (is not), `~=`
//! (contains) and `!~=` (does not contain); `|` separates alternatives and `*` is a wildcard.
//! Plausible's v1 `filters` strings are a subset, so its dashboard links keep working.

use std::collections::HashMap;

use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};
use tillit_core::stats::api::{SiteCtx, wildcard_regex};
use tillit_core::stats::period::{self, Range, Rules};

use crate::i18n::Texts;

/// The query parameters a dashboard link carries (everything else is dropped).
const KEPT: [&str; 18] = [
    "period",
    "date",
    "from",
    "to",
    "compare",
    "compare_from",
    "compare_to",
    "interval",
    "metric",
    "filters",
    "sources",
    "pages",
    "locations",
    "devices",
    "goals",
    "prop",
    "funnel",
    "lang",
];

/// A filter operator, as written in the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Is,
    IsNot,
    Contains,
    ContainsNot,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Is, Op::IsNot, Op::Contains, Op::ContainsNot];

    pub fn token(self) -> &'static str {
        match self {
            Op::Is => "==",
            Op::IsNot => "!=",
            Op::Contains => "~=",
            Op::ContainsNot => "!~=",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.token() == s)
    }

    pub fn label(self, t: &Texts) -> &'static str {
        match self {
            Op::Is => t.op_is,
            Op::IsNot => t.op_is_not,
            Op::Contains => t.op_contains,
            Op::ContainsNot => t.op_contains_not,
        }
    }
}

/// One filter term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub dimension: String,
    pub op: Op,
    pub value: String,
}

impl Term {
    /// Parses `dimension OP value`; the operator is the first one found.
    pub fn parse(s: &str) -> Option<Term> {
        let (pos, op) = Op::ALL
            .into_iter()
            .filter_map(|op| s.find(op.token()).map(|p| (p, op)))
            // At the same position `!~=` is longer than `!=`… none share a start, but prefer the
            // earliest match, then the longest token.
            .min_by_key(|(p, op)| (*p, usize::MAX - op.token().len()))?;
        let dimension = s[..pos].trim();
        let value = s[pos + op.token().len()..].trim();
        (!dimension.is_empty() && !value.is_empty()).then(|| Term {
            dimension: dimension.to_owned(),
            op,
            value: value.to_owned(),
        })
    }

    pub fn render(&self) -> String {
        format!("{}{}{}", self.dimension, self.op.token(), self.value)
    }

    /// The term as a Stats API v2 filter.
    pub fn to_v2(&self) -> Value {
        let values: Vec<String> = self.value.split('|').map(|v| v.replace("\\;", ";")).collect();
        let wild = values.iter().any(|v| v.contains('*'));
        match (self.op, wild) {
            (Op::Is, false) => json!(["is", self.dimension, values]),
            (Op::IsNot, false) => json!(["is_not", self.dimension, values]),
            (Op::Is, true) => {
                json!(["matches", self.dimension, values.iter().map(|v| wildcard_regex(v)).collect::<Vec<_>>()])
            }
            (Op::IsNot, true) => {
                json!(["matches_not", self.dimension, values.iter().map(|v| wildcard_regex(v)).collect::<Vec<_>>()])
            }
            (Op::Contains, _) => json!(["contains", self.dimension, values, {"case_sensitive": false}]),
            (Op::ContainsNot, _) => json!(["contains_not", self.dimension, values, {"case_sensitive": false}]),
        }
    }
}

/// The periods of the date picker: URL name, label, keyboard shortcut.
pub fn presets(t: &Texts) -> [(&'static str, &'static str, &'static str); 15] {
    [
        ("realtime", t.realtime, "r"),
        ("day", t.today, "d"),
        ("yesterday", t.yesterday, "e"),
        ("24h", t.last_24h, "h"),
        ("7d", t.last_7d, "w"),
        ("28d", t.last_28d, "f"),
        ("30d", t.last_30d, "t"),
        ("91d", t.last_91d, "n"),
        ("month", t.month_to_date, "m"),
        ("lastmonth", t.last_month, "p"),
        ("year", t.year_to_date, "y"),
        ("6mo", t.last_6mo, "s"),
        ("12mo", t.last_12mo, "l"),
        ("all", t.all_time, "a"),
        ("custom", t.custom_range, "c"),
    ]
}

/// A parsed dashboard URL.
#[derive(Clone, Debug)]
pub struct View {
    /// The page's own path (`/sites/example.com`, or a shared link's).
    pub base: String,
    params: Vec<(String, String)>,
    pub period: String,
    pub terms: Vec<Term>,
}

/// A resolved period: calendar range, or the last 24 hours.
#[derive(Clone, Debug)]
pub struct Span {
    pub range: Range,
    /// `date_range` for the Stats API v2.
    pub v2: Value,
    /// The default and allowed graph intervals.
    pub intervals: Vec<&'static str>,
}

impl View {
    pub fn parse(base: &str, q: &HashMap<String, String>) -> View {
        let mut params: Vec<(String, String)> = KEPT
            .iter()
            .filter_map(|k| q.get(*k).filter(|v| !v.is_empty()).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        // The filter editor submits its three fields; fold them into `filters`.
        if let (Some(d), Some(o), Some(v)) = (q.get("fdim"), q.get("fop").and_then(|o| Op::parse(o)), q.get("fval"))
            && !d.trim().is_empty()
            && !v.trim().is_empty()
        {
            let term = Term { dimension: d.trim().to_owned(), op: o, value: v.trim().replace(';', "\\;") }.render();
            match params.iter_mut().find(|(k, _)| k == "filters") {
                Some((_, f)) => {
                    f.push(';');
                    f.push_str(&term);
                }
                None => params.push(("filters".into(), term)),
            }
        }
        let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let period = get("period").unwrap_or("30d").to_owned();
        let terms =
            get("filters").map(split_filters).unwrap_or_default().iter().filter_map(|s| Term::parse(s)).collect();
        View { base: base.to_owned(), params, period, terms }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// This view's URL with some parameters changed (`None` removes one).
    pub fn with(&self, changes: &[(&str, Option<&str>)]) -> String {
        self.at(&self.base, changes)
    }

    /// Like [`View::with`], on another path (details pages, export, another site).
    pub fn at(&self, path: &str, changes: &[(&str, Option<&str>)]) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            if !changes.iter().any(|(c, _)| c == k) {
                out.append_pair(k, v);
            }
        }
        for (k, v) in changes {
            if let Some(v) = v {
                out.append_pair(k, v);
            }
        }
        let qs = out.finish();
        if qs.is_empty() { path.to_owned() } else { format!("{path}?{qs}") }
    }

    /// The view with a different filter list.
    pub fn with_terms(&self, terms: &[Term]) -> String {
        let joined = terms.iter().map(Term::render).collect::<Vec<_>>().join(";");
        self.with(&[("filters", (!joined.is_empty()).then_some(joined.as_str()))])
    }

    /// The query string, as it is (for forms that keep the view).
    pub fn hidden_fields(&self, except: &[&str]) -> Vec<(String, String)> {
        self.params.iter().filter(|(k, _)| !except.contains(&k.as_str())).cloned().collect()
    }

    /// The v2 `filters` array.
    pub fn v2_filters(&self) -> Value {
        Value::Array(self.terms.iter().map(Term::to_v2).collect())
    }

    /// Whether a filter on `dimension` is set (its panel then shows no click-to-filter rows).
    pub fn filters_on(&self, dimension: &str) -> bool {
        self.terms.iter().any(|t| t.dimension == dimension)
    }

    /// Resolves the period in the site's time zone.
    pub fn span(&self, site: &SiteCtx, now: i64) -> Result<Span, String> {
        let today = period::today(&site.tz, now);
        let date = match self.get("date") {
            Some(d) => period::parse_date(d).map_err(|e| e.0)?,
            None => today,
        };
        let named = |name: &str, d: Date| period::named(&site.tz, name, d, Rules::Dashboard, site.first_event);
        let range = match self.period.as_str() {
            "realtime" | "24h" => {
                let secs = if self.period == "24h" { 86_400 } else { 1800 };
                let range = period::instants(&site.tz, now - secs, now + 1).map_err(|e| e.0)?;
                let iso = |t: i64| jiff::Timestamp::from_second(t).map(|t| t.to_string()).unwrap_or_default();
                let intervals = if self.period == "24h" { vec!["hour", "minute"] } else { vec!["minute"] };
                return Ok(Span { v2: json!([iso(now - secs), iso(now)]), range, intervals });
            }
            "yesterday" => named("day", date.yesterday().map_err(|e| e.to_string())?),
            "lastmonth" => named("month", date.first_of_month().yesterday().map_err(|e| e.to_string())?),
            "custom" => {
                let (Some(a), Some(b)) = (self.get("from"), self.get("to")) else {
                    return Err("A custom range needs both a start and an end date.".into());
                };
                let (a, b) = (period::parse_date(a).map_err(|e| e.0)?, period::parse_date(b).map_err(|e| e.0)?);
                if a > b {
                    return Err("The start of the range is after its end.".into());
                }
                period::dates(&site.tz, a, b)
            }
            name => named(name, date),
        }
        .map_err(|e| e.0)?;
        let days = range.last.since(range.first).map(|s| i64::from(s.get_days())).unwrap_or(0) + 1;
        let intervals = match days {
            1 => vec!["hour", "minute"],
            2..=31 => vec!["day", "hour", "week"],
            32..=190 => vec!["day", "week", "month"],
            _ => vec!["month", "week", "day"],
        };
        let v2 = json!([range.first.to_string(), range.last.to_string()]);
        Ok(Span { range, v2, intervals })
    }

    /// The graph interval: the one asked for if the period allows it, else the period's default.
    pub fn interval(&self, span: &Span) -> &'static str {
        let asked = self.get("interval");
        span.intervals.iter().copied().find(|i| Some(*i) == asked).unwrap_or(span.intervals[0])
    }

    /// The links to the previous and next period, where moving makes sense (never past today).
    pub fn neighbours(&self, span: &Span, today: Date) -> (Option<String>, Option<String>) {
        let shift_days = |n: i64| span.range.last.checked_add(n.days()).ok();
        let shift_months = |n: i32| span.range.last.checked_add(n.months()).ok();
        let (back, fwd) = match self.period.as_str() {
            "day" | "yesterday" => (shift_days(-1), shift_days(1)),
            "7d" => (shift_days(-7), shift_days(7)),
            "28d" => (shift_days(-28), shift_days(28)),
            "30d" => (shift_days(-30), shift_days(30)),
            "91d" => (shift_days(-91), shift_days(91)),
            "month" | "lastmonth" => (shift_months(-1), shift_months(1)),
            "6mo" => (shift_months(-6), shift_months(6)),
            "12mo" | "year" => (shift_months(-12), shift_months(12)),
            "custom" => {
                let len = span.range.last.since(span.range.first).map(|s| i64::from(s.get_days())).unwrap_or(0) + 1;
                let move_by = |n: i64| {
                    let a = span.range.first.checked_add(n.days()).ok()?;
                    let b = span.range.last.checked_add(n.days()).ok()?;
                    Some(self.with(&[("from", Some(&a.to_string())), ("to", Some(&b.to_string()))]))
                };
                let next = if span.range.last < today { move_by(len) } else { None };
                return (move_by(-len), next);
            }
            _ => return (None, None),
        };
        // Moving keeps the named period and sets its reference date; `yesterday` becomes `day`.
        let period = match self.period.as_str() {
            "yesterday" => "day",
            "lastmonth" => "month",
            p => p,
        };
        let link = |d: Date| self.with(&[("period", Some(period)), ("date", Some(&d.to_string()))]);
        let next = fwd.filter(|_| span.range.last < today).map(|d| link(d.min(today)));
        (back.map(link), next)
    }
}

/// Splits a `filters` value on unescaped `;`.
fn split_filters(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&';') => {
                chars.next();
                current.push_str("\\;");
            }
            ';' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_round_trip() {
        let t = Term::parse("visit:source==Google|Bing").unwrap();
        assert_eq!((t.dimension.as_str(), t.op, t.value.as_str()), ("visit:source", Op::Is, "Google|Bing"));
        assert_eq!(Term::parse("event:page!~=/blog").unwrap().op, Op::ContainsNot);
        assert_eq!(Term::parse("event:page~=blog").unwrap().op, Op::Contains);
        assert_eq!(Term::parse("event:page!=/a").unwrap().op, Op::IsNot);
        assert_eq!(Term::parse("event:page"), None);
        assert_eq!(Term::parse("==x"), None);
        assert_eq!(t.to_v2(), json!(["is", "visit:source", ["Google", "Bing"]]));
        assert_eq!(Term::parse("event:page==/blog/*").unwrap().to_v2()[0], "matches");
    }

    #[test]
    fn filters_split_on_unescaped_semicolons() {
        assert_eq!(split_filters("a==1;b==x\\;y; ;"), vec!["a==1", "b==x\\;y"]);
    }

    #[test]
    fn links_keep_the_view() {
        let q: HashMap<String, String> = [("period", "7d"), ("filters", "visit:source==Google"), ("junk", "x")]
            .map(|(a, b)| (a.into(), b.into()))
            .into();
        let v = View::parse("/sites/a.test", &q);
        let h = v.with(&[("period", Some("day"))]);
        assert!(h.starts_with("/sites/a.test?filters=visit%3Asource%3D%3DGoogle&period=day"), "{h}");
        assert!(!h.contains("junk"));
        assert_eq!(v.with_terms(&[]), "/sites/a.test?period=7d");
        // Every panel's tab choice survives other changes.
        let q: HashMap<String, String> =
            [("funnel", "Checkout"), ("goals", "events"), ("prop", "plan")].map(|(a, b)| (a.into(), b.into())).into();
        let h = View::parse("/s", &q).with(&[("period", Some("day"))]);
        assert_eq!(h, "/s?goals=events&prop=plan&funnel=Checkout&period=day");
    }

    #[test]
    fn the_filter_editor_appends_a_term() {
        let q: HashMap<String, String> = [("filters", "a==1"), ("fdim", "event:page"), ("fop", "~="), ("fval", "x;y")]
            .map(|(a, b)| (a.into(), b.into()))
            .into();
        let v = View::parse("/s", &q);
        assert_eq!(v.terms.len(), 2);
        assert_eq!(v.terms[1].value, "x\\;y");
        assert_eq!(v.terms[1].to_v2()[2], json!(["x;y"]));
    }
}
