//! A site's consent-ledger page, for the people who manage it (marketers, admins, owners):
//! purposes and their versions (draft, publish), collection points with their snippet and hosted
//! form, contact fields, re-permission campaigns (create, start, answers as they come in, the
//! deadline's preview and close) with the mail queue's counts, and (for people who may read
//! personal data) data-subject requests by due date and looking a contact up (audited).
//!
//! Changes go through the same functions as the admin API (`crate::api::ledger`), so validation
//! and the audit log are the same whichever way they were made.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use tillit_core::access::Permission;
use tillit_core::i18n::Lang;
use tillit_core::ledger::ContactView;
use tillit_core::ledger::campaign::{CampaignInput, CampaignStatus};
use tillit_core::ledger::model::{Channel, FieldInput, LegalBasis, PointInput, PointKind, PurposeInput};
use tillit_core::ledger::requests::overdue;
use tillit_store::app::ledger::{CollectionPointRow, ContactFieldRow, PurposeRow, PurposeText, RequestRow};

use super::{Nav, error_page, field, form, render};
use crate::AppState;
use crate::api::ledger::{
    add_field_as, add_point_as, close_campaign_as, create_campaign_as, lookup_as, publish_purpose_as, save_purpose_as,
    site, snippet_text, start_campaign_as,
};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Texts;

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    title: String,
    nav: Nav,
    narrow: bool,
    t: &'static Texts,
    domain: String,
    base: String,
    message: String,
    error: String,
    purposes: Vec<PurposeRow>,
    /// Keys of published purposes that rest on consent (what a point may ask for).
    askable: Vec<String>,
    points: Vec<(CollectionPointRow, String, String)>,
    fields: Vec<ContactFieldRow>,
    bases: Vec<&'static str>,
    channels: Vec<&'static str>,
    kinds: Vec<&'static str>,
    other_langs: Vec<&'static str>,
    read_personal: bool,
    email: String,
    contact: Option<ContactView>,
    searched: bool,
    /// Whether email can be sent (double opt-in needs it).
    mail_ready: bool,
    /// Data-subject requests by due date: (request, received, due, overdue).
    requests: Vec<(RequestRow, String, String, bool)>,
    /// Published consent purposes that reach people by email (what a campaign may ask for).
    email_purposes: Vec<String>,
    campaigns: Vec<CampaignView>,
    /// The mail queue's messages by status.
    mail_counts: Vec<(String, u64)>,
}

/// A campaign as the page shows it.
struct CampaignView {
    s: CampaignStatus,
    /// Before the start: how many it would ask.
    would_ask: Option<u32>,
    deadline: String,
    /// The deadline has passed and the campaign is still open.
    can_close: bool,
}

