//! The one analytics question every reader asks (dashboard, Stats API v1 and v2), in resolved form.
//!
//! `tillit_core::stats` turns API parameters into a [`StatsQuery`]: periods become UTC bounds, the
//! site's time zone becomes [`LocalTime`] offset segments, goal names become [`Goal`] definitions,
//! Plausible's wildcards become regular expressions. A store backend only has to compute it. The
//! definitions of the metrics live in `tillit_core::stats::reference`, a plain in-memory engine
//! that every backend must agree with.

use serde::Serialize;

/// A metric, with Plausible's definitions (see the module docs of `tillit_core::stats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    Visitors,
    Visits,
    Pageviews,
    ViewsPerVisit,
    BounceRate,
    VisitDuration,
    Events,
    Percentage,
    ConversionRate,
    GroupConversionRate,
    TimeOnPage,
    ScrollDepth,
    /// Of the visits whose last page was this one, per pageview of it (`visit:exit_page` only).
    ExitRate,
}

impl Metric {
    pub const ALL: [Metric; 13] = [
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::ViewsPerVisit,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::Events,
        Metric::Percentage,
        Metric::ConversionRate,
        Metric::GroupConversionRate,
        Metric::TimeOnPage,
        Metric::ScrollDepth,
        Metric::ExitRate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Visitors => "visitors",
            Metric::Visits => "visits",
            Metric::Pageviews => "pageviews",
            Metric::ViewsPerVisit => "views_per_visit",
            Metric::BounceRate => "bounce_rate",
            Metric::VisitDuration => "visit_duration",
            Metric::Events => "events",
            Metric::Percentage => "percentage",
            Metric::ConversionRate => "conversion_rate",
            Metric::GroupConversionRate => "group_conversion_rate",
            Metric::TimeOnPage => "time_on_page",
            Metric::ScrollDepth => "scroll_depth",
            Metric::ExitRate => "exit_rate",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Computed per visit (session) rather than per event.
    pub fn is_session_metric(self) -> bool {
        matches!(self, Metric::ViewsPerVisit | Metric::BounceRate | Metric::VisitDuration | Metric::ExitRate)
    }

    /// A sum over visits, or a ratio of two: what summaries of whole visits (day cells, visit rows)
    /// hold the parts of, added across days.
    pub fn sums_over_visits(self) -> bool {
        matches!(
            self,
            Metric::Visitors
                | Metric::Visits
                | Metric::Pageviews
                | Metric::Events
                | Metric::ViewsPerVisit
                | Metric::BounceRate
                | Metric::VisitDuration
        )
    }
}

/// Attributes of a visit, fixed by its first event (`exit_page` by its last pageview).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VisitField {
    EntryPage,
    ExitPage,
    Source,
    Referrer,
    Channel,
    UtmMedium,
    UtmSource,
    UtmCampaign,
    UtmContent,
    UtmTerm,
    Device,
    Browser,
    BrowserVersion,
    Os,
    OsVersion,
    Country,
    Region,
    /// The city's GeoNames id (as Plausible reports `visit:city`).
    City,
    CountryName,
    RegionName,
    CityName,
    /// The host of the visit's first event.
    EntryPageHostname,
    /// The host of the visit's last pageview.
    ExitPageHostname,
}

impl VisitField {
    pub const ALL: [VisitField; 23] = [
        VisitField::EntryPage,
        VisitField::ExitPage,
        VisitField::Source,
        VisitField::Referrer,
        VisitField::Channel,
        VisitField::UtmMedium,
        VisitField::UtmSource,
        VisitField::UtmCampaign,
        VisitField::UtmContent,
        VisitField::UtmTerm,
        VisitField::Device,
        VisitField::Browser,
        VisitField::BrowserVersion,
        VisitField::Os,
        VisitField::OsVersion,
        VisitField::Country,
        VisitField::Region,
        VisitField::City,
        VisitField::CountryName,
        VisitField::RegionName,
        VisitField::CityName,
        VisitField::EntryPageHostname,
        VisitField::ExitPageHostname,
    ];

