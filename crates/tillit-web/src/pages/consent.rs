//! The ledger's public pages, in the person's language: the hosted signup form, the double
//! opt-in confirmation (only its POST confirms, so link scanners cannot), the preference centre
//! (each purpose given or withdrawn in one step, corrections, data download, objection) and the
//! unsubscribe page, and the data-subject request form with its code step. No cookies: links
//! carry what the page needs, signed.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use tillit_core::ledger::model::Method;
use tillit_core::ledger::{Form, FormItem, LedgerError, Preferences};

use crate::AppState;
use crate::api::ledger::{evidence, ledger_error, signup_action};
use crate::auth::Caller;
use crate::i18n::{Lang, Texts};
use crate::pages::{Nav, field, form, message_page_in, render};

/// The language of a POST: its `lang` field, else the caller's.
fn post_lang(caller: &Caller, fields: &std::collections::HashMap<String, String>) -> Lang {
    Lang::parse(field(fields, "lang")).unwrap_or(caller.lang)
}

fn failure(lang: Lang, e: LedgerError) -> Response {
    let t = Texts::of(lang);
    let message = match &e {
        LedgerError::InvalidLink => t.link_invalid.to_owned(),
        other => crate::api::ledger::translated(t, &other.to_string()),
    };
    let err = ledger_error(e);
    message_page_in(lang, err.status(), t.preferences, &message, None)
}

/// The site a public page names; else the page to answer with (unknown site, or the store's
/// failure under its own status).
async fn public_site(state: &AppState, domain: &str, lang: Lang) -> Result<tillit_store::app::Site, Response> {
    crate::api::ledger::site_named(state, domain)
        .await
        .map_err(|e| message_page_in(lang, e.status(), Texts::of(lang).preferences, &e.to_string(), None))
}

#[derive(Template)]
#[template(path = "consent_form.html")]
struct FormPage<'a> {
    title: &'a str,
    nav: Nav,
    narrow: bool,
    site: &'a str,
    action: String,
    form: &'a Form,
    t: &'static Texts,
}

/// `GET /f/{domain}/{point}`: the collection point's form, hosted by Tillit.
pub async fn hosted_form(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((domain, point)): Path<(String, String)>,
) -> Response {
    let lang = caller.lang;
    let site = match public_site(&state, &domain, lang).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match state.ledger.form(&site, &point, lang).await {
        Ok(f) => render(
            StatusCode::OK,
            &FormPage {
                title: &site.domain,
                nav: Nav::in_lang(lang),
                narrow: true,
                site: &site.domain,
                action: signup_action(&state, &site.domain, &point),
                form: &f,
                t: Texts::of(lang),
            },
        ),
        Err(e) => failure(lang, e),
    }
}

#[derive(Template)]
#[template(path = "consent_confirm.html")]
struct ConfirmPage<'a> {
    title: &'a str,
    nav: Nav,
    narrow: bool,
    site: &'a str,
    items: Vec<FormItem>,
    action: String,
    t: &'static Texts,
}

/// `GET /confirm/{token}`: what is being confirmed, and the button. Opening the link changes
/// nothing, so mail scanners that follow links cannot opt anyone in.
pub async fn confirm_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(token): Path<String>,
) -> Response {
    let lang = caller.lang;
    match state.ledger.pending(&token, lang).await {
        Ok((site, items)) => {
            let t = Texts::of(lang);
            let page = ConfirmPage {
                title: t.confirm_heading,
                nav: Nav::in_lang(lang),
                narrow: true,
                site: &site.domain,
                items,
                action: format!("/confirm/{token}"),
                t,
            };
            private(render(StatusCode::OK, &page))
        }
        Err(e) => failure(lang, e),
    }
}

/// `POST /confirm/{token}`: the consent itself.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let lang = post_lang(&caller, &fields);
    let ev = evidence(&state, peer, &headers, lang, "");
    match state.ledger.confirm(&token, &ev).await {
        Ok(_) => {
            let t = Texts::of(lang);
            message_page_in(lang, StatusCode::OK, t.confirm_heading, t.confirmed, None)
        }
        Err(e) => failure(lang, e),
    }
}

#[derive(Template)]
#[template(path = "preferences_request.html")]
struct RequestPage<'a> {
    title: &'a str,
    nav: Nav,
    narrow: bool,
    site: &'a str,
    action: String,
    t: &'static Texts,
}

