//! `GET /sites/{domain}/export`: every report of the current view (period and filters) as CSV
//! files in one zip, named and shaped like Plausible's dashboard export (`visitors.csv`,
//! `sources.csv`, …, `custom_props.csv`), so scripts written for one read the other.
//!
//! Values are raw (no locale formatting). A cell that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`) gets a leading apostrophe: dimension values come from
//! visitors' browsers and must not execute on the analyst's machine.

use std::collections::HashMap;
use std::io::Write;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tillit_core::stats::service::StatsError;
use zip::write::SimpleFileOptions;

use super::reports::{REPORTS, prop_dimension, text};
use super::{Loaded, stats_error};
use crate::AppState;
use crate::auth::Caller;
use crate::pages::error_page;

/// Rows per report (Plausible's caps).
const ROWS: usize = 300;
const PAGE_ROWS: usize = 100;

/// One CSV field, quoted when needed and defused when a spreadsheet would run it.
fn field(out: &mut String, v: &str) {
    let defused = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_owned() };
    if defused.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&defused.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&defused);
    }
}

pub(crate) fn line(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push_str("\r\n");
}

fn raw(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => text(other),
    }
}

/// Builds every file: (name, CSV text).
async fn files(l: &Loaded) -> Result<Vec<(String, String)>, StatsError> {
    let mut files = Vec::new();

    // visitors.csv: the time series, every bucket of the period.
    let metrics: Vec<&str> = ["visitors", "pageviews", "visits", "views_per_visit", "bounce_rate", "visit_duration"]
        .into_iter()
        .filter(|m| *m != "views_per_visit" || !l.view.filters_on("event:page"))
        .collect();
    let interval = l.view.interval(&l.span);
    let mut csv = String::new();
    line(
        &mut csv,
        &std::iter::once("date".to_owned()).chain(metrics.iter().map(|m| (*m).to_owned())).collect::<Vec<_>>(),
    );
    for (label, values) in l.series(&metrics, interval, None).await? {
        line(&mut csv, &std::iter::once(label).chain(values.iter().map(raw)).collect::<Vec<_>>());
    }
    files.push(("visitors.csv".to_owned(), csv));

    for r in REPORTS {
        if r.key == "goals" && l.site.goals.is_empty() {
            continue;
        }
        let cap = if matches!(r.key, "pages" | "exit_pages") { PAGE_ROWS } else { ROWS };
        let (rows, _) = l.rows(r.dimensions, r.metrics, cap, 0, None, None).await?;
        let mut csv = String::new();
        let names: Vec<String> = match r.dimensions {
            [_, _] => vec!["name".into(), "version".into()],
            [d] => vec![d.rsplit(':').next().unwrap_or(d).replace("_name", "").to_owned()],
            _ => Vec::new(),
        };
        line(&mut csv, &names.into_iter().chain(r.csv.1.iter().map(|m| (*m).to_owned())).collect::<Vec<_>>());
        for (dims, mets) in rows {
            line(&mut csv, &dims.iter().chain(mets.iter()).map(raw).collect::<Vec<_>>());
        }
        files.push((r.csv.0.to_owned(), csv));
    }

    // custom_props.csv: the top 25 keys, 300 values each.
    let keys = l.state.stats.prop_keys(&l.site, l.span.range.start, l.span.range.end).await?;
    let mut csv = String::new();
    line(&mut csv, &["property", "value", "visitors", "events"].map(str::to_owned));
    for key in keys {
        let dim = prop_dimension(&key);
        let (rows, _) = l.rows(&[&dim], &["visitors", "events"], ROWS, 0, None, None).await?;
        for (dims, mets) in rows {
            let mut row = vec![key.clone()];
            row.extend(dims.iter().chain(mets.iter()).map(raw));
            line(&mut csv, &row);
        }
    }
    files.push(("custom_props.csv".to_owned(), csv));
    Ok(files)
}

pub(crate) fn zip(files: &[(String, String)]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in files {
        w.start_file(name.as_str(), opts)?;
        w.write_all(body.as_bytes())?;
    }
    Ok(w.finish()?.into_inner())
}

/// `GET /sites/{domain}/export`.
pub async fn download(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let l = match Loaded::for_route(&state, &caller, &q, "/export").await {
        Ok(l) => l,
        Err(res) => return res,
    };
    let files = match files(&l).await {
        Ok(f) => f,
        Err(e) => return stats_error(e),
    };
    let bytes = match zip(&files) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "export zip failed");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "The export could not be built.");
        }
    };
    let name = format!(
        "{}_{}_{}.zip",
        l.site.domain.replace('.', "_"),
        l.span.range.first.strftime("%Y%m%d"),
        l.span.range.last.strftime("%Y%m%d")
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_defused() {
        let mut s = String::new();
        line(&mut s, &["a,b".into(), "say \"hi\"".into(), "=cmd()".into(), "/plain".into()]);
        assert_eq!(s, "\"a,b\",\"say \"\"hi\"\"\",'=cmd(),/plain\r\n");
    }
}