    /// The name after `visit:` (also the stored column's name, except for the derived fields:
    /// see [`VisitField::columns`]).
    pub fn name(self) -> &'static str {
        match self {
            VisitField::EntryPage => "entry_page",
            VisitField::ExitPage => "exit_page",
            VisitField::Source => "source",
            VisitField::Referrer => "referrer",
            VisitField::Channel => "channel",
            VisitField::UtmMedium => "utm_medium",
            VisitField::UtmSource => "utm_source",
            VisitField::UtmCampaign => "utm_campaign",
            VisitField::UtmContent => "utm_content",
            VisitField::UtmTerm => "utm_term",
            VisitField::Device => "device",
            VisitField::Browser => "browser",
            VisitField::BrowserVersion => "browser_version",
            VisitField::Os => "os",
            VisitField::OsVersion => "os_version",
            VisitField::Country => "country",
            VisitField::Region => "region",
            VisitField::City => "city",
            VisitField::CountryName => "country_name",
            VisitField::RegionName => "region_name",
            VisitField::CityName => "city_name",
            VisitField::EntryPageHostname => "entry_page_hostname",
            VisitField::ExitPageHostname => "exit_page_hostname",
        }
    }

    /// The stored columns the field is computed from.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            VisitField::ExitPage => &["pathname"],
            VisitField::EntryPageHostname | VisitField::ExitPageHostname => &["hostname"],
            VisitField::City => &["city_geoname_id"],
            VisitField::CountryName => &["country"],
            VisitField::CityName => &["city"],
            VisitField::RegionName => &["region_name"],
            VisitField::EntryPage => &["entry_page"],
            VisitField::Source => &["source"],
            VisitField::Referrer => &["referrer"],
            VisitField::Channel => &["channel"],
            VisitField::UtmMedium => &["utm_medium"],
            VisitField::UtmSource => &["utm_source"],
            VisitField::UtmCampaign => &["utm_campaign"],
            VisitField::UtmContent => &["utm_content"],
            VisitField::UtmTerm => &["utm_term"],
            VisitField::Device => &["device"],
            VisitField::Browser => &["browser"],
            VisitField::BrowserVersion => &["browser_version"],
            VisitField::Os => &["os"],
            VisitField::OsVersion => &["os_version"],
            VisitField::Country => &["country"],
            VisitField::Region => &["region"],
        }
    }

    /// Whether every event of a visit carries the same value: the attributes fixed when the visit
    /// starts. Not the entry page (events before a visit's first pageview have none yet) nor what
    /// is derived from the visit's first or last event.
    pub fn fixed_at_start(self) -> bool {
        !matches!(
            self,
            VisitField::EntryPage | VisitField::ExitPage | VisitField::EntryPageHostname | VisitField::ExitPageHostname
        )
    }

    pub fn from_name(name: &str) -> Option<VisitField> {
        VisitField::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Calendar buckets, in the site's time zone. A bucket is named by the local second it starts
/// at, except an hour, which is named by the UTC second it starts at ([`LocalTime::hour_start`]):
/// the repeated hour of a day when clocks go back is two buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeGrain {
    /// Realtime graphs only (never rolled up).
    Minute,
    Hour,
    Day,
    /// Weeks start on Monday.
    Week,
    Month,
}

