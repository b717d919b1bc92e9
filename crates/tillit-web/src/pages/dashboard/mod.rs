//! A site's dashboard, server-rendered: top stats with their change against a comparison period,
//! the main graph (any top stat, chosen interval, optional comparison line), and panels with tabs
//! (sources and campaigns, pages, locations, devices, goals, custom properties, funnels) whose
//! rows filter by a click. The whole view lives in the URL (see [`view`]).
//!
//! - this module: loading a site's view and the dashboard page;
//! - [`view`]: the URL's parameters and the links that change them;
//! - [`reports`]: the table of reports shared by panels, details pages and the CSV export;
//! - [`graph`]: SVG line charts;
//! - [`details`]: one report in full, with search, sorting and paging;
//! - [`realtime`]: the last 30 minutes, refreshing itself;
//! - [`export`]: every report as CSV, in one zip.
//!
//! Numbers come from the Stats API v2 query document through `StatsService`, the same path API
//! clients use, so the dashboard and the API always agree.

pub mod details;
pub mod export;
pub mod graph;
pub mod realtime;
pub mod reports;
pub mod view;

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::future::try_join_all;
use serde_json::{Map, Value, json};

use tillit_core::access::Permission;
use tillit_core::i18n::Lang;
use tillit_core::stats::api::{SiteCtx, comparison_range};
use tillit_core::stats::period;
use tillit_core::stats::period::Range;
use tillit_core::stats::service::StatsError;

use self::reports::{PANELS, metric_label, report, show, text};
use self::view::{Op, Span, Term, View, presets};
use super::{Nav, error_page, render};
use crate::AppState;
use crate::auth::Caller;
use crate::i18n::Texts;

/// A site's view, resolved: what every dashboard page starts from.
pub struct Loaded {
    pub state: AppState,
    pub site: SiteCtx,
    pub view: View,
    pub span: Span,
    pub t: &'static Texts,
    pub lang: Lang,
    pub now: i64,
}

