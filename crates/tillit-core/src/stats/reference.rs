//! The reference engine: every metric computed plainly, in memory, from a list of events.
//!
//! This is the definition the store backends must meet (property tests compare them on random
//! queries over random data). It is written for clarity, not speed.
//!
//! Definitions, over the site's events in `[start, end)`:
//! - Event metrics use the *matching* events: non-engagement events that pass the filter, and
//!   engagement events that complete a scroll goal the query groups by or its filter asks for.
//!   `visitors` = distinct visitor ids, `visits` = distinct session ids, `pageviews` = events named
//!   `pageview`, `events` = all of them but engagement events.
//! - Visit metrics use every visit (session) with at least one matching event, summarised from all
//!   of its non-engagement events in the range: it *bounced* when at most one of them was
//!   interactive; its duration is last − first timestamp; its views are its pageviews.
//!   `bounce_rate` = round(100 × bounced / visits) over the visits that entered on a page the
//!   top-level `event:page` filter accepts, if there is one (Plausible's entry-page rule),
//!   `visit_duration` = round(Σ duration / visits),
//!   `views_per_visit` = round(Σ views / visits, 2). Grouped by the visit's own values: the entry
//!   page stands for `event:page`, the bucket of its first event for time.
//! - `time_on_page` = Σ engaged ms / 1000 / visits with engagement events, over engagement events
//!   that pass the filter; `scroll_depth` = mean over those visits of their deepest scroll.
//! - `percentage` = round(100 × visitors / all matching visitors, 1); `conversion_rate` =
//!   round(100 × visitors / visitors matching the filter without its goal and property
//!   conditions, 2); `group_conversion_rate` against that denominator within the same (non-goal)
//!   group.
//! - `exit_rate` (grouped by exit page) = round(100 × visits that ended on the page / pageviews of
//!   the page, 1), the pageviews counted under the filter without its exit-page conditions.
//! - Custom property filters: `is` and `is_not` treat a missing property as the value `(none)`;
//!   `contains`, `matches` and their negations match only events that have the property.
//! - Rows: one per group of dimension values present on any side; ordered by the requested keys
//!   (missing values last), then by every dimension ascending.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use regex::Regex;
use tillit_store::EventRecord;
use tillit_store::query::{
    DimValue, Dimension, Direction, Filter, FilterOp, GoalKind, Metric, OrderKey, QueryOutput, ResultRow, StatsQuery,
    TimeGrain, VisitField, goal_name_selected, ratio,
};