impl TimeGrain {
    /// The local second that starts the bucket holding local second `l` (for days, weeks and
    /// months; minutes and hours as the same arithmetic on local seconds).
    pub fn bucket_start(self, l: i64) -> i64 {
        const DAY: i64 = 86_400;
        match self {
            TimeGrain::Minute => l - l.rem_euclid(60),
            TimeGrain::Hour => l - l.rem_euclid(3600),
            TimeGrain::Day => l - l.rem_euclid(DAY),
            // 1970-01-01 was a Thursday: day n is a Monday when (n + 3) % 7 == 0.
            TimeGrain::Week => {
                let day = l.div_euclid(DAY);
                (day - (day + 3).rem_euclid(7)) * DAY
            }
            TimeGrain::Month => {
                let day = l.div_euclid(DAY);
                // Outside the calendar's range (no such timestamps are stored): the day.
                let of_month = jiff::Span::new()
                    .try_days(day)
                    .ok()
                    .and_then(|span| jiff::civil::Date::constant(1970, 1, 1).checked_add(span).ok())
                    .map_or(1, |d| i64::from(d.day()));
                (day - of_month + 1) * DAY
            }
        }
    }
}

/// What results are grouped by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    Page,
    Hostname,
    Name,
    Goal,
    Prop(String),
    Visit(VisitField),
    Time(TimeGrain),
}

impl Dimension {
    /// Plausible's name for it (`event:page`, `visit:source`, `time:day`…).
    pub fn label(&self) -> String {
        match self {
            Dimension::Page => "event:page".into(),
            Dimension::Hostname => "event:hostname".into(),
            Dimension::Name => "event:name".into(),
            Dimension::Goal => "event:goal".into(),
            Dimension::Prop(key) => format!("event:props:{key}"),
            Dimension::Visit(f) => format!("visit:{}", f.name()),
            Dimension::Time(TimeGrain::Minute) => "time:minute".into(),
            Dimension::Time(TimeGrain::Hour) => "time:hour".into(),
            Dimension::Time(TimeGrain::Day) => "time:day".into(),
            Dimension::Time(TimeGrain::Week) => "time:week".into(),
            Dimension::Time(TimeGrain::Month) => "time:month".into(),
        }
    }

