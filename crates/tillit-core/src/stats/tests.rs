//! The store must agree with the reference engine on random queries over random data.

use std::sync::Arc;

use proptest::prelude::*;
use tillit_store::events::{EventReader, EventStore, EventStoreOptions};
use tillit_store::query::{
    DimValue, Dimension, Direction, Filter, FilterOp, Goal, GoalKind, LocalTime, Metric, OrderKey, QueryOutput,
    StatsQuery, TimeGrain, VisitField,
};
use tillit_store::record::fill_visit_deltas;
use tillit_store::{EventRecord, SessionAttrs, VisitDelta};

use super::reference;

const T0: i64 = 1_711_843_200; // 2024-03-31 00:00 UTC, a daylight-saving change in Europe.
const PATHS: [&str; 5] = ["/", "/pricing", "/blog/a", "/blog/b", "/Docs"];
const SOURCES: [&str; 4] = ["", "Google", "Newsletter", "t.co"];
const COUNTRIES: [&str; 3] = ["NO", "SE", ""];

#[derive(Clone, Debug)]
struct SessionSpec {
    site: u32,
    visitor: u64,
    start: i64,
    source: usize,
    country: usize,
    events: Vec<(u8, usize, i64, bool, u8)>,
}

fn session_spec() -> impl Strategy<Value = SessionSpec> {
    (
        1u32..=2,
        0u64..12,
        0i64..(4 * 86_400),
        0..SOURCES.len(),
        0..COUNTRIES.len(),
        prop::collection::vec((0u8..5, 0..PATHS.len(), 0i64..1_500, any::<bool>(), 0u8..=100), 1..6),
    )
        .prop_map(|(site, visitor, start, source, country, events)| SessionSpec {
            site,
            visitor,
            start,
            source,
            country,
            events,
        })
}

fn build(specs: &[SessionSpec]) -> Vec<EventRecord> {
    let mut out = Vec::new();
    for (sid, s) in specs.iter().enumerate() {
        // A visit may start with a custom event (kind 3 first): as ingest stamps them, its events
        // have no entry page until its first pageview.
        let names: Vec<&str> = s
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| match (i, e.0) {
                (0, 3) => "Signup",
                (0, _) | (_, 0 | 1) => "pageview",
                (_, 2) => "engagement",
                (_, 3) => "Signup",
                _ => "Purchase",
            })
            .collect();
        let first_pageview = names.iter().position(|n| *n == "pageview");
        let attrs = Arc::new(SessionAttrs {
            entry_page: first_pageview.map_or("", |i| PATHS[s.events[i].1]).into(),
            source: SOURCES[s.source].into(),
            country: COUNTRIES[s.country].into(),
            city_geoname_id: [3_143_244, 2_673_730, 0][s.country],
            ..SessionAttrs::default()
        });
        let before_entry = Arc::new(SessionAttrs { entry_page: String::new(), ..(*attrs).clone() });
        let mut ts = T0 + s.start;
        for (i, (kind, path, gap, interactive, depth)) in s.events.iter().enumerate() {
            ts += gap;
            let name = names[i];
            let session = if first_pageview.is_some_and(|p| i >= p) { attrs.clone() } else { before_entry.clone() };
            let props = match kind {
                3 => vec![("plan".to_owned(), if depth % 2 == 0 { "pro" } else { "free" }.to_owned())],
                4 => vec![("plan".to_owned(), "team".to_owned()), ("seats".to_owned(), depth.to_string())],
                _ => Vec::new(),
            };
            let engagement = name == "engagement";
            out.push(EventRecord {
                site_id: s.site,
                ts,
                name: name.into(),
                hostname: if *path % 3 == 1 { "b.test" } else { "a.test" }.into(),
                pathname: PATHS[*path].into(),
                visitor_id: s.visitor,
                session_id: sid as u64 + 1,
                interactive: *interactive || name == "pageview",
                props,
                revenue: None,
                scroll_depth: engagement.then_some(*depth),
                engagement_ms: engagement.then_some(u32::from(*depth) * 997),
                session,
                import_key: None,
                visit: VisitDelta::default(),
            });
        }
    }
    out
}

/// A plain interactive event of visit `sid` (visitor `sid`), for fixed cases.
fn event(sid: u64, ts: i64, name: &str, path: &str) -> EventRecord {
    EventRecord {
        site_id: 1,
        ts,
        name: name.into(),
        hostname: "a.test".into(),
        pathname: path.into(),
        visitor_id: sid,
        session_id: sid,
        interactive: true,
        props: Vec::new(),
        revenue: None,
        scroll_depth: None,
        engagement_ms: None,
        session: Arc::new(SessionAttrs { entry_page: "/".into(), ..SessionAttrs::default() }),
        import_key: None,
        visit: VisitDelta::default(),
    }
}

fn dimension() -> impl Strategy<Value = Dimension> {
    prop_oneof![
        Just(Dimension::Page),
        Just(Dimension::Name),
        Just(Dimension::Hostname),
        Just(Dimension::Goal),
        Just(Dimension::Prop("plan".into())),
        Just(Dimension::Visit(VisitField::Source)),
        Just(Dimension::Visit(VisitField::Country)),
        Just(Dimension::Visit(VisitField::CountryName)),
        Just(Dimension::Visit(VisitField::City)),
        Just(Dimension::Visit(VisitField::EntryPage)),
        Just(Dimension::Visit(VisitField::ExitPage)),
        Just(Dimension::Visit(VisitField::EntryPageHostname)),
        Just(Dimension::Visit(VisitField::ExitPageHostname)),
        Just(Dimension::Time(TimeGrain::Hour)),
        Just(Dimension::Time(TimeGrain::Day)),
        Just(Dimension::Time(TimeGrain::Week)),
        Just(Dimension::Time(TimeGrain::Month)),
    ]
}

