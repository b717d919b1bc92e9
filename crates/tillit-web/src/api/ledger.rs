//! The consent ledger over JSON.
//!
//! Admin (a site's marketers, owners, admins and `manage-ledger` keys): purposes and their
//! publication, collection points and their embeddable snippet, contact fields, contact lookup
//! (personal data: audited), consent recorded with evidence, the send gate and sending.
//!
//! Public: the signup endpoint forms post to (CORS and `Origin` limited to the site's domains),
//! one-click unsubscribe (RFC 8058), receipts and the receipt-signing key set.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use tillit_core::access::Permission;
use tillit_core::i18n::Lang;
use tillit_core::ledger::campaign::Closing;
use tillit_core::ledger::model::{ConsentState, FieldInput, Method, PointInput, PurposeInput};
use tillit_core::ledger::{ContactView, Decision, Evidence, Form, LedgerError, Signup, SignupOutcome};
use tillit_store::app::Site;
use tillit_store::app::ledger::{CollectionPointRow, ContactFieldRow, PurposeRow};
use tillit_store::app::outreach::CampaignRow;

use crate::AppState;
use crate::api::json_body;
use crate::api::sites::audit;
use crate::auth::Caller;
use crate::client_ip;
use crate::error::ApiError;
use crate::i18n::Texts;

/// A ledger failure as an HTTP error.
pub(crate) fn ledger_error(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Invalid(m) => ApiError::BadRequest(m),
        LedgerError::NotFound(m) => ApiError::NotFound(format!("{m} not found")),
        LedgerError::Conflict(m) => ApiError::Conflict(m),
        LedgerError::Refused(m) => ApiError::Forbidden(m),
        LedgerError::InvalidLink => ApiError::NotFound(LedgerError::InvalidLink.to_string()),
        LedgerError::Throttled(s) => ApiError::TooManyRequests(s),
        LedgerError::NoMail => ApiError::Unavailable(LedgerError::NoMail.to_string()),
        LedgerError::Store(m) => ApiError::Internal(m),
    }
}

pub(crate) fn site(caller: &Caller) -> Result<&Site, ApiError> {
    caller.site.as_ref().ok_or_else(|| ApiError::Internal("route without a checked site".into()))
}

/// What a request says about itself, as evidence: the client address (truncated by the
/// ledger), the user agent (hashed by the ledger), the page and the language.
pub(crate) fn evidence(state: &AppState, peer: SocketAddr, headers: &HeaderMap, lang: Lang, page: &str) -> Evidence {
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let page = if page.is_empty() { referer } else { page };
    // The page without its query string or fragment (they may carry tokens or emails).
    let page = page.split(['?', '#']).next().unwrap_or("").chars().take(500).collect();
    Evidence {
        page_url: page,
        ip: Some(client_ip::resolve(peer.ip(), headers, &state.config.trusted_proxies)),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned(),
        lang,
    }
}

// ---- admin: registry ----

pub async fn purposes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<PurposeRow>>, ApiError> {
    state.ledger.purposes(site(&caller)?).await.map(Json).map_err(ledger_error)
}

pub async fn save_purpose(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<PurposeRow>), ApiError> {
    let input: PurposeInput = json_body(&body)?;
    Ok((StatusCode::CREATED, Json(save_purpose_as(&state, &caller, input).await?)))
}

/// Saves a purpose draft of the caller's site (audited); the API and the ledger page use it.
pub(crate) async fn save_purpose_as(
    state: &AppState,
    caller: &Caller,
    input: PurposeInput,
) -> Result<PurposeRow, ApiError> {
    let site = site(caller)?;
    let purpose = state.ledger.save_purpose(site, input).await.map_err(ledger_error)?;
    let detail = json!({"purpose": purpose.key, "version": purpose.version});
    audit(state, caller, "purpose.draft", &format!("site:{}", site.id), detail).await?;
    Ok(purpose)
}

pub async fn publish_purpose(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, key)): Path<(String, String)>,
) -> Result<Json<PurposeRow>, ApiError> {
    Ok(Json(publish_purpose_as(&state, &caller, &key).await?))
}

/// Publishes a purpose draft of the caller's site (audited).
pub(crate) async fn publish_purpose_as(state: &AppState, caller: &Caller, key: &str) -> Result<PurposeRow, ApiError> {
    let site = site(caller)?;
    let purpose = state.ledger.publish_purpose(site, key).await.map_err(ledger_error)?;
    let detail = json!({"purpose": purpose.key, "version": purpose.version});
    audit(state, caller, "purpose.publish", &format!("site:{}", site.id), detail).await?;
    Ok(purpose)
}