async fn page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    message: &str,
    error: &str,
    email: &str,
) -> Response {
    let Ok(site) = site(caller) else { return error_page(StatusCode::NOT_FOUND, "No such site.") };
    let t = Texts::of(caller.lang);
    let load = async {
        let purposes = state.ledger.purposes(site).await?;
        let points = state.ledger.points(site).await?;
        let fields = state.ledger.fields(site.id).await?;
        Ok::<_, tillit_core::ledger::LedgerError>((purposes, points, fields))
    };
    let (purposes, points, fields) = match load.await {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "ledger page unavailable");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "The application store is unavailable.");
        }
    };
    let mut askable: Vec<String> = purposes
        .iter()
        .filter(|p| p.published_at.is_some() && p.legal_basis == LegalBasis::Consent.as_str())
        .map(|p| p.key.clone())
        .collect();
    askable.dedup();
    let base_url = state.config.public_url.trim_end_matches('/').to_owned();
    let mut with_snippets = Vec::new();
    for p in points {
        let snippet = snippet_text(state, site, &p.key, caller.lang).await.unwrap_or_default();
        let hosted = format!("{base_url}/f/{}/{}", site.domain, p.key);
        with_snippets.push((p, snippet, hosted));
    }
    let read_personal = caller.principal.can(Permission::ReadPersonalData, Some(site.id));
    let now = state.clock.now();
    let zone = tillit_core::stats::period::zone(&site.timezone);
    let day = |t: i64| {
        jiff::Timestamp::from_second(t).map(|ts| caller.lang.date(ts.to_zoned(zone.clone()).date())).unwrap_or_default()
    };
    let requests = if read_personal { state.ledger.requests(site).await.unwrap_or_default() } else { Vec::new() };
    let requests = requests
        .into_iter()
        .map(|r| {
            let (received, due) = (day(r.received_at), day(r.due_at - 1));
            let late = overdue(&r, now);
            (r, received, due, late)
        })
        .collect();
    let mut campaigns = Vec::new();
    for c in state.ledger.campaigns(site).await.unwrap_or_default() {
        let would_ask = match c.campaign.started_at {
            None => state.ledger.campaign_preview(site, &c.campaign.id).await.ok().map(|p| p.eligible),
            Some(_) => None,
        };
        let can_close =
            c.campaign.started_at.is_some() && c.campaign.closed_at.is_none() && now >= c.campaign.deadline_at;
        campaigns.push(CampaignView { deadline: day(c.campaign.deadline_at - 1), would_ask, can_close, s: c });
    }
    let email_purposes = purposes
        .iter()
        .filter(|p| askable.contains(&p.key) && p.channel == Channel::Email.as_str())
        .map(|p| p.key.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mail_counts = state.app.mail_counts(site.id).await.unwrap_or_default();
    let (contact, searched) = if read_personal && !email.trim().is_empty() {
        match lookup_as(state, caller, email).await {
            Ok(c) => (c, true),
            Err(e) => return page_error(state, caller, e).await,
        }
    } else {
        (None, false)
    };
    let page = LedgerPage {
        title: format!("{} · {}", t.ledger, site.domain),
        nav: Nav::of(caller),
        narrow: false,
        t,
        domain: site.domain.clone(),
        base: format!("/sites/{}/ledger", site.domain),
        message: message.to_owned(),
        error: error.to_owned(),
        purposes,
        askable,
        points: with_snippets,
        fields,
        bases: LegalBasis::ALL.iter().map(|b| b.as_str()).collect(),
        channels: Channel::ALL.iter().map(|c| c.as_str()).collect(),
        kinds: PointKind::ALL.iter().filter(|k| **k != PointKind::PreferenceCentre).map(|k| k.as_str()).collect(),
        other_langs: Lang::ALL.iter().filter(|l| **l != Lang::En).map(|l| l.code()).collect(),
        read_personal,
        email: email.to_owned(),
        contact,
        searched,
        mail_ready: state.mailer.is_some(),
        requests,
        email_purposes,
        campaigns,
        mail_counts,
    };
    render(status, &page)
}

/// The page again with the reason a change was refused, under the API's status.
async fn page_error(state: &AppState, caller: &Caller, e: ApiError) -> Response {
    Box::pin(page(state, caller, e.status(), "", &e.to_string(), "")).await
}