    /// Dimensions that belong to single events rather than to visits.
    pub fn is_event_only(&self) -> bool {
        matches!(self, Dimension::Hostname | Dimension::Name | Dimension::Goal | Dimension::Prop(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterOp {
    Is,
    IsNot,
    Contains,
    ContainsNot,
    /// Regular expression (RE2 syntax, unanchored, as Plausible's `matches`).
    Matches,
    MatchesNot,
}

impl FilterOp {
    pub fn is_negated(self) -> bool {
        matches!(self, FilterOp::IsNot | FilterOp::ContainsNot | FilterOp::MatchesNot)
    }

    /// The operator without its negation.
    pub fn positive(self) -> FilterOp {
        match self {
            FilterOp::Is | FilterOp::IsNot => FilterOp::Is,
            FilterOp::Contains | FilterOp::ContainsNot => FilterOp::Contains,
            FilterOp::Matches | FilterOp::MatchesNot => FilterOp::Matches,
        }
    }
}

/// A filter tree. Leaves compare one dimension against a list of values (any may match).
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Leaf { op: FilterOp, dimension: Dimension, values: Vec<String>, case_sensitive: bool },
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    /// Calls `f` for every leaf's dimension.
    pub fn dimensions(&self, f: &mut impl FnMut(&Dimension)) {
        match self {
            Filter::Leaf { dimension, .. } => f(dimension),
            Filter::And(v) | Filter::Or(v) => v.iter().for_each(|c| c.dimensions(f)),
            Filter::Not(c) => c.dimensions(f),
        }
    }

    /// The filter without goal and property conditions: the denominator of conversion rates.
    /// Only top-level `and` members are removed; anything else is kept as it is.
    pub fn without_goals_and_props(&self) -> Option<Filter> {
        self.without_top_level(&|d| matches!(d, Dimension::Goal | Dimension::Prop(_)))
    }

    /// The filter without its top-level conditions on dimensions `drop` picks (the filter itself,
    /// or members of a top-level `and`).
    pub fn without_top_level(&self, drop: &dyn Fn(&Dimension) -> bool) -> Option<Filter> {
        let drops = |f: &Filter| matches!(f, Filter::Leaf { dimension, .. } if drop(dimension));
        match self {
            f if drops(f) => None,
            Filter::And(v) => {
                let kept: Vec<Filter> = v.iter().filter(|f| !drops(f)).cloned().collect();
                (!kept.is_empty()).then_some(Filter::And(kept))
            }
            other => Some(other.clone()),
        }
    }

    /// Whether the filter gives the same answer for every event of a visit: it tests only visit
    /// attributes fixed at the visit's start. Such a filter selects whole visits, so visit metrics
    /// under it need no lookup of which visits have a matching event.
    pub fn is_per_visit(&self) -> bool {
        let mut all = true;
        self.dimensions(&mut |d| all &= matches!(d, Dimension::Visit(f) if f.fixed_at_start()));
        all
    }

    /// The filter split into its top-level conditions that hold per visit ([`Filter::is_per_visit`])
    /// and the rest: `(per visit, rest)`, each `None` when empty. Their conjunction is the filter.
    pub fn split_per_visit(&self) -> (Option<Filter>, Option<Filter>) {
        let members: Vec<Filter> = match self {
            Filter::And(v) => v.clone(),
            other => vec![other.clone()],
        };
        let (visit, rest): (Vec<Filter>, Vec<Filter>) = members.into_iter().partition(Filter::is_per_visit);
        let join = |v: Vec<Filter>| match v.len() {
            0 => None,
            1 => v.into_iter().next(),
            _ => Some(Filter::And(v)),
        };
        (join(visit), join(rest))
    }

    /// Whether only events that carry a custom property can pass the filter: an event without
    /// properties fails a condition on a property unless the condition accepts the property's
    /// absence (`is` or `is_not` listing `(none)` as the engines read it). Negations are taken as
    /// accepting it, which may say "no" where the answer is "yes", never the other way.
    pub fn requires_props(&self) -> bool {
        match self {
            Filter::Leaf { op, dimension: Dimension::Prop(_), values, .. } => {
                let none_listed = values.iter().any(|v| v == "(none)");
                match op {
                    FilterOp::Is => !none_listed,
                    FilterOp::IsNot => none_listed,
                    _ => true,
                }
            }
            Filter::Leaf { .. } | Filter::Not(_) => false,
            Filter::And(v) => v.iter().any(Filter::requires_props),
            Filter::Or(v) => !v.is_empty() && v.iter().all(Filter::requires_props),
        }
    }

    /// The top-level conditions on `dim` (the filter itself, or members of a top-level `and`).
    pub fn top_level(&self, dim: &Dimension) -> Vec<&Filter> {
        let on = |f: &&Filter| matches!(f, Filter::Leaf { dimension, .. } if dimension == dim);
        match self {
            Filter::And(v) => v.iter().filter(on).collect(),
            f => std::iter::once(f).filter(on).collect(),
        }
    }

    /// The same condition on another dimension (the bounce rate's entry-page rule applies a page
    /// filter to the entry page).
    pub fn on_dimension(&self, dim: &Dimension) -> Filter {
        match self {
            Filter::Leaf { op, values, case_sensitive, .. } => Filter::Leaf {
                op: *op,
                dimension: dim.clone(),
                values: values.clone(),
                case_sensitive: *case_sensitive,
            },
            Filter::And(v) => Filter::And(v.iter().map(|f| f.on_dimension(dim)).collect()),
            Filter::Or(v) => Filter::Or(v.iter().map(|f| f.on_dimension(dim)).collect()),
            Filter::Not(f) => Filter::Not(Box::new(f.on_dimension(dim))),
        }
    }
}

/// The condition the bounce rate adds: visits count towards it only when they entered on a page
/// the query's top-level `event:page` filter accepts (Plausible's entry-page rule). `None` without
/// such a filter.
pub fn bounce_entry_condition(filter: Option<&Filter>) -> Option<Filter> {
    let leaf = filter?.top_level(&Dimension::Page).into_iter().next()?;
    Some(leaf.on_dimension(&Dimension::Visit(VisitField::EntryPage)))
}

/// A goal, resolved from the site's definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goal {
    /// Display name: the event name, or `Visit /path*` for pageview goals.
    pub name: String,
    pub kind: GoalKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GoalKind {
    /// A custom event with this name.
    Event(String),
    /// A pageview whose path matches this regular expression (anchored; built from a wildcard).
    Page(String),
    /// An engagement event on a page whose path matches `page` (as for `Page`) that scrolled at
    /// least `threshold` per cent down it (a depth above 100 means unknown and never counts).
    Scroll { page: String, threshold: u8 },
}

impl GoalKind {
    /// Whether completions of this goal are engagement events (which count for nothing else).
    pub fn is_scroll(&self) -> bool {
        matches!(self, GoalKind::Scroll { .. })
    }
}

/// The site's UTC offset over the queried range: `(from_utc_second, offset_seconds)`, sorted, the
/// first starting at or before the range. Local time = UTC + the offset of the last segment that
/// starts at or before the instant. Daylight-saving changes inside the range add segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub segments: Vec<(i64, i32)>,
}

impl LocalTime {
    pub fn utc() -> LocalTime {
        LocalTime { segments: vec![(i64::MIN, 0)] }
    }

    pub fn offset_at(&self, ts: i64) -> i32 {
        let i = self.segments.partition_point(|(from, _)| *from <= ts);
        self.segments.get(i.saturating_sub(1)).map_or(0, |s| s.1)
    }

    pub fn local(&self, ts: i64) -> i64 {
        ts + i64::from(self.offset_at(ts))
    }

    /// The UTC second at which local day `day` (days since 1970-01-01 on the local calendar)
    /// starts: its local midnight; when a clock change skips midnight, the first instant after;
    /// when midnight repeats, its first occurrence.
    pub fn day_start(&self, day: i64) -> i64 {
        let midnight = day * 86_400;
        let mut found: Option<i64> = None;
        for (i, (from, offset)) in self.segments.iter().enumerate() {
            let until = self.segments.get(i + 1).map_or(i64::MAX, |s| s.0);
            let t = midnight - i64::from(*offset);
            if t >= *from && t < until {
                found = Some(found.map_or(t, |f| f.min(t)));
            }
        }
        found.unwrap_or_else(|| {
            // Skipped: the change that moves the clock past midnight starts the day.
            self.segments
                .iter()
                .skip(1)
                .find(|(from, offset)| from.saturating_add(i64::from(*offset)) >= midnight)
                .map_or(midnight, |(from, _)| *from)
        })
    }

    /// The start (UTC second) of the hour holding `ts`: hours count from the start of the local
    /// day, so a day when clocks go back has 25 of them (the repeated hour twice) and one when
    /// they go forward 23, as Plausible's hourly buckets have them.
    pub fn hour_start(&self, ts: i64) -> i64 {
        let day = self.local(ts).div_euclid(86_400);
        let mut start = self.day_start(day);
        if ts < start {
            start = self.day_start(day - 1);
        }
        start + (ts - start).div_euclid(3600) * 3600
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Asc,
    Desc,
}

/// What a result set is ordered by.
#[derive(Clone, Debug, PartialEq)]
pub enum OrderKey {
    Metric(Metric),
    /// Index into [`StatsQuery::dimensions`].
    Dimension(usize),
}

/// A fully resolved query for one site.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsQuery {
    pub site_id: u32,
    /// First second of the range (UTC, inclusive).
    pub start: i64,
    /// End of the range (UTC, exclusive).
    pub end: i64,
    pub local: LocalTime,
    pub metrics: Vec<Metric>,
    pub dimensions: Vec<Dimension>,
    pub filter: Option<Filter>,
    /// Goals referred to by `event:goal` filters or dimensions (all the site's goals when grouped).
    pub goals: Vec<Goal>,
    pub order_by: Vec<(OrderKey, Direction)>,
    pub limit: usize,
    pub offset: usize,
}

impl StatsQuery {
    /// A query of one site over `[start, end)` that asks for nothing yet: no metrics, groups,
    /// filter, goals or order, and no limit. Callers fill in what they need.
    pub fn over(site_id: u32, start: i64, end: i64, local: LocalTime) -> StatsQuery {
        StatsQuery {
            site_id,
            start,
            end,
            local,
            metrics: Vec::new(),
            dimensions: Vec::new(),
            filter: None,
            goals: Vec::new(),
            order_by: Vec::new(),
            limit: 0,
            offset: 0,
        }
    }

    /// The query whose visitors a conversion rate divides by: the visitors of the whole range
    /// under the filter without its top-level goal and property conditions. `None` without a
    /// conversion rate, or when goal or property conditions remain inside the filter (the
    /// statement then counts the denominator itself).
    pub fn conversion_denominator(&self) -> Option<StatsQuery> {
        if !self.metrics.contains(&Metric::ConversionRate) {
            return None;
        }
        let filter = self.filter.as_ref().and_then(Filter::without_goals_and_props);
        let mut event_only = false;
        if let Some(f) = &filter {
            f.dimensions(&mut |d| event_only |= matches!(d, Dimension::Goal | Dimension::Prop(_)));
        }
        (!event_only).then(|| StatsQuery {
            metrics: vec![Metric::Visitors],
            filter,
            limit: 1,
            ..StatsQuery::over(self.site_id, self.start, self.end, self.local.clone())
        })
    }

    /// The scroll goals whose completions count as matching events, though they are engagement
    /// events: every scroll goal when the query groups by goal, else those a goal condition of the
    /// filter asks for (not negated). Without them, engagement events match nothing.
    pub fn scroll_goals_in_play(&self) -> Vec<&Goal> {
        let scroll = self.goals.iter().filter(|g| g.kind.is_scroll());
        if self.dimensions.contains(&Dimension::Goal) {
            return scroll.collect();
        }
        let mut asked: Vec<(FilterOp, &[String], bool)> = Vec::new();
        if let Some(f) = &self.filter {
            positive_goal_leaves(f, false, &mut asked);
        }
        scroll.filter(|g| asked.iter().any(|(op, values, cs)| goal_name_selected(*op, &g.name, values, *cs))).collect()
    }
}

/// The goal leaves of `f` that ask for goals rather than exclude them (`negated`: under a `not`).
fn positive_goal_leaves<'a>(f: &'a Filter, negated: bool, out: &mut Vec<(FilterOp, &'a [String], bool)>) {
    match f {
        Filter::Leaf { op, dimension: Dimension::Goal, values, case_sensitive } => {
            if op.is_negated() == negated {
                out.push((op.positive(), values, *case_sensitive));
            }
        }
        Filter::Leaf { .. } => {}
        Filter::And(v) | Filter::Or(v) => v.iter().for_each(|c| positive_goal_leaves(c, negated, out)),
        Filter::Not(c) => positive_goal_leaves(c, !negated, out),
    }
}

/// A dimension value in a result: text, or the local start second of a time bucket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DimValue {
    Text(String),
    Bucket(i64),
}

/// One result row: dimension values in query order, then metric values in query order
/// (`None` where a metric has no value, e.g. a scroll depth without engagement events).
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    pub dimensions: Vec<DimValue>,
    pub metrics: Vec<Option<f64>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryOutput {
    pub rows: Vec<ResultRow>,
    /// Rows before pagination.
    pub total_rows: usize,
}

/// Plausible's rounding: half away from zero, to `digits` decimals.
pub fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// `scale × num / den`, rounded to `digits` decimals; `None` when `den` is zero. The SQL backends
/// compute exactly this (`round(CAST(scale AS DOUBLE) * num / den, digits)`), in the same order of
/// operations, so both give the same floating-point result.
pub fn ratio(num: f64, den: f64, scale: f64, digits: i32) -> Option<f64> {
    (den != 0.0).then(|| round_to(scale * num / den, digits))
}

/// A funnel over a range: how many visitors completed each step, in order, within one visit.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelQuery {
    pub site_id: u32,
    pub start: i64,
    pub end: i64,
    /// Applies to every event considered (as in [`StatsQuery::filter`]).
    pub filter: Option<Filter>,
    /// Each step is a goal; 2 to 8 of them.
    pub steps: Vec<Goal>,
}

