//! `GET /sites/{domain}/details/{report}`: one report in full, with every metric of its table
//! in [`super::reports::REPORTS`], a search box (contains, any case), sortable columns and pages of
//! 50 rows. Works without JavaScript: search is a GET form, sorting and paging are links.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::reports::{self, metric_label, report, show, text};
use super::{Loaded, stats_error};
use crate::AppState;
use crate::auth::Caller;
use crate::i18n::Texts;
use crate::pages::{Nav, error_page, render};

const PAGE_SIZE: usize = 50;

/// A sortable column heading.
pub struct Column {
    pub label: &'static str,
    pub href: String,
    /// `ascending` / `descending` for the sorted column (`aria-sort`), else empty.
    pub sort: &'static str,
}

pub struct DetailRow {
    pub label: String,
    pub href: Option<String>,
    pub values: Vec<String>,
}

#[derive(Template)]
#[template(path = "details.html")]
struct DetailsPage {
    title: String,
    nav: Nav,
    narrow: bool,
    t: &'static Texts,
    heading: String,
    back: String,
    search: String,
    fields: Vec<(String, String)>,
    dimension_label: String,
    columns: Vec<Column>,
    rows: Vec<DetailRow>,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
}

/// `GET /sites/{domain}/details/{report}`.
pub async fn view(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, key)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let l = match Loaded::for_route(&state, &caller, &q, &format!("/details/{key}")).await {
        Ok(l) => l,
        Err(res) => return res,
    };
    let t = l.t;
    // The report's dimensions and metrics; custom properties are built from the chosen key.
    let prop_dim;
    let (label, dims, metrics): (String, Vec<&str>, &[&str]) = match (key.as_str(), l.view.get("prop")) {
        ("props", Some(k)) => {
            prop_dim = reports::prop_dimension(k);
            (format!("{}: {k}", t.properties), vec![prop_dim.as_str()], &["visitors", "events"])
        }
        (k, _) => match report(k) {
            Some(r) => ((r.label)(t).to_owned(), r.dimensions.to_vec(), r.metrics),
            None => return error_page(StatusCode::NOT_FOUND, "No such report."),
        },
    };
    let search = q.get("q").map(|s| s.trim().to_owned()).unwrap_or_default();
    let sort = q.get("sort").filter(|s| metrics.contains(&s.as_str())).map_or(metrics[0], String::as_str);
    let dir = if q.get("dir").map(String::as_str) == Some("asc") { "asc" } else { "desc" };
    let page = q.get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1);
    // Search matches any of the row's values (a browser's name or its version).
    let filter = (!search.is_empty()).then(|| {
        let each: Vec<_> = dims.iter().map(|d| json!(["contains", d, [search], {"case_sensitive": false}])).collect();
        if each.len() == 1 { each[0].clone() } else { json!(["or", each]) }
    });
    let (rows, total) = match l.rows(&dims, metrics, PAGE_SIZE, (page - 1) * PAGE_SIZE, filter, Some((sort, dir))).await
    {
        Ok(r) => r,
        Err(e) => return stats_error(e),
    };
    let pages = (total as usize).div_ceil(PAGE_SIZE).max(1);
    // Links keep the search and sort; the view's own parameters come along through `with`.
    let extra = |changes: &[(&str, Option<&str>)]| {
        let mut all: Vec<(&str, Option<&str>)> =
            vec![("q", (!search.is_empty()).then_some(search.as_str())), ("sort", Some(sort)), ("dir", Some(dir))];
        for (k, v) in changes {
            all.retain(|(x, _)| x != k);
            all.push((k, *v));
        }
        l.view.with(&all)
    };
    let columns = metrics
        .iter()
        .map(|m| {
            let sorted = *m == sort;
            let flip = if sorted && dir == "desc" { "asc" } else { "desc" };
            Column {
                label: metric_label(t, m),
                href: extra(&[("sort", Some(m)), ("dir", Some(flip)), ("page", None)]),
                sort: match (sorted, dir) {
                    (false, _) => "",
                    (true, "asc") => "ascending",
                    (true, _) => "descending",
                },
            }
        })
        .collect();
    let dashboard = l.view.at(&format!("/sites/{}", l.site.domain), &[]);
    let rows = rows
        .into_iter()
        .map(|(d, m)| DetailRow {
            label: d.iter().map(text).collect::<Vec<_>>().join(" "),
            // A row filters the dashboard by it.
            href: l.filter_link(&dims, &d, false).map(|h| {
                let qs = h.split_once('?').map_or("", |(_, q)| q);
                format!("/sites/{}?{qs}", l.site.domain)
            }),
            values: metrics.iter().zip(&m).map(|(name, v)| show(l.lang, name, v)).collect(),
        })
        .collect();
    let prev = (page > 1).then(|| extra(&[("page", Some(&(page - 1).to_string()))]));
    let next = (page < pages).then(|| extra(&[("page", Some(&(page + 1).to_string()))]));
    let page_view = DetailsPage {
        title: format!("{label} · {}", l.site.domain),
        nav: Nav::of(&caller),
        narrow: false,
        t,
        heading: label.clone(),
        back: dashboard,
        search,
        fields: l.view.hidden_fields(&["q", "page"]),
        dimension_label: label,
        columns,
        rows,
        page,
        pages,
        prev,
        next,
    };
    render(StatusCode::OK, &page_view)
}
