//! Access control for every route, in one place.
//!
//! [`RULES`] names, for each route the router serves, what the caller must be allowed to do;
//! [`guard`] runs on every matched request: it authenticates (admin token, API key or session
//! cookie), refuses cross-site state changes (CSRF), finds the site the rule is about, and asks
//! [`Principal::can`]. A route without a rule is refused, so a new route cannot be left open by
//! forgetting it. Handlers receive the outcome as a [`Caller`] extension.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::error;

use tillit_core::access::{Permission, Principal};
use tillit_core::accounts::keys::KeyRejection;
use tillit_core::accounts::principal;
use tillit_core::i18n::Lang;
use tillit_store::app::Site;
use tillit_store::app::accounts::User;

use crate::AppState;
use crate::error::ApiError;

/// The session cookie. HttpOnly, SameSite=Lax, Secure when served over HTTPS.
pub const SESSION_COOKIE: &str = "tillit_session";

/// What a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anyone (the tracker, the Events API, sign-in pages). The handler may still look at the caller.
    Public,
    /// Any signed-in person (their own account pages), even before a required 2FA setup.
    SignedIn,
    /// Any authenticated caller; the handler shows only what the grants allow.
    Authenticated,
    /// A site permission; the site is named by the route.
    Site(Permission, SiteFrom),
    /// An instance-wide permission.
    Instance(Permission),
}

/// Where a route names its site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteFrom {
    /// The `{domain}` path segment.
    Path,
    /// The `site_id` query parameter (Plausible's Stats API v1).
    Query,
    /// The `site_id` member of the JSON body (Plausible's Stats API v2).
    Body,
}

use Permission::{ManageLedger, ManageSite, ManageSites, ManageUsers, ReadAudit, ReadPersonalData, ViewDashboard};
use Rule::{Authenticated, Instance, Public, SignedIn};
use SiteFrom::Path as InPath;