pub async fn points(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<CollectionPointRow>>, ApiError> {
    state.ledger.points(site(&caller)?).await.map(Json).map_err(ledger_error)
}

pub async fn add_point(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CollectionPointRow>), ApiError> {
    let input: PointInput = json_body(&body)?;
    Ok((StatusCode::CREATED, Json(add_point_as(&state, &caller, input).await?)))
}

/// Adds a collection point to the caller's site (audited).
pub(crate) async fn add_point_as(
    state: &AppState,
    caller: &Caller,
    input: PointInput,
) -> Result<CollectionPointRow, ApiError> {
    let site = site(caller)?;
    let point = state.ledger.add_point(site, input).await.map_err(ledger_error)?;
    audit(state, caller, "collection_point.create", &format!("site:{}", site.id), json!({"point": point.key})).await?;
    Ok(point)
}

#[derive(Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

/// The snippet a site pastes where the form should appear: plain HTML that works without
/// script, and a small script that submits in place.
#[derive(Template)]
#[template(path = "consent_snippet.html")]
pub(crate) struct Snippet<'a> {
    pub action: String,
    pub form: &'a Form,
    pub t: &'static Texts,
}

pub(crate) fn signup_action(state: &AppState, domain: &str, point: &str) -> String {
    format!("{}/api/signup/{domain}/{point}", state.config.public_url.trim_end_matches('/'))
}

pub async fn snippet(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, key)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let lang = q.lang.as_deref().and_then(Lang::parse).unwrap_or_default();
    let text = snippet_text(&state, site(&caller)?, &key, lang).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// The HTML a site pastes for a collection point, in `lang`.
pub(crate) async fn snippet_text(state: &AppState, site: &Site, key: &str, lang: Lang) -> Result<String, ApiError> {
    let form = state.ledger.form(site, key, lang).await.map_err(ledger_error)?;
    let html = Snippet { action: signup_action(state, &site.domain, key), form: &form, t: Texts::of(lang) }
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let base = state.config.public_url.trim_end_matches('/');
    Ok(format!("{html}<script src=\"{base}/assets/consent-form.js\" defer></script>\n"))
}