/// Runs `q` over `events` (any order; other sites' events are ignored).
pub fn run(q: &StatsQuery, events: &[EventRecord]) -> QueryOutput {
    let ev: Vec<&EventRecord> =
        events.iter().filter(|e| e.site_id == q.site_id && e.ts >= q.start && e.ts < q.end).collect();
    let ctx = Ctx::new(q, &ev);
    let matches = |e: &EventRecord| q.filter.as_ref().is_none_or(|f| ctx.eval(f, e));
    let scroll = q.scroll_goals_in_play();
    let countable = |e: &EventRecord| e.name != "engagement" || scroll.iter().any(|g| ctx.goal_matches(&g.kind, e));
    let m: Vec<&EventRecord> = ev.iter().copied().filter(|e| countable(e) && matches(e)).collect();
    let n = q.dimensions.len();

    #[derive(Default)]
    struct Side {
        visitors: HashSet<u64>,
        sessions: HashSet<u64>,
        pageviews: u64,
        events: u64,
    }
    let mut e_agg: BTreeMap<Vec<DimValue>, Side> = BTreeMap::new();
    for e in &m {
        for key in ctx.keys(e) {
            let side = e_agg.entry(key).or_default();
            side.visitors.insert(e.visitor_id);
            side.sessions.insert(e.session_id);
            side.pageviews += u64::from(e.name == "pageview");
            side.events += u64::from(e.name != "engagement");
        }
    }

    // Visits with at least one matching event, summarised from all their events in the range.
    #[derive(Default)]
    struct Visits {
        sessions: u64,
        /// Visits the bounce rate counts (the entry-page rule), and those of them that bounced.
        bounce_sessions: u64,
        bounces: u64,
        dur_sum: i64,
        pv_sum: u64,
    }
    let bounce_rule = tillit_store::query::bounce_entry_condition(q.filter.as_ref());
    let mut s_agg: BTreeMap<Vec<DimValue>, Visits> = BTreeMap::new();
    if q.metrics.iter().any(|m| m.is_session_metric()) {
        let wanted: HashSet<u64> = m.iter().map(|e| e.session_id).collect();
        let mut by_session: HashMap<u64, Vec<&EventRecord>> = HashMap::new();
        for e in ev.iter().filter(|e| e.name != "engagement" && wanted.contains(&e.session_id)) {
            by_session.entry(e.session_id).or_default().push(e);
        }
        for (sid, events) in &by_session {
            let key: Vec<DimValue> = q.dimensions.iter().map(|d| ctx.session_value(d, *sid, events)).collect();
            let first = events.iter().map(|e| e.ts).min().unwrap_or(0);
            let last = events.iter().map(|e| e.ts).max().unwrap_or(0);
            let v = s_agg.entry(key).or_default();
            v.sessions += 1;
            let counted = bounce_rule.as_ref().is_none_or(|c| ctx.eval_session(c, *sid, events));
            v.bounce_sessions += u64::from(counted);
            v.bounces += u64::from(counted && events.iter().filter(|e| e.interactive).count() <= 1);
            v.dur_sum += last - first;
            v.pv_sum += events.iter().filter(|e| e.name == "pageview").count() as u64;
        }
    }

    #[derive(Default)]
    struct Engagement {
        ms: u64,
        sessions: HashSet<u64>,
        deepest: HashMap<u64, u8>,
    }
    let mut g_agg: BTreeMap<Vec<DimValue>, Engagement> = BTreeMap::new();
    if q.metrics.contains(&Metric::TimeOnPage) || q.metrics.contains(&Metric::ScrollDepth) {
        for e in ev.iter().filter(|e| e.name == "engagement" && matches(e)) {
            for key in ctx.keys(e) {
                let g = g_agg.entry(key).or_default();
                g.ms += u64::from(e.engagement_ms.unwrap_or(0));
                g.sessions.insert(e.session_id);
                if let Some(sd) = e.scroll_depth {
                    let deepest = g.deepest.entry(e.session_id).or_insert(sd);
                    *deepest = (*deepest).max(sd);
                }
            }
        }
    }

    let tot_visitors = m.iter().map(|e| e.visitor_id).collect::<HashSet<_>>().len() as f64;
    let conv_filter = q.filter.as_ref().and_then(Filter::without_goals_and_props);
    let conv_events: Vec<&EventRecord> = ev
        .iter()
        .copied()
        .filter(|e| e.name != "engagement" && conv_filter.as_ref().is_none_or(|f| ctx.eval(f, e)))
        .collect();
    let conv_visitors = conv_events.iter().map(|e| e.visitor_id).collect::<HashSet<_>>().len() as f64;
    let non_goal: Vec<usize> = (0..n).filter(|i| q.dimensions[*i] != Dimension::Goal).collect();
    let mut group_visitors: HashMap<Vec<DimValue>, HashSet<u64>> = HashMap::new();
    if q.metrics.contains(&Metric::GroupConversionRate) {
        for e in &conv_events {
            let key: Vec<DimValue> =
                non_goal.iter().map(|i| ctx.event_values(&q.dimensions[*i], e)[0].clone()).collect();
            group_visitors.entry(key).or_default().insert(e.visitor_id);
        }
    }

    // Exit rate: pageviews of each page, under the filter without its exit-page conditions.
    let mut page_views: HashMap<String, u64> = HashMap::new();
    if q.metrics.contains(&Metric::ExitRate) {
        let exit = Dimension::Visit(VisitField::ExitPage);
        let f = q.filter.as_ref().and_then(|f| f.without_top_level(&|d| *d == exit));
        for e in ev.iter().filter(|e| e.name == "pageview" && f.as_ref().is_none_or(|f| ctx.eval(f, e))) {
            *page_views.entry(e.pathname.clone()).or_default() += 1;
        }
    }

    let keys: Vec<Vec<DimValue>> = if n == 0 {
        vec![Vec::new()]
    } else {
        let mut all: Vec<Vec<DimValue>> =
            e_agg.keys().chain(s_agg.keys()).chain(g_agg.keys()).cloned().collect::<HashSet<_>>().into_iter().collect();
        all.sort();
        all
    };
    let mut rows: Vec<ResultRow> = keys
        .into_iter()
        .map(|key| {
            let e = e_agg.get(&key);
            let s = s_agg.get(&key);
            let g = g_agg.get(&key);
            let visitors = e.map_or(0, |e| e.visitors.len()) as f64;
            let sessions = s.map_or(0.0, |s| s.sessions as f64);
            let metrics = q
                .metrics
                .iter()
                .map(|m| match m {
                    Metric::Visitors => Some(visitors),
                    Metric::Visits => Some(e.map_or(0, |e| e.sessions.len()) as f64),
                    Metric::Pageviews => Some(e.map_or(0, |e| e.pageviews) as f64),
                    Metric::Events => Some(e.map_or(0, |e| e.events) as f64),
                    Metric::BounceRate => {
                        let counted = s.map_or(0, |s| s.bounce_sessions) as f64;
                        Some(ratio(s.map_or(0, |s| s.bounces) as f64, counted, 100.0, 0).unwrap_or(0.0))
                    }
                    Metric::VisitDuration => {
                        Some(ratio(s.map_or(0, |s| s.dur_sum) as f64, sessions, 1.0, 0).unwrap_or(0.0))
                    }
                    Metric::ViewsPerVisit => {
                        Some(ratio(s.map_or(0, |s| s.pv_sum) as f64, sessions, 1.0, 2).unwrap_or(0.0))
                    }
                    Metric::Percentage => ratio(visitors, tot_visitors, 100.0, 1),
                    Metric::ConversionRate => Some(ratio(visitors, conv_visitors, 100.0, 2).unwrap_or(0.0)),
                    Metric::GroupConversionRate => {
                        let gk: Vec<DimValue> = non_goal.iter().map(|i| key[*i].clone()).collect();
                        let den = group_visitors.get(&gk).map_or(0, HashSet::len) as f64;
                        Some(ratio(visitors, den, 100.0, 2).unwrap_or(0.0))
                    }
                    Metric::ExitRate => {
                        let page = match key.first() {
                            Some(DimValue::Text(p)) => p.as_str(),
                            _ => "",
                        };
                        ratio(sessions, page_views.get(page).copied().unwrap_or(0) as f64, 100.0, 1)
                    }
                    Metric::TimeOnPage => g.and_then(|g| ratio(g.ms as f64, g.sessions.len() as f64, 0.001, 0)),
                    Metric::ScrollDepth => g.and_then(|g| {
                        let sum: u64 = g.deepest.values().map(|d| u64::from(*d)).sum();
                        ratio(sum as f64, g.deepest.len() as f64, 1.0, 0)
                    }),
                })
                .collect();
            ResultRow { dimensions: key, metrics }
        })
        .collect();

    rows.sort_by(|a, b| {
        for (key, dir) in &q.order_by {
            let ord = match key {
                OrderKey::Metric(m) => {
                    let i = q.metrics.iter().position(|x| x == m).unwrap_or(0);
                    nulls_last(a.metrics.get(i).copied().flatten(), b.metrics.get(i).copied().flatten(), *dir)
                }
                OrderKey::Dimension(i) => {
                    let o = a.dimensions[*i].cmp(&b.dimensions[*i]);
                    if *dir == Direction::Asc { o } else { o.reverse() }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        a.dimensions.cmp(&b.dimensions)
    });
    let total_rows = rows.len();
    let rows = rows.into_iter().skip(q.offset).take(q.limit).collect();
    QueryOutput { rows, total_rows }
}

fn nulls_last(a: Option<f64>, b: Option<f64>, dir: Direction) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            if dir == Direction::Asc { o } else { o.reverse() }
        }
    }
}