impl FunnelQuery {
    /// The same range, filter and goals as a stats query (no metrics), so engines can reuse their
    /// filter and goal matching.
    pub fn as_stats_query(&self) -> StatsQuery {
        StatsQuery {
            filter: self.filter.clone(),
            goals: self.steps.clone(),
            ..StatsQuery::over(self.site_id, self.start, self.end, LocalTime::utc())
        }
    }
}

/// Whether a goal leaf (`is` or `contains`, as Plausible allows for goals) selects this goal name.
pub fn goal_name_selected(op: FilterOp, name: &str, values: &[String], case_sensitive: bool) -> bool {
    let fold = |s: &str| if case_sensitive { s.to_owned() } else { s.to_lowercase() };
    let name = fold(name);
    match op.positive() {
        FilterOp::Contains => values.iter().any(|v| name.contains(&fold(v))),
        _ => values.iter().any(|v| fold(v) == name),
    }
}

#[cfg(test)]
mod tests {
    use super::{Dimension, Filter, FilterOp, TimeGrain, VisitField};

    fn leaf(op: FilterOp, dimension: Dimension, values: &[&str]) -> Filter {
        Filter::Leaf { op, dimension, values: values.iter().map(|v| (*v).to_owned()).collect(), case_sensitive: true }
    }