pub async fn fields(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<ContactFieldRow>>, ApiError> {
    state.ledger.fields(site(&caller)?.id).await.map(Json).map_err(ledger_error)
}

pub async fn add_field(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<ContactFieldRow>), ApiError> {
    let input: FieldInput = json_body(&body)?;
    Ok((StatusCode::CREATED, Json(add_field_as(&state, &caller, input).await?)))
}

/// Defines a contact field on the caller's site (audited).
pub(crate) async fn add_field_as(
    state: &AppState,
    caller: &Caller,
    input: FieldInput,
) -> Result<ContactFieldRow, ApiError> {
    let site = site(caller)?;
    let field = state.ledger.add_field(site, input).await.map_err(ledger_error)?;
    audit(state, caller, "contact_field.create", &format!("site:{}", site.id), json!({"field": field.key})).await?;
    Ok(field)
}

// ---- admin: contacts, consent, sending ----

#[derive(Deserialize)]
pub struct EmailQuery {
    email: String,
}

/// A contact by email: their fields, states and history. Reading personal data is audited.
pub async fn contact(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<EmailQuery>,
) -> Result<Json<ContactView>, ApiError> {
    let view = lookup_as(&state, &caller, &q.email).await?;
    view.map(Json).ok_or_else(|| ApiError::NotFound("contact not found".into()))
}

/// Opens the contact with this email on the caller's site; a found contact's view is audited.
pub(crate) async fn lookup_as(state: &AppState, caller: &Caller, email: &str) -> Result<Option<ContactView>, ApiError> {
    let view = state.ledger.lookup(site(caller)?, email).await.map_err(ledger_error)?;
    if let Some(v) = &view {
        audit(state, caller, "contact.view", &format!("contact:{}", v.id), json!({})).await?;
    }
    Ok(view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffRequest {
    kind: String,
    email: String,
    #[serde(default)]
    details: String,
    #[serde(default)]
    lang: Option<String>,
}

/// A site's data-subject requests by due date, each marked overdue or not.
pub async fn requests(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let rows = state.ledger.requests(site(&caller)?).await.map_err(ledger_error)?;
    let now = state.clock.now();
    Ok(Json(Value::Array(rows.iter().map(|r| tillit_core::ledger::requests::summary(r, now)).collect())))
}

/// A request entered by staff (received by letter, phone, in person): the person still proves
/// control of the address with the emailed code before anything happens.
pub async fn add_request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: StaffRequest = json_body(&body)?;
    let site = site(&caller)?;
    let lang = req.lang.as_deref().and_then(Lang::parse).unwrap_or_default();
    let new = tillit_core::ledger::requests::NewRequest {
        kind: req.kind,
        channel: "staff".into(),
        email: req.email,
        details: req.details,
        lang,
    };
    let row = state.ledger.open_request(site, new).await.map_err(ledger_error)?;
    audit(&state, &caller, "request.create", &format!("request:{}", row.id), json!({"kind": row.kind})).await?;
    Ok((StatusCode::CREATED, Json(json!(row))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extend {
    months: u8,
    reason: String,
}

pub async fn extend_request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: Extend = json_body(&body)?;
    let row = state.ledger.extend_request(site(&caller)?, &id, req.months, &req.reason).await.map_err(ledger_error)?;
    audit(&state, &caller, "request.extend", &format!("request:{id}"), json!({"months": req.months})).await?;
    Ok(Json(json!(row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Close {
    outcome: String,
    #[serde(default)]
    rejected: bool,
}

pub async fn close_request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: Close = json_body(&body)?;
    let row =
        state.ledger.close_request(site(&caller)?, &id, &req.outcome, req.rejected).await.map_err(ledger_error)?;
    audit(&state, &caller, "request.close", &format!("request:{id}"), json!({"status": row.status})).await?;
    Ok(Json(json!(row)))
}

#[derive(Deserialize)]
pub struct Code {
    code: String,
}

/// `POST /api/requests/{id}/verify`: the person's code; once right, the request is carried out
/// where the ledger can.
pub async fn verify_request(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: Code = json_body(&body)?;
    let ev = evidence(&state, peer, &headers, Lang::En, "");
    let row = state.ledger.verify_request(&id, &req.code, &ev).await.map_err(ledger_error)?;
    Ok(Json(json!({"status": row.status, "outcome": row.outcome, "due_at": row.due_at})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    email: String,
}

/// Erases a person (Art. 17) and answers with the signed erasure receipt.
pub async fn erase(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: EraseRequest = json_body(&body)?;
    let site = site(&caller)?;
    let actor = caller.principal.actor.to_string();
    let erasure = state.ledger.erase(site, &req.email, &actor).await.map_err(ledger_error)?;
    let target = format!("contact:{}", erasure.public_id.as_deref().unwrap_or("-"));
    audit(&state, &caller, "contact.erase", &target, json!({"receipt": erasure.receipt_id})).await?;
    let url = format!("{}/receipts/{}", state.config.public_url.trim_end_matches('/'), erasure.receipt_id);
    Ok(Json(json!({"erasure": erasure, "receipt_url": url})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    email: String,
    purpose: String,
    state: String,
    evidence: String,
}

/// Consent recorded by someone on the contact's behalf, with evidence.
pub async fn record_consent(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: RecordConsent = json_body(&body)?;
    let consent: ConsentState = req.state.parse().map_err(ApiError::BadRequest)?;
    let site = site(&caller)?;
    let actor = caller.principal.actor.to_string();
    let events = state
        .ledger
        .admin_record(site, &req.email, &req.purpose, consent, &req.evidence, &actor)
        .await
        .map_err(ledger_error)?;
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    audit(
        &state,
        &caller,
        "consent.record",
        &format!("site:{}", site.id),
        json!({"purpose": req.purpose, "events": ids}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"events": events}))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendCheck {
    email: String,
    purpose: String,
}

/// The send gate's answer, without sending.
pub async fn send_check(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: SendCheck = json_body(&body)?;
    let decision = state.ledger.may_send(site(&caller)?, &req.email, &req.purpose).await.map_err(ledger_error)?;
    Ok(Json(match decision {
        Decision::Allowed(permit) => json!({"allowed": true, "reason": permit.reason}),
        Decision::Denied(reason) => json!({"allowed": false, "reason": reason}),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    email: String,
    purpose: String,
    subject: String,
    body: String,
}

/// Queues one marketing email past the send gate (with unsubscribe link and headers); the queue
/// asks the gate again when it sends.
pub async fn send_message(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: Message = json_body(&body)?;
    if req.subject.trim().is_empty() || req.subject.len() > 200 || req.body.trim().is_empty() {
        return Err(ApiError::BadRequest("subject (1–200 characters) and body are required".into()));
    }
    let site = site(&caller)?;
    match state.ledger.may_send(site, &req.email, &req.purpose).await.map_err(ledger_error)? {
        Decision::Denied(reason) => Err(ApiError::Conflict(format!("not sent: {reason}"))),
        Decision::Allowed(permit) => {
            let basis = permit.reason.clone();
            let id = state.ledger.send_marketing(permit, req.subject.trim(), &req.body).await.map_err(ledger_error)?;
            audit(&state, &caller, "message.send", &format!("site:{}", site.id), json!({"purpose": req.purpose}))
                .await?;
            Ok((StatusCode::ACCEPTED, Json(json!({"queued": id, "basis": basis}))))
        }
    }
}

// ---- re-permission campaigns ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    purpose: String,
    #[serde(default = "customers")]
    audience: String,
    message: String,
    #[serde(default = "erase_action")]
    action: String,
    #[serde(default = "thirty")]
    deadline_days: u32,
    reminder_days: Option<u32>,
}

fn customers() -> String {
    "customers".into()
}

fn erase_action() -> String {
    "erase".into()
}

fn thirty() -> u32 {
    30
}

/// A site's campaigns with their answers so far.
pub async fn campaigns(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.ledger.campaigns(site(&caller)?).await.map_err(ledger_error)?)))
}

/// Creates a campaign (not started) and says who it would ask.
pub async fn add_campaign(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: NewCampaign = json_body(&body)?;
    let input = tillit_core::ledger::campaign::CampaignInput {
        purpose_key: req.purpose,
        audience: req.audience,
        message: req.message,
        action: req.action,
        deadline_days: req.deadline_days,
        reminder_days: req.reminder_days,
    };
    let c = create_campaign_as(&state, &caller, &input).await?;
    let preview = state.ledger.campaign_preview(site(&caller)?, &c.id).await.map_err(ledger_error)?;
    Ok((StatusCode::CREATED, Json(json!({"campaign": c, "preview": preview}))))
}

/// Creates a campaign for the caller (the API and the ledger page), audited.
pub(crate) async fn create_campaign_as(
    state: &AppState,
    caller: &Caller,
    input: &tillit_core::ledger::campaign::CampaignInput,
) -> Result<CampaignRow, ApiError> {
    let c = state
        .ledger
        .create_campaign(site(caller)?, input, &caller.principal.actor.to_string())
        .await
        .map_err(ledger_error)?;
    audit(state, caller, "campaign.create", &format!("campaign:{}", c.id), json!({"purpose": c.purpose_key})).await?;
    Ok(c)
}

/// One campaign's answers; before its start, who it would ask.
pub async fn campaign(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let site = site(&caller)?;
    let status = state.ledger.campaign_status(site, &id).await.map_err(ledger_error)?;
    let preview = match status.campaign.started_at {
        None => Some(state.ledger.campaign_preview(site, &id).await.map_err(ledger_error)?),
        Some(_) => None,
    };
    Ok(Json(json!({"status": status, "preview": preview})))
}

pub async fn start_campaign(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let asked = start_campaign_as(&state, &caller, &id).await?;
    Ok(Json(json!({"asked": asked})))
}

/// Starts a campaign for the caller, audited. Returns how many it asked.
pub(crate) async fn start_campaign_as(state: &AppState, caller: &Caller, id: &str) -> Result<u32, ApiError> {
    let asked = state.ledger.start_campaign(site(caller)?, id).await.map_err(ledger_error)?;
    audit(state, caller, "campaign.start", &format!("campaign:{id}"), json!({"asked": asked})).await?;
    Ok(asked)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseCampaign {
    #[serde(default)]
    apply: bool,
}

/// After the deadline: what closing does (`apply: false`), or does it.
pub async fn close_campaign(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_domain, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: CloseCampaign = json_body(&body)?;
    Ok(Json(json!(close_campaign_as(&state, &caller, &id, req.apply).await?)))
}

/// Previews (`apply: false`) or closes a campaign for the caller; the close is audited.
pub(crate) async fn close_campaign_as(
    state: &AppState,
    caller: &Caller,
    id: &str,
    apply: bool,
) -> Result<Closing, ApiError> {
    let actor = caller.principal.actor.to_string();
    let closing = state.ledger.close_campaign(site(caller)?, id, apply, &actor).await.map_err(ledger_error)?;
    if apply {
        audit(state, caller, "campaign.close", &format!("campaign:{id}"), json!(closing)).await?;
    }
    Ok(closing)
}

// ---- public: signup ----

/// The `Access-Control-Allow-Origin` for a browser on `origin`, if it is the site (or one of
/// its subdomains).
fn allowed_origin(site: &Site, origin: &str) -> bool {
    let host = origin.split_once("://").map_or("", |(_, rest)| rest);
    let host = host.split(':').next().unwrap_or("").trim_end_matches('/').to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    host == site.domain || host.ends_with(&format!(".{}", site.domain))
}

fn cors(res: &mut Response, origin: Option<&str>) {
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type, accept"));
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The site a public route names, or 404.
pub(crate) async fn site_named(state: &AppState, domain: &str) -> Result<Site, ApiError> {
    crate::auth::site_by_domain(state, domain).await?.ok_or_else(|| ApiError::NotFound("site not found".into()))
}

/// Checks the browser's origin: the site itself, Tillit's own pages, or no browser at all.
fn origin_check<'h>(site: &Site, headers: &'h HeaderMap) -> Result<Option<&'h str>, ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match origin {
        Some(o) if allowed_origin(site, o) => Ok(Some(o)),
        Some(_) if crate::auth::same_origin(headers) => Ok(None),
        Some(_) => Err(ApiError::Forbidden(format!("this form may be used only on {}", site.domain))),
        None => Ok(None),
    }
}

pub async fn signup_preflight(
    State(state): State<AppState>,
    Path((domain, _point)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(site) = site_named(&state, &domain).await
        && let Ok(origin) = origin_check(&site, &headers)
    {
        cors(&mut res, origin);
    }
    res
}

/// A signup as the wire carries it: a JSON document or a form post.
#[derive(Default, Deserialize)]
struct SignupWire {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    purposes: Vec<String>,
    #[serde(default, alias = "notice")]
    notice_sha256: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    page_url: String,
    /// The honeypot: people never fill it in.
    #[serde(default)]
    website: String,
}

fn signup_from_form(body: &[u8]) -> SignupWire {
    let mut w = SignupWire::default();
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "email" => w.email = v.into_owned(),
            "name" => w.name = Some(v.into_owned()),
            "purpose" => w.purposes.push(v.into_owned()),
            "notice" => w.notice_sha256 = v.into_owned(),
            "lang" => w.lang = Some(v.into_owned()),
            "page_url" => w.page_url = v.into_owned(),
            "website" => w.website = v.into_owned(),
            other => {
                if let Some(field) = other.strip_prefix("field.")
                    && !v.is_empty()
                {
                    w.fields.insert(field.to_owned(), v.into_owned());
                }
            }
        }
    }
    w
}

/// `POST /api/signup/{domain}/{point}`: JSON clients get JSON; a form posted without script
/// gets a page.
pub async fn signup(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((domain, point)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let is_json = |h: header::HeaderName| {
        headers.get(h).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
    };
    let json_body_sent = is_json(header::CONTENT_TYPE);
    let wants_json = json_body_sent || is_json(header::ACCEPT);
    let wire = if json_body_sent {
        match serde_json::from_slice::<SignupWire>(&body) {
            Ok(w) => w,
            Err(e) => return ApiError::BadRequest(format!("invalid JSON: {e}")).into_response(),
        }
    } else {
        signup_from_form(&body)
    };
    let lang = wire.lang.as_deref().and_then(Lang::parse).unwrap_or_else(|| crate::i18n::choose(None, None, &headers));
    let t = Texts::of(lang);
    let site = match site_named(&state, &domain).await {
        Ok(s) => s,
        Err(e) => return answer(wants_json, lang, Err(e), None),
    };
    let origin = match origin_check(&site, &headers) {
        Ok(o) => o,
        Err(e) => return answer(wants_json, lang, Err(e), None),
    };
    let outcome = if !wire.website.is_empty() {
        // A bot filled in the honeypot: answer as if all went well, record nothing.
        Ok((StatusCode::ACCEPTED, "confirmation_sent", t.check_email_text))
    } else {
        let ev = evidence(&state, peer, &headers, lang, &wire.page_url);
        let s = Signup {
            email: wire.email,
            name: wire.name,
            purposes: wire.purposes,
            notice_sha256: wire.notice_sha256,
            fields: wire.fields,
        };
        let trusted = caller.principal.can(Permission::ManageLedger, Some(site.id));
        match state.ledger.signup(&site, &point, s, &ev, trusted).await {
            Ok(SignupOutcome::ConfirmationSent) => Ok((StatusCode::ACCEPTED, "confirmation_sent", t.check_email_text)),
            Ok(SignupOutcome::Recorded(_)) => Ok((StatusCode::CREATED, "recorded", t.recorded)),
            Err(e) => Err(match ledger_error(e) {
                ApiError::BadRequest(m) => ApiError::BadRequest(translated(t, &m)),
                other => other,
            }),
        }
    };
    answer(wants_json, lang, outcome, origin)
}

/// The person's language for the ledger's messages people meet most; others stay English.
pub(crate) fn translated(t: &Texts, message: &str) -> String {
    use tillit_core::ledger::msg;
    match message {
        m if m == msg::TICK_A_BOX => t.err_tick.to_owned(),
        m if m == msg::FORM_CHANGED => t.err_form_changed.to_owned(),
        m if m == msg::BAD_EMAIL => t.err_email.to_owned(),
        m => m.to_owned(),
    }
}

fn answer(
    wants_json: bool,
    lang: Lang,
    outcome: Result<(StatusCode, &str, &str), ApiError>,
    origin: Option<&str>,
) -> Response {
    let t = Texts::of(lang);
    let mut res = match (outcome, wants_json) {
        (Ok((status, code, message)), true) => {
            (status, Json(json!({"status": code, "message": message}))).into_response()
        }
        (Ok((status, code, message)), false) => {
            let heading = if code == "recorded" { t.subscribe } else { t.check_email };
            crate::pages::message_page_in(lang, status, heading, message, None)
        }
        (Err(e), true) => e.into_response(),
        (Err(e), false) => crate::pages::message_page_in(lang, e.status(), t.subscribe, &e.to_string(), None),
    };
    cors(&mut res, origin);
    res
}

// ---- public: one-click unsubscribe, receipts, keys ----

/// `POST /api/unsubscribe/{link}`: RFC 8058 one-click, posted by mail clients (no browser, no
/// cookies, no origin). The same URL opened in a browser leads to the confirmation page.
pub async fn one_click(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(link): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let ev = evidence(&state, peer, &headers, Lang::En, "");
    let (_, purpose) = state.ledger.unsubscribe(&link, Method::ListUnsubscribePost, &ev).await.map_err(ledger_error)?;
    Ok(Json(json!({"unsubscribed": purpose})))
}

pub async fn one_click_page(Path(link): Path<String>) -> Redirect {
    Redirect::to(&format!("/unsubscribe/{link}"))
}

/// A signed receipt and what it says.
pub async fn receipt(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (r, payload) = state.ledger.receipt(&id).await.map_err(ledger_error)?;
    let keys = format!("{}/.well-known/jwks.json", state.config.public_url.trim_end_matches('/'));
    let body = json!({"receipt_id": r.receipt_id, "jws": r.jws, "payload": payload, "keys": keys});
    let disposition = format!("attachment; filename=\"{}.json\"", r.receipt_id);
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The public key receipts are signed with.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut res = Json(state.ledger.jwks()).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sites_own_origins_may_post() {
        let site = Site {
            id: 1,
            domain: "shop.test".into(),
            timezone: "UTC".into(),
            retention_days: 1,
            created_at: 0,
            previous_domain: None,
            domain_changed_at: None,
        };
        for ok in ["https://shop.test", "https://www.shop.test", "http://blog.shop.test:8080"] {
            assert!(allowed_origin(&site, ok), "{ok}");
        }
        for bad in ["https://evil.test", "https://shop.test.evil.test", "https://notshop.test", "null"] {
            assert!(!allowed_origin(&site, bad), "{bad}");
        }
    }

    #[test]
    fn form_posts_keep_each_ticked_purpose() {
        let w = signup_from_form(b"email=a%40b.c&purpose=news&purpose=offers&notice=ab&field.city=Oslo&website=");
        assert_eq!(w.purposes, ["news", "offers"]);
        assert_eq!((w.email.as_str(), w.notice_sha256.as_str()), ("a@b.c", "ab"));
        assert_eq!(w.fields["city"], "Oslo");
    }
}