/// Per-query lookups: exit pages, entry and exit hosts, compiled patterns.
struct Ctx<'a> {
    q: &'a StatsQuery,
    exit_pages: HashMap<u64, String>,
    exit_hosts: HashMap<u64, String>,
    entry_hosts: HashMap<u64, String>,
    regexes: HashMap<String, Option<Regex>>,
}

impl<'a> Ctx<'a> {
    fn new(q: &'a StatsQuery, ev: &[&EventRecord]) -> Ctx<'a> {
        // Exit page and host: the path and host of the visit's last pageview (the greatest on a
        // tie); entry host: the host of its first event (see below).
        let mut last: HashMap<u64, (i64, String)> = HashMap::new();
        let mut last_host: HashMap<u64, (i64, String)> = HashMap::new();
        let mut first_host: HashMap<u64, (i64, String)> = HashMap::new();
        for e in ev.iter().filter(|e| e.name == "pageview") {
            let slot = last.entry(e.session_id).or_insert((e.ts, e.pathname.clone()));
            if (e.ts, &e.pathname) > (slot.0, &slot.1) {
                *slot = (e.ts, e.pathname.clone());
            }
            let slot = last_host.entry(e.session_id).or_insert((e.ts, e.hostname.clone()));
            if (e.ts, &e.hostname) > (slot.0, &slot.1) {
                *slot = (e.ts, e.hostname.clone());
            }
        }
        // The first event is the one whose visit delta starts the visit; where none in the range
        // carries one (days stored before deltas), the earliest.
        let starts: HashSet<u64> =
            ev.iter().filter(|e| e.name != "engagement" && e.visit.bounce == 1).map(|e| e.session_id).collect();
        for e in ev.iter().filter(|e| e.name != "engagement") {
            let first = if starts.contains(&e.session_id) { e.visit.bounce == 1 } else { true };
            if !first {
                continue;
            }
            let slot = first_host.entry(e.session_id).or_insert((e.ts, e.hostname.clone()));
            if (e.ts, &e.hostname) < (slot.0, &slot.1) {
                *slot = (e.ts, e.hostname.clone());
            }
        }
        let exit_pages = last.into_iter().map(|(k, (_, p))| (k, p)).collect();
        let exit_hosts = last_host.into_iter().map(|(k, (_, h))| (k, h)).collect();
        let entry_hosts = first_host.into_iter().map(|(k, (_, h))| (k, h)).collect();
        let mut regexes = HashMap::new();
        let mut patterns: Vec<String> = q
            .goals
            .iter()
            .filter_map(|g| match &g.kind {
                GoalKind::Page(re) | GoalKind::Scroll { page: re, .. } => Some(re.clone()),
                GoalKind::Event(_) => None,
            })
            .collect();
        if let Some(f) = &q.filter {
            collect_patterns(f, &mut patterns);
        }
        for p in patterns {
            let re = Regex::new(&p).ok();
            regexes.insert(p, re);
        }
        Ctx { q, exit_pages, exit_hosts, entry_hosts, regexes }
    }

    fn is_match(&self, pattern: &str, value: &str) -> bool {
        self.regexes.get(pattern).and_then(Option::as_ref).is_some_and(|re| re.is_match(value))
    }

    fn goal_matches(&self, kind: &GoalKind, e: &EventRecord) -> bool {
        match kind {
            GoalKind::Event(name) => e.name == *name,
            GoalKind::Page(re) => e.name == "pageview" && self.is_match(re, &e.pathname),
            GoalKind::Scroll { page, threshold } => {
                e.name == "engagement"
                    && e.scroll_depth.is_some_and(|sd| (*threshold..=100).contains(&sd))
                    && self.is_match(page, &e.pathname)
            }
        }
    }

    /// Every value an event has for a dimension (several only for goals).
    fn event_values(&self, dim: &Dimension, e: &EventRecord) -> Vec<DimValue> {
        let text = |s: &str| vec![DimValue::Text(s.to_owned())];
        match dim {
            Dimension::Page => text(&e.pathname),
            Dimension::Hostname => text(&e.hostname),
            Dimension::Name => text(&e.name),
            Dimension::Goal => self
                .q
                .goals
                .iter()
                .filter(|g| self.goal_matches(&g.kind, e))
                .map(|g| DimValue::Text(g.name.clone()))
                .collect(),
            Dimension::Prop(key) => text(e.props.iter().find(|(k, _)| k == key).map_or("(none)", |(_, v)| v.as_str())),
            Dimension::Visit(VisitField::ExitPage) => {
                text(self.exit_pages.get(&e.session_id).map_or("", String::as_str))
            }
            Dimension::Visit(VisitField::ExitPageHostname) => {
                text(self.exit_hosts.get(&e.session_id).map_or("", String::as_str))
            }
            Dimension::Visit(VisitField::EntryPageHostname) => {
                text(self.entry_hosts.get(&e.session_id).map_or("", String::as_str))
            }
            Dimension::Visit(f) => text(&visit_value(e, *f)),
            Dimension::Time(TimeGrain::Hour) => vec![DimValue::Bucket(self.q.local.hour_start(e.ts))],
            Dimension::Time(g) => vec![DimValue::Bucket(bucket(*g, self.q.local.local(e.ts)))],
        }
    }

    /// The group keys an event belongs to: one, or one per goal it completes.
    fn keys(&self, e: &EventRecord) -> Vec<Vec<DimValue>> {
        let mut keys = vec![Vec::new()];
        for dim in &self.q.dimensions {
            let values = self.event_values(dim, e);
            keys = keys
                .into_iter()
                .flat_map(|k| {
                    values.iter().map(move |v| {
                        let mut k = k.clone();
                        k.push(v.clone());
                        k
                    })
                })
                .collect();
        }
        keys
    }

    /// A visit's value for a dimension: the greatest over its events, the entry page for pages,
    /// the bucket of its first event for time.
    fn session_value(&self, dim: &Dimension, sid: u64, events: &[&EventRecord]) -> DimValue {
        match dim {
            Dimension::Time(g) => {
                let first = events.iter().map(|e| e.ts).min().unwrap_or(0);
                if *g == TimeGrain::Hour {
                    DimValue::Bucket(self.q.local.hour_start(first))
                } else {
                    DimValue::Bucket(bucket(*g, self.q.local.local(first)))
                }
            }
            Dimension::Page => {
                DimValue::Text(events.iter().map(|e| e.session.entry_page.as_str()).max().unwrap_or("").to_owned())
            }
            Dimension::Visit(VisitField::ExitPage) => {
                DimValue::Text(self.exit_pages.get(&sid).cloned().unwrap_or_default())
            }
            other => events
                .iter()
                .flat_map(|e| self.event_values(other, e))
                .max()
                .unwrap_or_else(|| DimValue::Text(String::new())),
        }
    }

    fn eval(&self, f: &Filter, e: &EventRecord) -> bool {
        match f {
            Filter::And(v) => v.iter().all(|c| self.eval(c, e)),
            Filter::Or(v) => v.iter().any(|c| self.eval(c, e)),
            Filter::Not(c) => !self.eval(c, e),
            Filter::Leaf { op, dimension: Dimension::Goal, values, case_sensitive } => {
                let any = self
                    .q
                    .goals
                    .iter()
                    .filter(|g| goal_name_selected(*op, &g.name, values, *case_sensitive))
                    .any(|g| self.goal_matches(&g.kind, e));
                any != op.is_negated()
            }
            Filter::Leaf { op, dimension: Dimension::Prop(key), values, case_sensitive } => {
                let fold = |s: &str| if *case_sensitive { s.to_owned() } else { s.to_lowercase() };
                let Some(value) = e.props.iter().find(|(k, _)| k == key).map(|(_, v)| fold(v)) else {
                    // A missing property is the value `(none)` to `is` and `is_not`, and matches
                    // no other operator, negated or not.
                    let none_listed = values.iter().any(|v| v == "(none)");
                    return match op {
                        FilterOp::Is => none_listed,
                        FilterOp::IsNot => !none_listed,
                        _ => false,
                    };
                };
                let positive = match op.positive() {
                    FilterOp::Is => values.iter().any(|v| fold(v) == value),
                    FilterOp::Contains => values.iter().any(|v| value.contains(&fold(v))),
                    _ => values.iter().any(|v| self.is_match(&regex_for(v, *case_sensitive), &value)),
                };
                positive != op.is_negated()
            }
            Filter::Leaf { op, dimension, values, case_sensitive } => {
                let value = match self.event_values(dimension, e).into_iter().next() {
                    Some(DimValue::Text(s)) => s,
                    Some(DimValue::Bucket(b)) => b.to_string(),
                    None => String::new(),
                };
                self.leaf_matches(*op, values, *case_sensitive, &value)
            }
        }
    }
}

impl Ctx<'_> {
    /// Whether a leaf's operator and values accept `value` (any of the values may match).
    fn leaf_matches(&self, op: FilterOp, values: &[String], case_sensitive: bool, value: &str) -> bool {
        let fold = |s: &str| if case_sensitive { s.to_owned() } else { s.to_lowercase() };
        let positive = match op.positive() {
            FilterOp::Is => values.iter().any(|v| fold(v) == fold(value)),
            FilterOp::Contains => values.iter().any(|v| fold(value).contains(&fold(v))),
            _ => values.iter().any(|v| self.is_match(&regex_for(v, case_sensitive), value)),
        };
        positive != op.is_negated()
    }