/// Why a view could not be shown, as a page.
pub fn stats_error(e: StatsError) -> Response {
    match e {
        StatsError::BadRequest(msg) => error_page(StatusCode::BAD_REQUEST, &msg),
        e => {
            tracing::error!(error = %e, "dashboard query failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "The statistics are unavailable right now.")
        }
    }
}

impl Loaded {
    /// Resolves `domain` and the URL's view. `base` is the page's own path (links go there).
    pub async fn new(
        state: &AppState,
        domain: &str,
        q: &HashMap<String, String>,
        base: &str,
        lang: Lang,
    ) -> Result<Loaded, Response> {
        let mut site = match state.stats.site(domain).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(error_page(StatusCode::NOT_FOUND, "No such site.")),
            Err(e) => return Err(stats_error(e)),
        };
        let view = View::parse(base, q);
        if view.period == "all" {
            site.first_event = state.stats.first_event(&site).await.map_err(stats_error)?;
        }
        let now = state.clock.now();
        let span = view.span(&site, now).map_err(|m| error_page(StatusCode::BAD_REQUEST, &m))?;
        Ok(Loaded { state: state.clone(), site, view, span, t: Texts::of(lang), lang, now })
    }

    /// [`Loaded::new`] for the site a route's access rule was checked against; `suffix` is the
    /// page's path below `/sites/{domain}`.
    pub async fn for_route(
        state: &AppState,
        caller: &Caller,
        q: &HashMap<String, String>,
        suffix: &str,
    ) -> Result<Loaded, Response> {
        let Some(site) = caller.site.as_ref() else {
            return Err(error_page(StatusCode::NOT_FOUND, "No such site."));
        };
        let base = format!("/sites/{}{suffix}", site.domain);
        Loaded::new(state, &site.domain, q, &base, caller.lang).await
    }

    /// `metrics` per `interval` bucket over the view's period (or over `other`, a comparison
    /// range): every bucket's label, with zeros where nothing happened.
    pub async fn series(
        &self,
        metrics: &[&str],
        interval: &str,
        other: Option<&Range>,
    ) -> Result<Vec<(String, Vec<Value>)>, StatsError> {
        let mut body = self.body(metrics, &[&format!("time:{interval}")]);
        body.insert("include".into(), json!({"time_labels": true}));
        if let Some(range) = other {
            body.insert("date_range".into(), json!([range.first.to_string(), range.last.to_string()]));
        }
        let out = self.query(body).await?;
        let by_label: HashMap<String, &Value> = out["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| (text(&r["dimensions"][0]), &r["metrics"]))
            .collect();
        let labels = out["meta"]["time_labels"].as_array().into_iter().flatten();
        Ok(labels
            .map(|lab| {
                let lab = text(lab);
                let values = match by_label.get(&lab) {
                    Some(m) => (0..metrics.len()).map(|i| m[i].clone()).collect(),
                    None => vec![json!(0); metrics.len()],
                };
                (lab, values)
            })
            .collect())
    }

    /// A v2 query document over this view's period and filters.
    pub fn body(&self, metrics: &[&str], dimensions: &[&str]) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("site_id".into(), json!(self.site.domain));
        m.insert("date_range".into(), self.span.v2.clone());
        m.insert("metrics".into(), json!(metrics));
        if !dimensions.is_empty() {
            m.insert("dimensions".into(), json!(dimensions));
        }
        m.insert("filters".into(), self.view.v2_filters());
        m
    }

    pub async fn query(&self, body: Map<String, Value>) -> Result<Value, StatsError> {
        self.state.stats.dashboard(&self.site, &Value::Object(body), self.now).await
    }

    /// The top `limit` rows of a breakdown by `dimensions`, first metric first.
    pub async fn rows(
        &self,
        dimensions: &[&str],
        metrics: &[&str],
        limit: usize,
        offset: usize,
        extra_filter: Option<Value>,
        order: Option<(&str, &str)>,
    ) -> Result<(Vec<(Vec<Value>, Vec<Value>)>, u64), StatsError> {
        let mut body = self.body(metrics, dimensions);
        body.insert("pagination".into(), json!({"limit": limit, "offset": offset}));
        body.insert("include".into(), json!({"total_rows": true}));
        if let Some(f) = extra_filter
            && let Some(Value::Array(list)) = body.get_mut("filters")
        {
            list.push(f);
        }
        if let Some((key, dir)) = order {
            body.insert("order_by".into(), json!([[key, dir]]));
        }
        let out = self.query(body).await?;
        let total = out["meta"]["total_rows"].as_u64().unwrap_or(0);
        let rows = out["results"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        let dims = r["dimensions"].as_array().cloned().unwrap_or_default();
                        let mets = r["metrics"].as_array().cloned().unwrap_or_default();
                        (dims, mets)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((rows, total))
    }

    /// The link that adds `dimension is value` terms to the filters (or `None` where the panel
    /// is itself filtered, or on a shared link).
    pub fn filter_link(&self, dims: &[&str], values: &[Value], shared: bool) -> Option<String> {
        if shared || dims.iter().any(|d| self.view.filters_on(d)) {
            return None;
        }
        let mut terms = self.view.terms.clone();
        for (d, v) in dims.iter().zip(values) {
            let value = text(v).replace('|', "\\|").replace(';', "\\;");
            if value.is_empty() {
                return None;
            }
            terms.push(Term { dimension: (*d).to_owned(), op: Op::Is, value });
        }
        Some(self.view.with_terms(&terms))
    }
}

/// A top-stat card.
pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub change: String,
    /// The change is good news (green) or bad news (red); neither when flat or unknown.
    pub good: bool,
    pub bad: bool,
    pub href: String,
    pub current: bool,
}

