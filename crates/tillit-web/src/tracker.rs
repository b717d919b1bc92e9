//! The tracker script, served at `/js/script.js` and under Plausible-style names
//! (`/js/script.outbound-links.file-downloads.js`, `/js/plausible.hash.js`, …) so existing snippets
//! work by changing only the host.
//!
//! The base script sends pageviews (including SPA navigation), custom events and the queue of
//! calls made before it loaded; it sets no cookies and writes no storage. Extensions are spliced in
//! where the base has its `/*EXT*/` marker. Each variant is built once and kept, gzipped too.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::AppState;
use crate::error::ApiError;

const CORE: &str = include_str!("../assets/tracker/core.js");
/// Extensions in a fixed splice order, by the names scripts are requested with.
const EXTENSIONS: [(&str, &str); 5] = [
    ("hash", include_str!("../assets/tracker/hash.js")),
    ("outbound-links", include_str!("../assets/tracker/outbound.js")),
    ("file-downloads", include_str!("../assets/tracker/downloads.js")),
    ("tagged-events", include_str!("../assets/tracker/tagged.js")),
    ("engagement", include_str!("../assets/tracker/engagement.js")),
];
/// Plausible extension names that need nothing extra here (props, revenue and 404s are in the
/// base script) or that are accepted for compatibility only.
const ACCEPTED: [&str; 9] =
    ["js", "local", "manual", "revenue", "pageview-props", "exclusions", "compat", "pageleave", "live"];
const BASES: [&str; 4] = ["script", "plausible", "analytics", "tillit"];

/// One built variant.
pub struct Script {
    pub plain: Vec<u8>,
    pub gzip: Vec<u8>,
    etag: String,
}

/// Built variants, by their sorted extension set.
#[derive(Default)]
pub struct Scripts(Mutex<HashMap<u8, Arc<Script>>>);

impl Scripts {
    /// The script for a file name, or `None` if the name is not a tracker.
    pub fn for_file(&self, file: &str) -> Option<Arc<Script>> {
        let mut parts = file.strip_suffix(".js")?.split('.');
        if !BASES.contains(&parts.next()?) {
            return None;
        }
        let mut mask = 0u8;
        for part in parts {
            let ext = if part == "pageleave" { "engagement" } else { part };
            match EXTENSIONS.iter().position(|(name, _)| *name == ext) {
                Some(i) => mask |= 1 << i,
                None if ACCEPTED.contains(&part) => {}
                None => return None,
            }
        }
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Some(cache.entry(mask).or_insert_with(|| Arc::new(build(mask))).clone())
    }
}

fn build(mask: u8) -> Script {
    let ext: String =
        EXTENSIONS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, (_, js))| *js).collect();
    let plain = CORE.replace("/*EXT*/\n", &ext).into_bytes();
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let gzip = enc.write_all(&plain).and_then(|()| enc.finish()).unwrap_or_default();
    let etag = format!("\"{:x}-{mask}\"", plain.len());
    Script { plain, gzip, etag }
}

pub async fn get(State(state): State<AppState>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(script) = state.tracker.for_file(&file) else {
        return ApiError::NotFound(format!("no tracker script named {file}")).into_response();
    };
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(script.etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
        && !script.gzip.is_empty();
    let body = if gzip_ok { script.gzip.clone() } else { script.plain.clone() };
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/javascript; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400, must-revalidate"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(etag) = HeaderValue::from_str(&script.etag) {
        h.insert(header::ETAG, etag);
    }
    if gzip_ok {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_script_is_under_a_kilobyte_gzipped() {
        let s = Scripts::default().for_file("script.js").unwrap();
        assert!(s.gzip.len() <= 1000, "base tracker is {} bytes gzipped", s.gzip.len());
        assert!(!String::from_utf8_lossy(&s.plain).contains("/*EXT*/"));
        assert!(!String::from_utf8_lossy(&s.plain).contains("cookie"));
    }

    #[test]
    fn plausible_names_select_extensions_in_any_order() {
        let scripts = Scripts::default();
        let a = scripts.for_file("script.outbound-links.file-downloads.js").unwrap();
        let b = scripts.for_file("plausible.file-downloads.outbound-links.js").unwrap();
        assert_eq!(a.plain, b.plain);
        let text = String::from_utf8_lossy(&a.plain);
        assert!(text.contains("Outbound Link: Click") && text.contains("File Download"));
        assert!(scripts.for_file("script.hash.local.manual.js").is_some());
        assert!(scripts.for_file("script.bogus.js").is_none());
        assert!(scripts.for_file("evil.js").is_none());
        assert!(
            scripts.for_file("script.pageleave.js").unwrap().plain.len()
                > scripts.for_file("script.js").unwrap().plain.len()
        );
    }
}