/// `GET /preferences/site/{domain}`: ask for a link by email (a magic link, no password).
pub async fn request_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
) -> Response {
    let lang = caller.lang;
    let t = Texts::of(lang);
    let domain = match public_site(&state, &domain, lang).await {
        Ok(s) => s.domain,
        Err(res) => return res,
    };
    let page = RequestPage {
        title: t.preferences,
        nav: Nav::in_lang(lang),
        narrow: true,
        site: &domain,
        action: format!("/preferences/site/{domain}"),
        t,
    };
    render(StatusCode::OK, &page)
}

/// `POST /preferences/site/{domain}`: emails the link if the address is a contact; the page
/// says the same either way.
pub async fn request_link(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let lang = post_lang(&caller, &fields);
    let t = Texts::of(lang);
    let site = match public_site(&state, &domain, lang).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match state.ledger.request_link(&site, field(&fields, "email"), lang).await {
        Ok(()) => message_page_in(lang, StatusCode::OK, t.preferences, t.link_sent, None),
        Err(e) => failure(lang, e),
    }
}

/// One row of the preference centre.
struct ChoiceRow {
    key: String,
    title: String,
    description: String,
    valid: bool,
    can_give: bool,
    when: String,
}

#[derive(Template)]
#[template(path = "preferences.html")]
struct PreferencesPage<'a> {
    title: &'a str,
    nav: Nav,
    narrow: bool,
    prefs: &'a Preferences,
    choices: Vec<ChoiceRow>,
    fields: Vec<(String, String)>,
    history: Vec<String>,
    action: String,
    notice: Option<&'a str>,
    t: &'static Texts,
}

fn date(lang: Lang, t: i64) -> String {
    jiff::Timestamp::from_second(t).map(|ts| lang.date(ts.to_zoned(jiff::tz::TimeZone::UTC).date())).unwrap_or_default()
}

/// `GET /preferences/{link}`.
pub async fn preferences(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(link): Path<String>,
    query: axum::extract::RawQuery,
) -> Response {
    let lang = caller.lang;
    let t = Texts::of(lang);
    let contact = match state.ledger.open_preferences(&link).await {
        Ok(c) => c,
        Err(e) => return failure(lang, e),
    };
    let prefs = match state.ledger.preferences(&contact, lang).await {
        Ok(p) => p,
        Err(e) => return failure(lang, e),
    };
    let defined = state.ledger.fields(contact.site_id).await.unwrap_or_default();
    let now = state.clock.now();
    let choices = prefs
        .choices
        .iter()
        .map(|c| {
            let valid = matches!(c.state.as_deref(), Some("given" | "renewed")) && c.expires_at.is_none_or(|e| e > now);
            let mut when = c.since.map(|s| format!("{} {}", t.since, date(lang, s))).unwrap_or_default();
            if let (true, Some(e)) = (valid, c.expires_at) {
                when.push_str(&format!(", {} {}", t.expires, date(lang, e)));
            }
            ChoiceRow {
                key: c.item.key.clone(),
                title: c.item.title.clone(),
                description: c.item.description.clone(),
                valid,
                can_give: c.consent_based,
                when,
            }
        })
        .collect();
    let fields = defined
        .iter()
        .map(|f| (f.key.clone(), prefs.contact.data.fields.get(&f.key).cloned().unwrap_or_default()))
        .collect();
    let history = prefs
        .contact
        .history
        .iter()
        .rev()
        .map(|e| {
            let title =
                prefs.choices.iter().find(|c| c.item.key == e.purpose_key).map_or(&e.purpose_key, |c| &c.item.title);
            let (state, how) = history_words(t, &e.state, &e.method);
            format!("{} · {title} (v{}): {state}, {how}", date(lang, e.occurred_at), e.purpose_version)
        })
        .collect();
    let saved = query.0.as_deref().is_some_and(|q| q.split('&').any(|p| p == "saved=1"));
    let page = PreferencesPage {
        title: t.preferences,
        nav: Nav::in_lang(lang),
        narrow: true,
        prefs: &prefs,
        choices,
        fields,
        history,
        action: format!("/preferences/{link}"),
        notice: saved.then_some(t.saved),
        t,
    };
    private(render(StatusCode::OK, &page))
}

/// A ledger row's state and method in the person's words.
fn history_words(t: &'static Texts, state: &str, method: &str) -> (&'static str, &'static str) {
    let state = match state {
        "given" => t.st_given,
        "refused" => t.st_refused,
        "withdrawn" => t.st_withdrawn,
        "expired" => t.st_expired,
        _ => t.st_renewed,
    };
    let how = match method {
        "double-opt-in" => t.how_form,
        "preference-centre" => t.how_preferences,
        "unsubscribe-link" | "list-unsubscribe-post" => t.how_unsubscribe,
        "admin-with-evidence" | "import-with-evidence" => t.how_admin,
        "expiry" => t.how_lifetime,
        _ => t.how_other,
    };
    (state, how)
}