/// A panel tab.
pub struct Tab {
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// A panel row.
pub struct Row {
    pub label: String,
    pub value: String,
    pub bar: u64,
    pub extra: String,
    pub href: Option<String>,
}

pub struct Panel {
    pub id: &'static str,
    pub title: &'static str,
    pub tabs: Vec<Tab>,
    pub heading: &'static str,
    pub extra_heading: &'static str,
    pub rows: Vec<Row>,
    pub max: u64,
    pub details: Option<String>,
    pub empty: &'static str,
    /// Shown under the rows (how to turn on regions and cities).
    pub note: &'static str,
    /// A credit the data's licence asks for, linked.
    pub credit: Option<Credit>,
}

/// A linked credit for data shown (the built-in country database's licence asks for one).
pub struct Credit {
    pub text: &'static str,
    pub url: &'static str,
}

/// A link in a menu: target, label, keyboard shortcut, whether it is the current choice.
pub struct Choice {
    pub href: String,
    pub label: String,
    pub key: &'static str,
    pub current: bool,
}

pub struct Chip {
    pub text: String,
    pub remove_href: String,
}

pub struct FunnelStep {
    pub name: String,
    pub visitors: String,
    pub conversion: String,
    pub dropoff: String,
    pub bar: u64,
}

/// The site switcher's entries.
pub struct SiteLink {
    pub domain: String,
    pub href: String,
    pub current: bool,
}

const GRAPH_METRICS: [&str; 6] =
    ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"];

/// The top metrics a view can show: views per visit mean nothing under a page filter (Plausible
/// refuses them there too).
pub(crate) fn top_metrics(view: &View) -> Vec<&'static str> {
    let page_filter = view.filters_on("event:page");
    GRAPH_METRICS.into_iter().filter(|m| !(page_filter && *m == "views_per_visit")).collect()
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    title: String,
    nav: Nav,
    narrow: bool,
    t: &'static Texts,
    domain: String,
    shared: bool,
    manage: bool,
    ledger: bool,
    period_label: String,
    presets: Vec<Choice>,
    custom_fields: Vec<(String, String)>,
    from: String,
    to: String,
    prev: Option<String>,
    next: Option<String>,
    compare: Vec<Choice>,
    compare_fields: Vec<(String, String)>,
    compare_toggle: String,
    intervals: Vec<Choice>,
    interval_next: String,
    sites: Vec<SiteLink>,
    chips: Vec<Chip>,
    clear_filters: String,
    filter_fields: Vec<(String, String)>,
    filter_dims: Vec<(&'static str, &'static str)>,
    ops: Vec<(&'static str, &'static str)>,
    cards: Vec<Card>,
    graph: graph::Graph,
    graph_label: String,
    panels: Vec<Panel>,
    props: Panel,
    funnel_tabs: Vec<Tab>,
    funnel: Vec<FunnelStep>,
    no_events: bool,
    snippet: String,
    export_href: String,
    realtime_href: String,
    settings_href: String,
    ledger_href: String,
    utm_href: String,
}

/// What the filter editor offers.
fn filter_dims(t: &Texts) -> Vec<(&'static str, &'static str)> {
    vec![
        ("event:page", t.top_pages),
        ("visit:entry_page", t.entry_pages),
        ("visit:exit_page", t.exit_pages),
        ("visit:source", t.sources),
        ("visit:channel", t.channels),
        ("visit:utm_medium", t.utm_medium),
        ("visit:utm_source", t.utm_source),
        ("visit:utm_campaign", t.utm_campaign),
        ("visit:utm_content", t.utm_content),
        ("visit:utm_term", t.utm_term),
        ("visit:country_name", t.countries),
        ("visit:region_name", t.regions),
        ("visit:city_name", t.cities),
        ("visit:browser", t.browsers),
        ("visit:os", t.operating_systems),
        ("visit:device", t.screen_sizes),
        ("event:goal", t.goals),
        ("event:name", t.events),
        ("event:hostname", t.domain),
    ]
}

/// How a filter chip reads: `Sources is Google`.
fn chip_text(t: &Texts, term: &Term) -> String {
    let dim = filter_dims(t)
        .into_iter()
        .find(|(d, _)| *d == term.dimension)
        .map_or_else(|| term.dimension.clone(), |(_, l)| l.to_owned());
    format!("{dim} {} {}", term.op.label(t), term.value.replace("\\;", ";").replace('|', " | "))
}

/// The period as a heading: `Last 30 days`, or the dates of a moved or custom period.
fn period_label(l: &Loaded) -> String {
    let named = presets(l.t).iter().find(|(p, _, _)| *p == l.view.period).map(|(_, label, _)| *label);
    let (first, last) = (l.span.range.first, l.span.range.last);
    match (named, l.view.get("date")) {
        (Some(label), None) if l.view.period != "custom" => label.to_owned(),
        _ if first == last => l.lang.date(first),
        _ if matches!(l.view.period.as_str(), "month" | "lastmonth") => l.lang.month_year(first),
        _ => format!("{} – {}", l.lang.date(first), l.lang.date(last)),
    }
}

