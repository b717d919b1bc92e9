//! A site's settings page (people who may manage the site): domain, time zone and retention;
//! goals; funnels; shared links; the tracking snippet with an installation check. Also the
//! campaign URL builder, and adding a site from the start page.
//!
//! Every change goes through the same functions as the admin API (`crate::api::*`), so validation
//! and the audit log are the same whichever way it was made. A refused change shows the page
//! again with the reason and the HTTP status the API would have answered.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use tillit_core::goals::GoalSpec;
use tillit_store::app::accounts::SharedLink;
use tillit_store::app::{FunnelRow, GoalRow, Site};

use super::{Nav, error_page, field, form, render};
use crate::AppState;
use crate::api;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Texts;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    title: String,
    nav: Nav,
    narrow: bool,
    t: &'static Texts,
    site: Site,
    base: String,
    dashboard: String,
    message: String,
    error: String,
    goals: Vec<GoalRow>,
    funnels: Vec<FunnelRow>,
    links: Vec<(SharedLink, String)>,
    zones: Vec<String>,
    snippet: String,
    first_event: String,
}

async fn settings_page(state: &AppState, caller: &Caller, status: StatusCode, message: &str, error: &str) -> Response {
    let Some(site) = caller.site.clone() else {
        return error_page(StatusCode::NOT_FOUND, "No such site.");
    };
    let t = Texts::of(caller.lang);
    let load = async {
        let goals = state.app.goals(site.id).await?;
        let funnels = state.app.funnels(site.id).await?;
        let links = state.app.shared_links(site.id).await?;
        Ok::<_, tillit_store::app::AppStoreError>((goals, funnels, links))
    };
    let (goals, funnels, links) = match load.await {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "settings unavailable");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "The application store is unavailable.");
        }
    };
    let first_event = match state.stats.site(&site.domain).await {
        Ok(Some(ctx)) => state.stats.first_event(&ctx).await.ok().flatten(),
        _ => None,
    };
    let first_event = first_event
        .and_then(|ts| jiff::Timestamp::from_second(ts).ok())
        .map(|ts| {
            let local = ts.to_zoned(tillit_core::stats::period::zone(&site.timezone));
            format!("{} {}", caller.lang.date(local.date()), local.strftime("%H:%M"))
        })
        .unwrap_or_default();
    let origin = state.config.public_url.trim_end_matches('/').to_owned();
    let links = links.into_iter().filter(|l| l.revoked_at.is_none()).map(|l| {
        let url = api::links::link_url(state, &l);
        (l, url)
    });
    let page = SettingsPage {
        title: format!("{} · {}", t.settings, site.domain),
        nav: Nav::of(caller),
        narrow: false,
        t,
        base: format!("/sites/{}/settings", site.domain),
        dashboard: format!("/sites/{}", site.domain),
        message: message.to_owned(),
        error: error.to_owned(),
        goals,
        funnels,
        links: links.collect(),
        zones: jiff::tz::db().available().map(|n| n.as_str().to_owned()).collect(),
        snippet: format!("<script defer data-domain=\"{}\" src=\"{origin}/js/script.js\"></script>", site.domain),
        first_event,
        site,
    };
    render(status, &page)
}

/// `GET /sites/{domain}/settings`.
pub async fn view(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let t = Texts::of(caller.lang);
    let message = if q.contains_key("saved") { t.saved } else { "" };
    settings_page(&state, &caller, StatusCode::OK, message, "").await
}

/// After a change: back to the settings (of the possibly renamed site), or the page with the
/// reason it was refused.
async fn done(state: &AppState, caller: &Caller, domain: &str, result: Result<(), ApiError>) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/sites/{domain}/settings?saved=1")).into_response(),
        Err(e) => settings_page(state, caller, e.status(), "", &e.to_string()).await,
    }
}

fn current_domain(caller: &Caller) -> String {
    caller.site.as_ref().map(|s| s.domain.clone()).unwrap_or_default()
}

/// `POST /sites/{domain}/settings`: domain, time zone, retention.
pub async fn general(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let retention = field(&f, "retention_days").trim().parse::<u32>().unwrap_or(0);
    let result = api::sites::update_site(&state, &caller, field(&f, "domain"), field(&f, "timezone"), retention).await;
    match result {
        Ok(site) => done(&state, &caller, &site.domain, Ok(())).await,
        Err(e) => done(&state, &caller, "", Err(e)).await,
    }
}

