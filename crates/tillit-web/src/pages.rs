//! The start page: what Tillit is serving, the sites it knows and how to install the tracker.
//! (The full dashboard lives in its own module once built; this page is the first-run path.)

use std::fmt::Write;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;

use crate::AppState;

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Html<String> {
    let sites = state.app.list_sites().await.unwrap_or_default();
    let counts = state.events.run(|s| s.count(None)).await.ok().and_then(Result::ok).unwrap_or(0);
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost:8000");
    let host = escape(host);
    let mut list = String::new();
    for site in &sites {
        let _ = write!(
            list,
            "<li><strong>{}</strong> <small>({})</small></li>",
            escape(&site.domain),
            escape(&site.timezone)
        );
    }
    if sites.is_empty() {
        list.push_str("<li>No site yet. Add one: <code>tillit site add example.com --timezone Europe/Oslo</code></li>");
    }
    let geo = escape(&state.config.geo_status);
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Tillit</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}}code,pre{{background:#f2f4f7;padding:.1rem .3rem;border-radius:4px}}pre{{padding:.75rem;overflow:auto}}@media(prefers-color-scheme:dark){{body{{background:#111418;color:#e6e8eb}}code,pre{{background:#1d232a}}}}</style></head>
<body><h1>Tillit is running</h1>
<p>Cookieless, consent-free analytics. {counts} events stored.</p>
<h2>Sites</h2><ul>{list}</ul>
<h2>Install the tracker</h2><p>Add this to every page of your site:</p>
<pre>&lt;script defer data-domain="example.com" src="http://{host}/js/script.js"&gt;&lt;/script&gt;</pre>
<p>Plausible snippets work too: change only the host.</p>
<h2>Location</h2><p>{geo}</p>
<p><a href="/api/health">Health</a></p></body></html>"#
    ))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