/// A time bucket's label for people, from the Stats API's `2026-11-26` or `2026-11-26 14:00:00`.
fn bucket_label(lang: Lang, interval: &str, label: &str) -> String {
    let date = label.get(..10).and_then(|d| period::parse_date(d).ok());
    match (interval, date) {
        ("minute" | "hour", _) => label.get(11..16).unwrap_or(label).to_owned(),
        ("month", Some(d)) => lang.month_year(d),
        (_, Some(d)) => lang.day_month(d),
        _ => label.to_owned(),
    }
}

async fn load_panel(
    l: &Loaded,
    id: &'static str,
    title: &'static str,
    tabs: &[&str],
    shared: bool,
) -> Result<Panel, StatsError> {
    // A site without goals shows its custom events first.
    let default = if id == "goals" && l.site.goals.is_empty() { "events" } else { tabs[0] };
    let chosen = l.view.get(id).filter(|k| tabs.contains(k)).unwrap_or(default);
    let def = report(chosen).ok_or_else(|| StatsError::Internal(format!("unknown report {chosen}")))?;
    let tabs = tabs
        .iter()
        .filter_map(|k| report(k))
        .map(|r| Tab {
            label: (r.label)(l.t).to_owned(),
            href: format!("{}#{id}", l.view.with(&[(id, Some(r.key))])),
            current: r.key == def.key,
        })
        .collect();
    let mut metrics = vec![def.metrics[0]];
    metrics.extend(def.panel_extra);
    let (rows, _) = l.rows(def.dimensions, &metrics, 9, 0, None, None).await?;
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(dims, mets)| Row {
            label: dims.iter().map(text).collect::<Vec<_>>().join(" "),
            value: show(l.lang, def.metrics[0], &mets[0]),
            bar: mets[0].as_u64().unwrap_or(0),
            extra: def.panel_extra.zip(mets.get(1)).map(|(m, v)| show(l.lang, m, v)).unwrap_or_default(),
            href: l.filter_link(def.dimensions, &dims, shared),
        })
        .collect();
    let max = rows.iter().map(|r| r.bar).max().unwrap_or(0).max(1);
    let details = (!shared).then(|| l.view.at(&format!("/sites/{}/details/{}", l.site.domain, def.key), &[]));
    let builtin_geo = id == "locations" && l.state.config.geo_builtin;
    let note = if builtin_geo { l.t.no_geo } else { "" };
    let credit = builtin_geo.then_some(Credit {
        text: tillit_core::ingest::geo::BUILTIN_ATTRIBUTION,
        url: tillit_core::ingest::geo::BUILTIN_ATTRIBUTION_URL,
    });
    let empty = if def.key == "goals" && l.site.goals.is_empty() { l.t.no_goals } else { l.t.nothing_yet };
    Ok(Panel {
        id,
        title,
        tabs,
        heading: metric_label(l.t, def.metrics[0]),
        extra_heading: def.panel_extra.map_or("", |m| metric_label(l.t, m)),
        rows,
        max,
        details,
        empty,
        note,
        credit,
    })
}

/// Custom properties: one tab per key used in the period's last week, and the values of the key
/// chosen. Values are fetched only once a key is chosen: breaking events down by a property scans
/// every event of the period (properties are not rolled up), which would make every dashboard
/// view wait for a panel most views don't look at.
async fn load_props(l: &Loaded, shared: bool) -> Result<Panel, StatsError> {
    let since = l.span.range.start.max(l.span.range.end - 7 * 86_400);
    let keys = l.state.stats.prop_keys(&l.site, since, l.span.range.end).await?;
    let mut panel = Panel {
        id: "props",
        title: l.t.properties,
        tabs: Vec::new(),
        heading: l.t.visitors,
        extra_heading: l.t.events,
        rows: Vec::new(),
        max: 1,
        details: None,
        empty: l.t.no_props,
        note: "",
        credit: None,
    };
    let chosen = l.view.get("prop");
    panel.tabs = keys
        .iter()
        .map(|k| Tab {
            label: k.clone(),
            href: format!("{}#props", l.view.with(&[("prop", Some(k))])),
            current: Some(k.as_str()) == chosen,
        })
        .collect();
    let Some(chosen) = chosen else {
        if !keys.is_empty() {
            panel.empty = l.t.choose_property;
        }
        return Ok(panel);
    };
    panel.empty = l.t.nothing_yet;
    let dim = reports::prop_dimension(chosen);
    let (rows, _) = l.rows(&[&dim], &["visitors", "events"], 9, 0, None, None).await?;
    panel.rows = rows
        .into_iter()
        .map(|(dims, mets)| Row {
            label: dims.iter().map(text).collect(),
            value: show(l.lang, "visitors", &mets[0]),
            bar: mets[0].as_u64().unwrap_or(0),
            extra: show(l.lang, "events", &mets[1]),
            href: l.filter_link(&[&dim], &dims, shared),
        })
        .collect();
    panel.max = panel.rows.iter().map(|r| r.bar).max().unwrap_or(0).max(1);
    panel.details =
        (!shared).then(|| l.view.at(&format!("/sites/{}/details/props", l.site.domain), &[("prop", Some(chosen))]));
    Ok(panel)
}