/// `POST /sites/{domain}/settings/{section}`: adds a goal (an event name or a page path, and a
/// display name), a funnel (a name and one goal per line) or a shared link.
pub async fn add(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, section)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let opt = |k: &str| Some(field(&f, k).trim().to_owned()).filter(|v| !v.is_empty());
    let result = match section.as_str() {
        "goals" => match opt("scroll_threshold").map(|t| t.parse::<i64>()).transpose() {
            Ok(scroll_threshold) => {
                let spec = GoalSpec {
                    event_name: opt("event_name"),
                    page_path: opt("page_path"),
                    scroll_threshold,
                    display_name: opt("display_name"),
                };
                api::goals::add_goal(&state, &caller, spec).await.map(|_| ())
            }
            Err(_) => Err(ApiError::BadRequest("a scroll threshold is a whole number from 1 to 100".into())),
        },
        "funnels" => {
            let steps: Vec<String> =
                field(&f, "steps").lines().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
            api::goals::add_funnel(&state, &caller, field(&f, "name"), &steps).await.map(|_| ())
        }
        "links" => {
            let password = Some(field(&f, "password")).filter(|p| !p.is_empty());
            let embed = field(&f, "allow_embed") == "on";
            api::links::add_link(&state, &caller, field(&f, "name"), password, embed).await.map(|_| ())
        }
        _ => return error_page(StatusCode::NOT_FOUND, "No such setting."),
    };
    done(&state, &caller, &current_domain(&caller), result).await
}

/// `POST /sites/{domain}/settings/{section}/{action}`: removes a goal or a funnel (by name) or
/// revokes a shared link (by id).
pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, section, action)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let result = match (section.as_str(), action.as_str()) {
        ("goals", "remove") => api::goals::remove_goal(&state, &caller, field(&f, "name")).await,
        ("funnels", "remove") => api::goals::remove_funnel_named(&state, &caller, field(&f, "name")).await,
        ("links", "revoke") => match field(&f, "id").parse::<i64>() {
            Ok(id) => api::links::revoke_link(&state, &caller, id).await,
            Err(_) => Err(ApiError::BadRequest("no such link".into())),
        },
        _ => return error_page(StatusCode::NOT_FOUND, "No such setting."),
    };
    done(&state, &caller, &current_domain(&caller), result).await
}

/// `POST /sites`: adds a site from the start page's form.
pub async fn add_site(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let tz = Some(field(&f, "timezone").trim()).filter(|z| !z.is_empty());
    match api::sites::add_site(&state, &caller, field(&f, "domain"), tz, None).await {
        Ok(site) => Redirect::to(&format!("/sites/{}", site.domain)).into_response(),
        Err(e) => {
            let t = Texts::of(caller.lang);
            super::message_page_in(caller.lang, e.status(), t.add_site, &e.to_string(), Some(("/", t.sites)))
        }
    }
}

#[derive(Template)]
#[template(path = "utm.html")]
struct UtmPage {
    title: String,
    nav: Nav,
    narrow: bool,
    t: &'static Texts,
    dashboard: String,
    fields: Vec<(&'static str, &'static str, String)>,
    result: String,
    error: String,
}

/// Adds the campaign parameters to a URL (keeping its own query and fragment).
pub fn campaign_url(base: &str, params: &[(&str, &str)]) -> Result<String, String> {
    let mut url =
        url::Url::parse(base.trim()).map_err(|_| "Enter a full URL, such as https://example.com/page".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("Campaign URLs must start with http:// or https://".into());
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        for (k, v) in params.iter().filter(|(_, v)| !v.trim().is_empty()) {
            q.append_pair(k, v.trim());
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url.to_string())
}

/// `GET /sites/{domain}/utm`: the campaign URL builder. The form submits to itself; the script
/// updates the result as one types.
pub async fn utm(
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(site) = caller.site.clone() else {
        return error_page(StatusCode::NOT_FOUND, "No such site.");
    };
    let t = Texts::of(caller.lang);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let url = q.get("url").cloned().unwrap_or_else(|| format!("https://{}/", site.domain));
    let names = [
        ("utm_source", t.utm_source),
        ("utm_medium", t.utm_medium),
        ("utm_campaign", t.utm_campaign),
        ("utm_term", t.utm_term),
        ("utm_content", t.utm_content),
    ];
    let values: Vec<(&str, String)> = names.iter().map(|(k, _)| (*k, get(k))).collect();
    let (result, error) = if q.contains_key("url") {
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        match campaign_url(&url, &pairs) {
            Ok(u) => (u, String::new()),
            Err(e) => (String::new(), e),
        }
    } else {
        (String::new(), String::new())
    };
    let mut fields = vec![("url", t.website_url, url)];
    fields.extend(names.iter().zip(values).map(|((k, label), (_, v))| (*k, *label, v)));
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render(
        status,
        &UtmPage {
            title: format!("{} · {}", t.utm_builder, site.domain),
            nav: Nav::of(&caller),
            narrow: true,
            t,
            dashboard: format!("/sites/{}", site.domain),
            fields,
            result,
            error,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::campaign_url;

    #[test]
    fn campaign_urls_keep_the_page_and_replace_old_tags() {
        let u = campaign_url(
            "https://example.com/shop?id=7&utm_source=old#top",
            &[("utm_source", "newsletter"), ("utm_medium", "email"), ("utm_term", " ")],
        )
        .unwrap();
        assert_eq!(u, "https://example.com/shop?id=7&utm_source=newsletter&utm_medium=email#top");
        assert!(campaign_url("example.com", &[]).is_err());
        assert!(campaign_url("javascript:alert(1)", &[]).is_err());
        assert_eq!(campaign_url("https://a.test/", &[("utm_source", "")]).unwrap(), "https://a.test/");
    }
}