    /// A condition on a visit's own values (the entry page of the bounce rate's rule), evaluated
    /// on the visit's values as `session_value` gives them.
    fn eval_session(&self, f: &Filter, sid: u64, events: &[&EventRecord]) -> bool {
        match f {
            Filter::And(v) => v.iter().all(|c| self.eval_session(c, sid, events)),
            Filter::Or(v) => v.iter().any(|c| self.eval_session(c, sid, events)),
            Filter::Not(c) => !self.eval_session(c, sid, events),
            Filter::Leaf { op, dimension, values, case_sensitive } => {
                let value = match self.session_value(dimension, sid, events) {
                    DimValue::Text(s) => s,
                    DimValue::Bucket(b) => b.to_string(),
                };
                self.leaf_matches(*op, values, *case_sensitive, &value)
            }
        }
    }
}

fn collect_patterns(f: &Filter, out: &mut Vec<String>) {
    match f {
        Filter::And(v) | Filter::Or(v) => v.iter().for_each(|c| collect_patterns(c, out)),
        Filter::Not(c) => collect_patterns(c, out),
        Filter::Leaf { op, values, case_sensitive, .. } if op.positive() == FilterOp::Matches => {
            out.extend(values.iter().map(|v| regex_for(v, *case_sensitive)));
        }
        Filter::Leaf { .. } => {}
    }
}

