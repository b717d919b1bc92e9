//! `GET /sites/{domain}/realtime`: visitors now (the last five minutes), a minute-by-minute graph
//! of the last 30 minutes, and the top pages, sources and countries of those 30 minutes. The page
//! reloads itself every 30 seconds (a `<meta>` refresh: no script needed).

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::reports::{report, show, text};
use super::{Loaded, Panel, Row, graph, stats_error};
use crate::AppState;
use crate::auth::Caller;
use crate::i18n::Texts;
use crate::pages::{Nav, render};

#[derive(Template)]
#[template(path = "realtime.html")]
struct RealtimePage {
    title: String,
    nav: Nav,
    narrow: bool,
    t: &'static Texts,
    domain: String,
    current: String,
    graph: graph::Graph,
    graph_label: String,
    panels: Vec<Panel>,
    back: String,
}

/// `GET /sites/{domain}/realtime`.
pub async fn view(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    Query(mut q): Query<HashMap<String, String>>,
) -> Response {
    let back_period = q.get("period").filter(|p| *p != "realtime").cloned();
    q.insert("period".into(), "realtime".into());
    let l = match Loaded::for_route(&state, &caller, &q, "/realtime").await {
        Ok(l) => l,
        Err(res) => return res,
    };
    match load(&l, back_period.as_deref()).await {
        Ok((current, graph, panels, back)) => render(
            StatusCode::OK,
            &RealtimePage {
                title: format!("{} · {}", l.t.realtime, l.site.domain),
                nav: Nav::of(&caller),
                narrow: false,
                t: l.t,
                domain: l.site.domain.clone(),
                current,
                graph,
                graph_label: format!("{}, {}", l.t.visitors, l.t.last_30_minutes),
                panels,
                back,
            },
        ),
        Err(e) => stats_error(e),
    }
}

async fn load(
    l: &Loaded,
    back_period: Option<&str>,
) -> Result<(String, graph::Graph, Vec<Panel>, String), tillit_core::stats::service::StatsError> {
    let current = l.state.stats.realtime_visitors(&l.site, l.now).await?;
    let points: Vec<graph::Point> = l
        .series(&["visitors"], "minute", None)
        .await?
        .into_iter()
        .map(|(lab, v)| {
            let value = v[0].as_f64().unwrap_or(0.0);
            graph::Point { label: lab.get(11..16).unwrap_or(&lab).to_owned(), value, shown: l.lang.int(value as i64) }
        })
        .collect();
    let g = graph::draw(&points, &[], |m| l.lang.int(m as i64));
    let mut panels = Vec::new();
    for (key, title) in [("pages", l.t.top_pages), ("sources", l.t.sources), ("countries", l.t.countries)] {
        let Some(def) = report(key) else { continue };
        let (rows, _) = l.rows(def.dimensions, &["visitors"], 9, 0, None, None).await?;
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|(d, m)| Row {
                label: d.iter().map(text).collect(),
                value: show(l.lang, "visitors", &m[0]),
                bar: m[0].as_u64().unwrap_or(0),
                extra: String::new(),
                href: None,
            })
            .collect();
        let max = rows.iter().map(|r| r.bar).max().unwrap_or(0).max(1);
        panels.push(Panel {
            id: key,
            title,
            tabs: Vec::new(),
            heading: l.t.visitors,
            extra_heading: "",
            rows,
            max,
            details: None,
            empty: l.t.nothing_yet,
            note: "",
            credit: None,
        });
    }
    let back = l.view.at(&format!("/sites/{}", l.site.domain), &[("period", back_period)]);
    Ok((l.lang.int(current as i64), g, panels, back))
}