/// The chosen funnel's steps (tabs for the others).
async fn load_funnel(l: &Loaded) -> Result<(Vec<Tab>, Vec<FunnelStep>), StatsError> {
    let funnels = l.state.app.funnels(l.site.id).await.map_err(|e| StatsError::Internal(e.to_string()))?;
    let Some(chosen) = l
        .view
        .get("funnel")
        .filter(|n| funnels.iter().any(|f| f.name == *n))
        .or(funnels.first().map(|f| f.name.as_str()))
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let tabs = funnels
        .iter()
        .map(|f| Tab {
            label: f.name.clone(),
            href: format!("{}#funnels", l.view.with(&[("funnel", Some(&f.name))])),
            current: f.name == chosen,
        })
        .collect();
    let body = Value::Object(l.body(&["visitors"], &[]));
    let out = l.state.stats.funnel_v2(&l.site, chosen, &body, l.now).await?;
    let steps = out["results"]["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|s| FunnelStep {
                    name: text(&s["name"]),
                    visitors: show(l.lang, "visitors", &s["visitors"]),
                    conversion: show(l.lang, "conversion_rate", &s["conversion_rate"]),
                    dropoff: show(l.lang, "visitors", &s["dropoff"]),
                    bar: s["conversion_rate"].as_f64().unwrap_or(0.0).round() as u64,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((tabs, steps))
}

/// The comparison range's `include.comparisons` document, if one is chosen (cards always compare:
/// with the previous period unless told otherwise).
fn comparison(view: &View) -> Option<Value> {
    match view.get("compare") {
        Some("off") => None,
        Some("year_over_year") => Some(json!({"mode": "year_over_year"})),
        Some("custom") => match (view.get("compare_from"), view.get("compare_to")) {
            (Some(a), Some(b)) => Some(json!({"mode": "custom", "date_range": [a, b]})),
            _ => Some(json!({"mode": "previous_period"})),
        },
        _ => Some(json!({"mode": "previous_period"})),
    }
}

/// The links to other pages of the site the viewer may follow.
#[derive(Clone, Copy, Debug, Default)]
pub struct Abilities {
    pub manage_site: bool,
    pub manage_ledger: bool,
}

/// Renders a site's dashboard (also what shared links show, with `shared`).
pub async fn page(
    state: &AppState,
    nav: Nav,
    domain: &str,
    shared: bool,
    can: Abilities,
    q: &HashMap<String, String>,
    base: &str,
) -> Response {
    let lang = nav.lang;
    let l = match Loaded::new(state, domain, q, base, lang).await {
        Ok(l) => l,
        Err(res) => return res,
    };
    if l.view.period == "realtime" && !shared {
        return Redirect::to(&l.view.at(&format!("/sites/{}/realtime", l.site.domain), &[("period", None)]))
            .into_response();
    }
    match dashboard(&l, nav, shared, can).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => stats_error(e),
    }
}