/// The pattern a `matches` leaf runs, as the SQL backends build it.
fn regex_for(v: &str, case_sensitive: bool) -> String {
    if case_sensitive { v.to_owned() } else { format!("(?i){v}") }
}

pub fn visit_value(e: &EventRecord, f: VisitField) -> std::borrow::Cow<'_, str> {
    let s = &e.session;
    let city = |id: u32| if id == 0 { String::new() } else { id.to_string() };
    std::borrow::Cow::Borrowed(match f {
        VisitField::EntryPage => &s.entry_page,
        VisitField::ExitPage | VisitField::EntryPageHostname | VisitField::ExitPageHostname => "",
        VisitField::Source => &s.source,
        VisitField::Referrer => &s.referrer,
        VisitField::Channel => &s.channel,
        VisitField::UtmMedium => &s.utm_medium,
        VisitField::UtmSource => &s.utm_source,
        VisitField::UtmCampaign => &s.utm_campaign,
        VisitField::UtmContent => &s.utm_content,
        VisitField::UtmTerm => &s.utm_term,
        VisitField::Device => &s.device,
        VisitField::Browser => &s.browser,
        VisitField::BrowserVersion => &s.browser_version,
        VisitField::Os => &s.os,
        VisitField::OsVersion => &s.os_version,
        VisitField::Country => &s.country,
        VisitField::Region => &s.region,
        VisitField::City => return std::borrow::Cow::Owned(city(s.city_geoname_id)),
        VisitField::CountryName => tillit_store::countries::country_name(&s.country),
        VisitField::RegionName => &s.region_name,
        VisitField::CityName => &s.city,
    })
}