    #[test]
    fn only_conditions_that_reject_a_missing_property_require_one() {
        let plan = || Dimension::Prop("plan".into());
        let source = leaf(FilterOp::Is, Dimension::Visit(VisitField::Source), &["Google"]);
        assert!(leaf(FilterOp::Is, plan(), &["pro"]).requires_props());
        assert!(!leaf(FilterOp::Is, plan(), &["pro", "(none)"]).requires_props(), "(none) is the missing one");
        assert!(!leaf(FilterOp::IsNot, plan(), &["pro"]).requires_props(), "a missing property is not pro");
        assert!(leaf(FilterOp::IsNot, plan(), &["(none)"]).requires_props());
        assert!(leaf(FilterOp::Contains, plan(), &["(none)"]).requires_props(), "contains never matches absence");
        assert!(leaf(FilterOp::MatchesNot, plan(), &["^p"]).requires_props());
        assert!(!source.requires_props());
        assert!(Filter::And(vec![source.clone(), leaf(FilterOp::Is, plan(), &["pro"])]).requires_props());
        assert!(!Filter::Or(vec![source.clone(), leaf(FilterOp::Is, plan(), &["pro"])]).requires_props());
        assert!(!Filter::Or(Vec::new()).requires_props());
        assert!(!Filter::Not(Box::new(leaf(FilterOp::Is, plan(), &["pro"]))).requires_props());
    }

    #[test]
    fn buckets_start_on_local_midnights_mondays_and_firsts_of_months() {
        // 2024-02-29 13:20 (a leap day, a Thursday) as local seconds.
        let l = 1_709_164_800 + 48_000;
        assert_eq!(TimeGrain::Day.bucket_start(l), 1_709_164_800);
        assert_eq!(TimeGrain::Week.bucket_start(l), 1_708_905_600, "Monday 2024-02-26");
        assert_eq!(TimeGrain::Month.bucket_start(l), 1_706_745_600, "2024-02-01");
        assert_eq!(TimeGrain::Month.bucket_start(1_709_251_200), 1_709_251_200, "2024-03-01 itself");
        assert_eq!(TimeGrain::Month.bucket_start(-1), -2_678_400, "1969-12-01");
    }
}