async fn dashboard(l: &Loaded, nav: Nav, shared: bool, can: Abilities) -> Result<DashboardPage, StatsError> {
    let (t, view, lang) = (l.t, &l.view, l.lang);
    let top = top_metrics(view);
    let metric = view.get("metric").filter(|m| top.contains(m)).unwrap_or("visitors");
    let interval = view.interval(&l.span);
    let compare = comparison(view);
    let graph_compare = view.get("compare").filter(|c| *c != "off").and(compare.as_ref());

    let mut agg = l.body(&top, &[]);
    if let Some(c) = &compare {
        agg.insert("include".into(), json!({"comparisons": c}));
    }
    let series = async {
        let main = l.series(&[metric], interval, None).await?;
        let other: Vec<f64> = match graph_compare {
            Some(spec) => {
                let today = tillit_core::stats::period::today(&l.site.tz, l.state.clock.now());
                let range = comparison_range(spec, &l.span.range, &l.site.tz, today)
                    .map_err(|e| StatsError::BadRequest(e.0))?;
                let values = l.series(&[metric], interval, Some(&range)).await?;
                values.iter().map(|(_, v)| v[0].as_f64().unwrap_or(0.0)).collect()
            }
            None => Vec::new(),
        };
        Ok::<_, StatsError>((main, other))
    };
    let no_events = async {
        Ok::<_, StatsError>(
            !shared && l.site.first_event.is_none() && l.state.stats.first_event(&l.site).await?.is_none(),
        )
    };
    let panels = try_join_all(PANELS.iter().map(|&(id, title, tabs)| load_panel(l, id, title(t), tabs, shared)));
    // The page's queries run side by side: the store answers several at once, and the page
    // takes as long as its slowest query rather than the sum of all.
    let (out, (main, other), no_events, panels, props, (funnel_tabs, funnel)) =
        tokio::try_join!(l.query(agg), series, no_events, panels, load_props(l, shared), load_funnel(l))?;
    let row = &out["results"][0];
    let cards = top
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let change = row["comparison"]["change"][i].as_f64();
            let (good, bad) = match change {
                Some(c) if c != 0.0 => {
                    let up = c > 0.0;
                    // A rising bounce rate is bad news.
                    if *m == "bounce_rate" { (!up, up) } else { (up, !up) }
                }
                _ => (false, false),
            };
            let unit = if *m == "bounce_rate" { " pp" } else { " %" };
            Card {
                label: if *m == "visitors" { t.unique_visitors } else { metric_label(t, m) },
                value: show(lang, m, &row["metrics"][i]),
                change: change
                    .map(|c| {
                        format!(
                            "{}{}{unit}",
                            if c > 0.0 {
                                "↑ "
                            } else if c < 0.0 {
                                "↓ "
                            } else {
                                ""
                            },
                            lang.decimal(c.abs(), 1)
                        )
                    })
                    .unwrap_or_default(),
                good,
                bad,
                href: view.with(&[("metric", Some(m))]),
                current: *m == metric,
            }
        })
        .collect();
    let points: Vec<graph::Point> = main
        .iter()
        .map(|(lab, v)| graph::Point {
            label: bucket_label(lang, interval, lab),
            value: v[0].as_f64().unwrap_or(0.0),
            shown: show(lang, metric, &v[0]),
        })
        .collect();
    let g = graph::draw(&points, &other, |m| show(lang, metric, &json!(m)));

    let today = period::today(&l.site.tz, l.now);
    let (prev, next) = view.neighbours(&l.span, today);
    let current_compare = view.get("compare").unwrap_or("off");
    let compare_choices = [
        ("off", t.compare_off, "x"),
        ("previous_period", t.previous_period, ""),
        ("year_over_year", t.year_over_year, ""),
    ]
    .into_iter()
    .map(|(c, label, key)| Choice {
        href: view.with(&[("compare", (c != "off").then_some(c)), ("compare_from", None), ("compare_to", None)]),
        label: label.to_owned(),
        key: if current_compare == "off" { "" } else { key },
        current: c == current_compare,
    })
    .collect();
    let compare_toggle = if current_compare == "off" {
        view.with(&[("compare", Some("previous_period"))])
    } else {
        view.with(&[("compare", None), ("compare_from", None), ("compare_to", None)])
    };
    let interval_label = |i: &str| match i {
        "minute" => t.minute,
        "hour" => t.hour,
        "week" => t.week,
        "month" => t.month,
        _ => t.day,
    };
    let intervals: Vec<Choice> = l
        .span
        .intervals
        .iter()
        .map(|i| Choice {
            href: view.with(&[("interval", Some(i))]),
            label: interval_label(i).to_owned(),
            key: "",
            current: *i == interval,
        })
        .collect();
    let pos = l.span.intervals.iter().position(|i| *i == interval).unwrap_or(0);
    let interval_next = view.with(&[("interval", Some(l.span.intervals[(pos + 1) % l.span.intervals.len()]))]);
    let presets = presets(t)
        .into_iter()
        .filter(|(p, _, _)| !shared || *p != "realtime")
        .map(|(p, label, key)| Choice {
            href: if p == "custom" {
                "#custom".to_owned()
            } else {
                view.with(&[("period", Some(p)), ("date", None), ("from", None), ("to", None), ("interval", None)])
            },
            label: label.to_owned(),
            key,
            current: p == view.period,
        })
        .collect();
    let sites = if shared {
        Vec::new()
    } else {
        nav.sites
            .iter()
            .map(|d| SiteLink {
                domain: d.clone(),
                href: view.at(&format!("/sites/{d}"), &[("filters", None), ("prop", None), ("funnel", None)]),
                current: *d == l.site.domain,
            })
            .collect()
    };
    let chips = view
        .terms
        .iter()
        .enumerate()
        .map(|(i, term)| {
            let rest: Vec<Term> =
                view.terms.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, x)| x.clone()).collect();
            Chip { text: chip_text(t, term), remove_href: view.with_terms(&rest) }
        })
        .collect();
    let domain = l.site.domain.clone();
    let origin = l.state.config.public_url.trim_end_matches('/').to_owned();
    Ok(DashboardPage {
        title: domain.clone(),
        nav,
        narrow: false,
        t,
        shared,
        manage: can.manage_site,
        ledger: can.manage_ledger,
        period_label: period_label(l),
        presets,
        custom_fields: view.hidden_fields(&["period", "date", "from", "to", "interval"]),
        from: l.span.range.first.to_string(),
        to: l.span.range.last.to_string(),
        prev,
        next,
        compare: compare_choices,
        compare_fields: view.hidden_fields(&["compare", "compare_from", "compare_to"]),
        compare_toggle,
        intervals,
        interval_next,
        sites,
        chips,
        clear_filters: view.with_terms(&[]),
        filter_fields: view.hidden_fields(&[]),
        filter_dims: filter_dims(t),
        ops: Op::ALL.iter().map(|o| (o.token(), o.label(t))).collect(),
        cards,
        graph: g,
        graph_label: format!("{}, {}", metric_label(t, metric), period_label(l)),
        panels,
        props,
        funnel_tabs,
        funnel,
        no_events,
        snippet: format!("<script defer data-domain=\"{domain}\" src=\"{origin}/js/script.js\"></script>"),
        export_href: view.at(&format!("/sites/{domain}/export"), &[]),
        realtime_href: view.at(&format!("/sites/{domain}/realtime"), &[]),
        settings_href: format!("/sites/{domain}/settings"),
        ledger_href: format!("/sites/{domain}/ledger"),
        utm_href: format!("/sites/{domain}/utm"),
        domain,
    })
}