/// `POST /preferences/{link}`: give, withdraw, object or correct; then back to the page.
pub async fn change(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(link): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let lang = post_lang(&caller, &fields);
    let contact = match state.ledger.open_preferences(&link).await {
        Ok(c) => c,
        Err(e) => return failure(lang, e),
    };
    let ev = evidence(&state, peer, &headers, lang, &format!("{}/preferences", state.config.public_url));
    let purpose = field(&fields, "purpose");
    if field(&fields, "action") == "erase" {
        let t = Texts::of(lang);
        return match state.ledger.erase_self(&contact).await {
            Ok(erasure) => {
                let actor = tillit_core::access::Actor::Contact { public_id: contact.public_id.clone() };
                let target = format!("contact:{}", contact.public_id);
                let _ = state.accounts.audit(&actor, "contact.erase", &target, json!({"by": "the person"})).await;
                let receipt = format!("/receipts/{}", erasure.receipt_id);
                message_page_in(lang, StatusCode::OK, t.erase_heading, t.erased, Some((&receipt, &erasure.receipt_id)))
            }
            Err(e) => failure(lang, e),
        };
    }
    let done = match field(&fields, "action") {
        "give" => state.ledger.choose(&contact, purpose, true, Method::PreferenceCentre, &ev).await.map(|_| ()),
        "withdraw" => state.ledger.choose(&contact, purpose, false, Method::PreferenceCentre, &ev).await.map(|_| ()),
        "object" => state.ledger.object(&contact, &ev).await.map(|_| ()),
        "rectify" => {
            let custom: BTreeMap<String, String> = fields
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("field.").map(|k| (k.to_owned(), v.trim().to_owned())))
                .collect();
            let result = state.ledger.rectify(&contact, field(&fields, "name"), &custom).await;
            if result.is_ok() {
                let actor = tillit_core::access::Actor::Contact { public_id: contact.public_id.clone() };
                let target = format!("contact:{}", contact.public_id);
                let _ = state.accounts.audit(&actor, "contact.rectify", &target, json!({"by": "the person"})).await;
            }
            result
        }
        _ => Err(LedgerError::Invalid("unknown action".into())),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/preferences/{link}?lang={}&saved=1", lang.code())).into_response(),
        Err(e) => failure(lang, e),
    }
}

/// `GET /preferences/{link}/data.json` and `…/my-data.zip`: everything held about the person
/// (Art. 15, 20), as JSON or as the bundle with its readable cover and CSV files.
pub async fn download(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((link, file)): Path<(String, String)>,
) -> Response {
    let contact = match state.ledger.open_preferences(&link).await {
        Ok(c) => c,
        Err(e) => return failure(caller.lang, e),
    };
    let made = match file.as_str() {
        "data.json" => state
            .ledger
            .export(&contact)
            .await
            .map(|data| ("application/json", "my-data.json", serde_json::to_vec_pretty(&data).unwrap_or_default())),
        "my-data.zip" => match state.ledger.access_report(&contact).await {
            Ok(report) => match super::access::access_bundle(&report) {
                Ok(zip) => Ok(("application/zip", "my-data.zip", zip)),
                Err(e) => Err(LedgerError::Store(e)),
            },
            Err(e) => Err(e),
        },
        _ => Err(LedgerError::NotFound("file".into())),
    };
    match made {
        Ok((content_type, name, body)) => {
            let actor = tillit_core::access::Actor::Contact { public_id: contact.public_id.clone() };
            let target = format!("contact:{}", contact.public_id);
            let _ = state.accounts.audit(&actor, "contact.export", &target, json!({"by": "the person"})).await;
            let disposition = format!("attachment; filename=\"{name}\"");
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                    (
                        header::CONTENT_DISPOSITION,
                        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => failure(caller.lang, e),
    }
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage<'a> {
    title: &'a str,
    nav: Nav,
    narrow: bool,
    action: String,
    t: &'static Texts,
}

/// `GET /unsubscribe/{link}`: one button (opening the link alone changes nothing).
pub async fn unsubscribe_page(Extension(caller): Extension<Caller>, Path(link): Path<String>) -> Response {
    let lang = caller.lang;
    let t = Texts::of(lang);
    let page = UnsubscribePage {
        title: t.unsubscribe_heading,
        nav: Nav::in_lang(lang),
        narrow: true,
        action: format!("/unsubscribe/{link}"),
        t,
    };
    private(render(StatusCode::OK, &page))
}

/// `POST /unsubscribe/{link}`.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(link): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let lang = post_lang(&caller, &fields);
    let t = Texts::of(lang);
    let ev = evidence(&state, peer, &headers, lang, "");
    match state.ledger.unsubscribe(&link, Method::UnsubscribeLink, &ev).await {
        Ok((contact, _)) => {
            let link = state.ledger.preference_link(&contact);
            let path = link.find("/preferences/").map_or(link.as_str(), |i| &link[i..]);
            message_page_in(lang, StatusCode::OK, t.unsubscribe_heading, t.unsubscribed, Some((path, t.manage_all)))
        }
        Err(e) => failure(lang, e),
    }
}

/// Pages reached by secret links, with personal data on them, are not cached. (Their links
/// never leak to other sites: every page sends `Referrer-Policy: same-origin`.)
fn private(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[derive(Template)]
#[template(path = "request_form.html")]
struct RequestForm<'a> {
    title: &'a str,
    nav: Nav,
    narrow: bool,
    site: &'a str,
    kinds: Vec<(&'static str, &'static str)>,
    action: String,
    /// Where the person came from (the request's channel).
    channel: &'static str,
    t: &'static Texts,
}

/// The request kinds in the person's words.
fn kinds(t: &'static Texts) -> Vec<(&'static str, &'static str)> {
    vec![
        ("access", t.kind_access),
        ("portability", t.kind_portability),
        ("rectification", t.kind_rectification),
        ("erasure", t.kind_erasure),
        ("restriction", t.kind_restriction),
        ("objection", t.kind_objection),
    ]
}

/// The channel a request came through: the preference centre's link says so, anything else
/// is the public form.
fn request_channel(from: &str) -> &'static str {
    if from == "preference-centre" { "preference-centre" } else { "request-form" }
}