fn leaf() -> impl Strategy<Value = Filter> {
    let dims = prop_oneof![
        Just(Dimension::Page),
        Just(Dimension::Name),
        Just(Dimension::Prop("plan".into())),
        Just(Dimension::Visit(VisitField::Source)),
        Just(Dimension::Visit(VisitField::Country)),
        Just(Dimension::Visit(VisitField::ExitPage)),
        Just(Dimension::Hostname),
        Just(Dimension::Visit(VisitField::EntryPageHostname)),
    ];
    let ops = prop_oneof![
        Just(FilterOp::Is),
        Just(FilterOp::IsNot),
        Just(FilterOp::Contains),
        Just(FilterOp::ContainsNot),
        Just(FilterOp::Matches),
        Just(FilterOp::MatchesNot),
    ];
    let values = prop::collection::vec(
        prop_oneof![
            Just("/"),
            Just("/blog/a"),
            Just("blog"),
            Just("^/b.*a$"),
            Just("pro"),
            Just("(none)"),
            Just("Google"),
            Just("NO"),
            Just("pageview"),
            Just("docs"),
            Just("a.test"),
            Just(""),
        ]
        .prop_map(str::to_owned),
        1..3,
    );
    let goal_leaf = (
        any::<bool>(),
        prop::collection::vec(
            prop_oneof![Just("Signup"), Just("Visit /blog*"), Just("Sign"), Just("Scroll /blog* 50")],
            1..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(contains, values, cs)| Filter::Leaf {
            op: if contains { FilterOp::Contains } else { FilterOp::Is },
            dimension: Dimension::Goal,
            values: values.into_iter().map(str::to_owned).collect(),
            case_sensitive: cs,
        });
    prop_oneof![
        4 => (ops, dims, values, any::<bool>()).prop_map(|(op, dimension, values, case_sensitive)| Filter::Leaf {
            op,
            dimension,
            values,
            case_sensitive
        }),
        1 => goal_leaf,
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 1..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn goals() -> Vec<Goal> {
    vec![
        Goal { name: "Signup".into(), kind: GoalKind::Event("Signup".into()) },
        Goal { name: "Visit /blog*".into(), kind: GoalKind::Page("^/blog.*$".into()) },
        Goal { name: "Visit /".into(), kind: GoalKind::Page("^/$".into()) },
        Goal { name: "Scroll /blog* 50".into(), kind: GoalKind::Scroll { page: "^/blog.*$".into(), threshold: 50 } },
    ]
}

/// Order keys from drawn `(index, ascending)` pairs: odd indexes name a dimension when there is
/// one, the rest a metric.
fn order_keys(order: Vec<(usize, bool)>, dims: &[Dimension], metrics: &[Metric]) -> Vec<(OrderKey, Direction)> {
    order
        .into_iter()
        .map(|(i, asc)| {
            let dir = if asc { Direction::Asc } else { Direction::Desc };
            if i < dims.len() && i % 2 == 1 {
                (OrderKey::Dimension(i), dir)
            } else {
                (OrderKey::Metric(metrics[i % metrics.len()]), dir)
            }
        })
        .collect()
}

/// UTC, or Central European time: +1 h, then +2 h from 01:00 UTC on the first day.
fn local_time(dst: bool) -> LocalTime {
    if dst { LocalTime { segments: vec![(i64::MIN, 3600), (T0 + 3600, 7200)] } } else { LocalTime::utc() }
}

/// The first second at or after `t` at which the local clock reads midnight.
fn next_local_midnight(local: &LocalTime, t: i64) -> i64 {
    let mut at = t;
    loop {
        let offset = i64::from(local.offset_at(at));
        let candidate = at + (86_400 - (at + offset).rem_euclid(86_400)) % 86_400;
        if i64::from(local.offset_at(candidate)) == offset {
            return candidate;
        }
        // The offset changes before then: look again from the change.
        at = local.segments.iter().map(|s| s.0).find(|from| *from > at).unwrap_or(candidate);
    }
}

fn query() -> impl Strategy<Value = StatsQuery> {
    (
        prop::sample::subsequence(Metric::ALL.to_vec(), 1..5),
        prop::collection::vec(dimension(), 0..3),
        prop::option::of(filter()),
        0i64..86_400,
        (1i64..5).prop_map(|d| d * 86_400),
        any::<bool>(),
        prop::collection::vec((0usize..4, any::<bool>()), 0..2),
        (1usize..8, 0usize..4),
    )
        .prop_map(|(metrics, mut dims, filter, from, len, dst, order, (limit, offset))| {
            dims.dedup();
            let mut seen = Vec::new();
            dims.retain(|d| {
                let fresh = !seen.contains(d);
                seen.push(d.clone());
                fresh
            });
            let session = metrics.iter().any(|m| m.is_session_metric());
            if session {
                dims.retain(|d| !d.is_event_only());
            }
            // The exit rate exists only per exit page (the APIs refuse anything else).
            if metrics.contains(&Metric::ExitRate) {
                dims = vec![Dimension::Visit(VisitField::ExitPage)];
            }
            let order_by = order_keys(order, &dims, &metrics);
            let local = local_time(dst);
            StatsQuery {
                site_id: 1,
                start: T0 + from - 86_400 / 2,
                end: T0 + from + len,
                local,
                metrics,
                dimensions: dims,
                filter,
                goals: goals(),
                order_by,
                limit,
                offset,
            }
        })
}

/// Stores events with the visit deltas ingest would have given them (the reference ignores them).
fn insert(store: &mut EventStore, events: &[EventRecord]) {
    let mut rows = events.to_vec();
    fill_visit_deltas(&mut rows);
    store.insert(&rows, None).unwrap();
}

fn store_with(events: &[EventRecord]) -> (tempfile::TempDir, EventStore, EventReader) {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = EventStore::open_duckdb(&tmp.path().join("e.duckdb"), &EventStoreOptions::default()).unwrap();
    insert(&mut store, events);
    let reader = store.reader().unwrap();
    (tmp, store, reader)
}

/// Builds the roll-ups of the days `built` draws, the first being the day before `T0`'s; returns
/// how many were built.
fn build_drawn_days(reader: &EventReader, built: &[bool], local: &LocalTime, goals: &[Goal]) -> usize {
    let now = crate::time::Clock::system().now();
    let first = T0.div_euclid(86_400) - 1;
    (0..built.len())
        .filter(|i| built[*i])
        .map(|i| reader.build_rollups(1, first + i as i64, first + i as i64 + 1, local, goals, now).unwrap())
        .sum()
}

/// Builds the drawn days over the events of `specs` (with at most three visitors when `few`),
/// checks `q` against the reference, runs `more` on the built store, back-fills `late` into it
/// and checks `q` again.
fn agrees_built_and_back_filled(
    specs: Vec<SessionSpec>,
    late: &[SessionSpec],
    q: &StatsQuery,
    built: &[bool],
    few: bool,
    more: impl Fn(&EventReader, &[EventRecord]) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let specs = if few { three_visitors(specs) } else { specs };
    let mut events = build_day_bound(&specs);
    let (_tmp, mut store, reader) = store_with(&events);
    build_drawn_days(&reader, built, &q.local, &q.goals);
    prop_assert_eq!(reader.query(q).unwrap(), reference::run(q, &events), "query {:?}", q);
    more(&reader, &events)?;
    back_fill(&mut store, &mut events, late, specs.len());
    prop_assert_eq!(reader.query(q).unwrap(), reference::run(q, &events), "after back-fill {:?}", q);
    Ok(())
}

/// Writes the visits of `late` into the store (and `events`) after the first `after` visits: a
/// back-fill into days that may be built.
fn back_fill(store: &mut EventStore, events: &mut Vec<EventRecord>, late: &[SessionSpec], after: usize) {
    let offset = after as u64 + 100;
    let more: Vec<EventRecord> =
        build_day_bound(late).into_iter().map(|e| EventRecord { session_id: e.session_id + offset, ..e }).collect();
    insert(store, &more);
    events.extend(more);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_reference(specs in prop::collection::vec(session_spec(), 0..25), q in query()) {
        let events = build_day_bound(&specs);
        let (_tmp, _store, reader) = store_with(&events);
        let expected = reference::run(&q, &events);
        let got = reader.query(&q).unwrap();
        prop_assert_eq!(got, expected, "query {:?}", q);
    }
}

#[test]
fn metric_definitions_on_a_fixed_case() {
    // Visit 1: / then /pricing 60 s later (not a bounce, 60 s); visit 2: one pageview (bounce);
    // visit 3: a pageview and a non-interactive event (still a bounce, 30 s long).
    let mk = |sid: u64, visitor: u64, ts: i64, name: &str, path: &str, interactive: bool| EventRecord {
        visitor_id: visitor,
        interactive,
        ..event(sid, ts, name, path)
    };
    let events = vec![
        mk(1, 1, T0, "pageview", "/", true),
        mk(1, 1, T0 + 60, "pageview", "/pricing", true),
        mk(2, 2, T0 + 100, "pageview", "/", true),
        mk(3, 1, T0 + 7200, "pageview", "/", true),
        mk(3, 1, T0 + 7230, "Scroll", "/", false),
    ];
    let q = StatsQuery {
        metrics: vec![
            Metric::Visitors,
            Metric::Visits,
            Metric::Pageviews,
            Metric::Events,
            Metric::BounceRate,
            Metric::VisitDuration,
            Metric::ViewsPerVisit,
        ],
        limit: 10,
        ..StatsQuery::over(1, T0, T0 + 86_400, LocalTime::utc())
    };
    let expected = vec![Some(2.0), Some(3.0), Some(4.0), Some(5.0), Some(67.0), Some(30.0), Some(1.33)];
    assert_eq!(reference::run(&q, &events).rows[0].metrics, expected);
    let (_tmp, _store, reader) = store_with(&events);
    assert_eq!(reader.query(&q).unwrap().rows[0].metrics, expected);

    let by_exit = StatsQuery {
        metrics: vec![Metric::Visits],
        dimensions: vec![Dimension::Visit(VisitField::ExitPage)],
        order_by: vec![(OrderKey::Metric(Metric::Visits), Direction::Desc)],
        ..q
    };
    let out = reader.query(&by_exit).unwrap();
    let rows: Vec<(String, f64)> =
        out.rows.iter().map(|r| (format!("{:?}", r.dimensions[0]), r.metrics[0].unwrap())).collect();
    assert_eq!(rows, vec![("Text(\"/\")".to_owned(), 2.0), ("Text(\"/pricing\")".to_owned(), 1.0)]);
}

fn funnel_query() -> impl Strategy<Value = tillit_store::query::FunnelQuery> {
    let step = prop_oneof![
        Just(Goal { name: "Signup".into(), kind: GoalKind::Event("Signup".into()) }),
        Just(Goal { name: "Purchase".into(), kind: GoalKind::Event("Purchase".into()) }),
        Just(Goal { name: "Visit /pricing".into(), kind: GoalKind::Page("^/pricing$".into()) }),
        Just(Goal { name: "Visit /blog*".into(), kind: GoalKind::Page("^/blog.*$".into()) }),
        Just(Goal { name: "Visit /".into(), kind: GoalKind::Page("^/$".into()) }),
        Just(Goal {
            name: "Scroll /blog* 50".into(),
            kind: GoalKind::Scroll { page: "^/blog.*$".into(), threshold: 50 }
        }),
    ];
    (prop::collection::vec(step, 2..5), prop::option::of(leaf()), 0i64..(3 * 86_400)).prop_map(
        |(steps, filter, from)| tillit_store::query::FunnelQuery {
            site_id: 1,
            start: T0 + from - 86_400,
            end: T0 + from + 86_400,
            filter,
            steps,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn funnels_agree_with_reference(specs in prop::collection::vec(session_spec(), 0..25), f in funnel_query()) {
        let events = build(&specs);
        let (_tmp, _store, reader) = store_with(&events);
        let expected = reference::funnel(&f, &events);
        prop_assert_eq!(reader.funnel(&f).unwrap(), expected, "funnel {:?}", f);
    }
}

/// Under a page filter the bounce rate counts visits that entered on the page. Over whole UTC days
/// visit metrics come from visit deltas; a visit that started with a custom event has no entry page
/// on its first events, so it must be grouped by visit instead (once, not twice).
#[test]
fn bounce_rate_under_a_page_filter_counts_visits_that_entered_late() {
    const DAY: i64 = 86_400;
    let entry = |page: &str| Arc::new(SessionAttrs { entry_page: page.into(), ..SessionAttrs::default() });
    let custom = |sid: u64, ts: i64, interactive: bool| EventRecord {
        session: entry(""),
        interactive,
        ..event(sid, ts, "Signup", "/")
    };
    let on = |e: EventRecord, page: &str| EventRecord { session: entry(page), ..e };
    let events = vec![
        // Entered on `/` and bounced; entered on `/` and went on.
        event(1, T0 + 100, "pageview", "/"),
        event(2, T0 + 200, "pageview", "/"),
        event(2, T0 + 300, "pageview", "/pricing"),
        // Started with a custom event, then entered on `/`: not a bounce, and a bounce.
        custom(3, T0 + 400, true),
        event(3, T0 + 500, "pageview", "/"),
        custom(5, T0 + 800, false),
        event(5, T0 + 900, "pageview", "/"),
        // Viewed `/` but entered elsewhere: a visit, not one the bounce rate counts.
        on(event(4, T0 + 600, "pageview", "/pricing"), "/pricing"),
        on(event(4, T0 + 700, "pageview", "/"), "/pricing"),
    ];
    let page =
        Filter::Leaf { op: FilterOp::Is, dimension: Dimension::Page, values: vec!["/".into()], case_sensitive: true };
    let q = StatsQuery {
        metrics: vec![Metric::Visits, Metric::BounceRate, Metric::VisitDuration],
        filter: Some(page),
        limit: 10,
        ..StatsQuery::over(1, T0, T0 + DAY, LocalTime::utc())
    };
    let expected = vec![tillit_store::query::ResultRow {
        dimensions: Vec::new(),
        metrics: vec![Some(5.0), Some(50.0), Some(80.0)],
    }];
    assert_eq!(reference::run(&q, &events).rows, expected);
    let (_tmp, _store, reader) = store_with(&events);
    assert_eq!(reader.query(&q).unwrap().rows, expected, "whole day, from visit deltas");
    let by_source = StatsQuery { dimensions: vec![Dimension::Visit(VisitField::Source)], ..q.clone() };
    assert_eq!(reader.query(&by_source).unwrap().rows, reference::run(&by_source, &events).rows);
    let cut = StatsQuery { start: T0 + 50, ..q.clone() };
    assert_eq!(reader.query(&cut).unwrap().rows, expected, "a range that cuts the day: grouped by visit");
    // Built, the day's visit side comes from its visit rows.
    let now = crate::time::Clock::system().now();
    assert_eq!(
        reader.build_rollups(1, T0.div_euclid(DAY), T0.div_euclid(DAY) + 1, &LocalTime::utc(), &[], now).unwrap(),
        1
    );
    assert_eq!(reader.query(&q).unwrap().rows, expected, "whole day, from visit rows");
    assert_eq!(reader.query(&by_source).unwrap().rows, reference::run(&by_source, &events).rows, "visit rows");
}

/// A monthly graph under a visit filter reads the visit rows of built days inside one month, and
/// the day that the local start of a month cuts (here 2024-04-01 00:00 at UTC+2, 22:00 UTC on
/// 2024-03-31) from its events: a visit after that midnight belongs to April though its UTC day
/// began in March.
#[test]
fn a_filtered_monthly_graph_puts_the_visits_after_a_month_s_first_midnight_in_that_month() {
    const DAY: i64 = 86_400;
    let from =
        |source: &str| Arc::new(SessionAttrs { source: source.into(), ..(*event(0, 0, "", "").session).clone() });
    let mut events = Vec::new();
    for (visitor, t, source) in [
        (1, T0 + 12 * 3_600, "Google"),
        (2, T0 + 23 * 3_600, "Google"),
        (3, T0 + DAY + 3_600, "Google"),
        (4, T0 + 23 * 3_600, ""),
    ] {
        for i in 0..2 {
            let e = event(visitor, t + i * 60, "pageview", "/a");
            events.push(EventRecord { session: from(source), ..e });
        }
    }
    fill_visit_deltas(&mut events);
    let (_tmp, _store, reader) = store_with(&events);
    let local = LocalTime { segments: vec![(i64::MIN, 7_200)] };
    let now = crate::time::Clock::system().now();
    let day = T0.div_euclid(DAY);
    assert_eq!(reader.build_rollups(1, day, day + 2, &local, &[], now).unwrap(), 2);
    let q = StatsQuery {
        metrics: vec![Metric::Visitors, Metric::Visits, Metric::Pageviews, Metric::BounceRate],
        dimensions: vec![Dimension::Time(TimeGrain::Month)],
        filter: Some(Filter::Leaf {
            op: FilterOp::Is,
            dimension: Dimension::Visit(VisitField::Source),
            values: vec!["Google".into()],
            case_sensitive: true,
        }),
        limit: 10,
        // Local March and April.
        ..StatsQuery::over(1, 1_709_251_200 - 7_200, 1_714_521_600 - 7_200, local)
    };
    let out = reader.query(&q).unwrap();
    let rows: Vec<(DimValue, Option<f64>)> = out.rows.iter().map(|r| (r.dimensions[0].clone(), r.metrics[0])).collect();
    assert_eq!(
        rows,
        vec![(DimValue::Bucket(1_709_251_200), Some(1.0)), (DimValue::Bucket(1_711_929_600), Some(2.0))],
        "one Google visitor in March, two in April"
    );
    assert_eq!(out, reference::run(&q, &events));
}

/// Under a page filter, Plausible's bounce rate counts only the visits that entered on the page,
/// while visits and durations count every visit that viewed it: read from the pair cells of a
/// built day as from the events.
#[test]
fn a_page_s_bounce_rate_counts_the_visits_that_entered_there_from_pairs_too() {
    const DAY: i64 = 86_400;
    let mut events = Vec::new();
    // Visitor 1 enters on / and goes on; 2 bounces on /; 3 enters on /pricing and goes to /;
    // 4 bounces on /pricing.
    for (visitor, pages) in
        [(1, vec!["/", "/pricing"]), (2, vec!["/"]), (3, vec!["/pricing", "/"]), (4, vec!["/pricing"])]
    {
        let entry = Arc::new(SessionAttrs { entry_page: pages[0].into(), ..SessionAttrs::default() });
        for (i, page) in pages.iter().enumerate() {
            let e = event(visitor, T0 + 3_600 * visitor as i64 + 100 * i as i64, "pageview", page);
            events.push(EventRecord { session: entry.clone(), ..e });
        }
    }
    fill_visit_deltas(&mut events);
    let (_tmp, _store, reader) = store_with(&events);
    let day = T0.div_euclid(DAY);
    let now = crate::time::Clock::system().now();
    assert_eq!(reader.build_rollups(1, day, day + 1, &LocalTime::utc(), &[], now).unwrap(), 1);
    for dimensions in [vec![], vec![Dimension::Visit(VisitField::Source)]] {
        let q = StatsQuery {
            metrics: vec![Metric::Visitors, Metric::Visits, Metric::BounceRate, Metric::VisitDuration],
            dimensions,
            filter: Some(Filter::Leaf {
                op: FilterOp::Is,
                dimension: Dimension::Page,
                values: vec!["/".into()],
                case_sensitive: true,
            }),
            limit: 10,
            ..StatsQuery::over(1, day * DAY, (day + 1) * DAY, LocalTime::utc())
        };
        let out = reader.query(&q).unwrap();
        // Three visits viewed / (100 s, 0 s, 100 s); of the two that entered there, one bounced.
        assert_eq!(out.rows[0].metrics, vec![Some(3.0), Some(3.0), Some(50.0), Some(67.0)], "{q:?}");
        assert_eq!(out, reference::run(&q, &events));
    }
}

/// After a click on an entry page, the events and pages under it are those that carry it: a
/// visit's events before its first pageview have none yet, as in the reference. From built days
/// (the entry page's pairs) as from the raw events.
#[test]
fn an_entry_page_s_events_are_those_after_the_visit_s_first_pageview() {
    const DAY: i64 = 86_400;
    let entered = |page: &str| Arc::new(SessionAttrs { entry_page: page.into(), ..SessionAttrs::default() });
    let at = T0 + DAY + 100;
    // Visitor 1 signs up before its first pageview, on /, then views /pricing; visitor 2 enters on
    // /pricing and views /; visitor 3 enters on / and signs up there.
    let mut events = vec![
        EventRecord { session: entered(""), ..event(1, at, "Signup", "/") },
        EventRecord { session: entered("/"), ..event(1, at + 10, "pageview", "/") },
        EventRecord { session: entered("/"), ..event(1, at + 20, "pageview", "/pricing") },
        EventRecord { session: entered("/pricing"), ..event(2, at + 30, "pageview", "/pricing") },
        EventRecord { session: entered("/pricing"), ..event(2, at + 40, "pageview", "/") },
        EventRecord { session: entered("/"), ..event(3, at + 50, "pageview", "/") },
        EventRecord { session: entered("/"), ..event(3, at + 60, "Signup", "/") },
    ];
    fill_visit_deltas(&mut events);
    let (_tmp, _store, reader) = store_with(&events);
    let day = (T0 + DAY).div_euclid(DAY);
    let now = crate::time::Clock::system().now();
    let goals = [Goal { name: "Signup".into(), kind: GoalKind::Event("Signup".into()) }];
    let rows = |reader: &EventReader, dimension: Dimension| {
        let q = StatsQuery {
            metrics: vec![Metric::Visitors, Metric::Events],
            dimensions: vec![dimension],
            filter: Some(Filter::Leaf {
                op: FilterOp::Is,
                dimension: Dimension::Visit(VisitField::EntryPage),
                values: vec!["/".into()],
                case_sensitive: true,
            }),
            goals: goals.to_vec(),
            limit: 10,
            ..StatsQuery::over(1, day * DAY, (day + 1) * DAY, LocalTime::utc())
        };
        let out = reader.query(&q).unwrap();
        assert_eq!(out, reference::run(&q, &events), "{q:?}");
        let mut rows: Vec<_> = out.rows.iter().map(|r| (r.dimensions[0].clone(), r.metrics.clone())).collect();
        rows.sort_by_key(|(d, _)| format!("{d:?}"));
        rows
    };
    let text = |s: &str, visitors: f64, events: f64| (DimValue::Text(s.into()), vec![Some(visitors), Some(events)]);
    let expected = [
        (Dimension::Name, vec![text("Signup", 1.0, 1.0), text("pageview", 2.0, 3.0)]),
        (Dimension::Goal, vec![text("Signup", 1.0, 1.0)]),
        (Dimension::Page, vec![text("/", 2.0, 3.0), text("/pricing", 1.0, 1.0)]),
    ];
    for (dimension, want) in &expected {
        assert_eq!(rows(&reader, dimension.clone()), *want, "raw, by {dimension:?}");
    }
    assert_eq!(reader.build_rollups(1, day, day + 1, &LocalTime::utc(), &goals, now).unwrap(), 1);
    for (dimension, want) in &expected {
        assert_eq!(rows(&reader, dimension.clone()), *want, "built, by {dimension:?}");
    }
}

/// A visit that started with a custom event has that event under the empty entry page and its
/// pageview under the page: grouped by entry page, it is a visit of both groups, whether or not
/// visit metrics are asked for, from raw events and from roll-ups alike.
#[test]
fn a_visitor_with_two_visits_a_day_is_one_visitor_of_a_page_and_a_goal_under_a_source_filter() {
    const DAY: i64 = 86_400;
    let from =
        |source: &str| Arc::new(SessionAttrs { source: source.into(), ..(*event(0, 0, "", "").session).clone() });
    // Visitor 1 views /a and signs up from Google, comes back directly and does both again, then
    // from Google again; visitor 2 does both once from Google.
    let at = T0 + DAY + 100;
    let mut events = Vec::new();
    for (visitor, session, t, source) in
        [(1, 1, at, "Google"), (1, 3, at + 3_600, ""), (1, 4, at + 7_200, "Google"), (2, 2, at + 60, "Google")]
    {
        for (i, name) in ["pageview", "Signup"].into_iter().enumerate() {
            let e = event(visitor, t + i as i64, name, "/a");
            events.push(EventRecord { session: from(source), session_id: session, ..e });
        }
    }
    fill_visit_deltas(&mut events);
    let (_tmp, _store, reader) = store_with(&events);
    let goals = vec![
        Goal { name: "Signup".into(), kind: GoalKind::Event("Signup".into()) },
        Goal { name: "Visit /a".into(), kind: GoalKind::Page("^/a$".into()) },
    ];
    let now = crate::time::Clock::system().now();
    let day = T0.div_euclid(DAY) + 1;
    assert_eq!(reader.build_rollups(1, day, day + 1, &LocalTime::utc(), &goals, now).unwrap(), 1);
    let source = |value: &str| Filter::Leaf {
        op: FilterOp::Is,
        dimension: Dimension::Visit(VisitField::Source),
        values: vec![value.into()],
        case_sensitive: true,
    };
    for (filter, visitors, pageviews) in [(source("Google"), 2.0, 3.0), (source(""), 1.0, 1.0)] {
        let q = StatsQuery {
            metrics: vec![Metric::Visitors, Metric::Pageviews],
            dimensions: vec![Dimension::Page],
            filter: Some(filter),
            limit: 10,
            ..StatsQuery::over(1, T0, T0 + 3 * DAY, LocalTime::utc())
        };
        let out = reader.query(&q).unwrap();
        assert_eq!(out.rows.len(), 1, "{q:?}");
        assert_eq!(out.rows[0].metrics, vec![Some(visitors), Some(pageviews)], "{q:?}");
        assert_eq!(out, reference::run(&q, &events));
        // Both goals: each visitor converted, once however many times.
        let goal_q = StatsQuery {
            metrics: vec![Metric::Visitors, Metric::Events, Metric::ConversionRate],
            dimensions: vec![Dimension::Goal],
            goals: goals.clone(),
            ..q
        };
        let out = reader.query(&goal_q).unwrap();
        assert_eq!(out.rows.len(), 2, "{goal_q:?}");
        for row in &out.rows {
            assert_eq!(row.metrics, vec![Some(visitors), Some(pageviews), Some(100.0)], "{goal_q:?}");
        }
        assert_eq!(out, reference::run(&goal_q, &events));
    }
}

#[test]
fn a_visit_that_entered_late_is_a_visit_of_both_entry_groups() {
    const DAY: i64 = 86_400;
    let before = Arc::new(SessionAttrs { entry_page: String::new(), ..SessionAttrs::default() });
    let mut events = vec![
        EventRecord { session: before, ..event(1, T0 + DAY + 100, "Signup", "/") },
        event(1, T0 + DAY + 100, "pageview", "/"),
        event(2, T0 + DAY + 200, "pageview", "/"),
    ];
    fill_visit_deltas(&mut events);
    let (_tmp, _store, reader) = store_with(&events);
    let by_entry = |metrics: Vec<Metric>| StatsQuery {
        metrics,
        dimensions: vec![Dimension::Visit(VisitField::EntryPage)],
        limit: 10,
        ..StatsQuery::over(1, T0, T0 + 3 * DAY, LocalTime::utc())
    };
    let visits_of = |out: &QueryOutput| -> Vec<(DimValue, Option<f64>)> {
        out.rows.iter().map(|r| (r.dimensions[0].clone(), r.metrics[0])).collect()
    };
    let expected = vec![(DimValue::Text(String::new()), Some(1.0)), (DimValue::Text("/".into()), Some(2.0))];
    let plain = by_entry(vec![Metric::Visits]);
    let with_bounces = by_entry(vec![Metric::Visits, Metric::BounceRate]);
    for q in [&plain, &with_bounces] {
        let mut got = visits_of(&reader.query(q).unwrap());
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, expected, "raw, {:?}", q.metrics);
        assert_eq!(reader.query(q).unwrap(), reference::run(q, &events), "reference, {:?}", q.metrics);
    }
    let now = crate::time::Clock::system().now();
    let day = T0.div_euclid(DAY) + 1;
    assert_eq!(reader.build_rollups(1, day, day + 1, &LocalTime::utc(), &[], now).unwrap(), 1);
    // Under a filter on a visit attribute, the built day is read from its visit rows.
    let not_bing = Filter::Leaf {
        op: FilterOp::IsNot,
        dimension: Dimension::Visit(VisitField::Source),
        values: vec!["Bing".into()],
        case_sensitive: true,
    };
    let events_too = by_entry(vec![Metric::Visitors, Metric::Visits, Metric::Events, Metric::Pageviews]);
    for q in [&plain, &with_bounces, &events_too] {
        assert_eq!(reader.query(q).unwrap(), reference::run(q, &events), "roll-ups, {:?}", q.metrics);
        let filtered = StatsQuery { filter: Some(not_bing.clone()), ..q.clone() };
        let mut got = visits_of(&reader.query(&filtered).unwrap());
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, expected, "visit rows, {:?}", q.metrics);
        assert_eq!(reader.query(&filtered).unwrap(), reference::run(&filtered, &events), "visit rows, {:?}", q.metrics);
    }
    // Under an entry-page condition that rejects the empty one, the events before the first
    // pageview match nothing: 2 of the 3 events, by entry page or not.
    let entered = Filter::And(vec![
        not_bing,
        Filter::Leaf {
            op: FilterOp::IsNot,
            dimension: Dimension::Visit(VisitField::EntryPage),
            values: vec![String::new()],
            case_sensitive: true,
        },
    ]);
    for dimensions in [Vec::new(), vec![Dimension::Visit(VisitField::EntryPage)]] {
        let q = StatsQuery { filter: Some(entered.clone()), dimensions, ..events_too.clone() };
        let out = reader.query(&q).unwrap();
        assert_eq!(out.rows[0].metrics, vec![Some(2.0), Some(2.0), Some(2.0), Some(2.0)], "{:?}", q.dimensions);
        assert_eq!(out, reference::run(&q, &events));
    }
}

/// Visits that cross the local midnight inside a built day: by local day, their events count on
/// both sides and their visit metrics on the side they started; in the pieces at the midnight
/// (edge cells) each side is a visit of its own. The cells of visit attributes are summed from the
/// build's visits, those of pages from the events; both must agree with the reference.
#[test]
fn visits_across_the_local_midnight_of_a_built_day() {
    const DAY: i64 = 86_400;
    let day = T0.div_euclid(DAY) + 1;
    let s = (day + 1) * DAY - 3600; // 23:00 UTC: midnight in UTC+1.
    let berlin = LocalTime { segments: vec![(i64::MIN, 3600)] };
    let from = |source: &str| {
        Arc::new(SessionAttrs { entry_page: "/".into(), source: source.into(), ..SessionAttrs::default() })
    };
    let at = |sid: u64, ts: i64, name: &str, interactive: bool, source: &str| EventRecord {
        interactive,
        session: from(source),
        ..event(sid, ts, name, "/")
    };
    let mut events = vec![
        // Crosses, bounces on neither side alone but not overall either.
        at(1, s - 600, "pageview", true, "Google"),
        at(1, s + 300, "pageview", true, "Google"),
        // Before the midnight only: a bounce.
        at(2, s - 1200, "pageview", true, "Google"),
        // After it only, one interactive event: a bounce.
        at(3, s + 100, "pageview", true, "Bing"),
        at(3, s + 200, "Signup", false, "Bing"),
        // Crosses: one interactive event before, two after.
        at(4, s - 100, "Signup", true, "Bing"),
        at(4, s + 50, "pageview", true, "Bing"),
        at(4, s + 60, "pageview", true, "Bing"),
    ];
    fill_visit_deltas(&mut events);
    let (_tmp, _store, reader) = store_with(&events);
    let now = crate::time::Clock::system().now();
    assert_eq!(reader.build_rollups(1, day, day + 1, &berlin, &[], now).unwrap(), 1);
    let metrics: Vec<Metric> = Metric::ALL.into_iter().filter(|m| m.sums_over_visits()).collect();
    let source = Dimension::Visit(VisitField::Source);
    let q = |dimensions: Vec<Dimension>, start: i64, end: i64| StatsQuery {
        metrics: metrics.clone(),
        dimensions,
        limit: 20,
        ..StatsQuery::over(1, start, end, berlin.clone())
    };
    let cases = [
        ("by local day", q(vec![source.clone(), Dimension::Time(TimeGrain::Day)], day * DAY - 3600, s + DAY)),
        ("the piece after the midnight", q(vec![source.clone()], s, s + DAY)),
        ("the piece before it", q(vec![source.clone()], day * DAY - 3600, s)),
        ("pages, the piece after it", q(vec![Dimension::Page], s, s + DAY)),
    ];
    for (label, query) in &cases {
        let expected = reference::run(query, &events);
        assert!(!expected.rows.is_empty(), "{label}");
        assert_eq!(reader.query(query).unwrap(), expected, "{label}");
    }
}

#[test]
fn scroll_goals_count_visitors_but_no_events_from_raw_events_and_roll_ups() {
    const DAY: i64 = 86_400;
    let scrolled = |sid: u64, ts: i64, sd: Option<u8>| EventRecord {
        scroll_depth: sd,
        engagement_ms: Some(1_000),
        ..event(sid, ts, "engagement", "/blog/a")
    };
    // Visit 1 scrolls 80 % down a blog page, visit 2 only 30 %, visit 3 an unknown depth; visit 4
    // scrolls the home page, which the goal does not cover.
    let events = vec![
        event(1, T0, "pageview", "/blog/a"),
        scrolled(1, T0 + 10, Some(80)),
        event(2, T0 + DAY, "pageview", "/blog/a"),
        scrolled(2, T0 + DAY + 10, Some(30)),
        event(3, T0 + DAY, "pageview", "/blog/a"),
        scrolled(3, T0 + DAY + 10, None),
        event(4, T0 + DAY, "pageview", "/"),
        EventRecord { scroll_depth: Some(90), engagement_ms: Some(1), ..event(4, T0 + DAY + 5, "engagement", "/") },
    ];
    let goal =
        Goal { name: "Scroll /blog* 50".into(), kind: GoalKind::Scroll { page: "^/blog.*$".into(), threshold: 50 } };
    let q = StatsQuery {
        metrics: vec![Metric::Visitors, Metric::Events, Metric::ConversionRate],
        dimensions: vec![Dimension::Goal],
        goals: vec![goal.clone()],
        limit: 10,
        ..StatsQuery::over(1, T0, T0 + 2 * DAY, LocalTime::utc())
    };
    let expected = vec![tillit_store::query::ResultRow {
        dimensions: vec![DimValue::Text(goal.name.clone())],
        metrics: vec![Some(1.0), Some(0.0), Some(25.0)],
    }];
    assert_eq!(reference::run(&q, &events).rows, expected);
    let (_tmp, _store, reader) = store_with(&events);
    assert_eq!(reader.query(&q).unwrap().rows, expected, "raw events");
    let now = crate::time::Clock::system().now();
    assert_eq!(reader.build_rollups(1, T0 / DAY, T0 / DAY + 2, &q.local, &q.goals, now).unwrap(), 2);
    assert_eq!(reader.query(&q).unwrap().rows, expected, "roll-ups");
    // As a filter: the visitors who completed the goal.
    let filtered = StatsQuery {
        metrics: vec![Metric::Visitors, Metric::Pageviews],
        dimensions: Vec::new(),
        filter: Some(Filter::Leaf {
            op: FilterOp::Is,
            dimension: Dimension::Goal,
            values: vec![goal.name.clone()],
            case_sensitive: true,
        }),
        ..q
    };
    let rows = reader.query(&filtered).unwrap().rows;
    assert_eq!(rows, reference::run(&filtered, &events).rows);
    assert_eq!(rows[0].metrics, vec![Some(1.0), Some(0.0)]);
}

#[test]
fn funnel_steps_must_happen_in_order() {
    let mk = event;
    // Visit 1 goes / → /pricing → Signup; visit 2 signs up before seeing pricing; visit 3 only lands.
    let events = vec![
        mk(1, T0, "pageview", "/"),
        mk(1, T0 + 10, "pageview", "/pricing"),
        mk(1, T0 + 20, "Signup", "/pricing"),
        mk(2, T0, "pageview", "/"),
        mk(2, T0 + 5, "Signup", "/"),
        mk(2, T0 + 9, "pageview", "/pricing"),
        mk(3, T0, "pageview", "/"),
    ];
    let f = tillit_store::query::FunnelQuery {
        site_id: 1,
        start: T0,
        end: T0 + 3600,
        filter: None,
        steps: vec![
            Goal { name: "Visit /".into(), kind: GoalKind::Page("^/$".into()) },
            Goal { name: "Visit /pricing".into(), kind: GoalKind::Page("^/pricing$".into()) },
            Goal { name: "Signup".into(), kind: GoalKind::Event("Signup".into()) },
        ],
    };
    assert_eq!(reference::funnel(&f, &events), vec![3, 2, 1]);
    let (_tmp, _store, reader) = store_with(&events);
    assert_eq!(reader.funnel(&f).unwrap(), vec![3, 2, 1]);
}

#[test]
fn engagement_metrics_and_dst_buckets_on_a_fixed_case() {
    let mk = |sid: u64, ts: i64, name: &str, path: &str, sd: Option<u8>, ms: Option<u32>| EventRecord {
        scroll_depth: sd,
        engagement_ms: ms,
        ..event(sid, ts, name, path)
    };
    // T0 is 2024-03-31 00:00 UTC; Oslo moves from +1 h to +2 h at 01:00 UTC.
    let events = vec![
        mk(1, T0 + 1800, "pageview", "/a", None, None), // 01:30 local (+1 h)
        mk(1, T0 + 1900, "engagement", "/a", Some(40), Some(30_000)),
        mk(1, T0 + 2000, "engagement", "/a", Some(90), Some(10_000)),
        mk(2, T0 + 7200, "pageview", "/a", None, None), // 04:00 local (+2 h)
        mk(2, T0 + 7300, "engagement", "/a", Some(50), Some(20_000)),
        mk(3, T0 + 7300, "pageview", "/b", None, None),
    ];
    let oslo = super::period::dates(
        &super::period::zone("Europe/Oslo"),
        jiff::civil::Date::constant(2024, 3, 31),
        jiff::civil::Date::constant(2024, 3, 31),
    )
    .unwrap();
    let q = StatsQuery {
        site_id: 1,
        start: oslo.start,
        end: oslo.end,
        local: oslo.local.clone(),
        metrics: vec![Metric::Visitors, Metric::TimeOnPage, Metric::ScrollDepth],
        dimensions: vec![Dimension::Page],
        filter: None,
        goals: Vec::new(),
        order_by: vec![(OrderKey::Dimension(0), Direction::Asc)],
        limit: 10,
        offset: 0,
    };
    // /a: 60 s engaged over 2 visits → 30 s; deepest scroll 90 and 50 → 70. /b: no engagement.
    let expected: Vec<Vec<Option<f64>>> = vec![vec![Some(2.0), Some(30.0), Some(70.0)], vec![Some(1.0), None, None]];
    let (_tmp, _store, reader) = store_with(&events);
    for out in [reference::run(&q, &events), reader.query(&q).unwrap()] {
        assert_eq!(out.rows.iter().map(|r| r.metrics.clone()).collect::<Vec<_>>(), expected);
    }
    let hourly =
        StatsQuery { metrics: vec![Metric::Pageviews], dimensions: vec![Dimension::Time(TimeGrain::Hour)], ..q };
    let out = reader.query(&hourly).unwrap();
    let labels: Vec<String> = out
        .rows
        .iter()
        .map(|r| match r.dimensions[0] {
            DimValue::Bucket(b) => super::period::label_in(&oslo, TimeGrain::Hour, b),
            _ => String::new(),
        })
        .collect();
    assert_eq!(labels, vec!["2024-03-31 01:00:00", "2024-03-31 04:00:00"]);
    assert_eq!(out, reference::run(&hourly, &events));
}

/// `build`, then made to hold what live ingest guarantees and day roll-ups rely on: a visit never
/// spans a UTC midnight (later events of one are dropped), and visitor ids differ between days.
/// The same visits by three visitors: most of them make several visits a day (with different
/// sources and countries), which summaries must count as one visitor.
fn three_visitors(specs: Vec<SessionSpec>) -> Vec<SessionSpec> {
    specs.into_iter().map(|s| SessionSpec { visitor: s.visitor % 3, ..s }).collect()
}

fn build_day_bound(specs: &[SessionSpec]) -> Vec<EventRecord> {
    let mut first_day = std::collections::HashMap::new();
    let mut events: Vec<EventRecord> = build(specs)
        .into_iter()
        .filter(|e| *first_day.entry(e.session_id).or_insert(e.ts.div_euclid(86_400)) == e.ts.div_euclid(86_400))
        .map(|e| EventRecord { visitor_id: e.visitor_id * 1_000 + e.ts.div_euclid(86_400) as u64, ..e })
        .collect();
    // As ingest stamps them: the reference reads a visit's first event from them too.
    fill_visit_deltas(&mut events);
    events
}

/// A query's range from a generated start offset and length: local days, as periods are (their
/// ends read edge cells), or any second.
fn query_range(local: &LocalTime, from: i64, len: i64, aligned: bool) -> (i64, i64) {
    if aligned {
        let start = next_local_midnight(local, T0 + from - 86_400);
        (start, next_local_midnight(local, start + len - 3_600))
    } else {
        (T0 + from - 86_400, T0 + from + len)
    }
}

/// Queries day roll-ups can answer.
fn rollup_query() -> impl Strategy<Value = StatsQuery> {
    let rollup_metrics = vec![
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::Events,
        Metric::ViewsPerVisit,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::Percentage,
        Metric::ConversionRate,
    ];
    let other = prop::option::of(prop_oneof![
        Just(Dimension::Goal),
        Just(Dimension::Page),
        Just(Dimension::Hostname),
        Just(Dimension::Name),
        Just(Dimension::Visit(VisitField::Source)),
        Just(Dimension::Visit(VisitField::Country)),
        Just(Dimension::Visit(VisitField::CountryName)),
        Just(Dimension::Visit(VisitField::City)),
        Just(Dimension::Visit(VisitField::EntryPage)),
        Just(Dimension::Visit(VisitField::ExitPage)),
    ]);
    let time = prop::option::of(prop_oneof![
        Just(Dimension::Time(TimeGrain::Day)),
        Just(Dimension::Time(TimeGrain::Week)),
        Just(Dimension::Time(TimeGrain::Month)),
    ]);
    // Filters on one visit field F, which the cells apply: `is V` alone, compared as it is, with
    // one value (kind 0), or any filter on F in a breakdown by F (1: `is V`, 4: `is_not ""`, 5:
    // contains V, any case). Without the breakdown, case-insensitive (2) or with two values (3),
    // they are read raw or, on attributes fixed at a visit's start, from visit rows; so are `F is
    // V` and, or or, a condition on the country (6, 7).
    let pin = prop::option::of((
        prop_oneof![
            Just(VisitField::Source),
            Just(VisitField::Country),
            Just(VisitField::CountryName),
            Just(VisitField::EntryPage),
            Just(VisitField::City),
            Just(VisitField::ExitPage),
        ],
        prop_oneof![
            Just("Google"),
            Just("google"),
            Just("NO"),
            Just("Norway"),
            Just("/"),
            Just("/blog/a"),
            Just(""),
            Just("3143244"),
        ],
        0u8..8,
    ));
    (
        prop::sample::subsequence(rollup_metrics, 1..5),
        other,
        time,
        any::<bool>(),
        0i64..86_400,
        (1i64..6).prop_map(|d| d * 86_400),
        any::<bool>(),
        prop::collection::vec((0usize..4, any::<bool>()), 0..2),
        (1usize..8, 0usize..4),
        any::<bool>(),
        pin,
    )
        .prop_map(|(metrics, other, time, time_first, from, len, dst, order, (limit, offset), aligned, pin)| {
            let mut dims: Vec<Dimension> = other.into_iter().collect();
            let filter = pin.map(|(field, value, kind)| {
                if matches!(kind, 1 | 4 | 5) {
                    dims = vec![Dimension::Visit(field)];
                }
                let (op, values) = match kind {
                    3 => (FilterOp::Is, vec![value.to_owned(), "Newsletter".to_owned()]),
                    4 => (FilterOp::IsNot, vec![String::new()]),
                    5 => (FilterOp::Contains, vec![value.to_lowercase()]),
                    _ => (FilterOp::Is, vec![value.to_owned()]),
                };
                let leaf = Filter::Leaf {
                    op,
                    dimension: Dimension::Visit(field),
                    values,
                    case_sensitive: !matches!(kind, 2 | 5),
                };
                let country = Filter::Leaf {
                    op: FilterOp::IsNot,
                    dimension: Dimension::Visit(VisitField::Country),
                    values: vec!["SE".into()],
                    case_sensitive: true,
                };
                match kind {
                    6 => Filter::And(vec![leaf, country]),
                    7 => Filter::Or(vec![leaf, country]),
                    _ => leaf,
                }
            });
            if metrics.iter().any(|m| m.is_session_metric()) {
                dims.retain(|d| !d.is_event_only());
            }
            match (time, time_first) {
                // Goal cells are by whole day only.
                _ if dims.contains(&Dimension::Goal) => {}
                (Some(t), true) => dims.insert(0, t),
                (Some(t), false) => dims.push(t),
                (None, _) => {}
            }
            let order_by = order_keys(order, &dims, &metrics);
            let local = local_time(dst);
            let (start, end) = query_range(&local, from, len, aligned);
            StatsQuery {
                site_id: 1,
                start,
                end,
                local,
                metrics,
                dimensions: dims,
                filter,
                goals: goals(),
                order_by,
                limit,
                offset,
            }
        })
}

/// Queries visit rows answer: filters on attributes fixed at a visit's start, alone or combined,
/// and on the entry page, grouped by such attributes or the entry page (or not at all) and by a
/// calendar bucket or not, visit and event sums.
fn visit_rows_query() -> impl Strategy<Value = StatsQuery> {
    let metrics: Vec<Metric> = Metric::ALL.into_iter().filter(|m| m.sums_over_visits()).collect();
    let field = prop_oneof![
        Just(VisitField::Source),
        Just(VisitField::Country),
        Just(VisitField::CountryName),
        Just(VisitField::City),
        Just(VisitField::EntryPage),
    ];
    let filter_field = prop_oneof![
        Just(VisitField::Source),
        Just(VisitField::Country),
        Just(VisitField::CountryName),
        Just(VisitField::City),
    ];
    let leaf = (
        filter_field,
        prop_oneof![Just(FilterOp::Is), Just(FilterOp::IsNot), Just(FilterOp::Contains), Just(FilterOp::Matches)],
        prop_oneof![Just("Google"), Just("google"), Just("NO"), Just("Norway"), Just(""), Just("3143244"), Just("^N")],
        any::<bool>(),
    )
        .prop_map(|(field, op, value, case_sensitive)| Filter::Leaf {
            op,
            dimension: Dimension::Visit(field),
            values: vec![value.to_owned()],
            case_sensitive,
        });
    // On the entry page, as Plausible's entry-page breakdown adds it (`is_not ""`), and others.
    let entry = prop_oneof![
        Just((FilterOp::IsNot, "")),
        Just((FilterOp::Is, "/")),
        Just((FilterOp::Contains, "blog")),
        Just((FilterOp::Matches, "^/b")),
    ]
    .prop_map(|(op, value)| Filter::Leaf {
        op,
        dimension: Dimension::Visit(VisitField::EntryPage),
        values: vec![value.to_owned()],
        case_sensitive: true,
    });
    let filter = prop::option::of(prop_oneof![
        leaf.clone(),
        entry.clone(),
        (leaf.clone(), entry).prop_map(|(a, b)| Filter::And(vec![a, b])),
        (leaf.clone(), leaf.clone()).prop_map(|(a, b)| Filter::And(vec![a, b])),
        (leaf.clone(), leaf.clone()).prop_map(|(a, b)| Filter::Or(vec![a, b])),
        leaf.prop_map(|a| Filter::Not(Box::new(a))),
    ]);
    // A calendar bucket, first or last: days, weeks and months (the range crosses a local midnight
    // that starts all three, 2024-04-01, and one of a week).
    let grain = prop::option::of((
        prop_oneof![Just(TimeGrain::Day), Just(TimeGrain::Week), Just(TimeGrain::Month)],
        any::<bool>(),
    ));
    (
        prop::sample::subsequence(metrics, 1..5),
        prop::collection::vec(field, 0..3),
        filter,
        (0i64..86_400, (1i64..6).prop_map(|d| d * 86_400), any::<bool>(), any::<bool>()),
        prop::collection::vec((0usize..4, any::<bool>()), 0..2),
        (1usize..8, 0usize..4),
        grain,
    )
        .prop_map(|(metrics, fields, filter, range, order, (limit, offset), grain)| {
            let mut dims: Vec<Dimension> = Vec::new();
            for f in fields {
                if !dims.contains(&Dimension::Visit(f)) {
                    dims.push(Dimension::Visit(f));
                }
            }
            match grain {
                Some((g, true)) => dims.insert(0, Dimension::Time(g)),
                Some((g, false)) => dims.push(Dimension::Time(g)),
                None => {}
            }
            generated(dims, metrics, filter, Vec::new(), range, (order, limit, offset))
        })
}

/// Breakdowns by page or event name that the first-event marks of built days answer: visitors
/// (with pageviews or events), filtered on visit attributes, on the grouped dimension, or both;
/// and goal breakdowns (visitors, events, conversion rate) filtered on visit attributes.
fn first_marks_query() -> impl Strategy<Value = StatsQuery> {
    let visit_leaf = (
        prop_oneof![Just(VisitField::Source), Just(VisitField::Country), Just(VisitField::CountryName)],
        prop_oneof![Just(FilterOp::Is), Just(FilterOp::IsNot), Just(FilterOp::Contains)],
        prop_oneof![Just("Google"), Just("NO"), Just("Norway"), Just("")],
    )
        .prop_map(|(field, op, value)| Filter::Leaf {
            op,
            dimension: Dimension::Visit(field),
            values: vec![value.to_owned()],
            case_sensitive: true,
        });
    (
        0u8..3,
        visit_leaf.clone(),
        visit_leaf,
        prop_oneof![Just((FilterOp::Is, 0usize)), Just((FilterOp::IsNot, 1)), Just((FilterOp::Contains, 2))],
        0u8..6,
        prop::sample::subsequence(vec![Metric::Pageviews, Metric::Events, Metric::ConversionRate], 0..=2),
        (0i64..86_400, (1i64..6).prop_map(|d| d * 86_400), any::<bool>(), any::<bool>()),
        (prop::collection::vec((0usize..2, any::<bool>()), 0..2), 1usize..8, 0usize..3),
    )
        .prop_map(|(kind, a, b, (op, value), shape, more, (from, len, dst, aligned), (order, limit, offset))| {
            let (dim, shape, goals) = match kind {
                0 => (Dimension::Page, shape, Vec::new()),
                1 => (Dimension::Name, shape, Vec::new()),
                // Goals (not scroll goals, whose completions are engagement events), under
                // filters on visit attributes only.
                _ => (Dimension::Goal, [0, 1, 5][usize::from(shape) % 3], goals()[..3].to_vec()),
            };
            // A condition on the grouped dimension: a page, or an event name.
            let value = if dim == Dimension::Page {
                ["/", "/pricing", "blog"][value]
            } else {
                ["pageview", "Signup", "Purch"][value]
            };
            let own = Filter::Leaf { op, dimension: dim.clone(), values: vec![value.to_owned()], case_sensitive: true };
            let filter = match shape {
                0 => None,
                1 => Some(a),
                2 => Some(own),
                3 => Some(Filter::And(vec![a, own])),
                4 => Some(Filter::Or(vec![a, own])),
                _ => Some(Filter::And(vec![a, Filter::Not(Box::new(b))])),
            };
            let allowed = |m: &Metric| match m {
                Metric::Pageviews => dim != Dimension::Goal,
                Metric::ConversionRate => dim == Dimension::Goal,
                _ => true,
            };
            let mut metrics = vec![Metric::Visitors];
            metrics.extend(more.into_iter().filter(allowed));
            let dims = vec![dim];
            generated(dims, metrics, filter, goals, (from, len, dst, aligned), (order, limit, offset))
        })
}

/// Queries whose visitors the first-event marks of built days count: grouped by visit attributes
/// (or nothing), under a filter that picks one page, one event name or one custom-event goal,
/// alone or with conditions on visit attributes; and near misses the marks must leave alone (a
/// pageview goal, a case-insensitive page, two values, a contains).
fn marked_visitors_query() -> impl Strategy<Value = StatsQuery> {
    let anchor = prop_oneof![
        (0..PATHS.len()).prop_map(|i| (Dimension::Page, FilterOp::Is, vec![PATHS[i]], true)),
        prop_oneof![Just("pageview"), Just("Signup"), Just("Purchase")].prop_map(|n| (
            Dimension::Name,
            FilterOp::Is,
            vec![n],
            true
        )),
        (prop_oneof![Just("Signup"), Just("signup"), Just("Visit /blog*")], any::<bool>()).prop_map(|(g, cs)| (
            Dimension::Goal,
            FilterOp::Is,
            vec![g],
            cs
        )),
        prop_oneof![
            Just((Dimension::Page, FilterOp::Is, vec!["/docs"], false)),
            Just((Dimension::Page, FilterOp::Is, vec!["/", "/pricing"], true)),
            Just((Dimension::Page, FilterOp::Contains, vec!["blog"], true)),
        ],
    ]
    .prop_map(|(dimension, op, values, case_sensitive)| Filter::Leaf {
        op,
        dimension,
        values: values.into_iter().map(str::to_owned).collect(),
        case_sensitive,
    });
    let visit_leaf = (
        prop_oneof![Just(VisitField::Source), Just(VisitField::Country), Just(VisitField::CountryName)],
        prop_oneof![Just(FilterOp::Is), Just(FilterOp::IsNot)],
        prop_oneof![Just("Google"), Just("NO"), Just("Norway"), Just("")],
    )
        .prop_map(|(field, op, value)| Filter::Leaf {
            op,
            dimension: Dimension::Visit(field),
            values: vec![value.to_owned()],
            case_sensitive: true,
        });
    let dim = prop_oneof![
        Just(Dimension::Visit(VisitField::Source)),
        Just(Dimension::Visit(VisitField::CountryName)),
        Just(Dimension::Visit(VisitField::City)),
    ];
    let more = vec![
        Metric::Pageviews,
        Metric::Events,
        Metric::Percentage,
        Metric::Visits,
        Metric::BounceRate,
        Metric::VisitDuration,
    ];
    (
        anchor,
        prop::option::of(visit_leaf),
        prop::collection::vec(dim, 0..3),
        prop::sample::subsequence(more, 0..3),
        (0i64..86_400, (1i64..6).prop_map(|d| d * 86_400), any::<bool>(), any::<bool>()),
        (prop::collection::vec((0usize..4, any::<bool>()), 0..2), 1usize..8, 0usize..3),
    )
        .prop_map(|(anchor, visit, mut dims, more, range, page)| {
            let filter = match visit {
                Some(v) => Filter::And(vec![v, anchor]),
                None => anchor,
            };
            let mut seen = Vec::new();
            dims.retain(|d| {
                let fresh = !seen.contains(d);
                seen.push(d.clone());
                fresh
            });
            let mut metrics = vec![Metric::Visitors];
            // Percentages only of single-dimension breakdowns, as the API allows them.
            metrics.extend(more.into_iter().filter(|m| *m != Metric::Percentage || dims.len() == 1));
            generated(dims, metrics, Some(filter), goals()[..3].to_vec(), range, page)
        })
}

/// Breakdowns by page, event name or goal under a filter on one value of a visit attribute, which
/// the pair cells of built days answer, and near misses they must leave alone (two values, a
/// case-insensitive match, an attribute without pairs).
fn pairs_query() -> impl Strategy<Value = StatsQuery> {
    let field = prop_oneof![
        Just(VisitField::Source),
        Just(VisitField::Country),
        Just(VisitField::Channel),
        Just(VisitField::Device),
        Just(VisitField::CountryName),
    ];
    let values = prop_oneof![
        4 => prop_oneof![Just("Google"), Just("NO"), Just("SE"), Just(""), Just("t.co"), Just("Norway")]
            .prop_map(|v| vec![v.to_owned()]),
        1 => Just(vec!["Google".to_owned(), "t.co".to_owned()]),
    ];
    (
        prop_oneof![1 => Just(Dimension::Page), 1 => Just(Dimension::Name), 2 => Just(Dimension::Goal)],
        field,
        values,
        prop::bool::weighted(0.85),
        prop::sample::subsequence(vec![Metric::Pageviews, Metric::Events, Metric::ConversionRate], 0..=2),
        (0i64..86_400, (1i64..6).prop_map(|d| d * 86_400), any::<bool>(), any::<bool>()),
        (prop::collection::vec((0usize..2, any::<bool>()), 0..2), 1usize..8, 0usize..3),
    )
        .prop_map(|(dim, field, values, case_sensitive, more, range, page)| {
            let filter = Filter::Leaf { op: FilterOp::Is, dimension: Dimension::Visit(field), values, case_sensitive };
            let goal = dim == Dimension::Goal;
            let mut metrics = vec![Metric::Visitors];
            metrics.extend(more.into_iter().filter(|m| match m {
                Metric::Pageviews => !goal,
                Metric::ConversionRate => goal,
                _ => true,
            }));
            // Goals but scroll goals (whose completions are engagement events: read raw).
            let goals = if goal { goals()[..3].to_vec() } else { Vec::new() };
            generated(vec![dim], metrics, Some(filter), goals, range, page)
        })
}

/// Queries under one page, event name or goal (and near misses: compared in any case, two pages),
/// grouped by a paired attribute, the entry page, an unpaired attribute, the page, the event name,
/// the goal, the day or nothing, with event and visit metrics: the pair cells, or the page and
/// name cells, answer those they can.
fn keyed_pairs_query() -> impl Strategy<Value = StatsQuery> {
    let anchor = prop_oneof![
        4 => (0..PATHS.len()).prop_map(|i| (Dimension::Page, vec![PATHS[i]], true)),
        2 => prop_oneof![Just("pageview"), Just("Signup"), Just("Purchase")].prop_map(|n| (Dimension::Name, vec![n], true)),
        3 => (prop_oneof![Just("Signup"), Just("signup"), Just("Visit /blog*"), Just("Visit /")], any::<bool>())
            .prop_map(|(g, cs)| (Dimension::Goal, vec![g], cs)),
        1 => prop_oneof![Just((Dimension::Page, vec!["/docs"], false)), Just((Dimension::Page, vec!["/", "/pricing"], true))],
        // One entry page: its visits' pages, events and goals.
        2 => (0..=PATHS.len())
            .prop_map(|i| (Dimension::Visit(VisitField::EntryPage), vec![PATHS.get(i).copied().unwrap_or("")], true)),
    ];
    let dim = prop::option::of(prop_oneof![
        Just(Dimension::Visit(VisitField::Source)),
        Just(Dimension::Visit(VisitField::Channel)),
        Just(Dimension::Visit(VisitField::Country)),
        Just(Dimension::Visit(VisitField::Device)),
        Just(Dimension::Visit(VisitField::Browser)),
        Just(Dimension::Visit(VisitField::Os)),
        Just(Dimension::Visit(VisitField::EntryPage)),
        Just(Dimension::Visit(VisitField::CountryName)),
        Just(Dimension::Page),
        Just(Dimension::Name),
        Just(Dimension::Goal),
        Just(Dimension::Time(TimeGrain::Day)),
    ]);
    let more = vec![
        Metric::Pageviews,
        Metric::Events,
        Metric::Visits,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::ViewsPerVisit,
        Metric::ConversionRate,
    ];
    (
        anchor,
        dim,
        prop::sample::subsequence(more, 0..=3),
        any::<bool>(),
        (0i64..86_400, (1i64..6).prop_map(|d| d * 86_400), any::<bool>(), any::<bool>()),
        (prop::collection::vec((0usize..2, any::<bool>()), 0..2), 1usize..8, 0usize..3),
    )
        .prop_map(|((dimension, values, case_sensitive), dim, more, v1, range, page)| {
            let goal = dimension == Dimension::Goal || dim == Some(Dimension::Goal);
            let mut filter = Filter::Leaf {
                op: FilterOp::Is,
                dimension,
                values: values.into_iter().map(str::to_owned).collect(),
                case_sensitive,
            };
            // Plausible's v1 breakdowns by a visit attribute leave out its empty value.
            if let (true, Some(grouped @ Dimension::Visit(_))) = (v1, &dim) {
                let not_empty = Filter::Leaf {
                    op: FilterOp::IsNot,
                    dimension: grouped.clone(),
                    values: vec![String::new()],
                    case_sensitive: true,
                };
                filter = Filter::And(vec![filter, not_empty]);
            }
            let mut metrics = vec![Metric::Visitors];
            // Visit metrics by goal or event name are refused before a query reaches the store.
            let event_only = matches!(dim, Some(Dimension::Goal | Dimension::Name));
            metrics.extend(
                more.into_iter()
                    .filter(|m| *m != Metric::ConversionRate || goal)
                    .filter(|m| !event_only || !m.is_session_metric()),
            );
            // Goals but scroll goals (whose completions are engagement events: read raw).
            let goals = if goal { goals()[..3].to_vec() } else { Vec::new() };
            generated(dim.into_iter().collect(), metrics, Some(filter), goals, range, page)
        })
}

/// Queries with visit metrics whose visit side reads visit rows for built days: grouped by visit
/// attributes, the entry page or the page (or nothing), under any filter — pages, names, goals,
/// properties and visit attributes, combined in any way.
fn visit_side_query() -> impl Strategy<Value = StatsQuery> {
    let metrics: Vec<Metric> = Metric::ALL.into_iter().filter(|m| *m != Metric::ExitRate).collect();
    let dim = prop_oneof![
        Just(Dimension::Page),
        Just(Dimension::Visit(VisitField::Source)),
        Just(Dimension::Visit(VisitField::CountryName)),
        Just(Dimension::Visit(VisitField::City)),
        Just(Dimension::Visit(VisitField::EntryPage)),
    ];
    (
        prop::sample::subsequence(metrics, 1..5),
        prop_oneof![Just(Metric::BounceRate), Just(Metric::VisitDuration), Just(Metric::ViewsPerVisit)],
        prop::collection::vec(dim, 0..3),
        prop::option::of(filter()),
        (0i64..86_400, (1i64..6).prop_map(|d| d * 86_400), any::<bool>(), any::<bool>()),
        (prop::collection::vec((0usize..4, any::<bool>()), 0..2), 1usize..8, 0usize..3),
    )
        .prop_map(|(mut metrics, visit_metric, mut dims, filter, range, page)| {
            if !metrics.contains(&visit_metric) {
                metrics.push(visit_metric);
            }
            let mut seen = Vec::new();
            dims.retain(|d| {
                let fresh = !seen.contains(d);
                seen.push(d.clone());
                fresh
            });
            generated(dims, metrics, filter, goals(), range, page)
        })
}

/// Queries under a filter on a property (alone, with any other condition, or one of two
/// property conditions), with any metrics and groupings: where only events with properties pass
/// it, built days are read from their copies of those events unless something else reads them.
fn copies_query() -> impl Strategy<Value = StatsQuery> {
    let prop_leaf = || {
        (
            prop_oneof![
                3 => Just(FilterOp::Is),
                1 => Just(FilterOp::IsNot),
                1 => Just(FilterOp::Contains),
                1 => Just(FilterOp::MatchesNot)
            ],
            prop_oneof![3 => Just("plan"), 1 => Just("seats")],
            prop::collection::vec(prop_oneof![Just("pro"), Just("team"), Just("(none)"), Just("1")], 1..3),
            any::<bool>(),
        )
            .prop_map(|(op, key, values, case_sensitive)| Filter::Leaf {
                op,
                dimension: Dimension::Prop(key.into()),
                values: values.into_iter().map(str::to_owned).collect(),
                case_sensitive,
            })
    };
    let needing = prop_oneof![
        2 => prop_leaf(),
        2 => (prop_leaf(), filter()).prop_map(|(p, f)| Filter::And(vec![p, f])),
        1 => (prop_leaf(), prop_leaf()).prop_map(|(a, b)| Filter::Or(vec![a, b])),
    ];
    (
        prop::sample::subsequence(Metric::ALL.to_vec(), 1..5),
        prop::collection::vec(dimension(), 0..3),
        needing,
        (0i64..86_400, (1i64..6).prop_map(|d| d * 86_400), any::<bool>(), any::<bool>()),
        (prop::collection::vec((0usize..4, any::<bool>()), 0..2), 1usize..8, 0usize..3),
    )
        .prop_map(|(metrics, mut dims, filter, range, page)| {
            let mut seen = Vec::new();
            dims.retain(|d| {
                let fresh = !seen.contains(d);
                seen.push(d.clone());
                fresh
            });
            if metrics.iter().any(|m| m.is_session_metric()) {
                dims.retain(|d| !d.is_event_only());
            }
            // The exit rate exists only per exit page (the APIs refuse anything else).
            if metrics.contains(&Metric::ExitRate) {
                dims = vec![Dimension::Visit(VisitField::ExitPage)];
            }
            generated(dims, metrics, Some(filter), goals(), range, page)
        })
}

/// A generated query of site 1: its range from `query_range` (`dst` picks the time zone), its
/// order from `order_keys`.
fn generated(
    dims: Vec<Dimension>,
    metrics: Vec<Metric>,
    filter: Option<Filter>,
    goals: Vec<Goal>,
    (from, len, dst, aligned): (i64, i64, bool, bool),
    (order, limit, offset): (Vec<(usize, bool)>, usize, usize),
) -> StatsQuery {
    let local = local_time(dst);
    let (start, end) = query_range(&local, from, len, aligned);
    StatsQuery {
        site_id: 1,
        start,
        end,
        local,
        order_by: order_keys(order, &dims, &metrics),
        metrics,
        dimensions: dims,
        filter,
        goals,
        limit,
        offset,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// First-event marks (some days built, the rest read raw) give exactly the reference's
    /// answers, and give way when events are written into a built day.
    #[test]
    fn first_marks_agree_with_reference(
        specs in prop::collection::vec(session_spec(), 0..25),
        late in prop::collection::vec(session_spec(), 0..4),
        q in first_marks_query(),
        built in prop::collection::vec(any::<bool>(), 8),
    ) {
        let (specs, late) = (three_visitors(specs), three_visitors(late));
        let mut events = build_day_bound(&specs);
        let (_tmp, mut store, reader) = store_with(&events);
        build_drawn_days(&reader, &built, &q.local, &q.goals);
        prop_assert_eq!(reader.query(&q).unwrap(), reference::run(&q, &events), "query {:?}", q);

        back_fill(&mut store, &mut events, &late, specs.len());
        prop_assert_eq!(reader.query(&q).unwrap(), reference::run(&q, &events), "after back-fill {:?}", q);
        build_drawn_days(&reader, &built, &q.local, &q.goals);
        prop_assert_eq!(reader.query(&q).unwrap(), reference::run(&q, &events), "rebuilt {:?}", q);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// The visit side read from visit rows (some days built, the rest read raw) under any filter
    /// gives exactly the reference's answers, and gives way when events are written into a built
    /// day.
    #[test]
    fn visit_side_rows_agree_with_reference(
        specs in prop::collection::vec(session_spec(), 0..25),
        late in prop::collection::vec(session_spec(), 0..4),
        q in visit_side_query(),
        built in prop::collection::vec(any::<bool>(), 8),
        few in any::<bool>(),
    ) {
        agrees_built_and_back_filled(specs, &late, &q, &built, few, |_, _| Ok(()))?;
    }

    /// Top pages, events and goals under one value of a visit attribute, read from the pair cells of
    /// built days (the rest raw), are exactly the reference's, and give way when events are
    /// written into a built day.
    #[test]
    fn pairs_agree_with_reference(
        specs in prop::collection::vec(session_spec(), 0..25),
        late in prop::collection::vec(session_spec(), 0..4),
        q in pairs_query(),
        built in prop::collection::vec(any::<bool>(), 8),
        few in any::<bool>(),
    ) {
        // The site's goals change: goal pairs of the old set are not read, then rebuilt.
        let goals_change = |reader: &EventReader, events: &[EventRecord]| {
            if q.dimensions == [Dimension::Goal] {
                let changed = StatsQuery { goals: goals()[1..3].to_vec(), ..q.clone() };
                prop_assert_eq!(reader.query(&changed).unwrap(), reference::run(&changed, events), "stale goals");
                build_drawn_days(reader, &built, &q.local, &changed.goals);
                prop_assert_eq!(reader.query(&changed).unwrap(), reference::run(&changed, events), "rebuilt goals");
            }
            Ok(())
        };
        agrees_built_and_back_filled(specs, &late, &q, &built, few, goals_change)?;
    }

    /// Sources, countries, devices and totals under one page, event name or goal, read from the
    /// pair cells of built days (and pages and the graph from the page and name cells; the rest
    /// raw), are exactly the reference's, and give way when events are written into a built day.
    #[test]
    fn keyed_pairs_agree_with_reference(
        specs in prop::collection::vec(session_spec(), 0..25),
        late in prop::collection::vec(session_spec(), 0..4),
        q in keyed_pairs_query(),
        built in prop::collection::vec(any::<bool>(), 8),
        few in any::<bool>(),
    ) {
        agrees_built_and_back_filled(specs, &late, &q, &built, few, |_, _| Ok(()))?;
    }

    /// Queries under a property filter (some days built, the copies of their events with
    /// properties read where they serve, the rest raw) are exactly the reference's, and give way
    /// when events are written into a built day.
    #[test]
    fn property_copies_agree_with_reference(
        specs in prop::collection::vec(session_spec(), 0..25),
        late in prop::collection::vec(session_spec(), 0..4),
        q in copies_query(),
        // Mostly built: the copies are what is under test.
        built in prop::collection::vec(prop::bool::weighted(0.8), 8),
        few in any::<bool>(),
    ) {
        agrees_built_and_back_filled(specs, &late, &q, &built, few, |_, _| Ok(()))?;
    }

    /// Visitors counted by the first-event marks of built days under a filter on one page, name or
    /// goal (some days built, the rest read raw) are exactly the reference's, and give way when
    /// events are written into a built day.
    #[test]
    fn marked_visitors_agree_with_reference(
        specs in prop::collection::vec(session_spec(), 0..25),
        late in prop::collection::vec(session_spec(), 0..4),
        q in marked_visitors_query(),
        built in prop::collection::vec(any::<bool>(), 8),
        few in any::<bool>(),
    ) {
        agrees_built_and_back_filled(specs, &late, &q, &built, few, |_, _| Ok(()))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Visit rows (some days built, the rest read raw) give exactly the reference's answers.
    #[test]
    fn visit_rows_agree_with_reference(
        specs in prop::collection::vec(session_spec(), 0..25),
        q in visit_rows_query(),
        built in prop::collection::vec(any::<bool>(), 8),
        few in any::<bool>(),
    ) {
        let events = build_day_bound(&if few { three_visitors(specs) } else { specs });
        let (_tmp, _store, reader) = store_with(&events);
        build_drawn_days(&reader, &built, &q.local, &[]);
        prop_assert_eq!(reader.query(&q).unwrap(), reference::run(&q, &events), "query {:?}", q);
    }
}

proptest! {
    // Each case builds up to eight days of roll-ups (50 statements each): fewer cases than above.
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Roll-ups (some days built, the rest read raw) give exactly the reference's answers, and stay
    /// exact when events are written into a built day afterwards.
    #[test]
    fn rollups_agree_with_reference(
        specs in prop::collection::vec(session_spec(), 0..25),
        late in prop::collection::vec(session_spec(), 0..4),
        q in rollup_query(),
        built in prop::collection::vec(any::<bool>(), 8),
    ) {
        let mut events = build_day_bound(&specs);
        let (_tmp, mut store, reader) = store_with(&events);
        let n = build_drawn_days(&reader, &built, &q.local, &q.goals);
        prop_assert_eq!(n, built.iter().filter(|b| **b).count(), "every finished day builds");
        prop_assert_eq!(reader.query(&q).unwrap(), reference::run(&q, &events), "query {:?}", q);

        // The site's goals change: days built for the old set are read raw until their goal
        // cells are rebuilt, and then from the new cells.
        if q.dimensions.contains(&Dimension::Goal) {
            let changed = StatsQuery { goals: goals()[1..].to_vec(), ..q.clone() };
            prop_assert_eq!(reader.query(&changed).unwrap(), reference::run(&changed, &events), "stale goals");
            build_drawn_days(&reader, &built, &q.local, &changed.goals);
            prop_assert_eq!(reader.query(&changed).unwrap(), reference::run(&changed, &events), "rebuilt goals");
        }

        // A back-fill into built days: their roll-ups must give way to the new truth.
        back_fill(&mut store, &mut events, &late, specs.len());
        prop_assert_eq!(reader.query(&q).unwrap(), reference::run(&q, &events), "after back-fill {:?}", q);
    }
}