/// `GET /sites/{domain}`: the dashboard of a site the caller may view (checked by the guard).
pub async fn view(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(site) = caller.site.clone() else {
        return error_page(StatusCode::NOT_FOUND, "No such site.");
    };
    let base = format!("/sites/{}", site.domain);
    let can = Abilities {
        manage_site: caller.principal.can(Permission::ManageSite, Some(site.id)),
        manage_ledger: caller.principal.can(Permission::ManageLedger, Some(site.id)),
    };
    let nav = Nav::with_sites(&state, &caller).await;
    page(&state, nav, &site.domain, false, can, &q, &base).await
}

/// The start page's summary of a site: its visitors over the view's period, and a sparkline.
pub async fn summary(
    state: &AppState,
    domain: &str,
    q: &HashMap<String, String>,
    lang: Lang,
) -> Option<(String, String)> {
    let l = Loaded::new(state, domain, q, "/", lang).await.ok()?;
    let out = l.query(l.body(&["visitors"], &[])).await.ok()?;
    let visitors = show(lang, "visitors", &out["results"][0]["metrics"][0]);
    let interval = l.view.interval(&l.span);
    let series = l.series(&["visitors"], interval, None).await.ok()?;
    let values: Vec<f64> = series.iter().map(|(_, v)| v[0].as_f64().unwrap_or(0.0)).collect();
    Some((visitors, graph::sparkline(&values)))
}