/// `GET /sites/{domain}/ledger[?email=…]`.
pub async fn view(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(_domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let t = Texts::of(caller.lang);
    let message = if q.contains_key("saved") { t.saved } else { "" };
    let email = q.get("email").map(String::as_str).unwrap_or("");
    page(&state, &caller, StatusCode::OK, message, "", email).await
}

/// Texts per language from `{prefix}_{lang}` fields; empty ones are left out.
fn per_language(fields: &HashMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    Lang::ALL
        .iter()
        .filter_map(|l| {
            let v = field(fields, &format!("{prefix}_{}", l.code())).trim().to_owned();
            (!v.is_empty()).then(|| (l.code().to_owned(), v))
        })
        .collect()
}

/// `POST /sites/{domain}/ledger/{section}`: `purposes`, `points` or `fields`.
pub async fn add(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((domain, section)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let result = match section.as_str() {
        "purposes" => {
            let titles = per_language(&f, "title");
            let mut descriptions = per_language(&f, "description");
            let texts = titles
                .into_iter()
                .map(|(l, title)| {
                    let description = descriptions.remove(&l).unwrap_or_default();
                    (l, PurposeText { title, description })
                })
                .collect();
            let lifetime = field(&f, "lifetime_days").trim();
            let lifetime_days = match lifetime.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) if lifetime.is_empty() => None,
                Err(_) => {
                    return page_error(&state, &caller, ApiError::BadRequest("lifetime: a number of days".into()))
                        .await;
                }
            };
            let input = PurposeInput {
                key: field(&f, "key").trim().to_owned(),
                legal_basis: field(&f, "legal_basis").to_owned(),
                channel: field(&f, "channel").to_owned(),
                data_categories: field(&f, "data_categories")
                    .split(',')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect(),
                lifetime_days,
                special_category: f.contains_key("special_category"),
                texts,
            };
            save_purpose_as(&state, &caller, input).await.map(|_| ())
        }
        "points" => {
            let purposes = url::form_urlencoded::parse(&body)
                .filter(|(k, _)| k == "purpose")
                .map(|(_, v)| v.into_owned())
                .collect();
            let input = PointInput {
                key: field(&f, "key").trim().to_owned(),
                kind: field(&f, "kind").to_owned(),
                purposes,
                intro: per_language(&f, "intro"),
                double_opt_in: f.contains_key("double_opt_in"),
            };
            add_point_as(&state, &caller, input).await.map(|_| ())
        }
        "campaigns" => {
            let days = |name: &str| field(&f, name).trim().parse::<u32>().ok();
            let input = CampaignInput {
                purpose_key: field(&f, "purpose").to_owned(),
                audience: field(&f, "audience").to_owned(),
                message: field(&f, "message").to_owned(),
                action: field(&f, "action").to_owned(),
                deadline_days: days("deadline_days").unwrap_or(0),
                reminder_days: days("reminder_days"),
            };
            create_campaign_as(&state, &caller, &input).await.map(|_| ())
        }
        "fields" => {
            let input = FieldInput {
                key: field(&f, "key").trim().to_owned(),
                data_category: field(&f, "data_category").trim().to_owned(),
                special_category: f.contains_key("special_category"),
            };
            add_field_as(&state, &caller, input).await.map(|_| ())
        }
        _ => Err(ApiError::NotFound("no such section".into())),
    };
    done(&state, &caller, &domain, result).await
}

/// `POST /sites/{domain}/ledger/purposes/{key}/publish`.
pub async fn publish(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((domain, key)): Path<(String, String)>,
) -> Response {
    let result = publish_purpose_as(&state, &caller, &key).await.map(|_| ());
    done(&state, &caller, &domain, result).await
}

/// `POST /sites/{domain}/ledger/campaigns/{id}/{action}`: `start`, `preview` (what closing
/// would do) or `close`.
pub async fn campaign(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((domain, id, action)): Path<(String, String, String)>,
) -> Response {
    let result = match action.as_str() {
        "start" => start_campaign_as(&state, &caller, &id).await.map(|_| ()),
        "preview" | "close" => match close_campaign_as(&state, &caller, &id, action == "close").await {
            Ok(closing) if action == "preview" => {
                let t = Texts::of(caller.lang);
                let what = if closing.action == "erase" { t.action_erase } else { t.action_restrict };
                let kept: Vec<String> = closing.kept.iter().map(|(why, n)| format!("{why}: {n}")).collect();
                let message = format!("{}: {what} {}. {}", t.preview, closing.affected, kept.join(", "));
                return page(&state, &caller, StatusCode::OK, &message, "", "").await;
            }
            other => other.map(|_| ()),
        },
        _ => Err(ApiError::NotFound("no such action".into())),
    };
    done(&state, &caller, &domain, result).await
}

async fn done(state: &AppState, caller: &Caller, domain: &str, result: Result<(), ApiError>) -> Response {
    let domain = caller.site.as_ref().map_or(domain, |s| s.domain.as_str());
    match result {
        Ok(()) => Redirect::to(&format!("/sites/{domain}/ledger?saved=1")).into_response(),
        Err(e) => page_error(state, caller, e).await,
    }
}