/// Every route and what it requires. The access-matrix test (`tests/it/access.rs`) sends a request
/// to every entry as every kind of caller, and fails on a route it has no request for, keeping this
/// and the router in step.
pub const RULES: &[(&str, &str, Rule)] = &[
    ("GET", "/", Public),
    ("GET", "/setup", Public),
    ("POST", "/setup", Public),
    ("GET", "/login", Public),
    ("POST", "/login", Public),
    ("GET", "/login/2fa", Public),
    ("POST", "/login/2fa", Public),
    ("POST", "/logout", Public),
    ("GET", "/password/forgot", Public),
    ("POST", "/password/forgot", Public),
    ("GET", "/password/reset/{token}", Public),
    ("POST", "/password/reset/{token}", Public),
    ("GET", "/invite/{token}", Public),
    ("POST", "/invite/{token}", Public),
    ("POST", "/sites", Instance(ManageSites)),
    ("GET", "/sites/{domain}", Rule::Site(ViewDashboard, InPath)),
    ("GET", "/sites/{domain}/details/{report}", Rule::Site(ViewDashboard, InPath)),
    ("GET", "/sites/{domain}/realtime", Rule::Site(ViewDashboard, InPath)),
    ("GET", "/sites/{domain}/export", Rule::Site(ViewDashboard, InPath)),
    ("GET", "/sites/{domain}/utm", Rule::Site(ViewDashboard, InPath)),
    ("GET", "/sites/{domain}/ledger", Rule::Site(ManageLedger, InPath)),
    ("POST", "/sites/{domain}/ledger/{section}", Rule::Site(ManageLedger, InPath)),
    ("POST", "/sites/{domain}/ledger/purposes/{key}/publish", Rule::Site(ManageLedger, InPath)),
    ("POST", "/sites/{domain}/ledger/campaigns/{id}/{action}", Rule::Site(ManageLedger, InPath)),
    ("GET", "/sites/{domain}/settings", Rule::Site(ManageSite, InPath)),
    ("POST", "/sites/{domain}/settings", Rule::Site(ManageSite, InPath)),
    ("POST", "/sites/{domain}/settings/{section}", Rule::Site(ManageSite, InPath)),
    ("POST", "/sites/{domain}/settings/{section}/{action}", Rule::Site(ManageSite, InPath)),
    ("GET", "/share/{slug}", Public),
    ("POST", "/share/{slug}", Public),
    ("GET", "/account", SignedIn),
    ("POST", "/account/password", SignedIn),
    ("POST", "/account/language", SignedIn),
    ("POST", "/account/logout-everywhere", SignedIn),
    ("POST", "/account/2fa/setup", SignedIn),
    ("POST", "/account/2fa/confirm", SignedIn),
    ("POST", "/account/2fa/disable", SignedIn),
    ("GET", "/users", Instance(ManageUsers)),
    ("POST", "/users/invite", Instance(ManageUsers)),
    ("POST", "/users/{id}/disable", Instance(ManageUsers)),
    ("POST", "/users/{id}/enable", Instance(ManageUsers)),
    ("POST", "/users/{id}/remove", Instance(ManageUsers)),
    ("POST", "/users/require-2fa", Instance(ManageUsers)),
    ("GET", "/audit", Instance(ReadAudit)),
    ("GET", "/assets/{file}", Public),
    ("GET", "/api/admin/sites/{domain}/purposes", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/purposes", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/purposes/{key}/publish", Rule::Site(ManageLedger, InPath)),
    ("GET", "/api/admin/sites/{domain}/collection-points", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/collection-points", Rule::Site(ManageLedger, InPath)),
    ("GET", "/api/admin/sites/{domain}/collection-points/{key}/snippet", Rule::Site(ManageLedger, InPath)),
    ("GET", "/api/admin/sites/{domain}/contact-fields", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/contact-fields", Rule::Site(ManageLedger, InPath)),
    ("GET", "/api/admin/sites/{domain}/contacts", Rule::Site(ReadPersonalData, InPath)),
    ("POST", "/api/admin/sites/{domain}/contacts/erase", Rule::Site(ManageLedger, InPath)),
    ("GET", "/api/admin/sites/{domain}/requests", Rule::Site(ReadPersonalData, InPath)),
    ("POST", "/api/admin/sites/{domain}/requests", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/requests/{id}/extend", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/requests/{id}/close", Rule::Site(ManageLedger, InPath)),
    ("GET", "/api/admin/sites/{domain}/campaigns", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/campaigns", Rule::Site(ManageLedger, InPath)),
    ("GET", "/api/admin/sites/{domain}/campaigns/{id}", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/campaigns/{id}/start", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/campaigns/{id}/close", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/requests/{id}/verify", Public),
    ("POST", "/api/admin/sites/{domain}/consents", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/send-check", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/admin/sites/{domain}/messages", Rule::Site(ManageLedger, InPath)),
    ("POST", "/api/signup/{domain}/{point}", Public),
    ("OPTIONS", "/api/signup/{domain}/{point}", Public),
    ("GET", "/api/unsubscribe/{link}", Public),
    ("POST", "/api/unsubscribe/{link}", Public),
    ("GET", "/receipts/{id}", Public),
    ("GET", "/.well-known/jwks.json", Public),
    ("GET", "/f/{domain}/{point}", Public),
    ("GET", "/confirm/{token}", Public),
    ("POST", "/confirm/{token}", Public),
    ("GET", "/preferences/site/{domain}", Public),
    ("POST", "/preferences/site/{domain}", Public),
    ("GET", "/preferences/{link}", Public),
    ("POST", "/preferences/{link}", Public),
    ("GET", "/preferences/{link}/{file}", Public),
    ("GET", "/unsubscribe/{link}", Public),
    ("POST", "/unsubscribe/{link}", Public),
    ("GET", "/requests/site/{domain}", Public),
    ("POST", "/requests/site/{domain}", Public),
    ("GET", "/requests/{id}", Public),
    ("POST", "/requests/{id}", Public),
    ("GET", "/js/{file}", Public),
    ("POST", "/api/event", Public),
    ("OPTIONS", "/api/event", Public),
    ("GET", "/api/health", Public),
    ("GET", "/api/v1/stats/realtime/visitors", Rule::Site(ViewDashboard, SiteFrom::Query)),
    ("GET", "/api/v1/stats/aggregate", Rule::Site(ViewDashboard, SiteFrom::Query)),
    ("GET", "/api/v1/stats/timeseries", Rule::Site(ViewDashboard, SiteFrom::Query)),
    ("GET", "/api/v1/stats/breakdown", Rule::Site(ViewDashboard, SiteFrom::Query)),
    ("GET", "/api/v1/stats/funnel", Rule::Site(ViewDashboard, SiteFrom::Query)),
    ("POST", "/api/v2/query", Rule::Site(ViewDashboard, SiteFrom::Body)),
    ("GET", "/api/admin/sites", Authenticated),
    ("POST", "/api/admin/sites", Instance(ManageSites)),
    ("PATCH", "/api/admin/sites/{domain}", Rule::Site(ManageSite, InPath)),
    ("DELETE", "/api/admin/sites/{domain}", Instance(ManageSites)),
    ("GET", "/api/admin/sites/{domain}/goals", Rule::Site(ViewDashboard, InPath)),
    ("POST", "/api/admin/sites/{domain}/goals", Rule::Site(ManageSite, InPath)),
    ("DELETE", "/api/admin/sites/{domain}/goals/{name}", Rule::Site(ManageSite, InPath)),
    ("GET", "/api/admin/sites/{domain}/funnels", Rule::Site(ViewDashboard, InPath)),
    ("POST", "/api/admin/sites/{domain}/funnels", Rule::Site(ManageSite, InPath)),
    ("DELETE", "/api/admin/sites/{domain}/funnels/{name}", Rule::Site(ManageSite, InPath)),
    ("GET", "/api/admin/sites/{domain}/keys", Rule::Site(ManageSite, InPath)),
    ("POST", "/api/admin/sites/{domain}/keys", Rule::Site(ManageSite, InPath)),
    ("DELETE", "/api/admin/sites/{domain}/keys/{id}", Rule::Site(ManageSite, InPath)),
    ("GET", "/api/admin/sites/{domain}/shared-links", Rule::Site(ManageSite, InPath)),
    ("POST", "/api/admin/sites/{domain}/shared-links", Rule::Site(ManageSite, InPath)),
    ("DELETE", "/api/admin/sites/{domain}/shared-links/{id}", Rule::Site(ManageSite, InPath)),
    ("GET", "/api/admin/users", Instance(ManageUsers)),
    ("POST", "/api/admin/users", Instance(ManageUsers)),
    ("PATCH", "/api/admin/users/{id}", Instance(ManageUsers)),
    ("DELETE", "/api/admin/users/{id}", Instance(ManageUsers)),
    ("PUT", "/api/admin/settings", Instance(ManageUsers)),
    ("GET", "/api/admin/audit", Instance(ReadAudit)),
];

/// The rule for a matched route, if there is one.
pub fn rule_for(method: &Method, path: &str) -> Option<Rule> {
    RULES.iter().find(|(m, p, _)| *m == method.as_str() && *p == path).map(|(_, _, r)| *r)
}

/// Who is calling, as decided by [`guard`].
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    /// The signed-in user (session cookie, both factors done).
    pub user: Option<User>,
    /// The session cookie's value, for sign-out.
    pub session_token: Option<String>,
    /// Signed in with the password, waiting for the TOTP code.
    pub second_factor_due: bool,
    /// Owners require two-factor authentication and this user has not set it up: only their
    /// account pages work until they do.
    pub must_set_up_two_factor: bool,
    /// The site the route's rule was checked against.
    pub site: Option<Site>,
    /// Authenticated by an `Authorization` header (no cookies involved).
    pub bearer: bool,
    /// The language of the pages this caller sees (see [`crate::i18n::choose`]).
    pub lang: Lang,
    /// The request's path and query (where a language change returns to).
    pub here: String,
}

impl Caller {
    fn anonymous() -> Caller {
        Caller {
            principal: Principal::anonymous(),
            user: None,
            session_token: None,
            second_factor_due: false,
            must_set_up_two_factor: false,
            site: None,
            bearer: false,
            lang: Lang::En,
            here: String::new(),
        }
    }
}

/// The access middleware (installed with `route_layer`, so the matched route is known).
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let Some(rule) = rule_for(req.method(), &path) else {
        error!(route = %path, method = %req.method(), "route without an access rule refused");
        return deny(&path, Denial::Forbidden);
    };
    // The tracker is public and fetched by every visitor: no authentication to do. (The Events
    // API does not even pass this layer; see `router`.)
    if rule == Public && path == "/js/{file}" {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let mut caller = match authenticate(&state, &parts.headers).await {
        Ok(c) => c,
        Err(d) => return deny(&path, d),
    };
    let explicit = parts.uri.query().and_then(|q| query_param(q, "lang"));
    let saved = caller.user.as_ref().and_then(|u| u.locale.as_deref());
    caller.lang = crate::i18n::choose(explicit.as_deref(), saved, &parts.headers);
    caller.here = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    // CSRF: a state change that a browser could make on the user's behalf — one carrying
    // cookies, or any form of Tillit's pages (a forged sign-in is an attack too) — must come from
    // Tillit's own origin. Bearer-authenticated calls carry no ambient credentials.
    let ambient = parts.headers.contains_key(header::COOKIE) || !path.starts_with("/api/");
    if is_unsafe(&parts.method) && !caller.bearer && ambient && !same_origin(&parts.headers) {
        return deny(&path, Denial::CrossSite);
    }
    let mut body = Some(body);
    let allowed = match rule {
        Public => Ok(()),
        SignedIn if caller.user.is_some() => Ok(()),
        SignedIn => Err(Denial::SignIn),
        _ if caller.must_set_up_two_factor => Err(Denial::TwoFactorSetup),
        Authenticated if caller.principal != Principal::anonymous() => Ok(()),
        Instance(perm) if caller.principal.can(perm, None) => Ok(()),
        Rule::Site(perm, from) if caller.principal != Principal::anonymous() => {
            let domain = match from {
                SiteFrom::Path => RawPathParams::from_request_parts(&mut parts, &state)
                    .await
                    .ok()
                    .and_then(|p| p.iter().find(|(k, _)| *k == "domain").map(|(_, v)| v.to_owned())),
                SiteFrom::Query => parts.uri.query().and_then(|q| query_param(q, "site_id")),
                SiteFrom::Body => {
                    let bytes = match to_bytes(body.take().unwrap_or_default(), 1 << 20).await {
                        Ok(b) => b,
                        Err(_) => return ApiError::BadRequest("request body too large".into()).into_response(),
                    };
                    let domain = serde_json::from_slice::<serde_json::Value>(&bytes)
                        .ok()
                        .and_then(|v| v.get("site_id").and_then(|s| s.as_str()).map(str::to_owned));
                    body = Some(Body::from(bytes));
                    domain
                }
            };
            match domain {
                None if from != SiteFrom::Path => {
                    // Plausible's answer when the site is missing.
                    return ApiError::BadRequest(
                        "Missing site ID. Please provide the required site_id parameter with your request.".into(),
                    )
                    .into_response();
                }
                None => Err(Denial::NoSite),
                Some(domain) => match site_by_domain(&state, &domain).await {
                    Ok(Some(site)) if caller.principal.can(perm, Some(site.id)) => {
                        caller.site = Some(site);
                        Ok(())
                    }
                    Ok(None) if caller.principal.can_everywhere(perm) => Err(Denial::UnknownSite),
                    Ok(_) => Err(Denial::NoSite),
                    Err(e) => return e.into_response(),
                },
            }
        }
        _ if caller.principal == Principal::anonymous() => Err(Denial::SignIn),
        _ => Err(Denial::Forbidden),
    };
    if let Err(d) = allowed {
        return deny(&path, d);
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body.unwrap_or_default())).await
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denial {
    /// No credentials (or expired ones).
    SignIn,
    /// A bearer key that is unknown or revoked.
    BadKey,
    RateLimited {
        limit: u32,
        retry_after: i64,
    },
    /// The site does not exist or the caller may not use it (the same answer for both).
    NoSite,
    /// The site does not exist, told to a caller who may use every site (it learns nothing).
    UnknownSite,
    Forbidden,
    CrossSite,
    TwoFactorSetup,
}

/// Maps a refusal to a response: Plausible's wording on the Stats API, JSON elsewhere under
/// `/api/`, and a redirect or an HTML page for browser routes.
fn deny(path: &str, d: Denial) -> Response {
    let stats_api = path.starts_with("/api/v1/stats") || path.starts_with("/api/v2/");
    if stats_api {
        let (status, msg) = match d {
            Denial::SignIn => {
                (StatusCode::UNAUTHORIZED, "Missing API key. Please use a valid Plausible API key as a Bearer Token.")
            }
            Denial::BadKey | Denial::NoSite | Denial::UnknownSite | Denial::Forbidden | Denial::TwoFactorSetup => (
                StatusCode::UNAUTHORIZED,
                "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site you've requested.",
            ),
            Denial::CrossSite => (StatusCode::FORBIDDEN, "cross-site request refused"),
            Denial::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, ""),
        };
        if let Denial::RateLimited { limit, retry_after } = d {
            return rate_limited(limit, retry_after);
        }
        return (status, axum::Json(serde_json::json!({ "error": msg }))).into_response();
    }
    if let Denial::RateLimited { limit, retry_after } = d {
        return rate_limited(limit, retry_after);
    }
    if path.starts_with("/api/") {
        let (status, msg) = match d {
            Denial::SignIn => (StatusCode::UNAUTHORIZED, "sign in or send an API key"),
            Denial::BadKey => (StatusCode::UNAUTHORIZED, "invalid or revoked API key"),
            Denial::NoSite => (StatusCode::FORBIDDEN, "no access to this site"),
            Denial::UnknownSite => (StatusCode::NOT_FOUND, "site not found"),
            Denial::Forbidden => (StatusCode::FORBIDDEN, "your role does not allow this"),
            Denial::CrossSite => (StatusCode::FORBIDDEN, "cross-site request refused"),
            Denial::TwoFactorSetup => (StatusCode::FORBIDDEN, "set up two-factor authentication first"),
            Denial::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "too many requests"),
        };
        return (status, axum::Json(serde_json::json!({ "error": msg }))).into_response();
    }
    match d {
        Denial::SignIn => Redirect::to(&format!("/login?next={}", urlencode(path))).into_response(),
        Denial::TwoFactorSetup => Redirect::to("/account?setup2fa=required").into_response(),
        Denial::CrossSite => {
            crate::pages::error_page(StatusCode::FORBIDDEN, "This form was sent from another site and was refused.")
        }
        Denial::UnknownSite => crate::pages::error_page(StatusCode::NOT_FOUND, "No such site."),
        _ => crate::pages::error_page(StatusCode::FORBIDDEN, "Your role does not allow this page."),
    }
}

fn rate_limited(limit: u32, retry_after: i64) -> Response {
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({
            "error": format!("Too many API requests. Your API key is limited to {limit} requests per hour.")
        })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Works out who is calling. A bearer token wins over cookies (and makes CSRF moot).
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Denial> {
    let mut caller = Caller::anonymous();
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).unwrap_or_default();
        if token.is_empty() {
            return Err(Denial::SignIn);
        }
        caller.bearer = true;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if bool::from(digest.ct_eq(&state.config.admin_token_sha256)) {
            caller.principal = Principal::operator();
            return Ok(caller);
        }
        return match state.budgets.authenticate(&state.app, token, state.clock.now()).await {
            Ok(Ok(p)) => {
                caller.principal = p;
                Ok(caller)
            }
            Ok(Err(KeyRejection::Invalid)) => Err(Denial::BadKey),
            Ok(Err(KeyRejection::RateLimited { limit, retry_after })) => {
                Err(Denial::RateLimited { limit, retry_after })
            }
            Err(e) => {
                error!(error = %e, "API key lookup failed");
                Err(Denial::Forbidden)
            }
        };
    }
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(caller) };
    match state.accounts.session(&token).await {
        Ok(Some(s)) if s.second_factor_due => {
            caller.second_factor_due = true;
            caller.session_token = Some(token);
        }
        Ok(Some(s)) => {
            let must = !s.user.two_factor && state.accounts.two_factor_required().await.unwrap_or(true);
            caller.must_set_up_two_factor = must;
            if !must {
                caller.principal = principal(&s.user);
            }
            caller.user = Some(s.user);
            caller.session_token = Some(token);
        }
        Ok(None) => {}
        Err(e) => error!(error = %e, "session lookup failed"),
    }
    Ok(caller)
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a state-changing request comes from Tillit's own pages: the browser's
/// `Sec-Fetch-Site` says so, or (older browsers) `Origin` names this host. A request with
/// neither header is refused: every browser that sends cookies sends one of them.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            origin.split_once("://").is_some_and(|(_, rest)| rest.trim_end_matches('/').eq_ignore_ascii_case(host))
        }
        _ => false,
    }
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The site with this domain (`www.` and case ignored), or whose previous domain this still is.
pub(crate) async fn site_by_domain(state: &AppState, domain: &str) -> Result<Option<Site>, ApiError> {
    let domain = tillit_core::sites::normalise_domain(domain);
    let mut sites = state.app.list_sites().await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = state.clock.now();
    let current = sites.iter().position(|s| s.domain == domain);
    let found = current.or_else(|| sites.iter().position(|s| tillit_core::sites::answers_to(s, &domain, now)));
    Ok(found.map(|i| sites.swap_remove(i)))
}
