//! A site's dashboard, server-rendered: top stats with their change against the previous
//! period, a visitors graph (SVG, exact values on hover), and the top sources, pages, countries,
//! browsers and events, each row a link that filters by it. Period and filters live in the URL
//! (Plausible's v1 `period`, `date` and `filters`), so every view can be bookmarked.
//!
//! Numbers come from the same `StatsService` calls as the Stats API, so they always agree.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use tillit_core::stats::api::{SiteCtx, V1Endpoint};
use tillit_core::stats::service::StatsError;

use super::{Nav, error_page, render};
use crate::AppState;
use crate::auth::Caller;

/// The periods offered as links, with their labels.
const PERIODS: [(&str, &str); 6] = [
    ("day", "Today"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("month", "This month"),
    ("6mo", "6 months"),
    ("12mo", "12 months"),
];

/// One top-stat card.
pub struct Stat {
    pub label: &'static str,
    pub value: String,
    /// "+12 %", "−3 %" or empty.
    pub change: String,
    pub up: bool,
}

/// One row of a panel: its label, visitors, and the link that filters by it.
pub struct Row {
    pub label: String,
    pub visitors: u64,
    pub filter_href: String,
}

pub struct Panel {
    pub title: &'static str,
    pub rows: Vec<Row>,
    pub max: u64,
}

/// The graph: an SVG polyline over a 600 × 160 box, and each point's exact value.
pub struct Graph {
    pub points: String,
    pub dots: Vec<(f64, f64, String)>,
    pub max: u64,
}

/// An active filter, with the link that removes it.
pub struct Chip {
    pub text: String,
    pub remove_href: String,
}

/// Everything the dashboard shows for one site, period and filter set.
pub struct Report {
    pub stats: Vec<Stat>,
    pub graph: Graph,
    pub panels: Vec<Panel>,
    pub chips: Vec<Chip>,
    /// (href, label, current) for each period link.
    pub periods: Vec<(String, &'static str, bool)>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    title: String,
    nav: Nav,
    narrow: bool,
    domain: String,
    shared: bool,
    report: Report,
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn href(base: &str, period: &str, filters: &[String]) -> String {
    let mut h = format!("{base}?period={}", enc(period));
    if !filters.is_empty() {
        h.push_str("&filters=");
        h.push_str(&enc(&filters.join(";")));
    }
    h
}

fn number(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Null => "–".to_owned(),
        other => other.to_string(),
    }
}

impl Report {
    /// Loads the report through `StatsService`. `base` is the page's own path (for links).
    pub async fn load(
        state: &AppState,
        site: &SiteCtx,
        q: &HashMap<String, String>,
        base: &str,
    ) -> Result<Report, StatsError> {
        let period = q.get("period").cloned().unwrap_or_else(|| "30d".to_owned());
        let filters: Vec<String> = q
            .get("filters")
            .map(|f| f.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let mut params = HashMap::new();
        params.insert("period".to_owned(), period.clone());
        if let Some(d) = q.get("date") {
            params.insert("date".to_owned(), d.clone());
        }
        if !filters.is_empty() {
            params.insert("filters".to_owned(), filters.join(";"));
        }
        let now = state.clock.now();
        let stats = &state.stats;

        let mut agg = params.clone();
        agg.insert("metrics".into(), "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration".into());
        agg.insert("compare".into(), "previous_period".into());
        let aggregate = stats.v1(site, V1Endpoint::Aggregate, &agg, now).await?;
        let labels = [
            ("visitors", "Unique visitors"),
            ("visits", "Visits"),
            ("pageviews", "Pageviews"),
            ("views_per_visit", "Views per visit"),
            ("bounce_rate", "Bounce rate %"),
            ("visit_duration", "Visit duration (s)"),
        ];
        let cards = labels
            .iter()
            .map(|(key, label)| {
                let r = &aggregate["results"][key];
                let change = r["change"].as_f64();
                Stat {
                    label,
                    value: number(&r["value"]),
                    change: change
                        .map(|c| format!("{}{} %", if c >= 0.0 { "+" } else { "−" }, c.abs()))
                        .unwrap_or_default(),
                    up: change.is_some_and(|c| c >= 0.0),
                }
            })
            .collect();

        let mut ts = params.clone();
        ts.insert("metrics".into(), "visitors".into());
        let series = stats.v1(site, V1Endpoint::Timeseries, &ts, now).await?;
        let values: Vec<(String, u64)> = series["results"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| (r["date"].as_str().unwrap_or("").to_owned(), r["visitors"].as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        let max = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
        let step = if values.len() > 1 { 600.0 / (values.len() - 1) as f64 } else { 0.0 };
        let dots: Vec<(f64, f64, String)> = values
            .iter()
            .enumerate()
            .map(|(i, (date, v))| {
                let x = (i as f64 * step * 10.0).round() / 10.0;
                let y = (150.0 - 140.0 * *v as f64 / max as f64).round();
                (x, y, format!("{date}: {v} visitors"))
            })
            .collect();
        let points = dots.iter().map(|(x, y, _)| format!("{x},{y}")).collect::<Vec<_>>().join(" ");

        let mut panels = Vec::new();
        for (title, property, key) in [
            ("Top sources", "visit:source", "source"),
            ("Top pages", "event:page", "page"),
            ("Countries", "visit:country_name", "country_name"),
            ("Browsers", "visit:browser", "browser"),
            ("Events", "event:name", "name"),
        ] {
            let mut b = params.clone();
            b.insert("property".into(), property.into());
            b.insert("limit".into(), "10".into());
            let out = stats.v1(site, V1Endpoint::Breakdown, &b, now).await?;
            let rows: Vec<Row> = out["results"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .map(|r| {
                            let label = r[key].as_str().map(str::to_owned).unwrap_or_else(|| r[key].to_string());
                            let mut with = filters.clone();
                            with.push(format!("{property}=={}", label.replace(';', "\\;")));
                            Row {
                                filter_href: href(base, &period, &with),
                                visitors: r["visitors"].as_u64().unwrap_or(0),
                                label,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let max = rows.iter().map(|r| r.visitors).max().unwrap_or(0).max(1);
            panels.push(Panel { title, rows, max });
        }

        let chips = filters
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let rest: Vec<String> =
                    filters.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, f)| f.clone()).collect();
                Chip { text: f.clone(), remove_href: href(base, &period, &rest) }
            })
            .collect();
        let periods = PERIODS.iter().map(|(p, label)| (href(base, p, &filters), *label, *p == period)).collect();
        Ok(Report { stats: cards, graph: Graph { points, dots, max }, panels, chips, periods })
    }
}

/// Renders a report page (the dashboard, or a shared link's read-only view).
pub async fn page(
    state: &AppState,
    nav: Nav,
    domain: &str,
    shared: bool,
    q: &HashMap<String, String>,
    base: &str,
) -> Response {
    let Ok(Some(ctx)) = state.stats.site(domain).await else {
        return error_page(StatusCode::NOT_FOUND, "No such site.");
    };
    match Report::load(state, &ctx, q, base).await {
        Ok(report) => render(
            StatusCode::OK,
            &Dashboard {
                title: format!("{domain} analytics"),
                nav,
                narrow: false,
                domain: domain.to_owned(),
                shared,
                report,
            },
        ),
        Err(StatsError::BadRequest(msg)) => error_page(StatusCode::BAD_REQUEST, &msg),
        Err(e) => {
            tracing::error!(error = %e, "dashboard query failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "The statistics are unavailable right now.")
        }
    }
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
    page(&state, Nav::of(&caller), &site.domain, false, &q, &base).await
}