/// `GET /requests/site/{domain}[?from=preference-centre]`: the public request form (Art. 15–21).
pub async fn request_form(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = caller.lang;
    let t = Texts::of(lang);
    let domain = match public_site(&state, &domain, lang).await {
        Ok(s) => s.domain,
        Err(res) => return res,
    };
    let page = RequestForm {
        title: t.request_heading,
        nav: Nav::in_lang(lang),
        narrow: true,
        site: &domain,
        kinds: kinds(t),
        action: format!("/requests/site/{domain}"),
        channel: request_channel(q.get("from").map_or("", String::as_str)),
        t,
    };
    render(StatusCode::OK, &page)
}

/// `POST /requests/site/{domain}`: records the request, emails the code, asks for it.
pub async fn make_request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let lang = post_lang(&caller, &fields);
    let site = match public_site(&state, &domain, lang).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let new = tillit_core::ledger::requests::NewRequest {
        kind: field(&fields, "kind").to_owned(),
        channel: request_channel(field(&fields, "from")).into(),
        email: field(&fields, "email").to_owned(),
        details: field(&fields, "details").to_owned(),
        lang,
    };
    match state.ledger.open_request(&site, new).await {
        Ok(row) => Redirect::to(&format!("/requests/{}?lang={}", row.id, lang.code())).into_response(),
        Err(e) => failure(lang, e),
    }
}

#[derive(Template)]
#[template(path = "request_code.html")]
struct RequestCode<'a> {
    title: &'a str,
    nav: Nav,
    narrow: bool,
    action: String,
    t: &'static Texts,
}

/// `GET /requests/{id}`: where the person enters the code.
pub async fn request_code(Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Response {
    let t = Texts::of(caller.lang);
    let page = RequestCode {
        title: t.request_heading,
        nav: Nav::in_lang(caller.lang),
        narrow: true,
        action: format!("/requests/{id}"),
        t,
    };
    private(render(StatusCode::OK, &page))
}

/// `POST /requests/{id}`: the code; then what was done.
pub async fn confirm_request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let lang = post_lang(&caller, &fields);
    let t = Texts::of(lang);
    let ev = evidence(&state, peer, &headers, lang, "");
    match state.ledger.verify_request(&id, field(&fields, "code"), &ev).await {
        Ok(row) => {
            let message = match &row.outcome {
                Some(outcome) => format!("{} {outcome}.", t.request_confirmed),
                None => t.request_confirmed.to_owned(),
            };
            message_page_in(lang, StatusCode::OK, t.request_heading, &message, None)
        }
        Err(e) => failure(lang, e),
    }
}