/// Start (local seconds) of the bucket holding local second `l` (for hours, which are named by
/// UTC seconds, see `LocalTime::hour_start`).
pub fn bucket(grain: TimeGrain, l: i64) -> i64 {
    match grain {
        TimeGrain::Minute => l - l.rem_euclid(60),
        TimeGrain::Hour => l - l.rem_euclid(3600),
        TimeGrain::Day => l - l.rem_euclid(86_400),
        TimeGrain::Week => {
            let day = l.div_euclid(86_400);
            (day - (day + 3).rem_euclid(7)) * 86_400
        }
        TimeGrain::Month => {
            let Ok(ts) = jiff::Timestamp::from_second(l) else { return l };
            let date = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
            date.first_of_month().to_zoned(jiff::tz::TimeZone::UTC).map_or(l, |z| z.timestamp().as_second())
        }
    }
}

/// Visitors reaching each funnel step, in order, within one visit (see `FunnelQuery`).
pub fn funnel(f: &tillit_store::query::FunnelQuery, events: &[EventRecord]) -> Vec<u64> {
    let q = f.as_stats_query();
    let ev: Vec<&EventRecord> =
        events.iter().filter(|e| e.site_id == f.site_id && e.ts >= f.start && e.ts < f.end).collect();
    let ctx = Ctx::new(&q, &ev);
    let mut by_session: HashMap<u64, Vec<&EventRecord>> = HashMap::new();
    // Engagement events take part only as completions of a scroll-goal step.
    let countable = |e: &EventRecord| {
        e.name != "engagement" || f.steps.iter().any(|s| s.kind.is_scroll() && ctx.goal_matches(&s.kind, e))
    };
    for e in ev.iter().filter(|e| countable(e) && f.filter.as_ref().is_none_or(|x| ctx.eval(x, e))) {
        by_session.entry(e.session_id).or_default().push(e);
    }
    let mut reached: Vec<HashSet<u64>> = vec![HashSet::new(); f.steps.len()];
    for events in by_session.values() {
        let mut after = i64::MIN;
        for (i, step) in f.steps.iter().enumerate() {
            let Some(t) =
                events.iter().filter(|e| e.ts >= after && ctx.goal_matches(&step.kind, e)).map(|e| e.ts).min()
            else {
                break;
            };
            after = t;
            reached[i].insert(events[0].visitor_id);
        }
    }
    reached.iter().map(|s| s.len() as u64).collect()
}
