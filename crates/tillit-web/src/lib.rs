//! Tillit's HTTP layer: the only crate that knows about HTTP, headers and the JSON wire format.
//!
//! Handlers parse the request, call the domain ([`tillit_core`]) and map the result to a response.
//! They never touch SQL and never wait on the event store.

pub mod api;
pub mod auth;
pub mod client_ip;
pub mod error;
pub mod i18n;
mod pages;
mod security;
pub mod tracker;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, patch, post};

use tillit_core::accounts::Accounts;
use tillit_core::accounts::keys::KeyBudgets;
use tillit_core::ingest::Ingestor;
use tillit_core::ledger::Ledger;
use tillit_core::mail::Mailer;
use tillit_core::stats::service::StatsService;
use tillit_core::time::Clock;
use tillit_core::writer::{EventSink, StoreHandle};
use tillit_store::app::AppStore;

pub use client_ip::TrustedProxies;
pub use pages::access::access_bundle;

/// Settings the web layer needs, decided by the binary.
#[derive(Clone, Debug)]
pub struct WebConfig {
    pub trusted_proxies: TrustedProxies,
    /// SHA-256 of the admin API token.
    pub admin_token_sha256: [u8; 32],
    /// Default retention for sites added through the API.
    pub default_retention_days: u32,
    /// Why location is unknown, if it is (shown on the health endpoint and the start page).
    pub geo_status: String,
    /// Whether locations come from the built-in country database, whose licence (CC BY 4.0) asks
    /// for a credit wherever they are shown (and whose lack of regions and cities the dashboard
    /// explains).
    pub geo_builtin: bool,
    /// Where users reach Tillit (`https://analytics.example.com`): the base of links in emails.
    /// HTTPS here turns on `Secure` cookies and HSTS.
    pub public_url: String,
}

impl WebConfig {
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Everything a handler may use. Cheap to clone: axum clones the state for every request, so it is
/// one shared pointer rather than a dozen (their reference counts showed in the ingest profile).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services behind [`AppState`].
pub struct Services {
    pub ingestor: Arc<Ingestor>,
    pub sink: EventSink,
    pub events: StoreHandle,
    pub app: AppStore,
    pub clock: Clock,
    pub config: Arc<WebConfig>,
    pub tracker: Arc<tracker::Scripts>,
    pub stats: StatsService,
    pub accounts: Accounts,
    pub budgets: Arc<KeyBudgets>,
    /// Outgoing email; `None` when no SMTP server is configured.
    pub mailer: Option<Mailer>,
    /// The consent ledger.
    pub ledger: Ledger,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ingestor: Arc<Ingestor>,
        sink: EventSink,
        events: StoreHandle,
        app: AppStore,
        clock: Clock,
        config: WebConfig,
        stats: StatsService,
        mailer: Option<Mailer>,
        ledger: Ledger,
    ) -> AppState {
        AppState(Arc::new(Services {
            ingestor,
            sink,
            events,
            accounts: Accounts::new(app.clone(), clock.clone()),
            app,
            clock,
            config: Arc::new(config),
            tracker: Arc::new(tracker::Scripts::default()),
            stats,
            budgets: Arc::default(),
            mailer,
            ledger,
        }))
    }
}

/// The whole HTTP surface. Pure: no spawning, no I/O. Every route but the Events API passes
/// [`auth::guard`], which enforces the route's entry in [`auth::RULES`], and [`security::headers`].
/// The Events API is public, answers other sites' pages and is the hot path, so it has no layer.
pub fn router(state: AppState) -> Router {
    // No body-limit layer: the handler reads the body itself, up to Plausible's 1 MB, and a layer
    // would cost every event a service clone and a boxed future.
    let ingest = Router::new().route("/api/event", post(api::event::post).options(api::event::preflight));
    ingest.merge(guarded(state.clone())).with_state(state)
}

fn guarded(state: AppState) -> Router<AppState> {
    use api::ledger as ledger_api;
    use pages::{account, admin, consent, ledger, settings, share};
    Router::new()
        .route("/", get(pages::home))
        .route("/setup", get(account::setup_form).post(account::setup))
        .route("/login", get(account::login_form).post(account::login))
        .route("/login/2fa", get(account::second_factor_form).post(account::second_factor))
        .route("/logout", post(account::logout))
        .route("/password/forgot", get(account::forgot_form).post(account::forgot))
        .route("/password/reset/{token}", get(account::reset_form).post(account::reset))
        .route("/invite/{token}", get(account::invite_form).post(account::accept_invite))
        .route("/account", get(account::page))
        .route("/account/password", post(account::change_password))
        .route("/account/language", post(pages::set_language))
        .route("/account/logout-everywhere", post(account::logout_everywhere))
        .route("/account/2fa/setup", post(account::totp_setup))
        .route("/account/2fa/confirm", post(account::totp_confirm))
        .route("/account/2fa/disable", post(account::totp_disable))
        .route("/users", get(admin::users))
        .route("/users/invite", post(admin::invite))
        .route("/users/{id}/disable", post(admin::disable))
        .route("/users/{id}/enable", post(admin::enable))
        .route("/users/{id}/remove", post(admin::remove))
        .route("/users/require-2fa", post(admin::require_two_factor))
        .route("/audit", get(admin::audit))
        .route("/sites", post(settings::add_site))
        .route("/sites/{domain}", get(pages::dashboard::view))
        .route("/sites/{domain}/details/{report}", get(pages::dashboard::details::view))
        .route("/sites/{domain}/realtime", get(pages::dashboard::realtime::view))
        .route("/sites/{domain}/export", get(pages::dashboard::export::download))
        .route("/sites/{domain}/utm", get(settings::utm))
        .route("/sites/{domain}/ledger", get(ledger::view))
        .route("/sites/{domain}/ledger/{section}", post(ledger::add))
        .route("/sites/{domain}/ledger/purposes/{key}/publish", post(ledger::publish))
        .route("/sites/{domain}/ledger/campaigns/{id}/{action}", post(ledger::campaign))
        .route("/sites/{domain}/settings", get(settings::view).post(settings::general))
        .route("/sites/{domain}/settings/{section}", post(settings::add))
        .route("/sites/{domain}/settings/{section}/{action}", post(settings::remove))
        .route("/share/{slug}", get(share::view).post(share::unlock))
        .route("/assets/{file}", get(pages::asset))
        .route("/api/health", get(api::health::get))
        .route("/api/admin/sites", get(api::sites::list).post(api::sites::create))
        .route("/api/admin/sites/{domain}", patch(api::sites::change).delete(api::sites::remove))
        .route("/api/admin/sites/{domain}/goals", get(api::goals::list).post(api::goals::create))
        .route("/api/admin/sites/{domain}/goals/{name}", delete(api::goals::remove))
        .route("/api/admin/sites/{domain}/funnels", get(api::goals::list_funnels).post(api::goals::create_funnel))
        .route("/api/admin/sites/{domain}/funnels/{name}", delete(api::goals::remove_funnel))
        .route("/api/admin/sites/{domain}/keys", get(api::keys::list).post(api::keys::create))
        .route("/api/admin/sites/{domain}/keys/{id}", delete(api::keys::revoke))
        .route("/api/admin/sites/{domain}/shared-links", get(api::links::list).post(api::links::create))
        .route("/api/admin/sites/{domain}/shared-links/{id}", delete(api::links::revoke))
        .route("/api/admin/users", get(api::users::list).post(api::users::create))
        .route("/api/admin/users/{id}", axum::routing::patch(api::users::update).delete(api::users::remove))
        .route("/api/admin/settings", axum::routing::put(api::users::settings))
        .route("/api/admin/audit", get(api::users::audit))
        .route("/api/v1/stats/realtime/visitors", get(api::stats::realtime))
        .route("/api/v1/stats/aggregate", get(api::stats::aggregate))
        .route("/api/v1/stats/timeseries", get(api::stats::timeseries))
        .route("/api/v1/stats/breakdown", get(api::stats::breakdown))
        .route("/api/v1/stats/funnel", get(api::stats::funnel))
        .route("/api/v2/query", post(api::stats::query_v2))
        .route("/js/{file}", get(tracker::get))
        .route("/api/admin/sites/{domain}/purposes", get(ledger_api::purposes).post(ledger_api::save_purpose))
        .route("/api/admin/sites/{domain}/purposes/{key}/publish", post(ledger_api::publish_purpose))
        .route("/api/admin/sites/{domain}/collection-points", get(ledger_api::points).post(ledger_api::add_point))
        .route("/api/admin/sites/{domain}/collection-points/{key}/snippet", get(ledger_api::snippet))
        .route("/api/admin/sites/{domain}/contact-fields", get(ledger_api::fields).post(ledger_api::add_field))
        .route("/api/admin/sites/{domain}/contacts", get(ledger_api::contact))
        .route("/api/admin/sites/{domain}/contacts/erase", post(ledger_api::erase))
        .route("/api/admin/sites/{domain}/requests", get(ledger_api::requests).post(ledger_api::add_request))
        .route("/api/admin/sites/{domain}/requests/{id}/extend", post(ledger_api::extend_request))
        .route("/api/admin/sites/{domain}/requests/{id}/close", post(ledger_api::close_request))
        .route("/api/admin/sites/{domain}/campaigns", get(ledger_api::campaigns).post(ledger_api::add_campaign))
        .route("/api/admin/sites/{domain}/campaigns/{id}", get(ledger_api::campaign))
        .route("/api/admin/sites/{domain}/campaigns/{id}/start", post(ledger_api::start_campaign))
        .route("/api/admin/sites/{domain}/campaigns/{id}/close", post(ledger_api::close_campaign))
        .route("/api/requests/{id}/verify", post(ledger_api::verify_request))
        .route("/api/admin/sites/{domain}/consents", post(ledger_api::record_consent))
        .route("/api/admin/sites/{domain}/send-check", post(ledger_api::send_check))
        .route("/api/admin/sites/{domain}/messages", post(ledger_api::send_message))
        .route("/api/signup/{domain}/{point}", post(ledger_api::signup).options(ledger_api::signup_preflight))
        .route("/api/unsubscribe/{link}", get(ledger_api::one_click_page).post(ledger_api::one_click))
        .route("/receipts/{id}", get(ledger_api::receipt))
        .route("/.well-known/jwks.json", get(ledger_api::jwks))
        .route("/f/{domain}/{point}", get(consent::hosted_form))
        .route("/confirm/{token}", get(consent::confirm_page).post(consent::confirm))
        .route("/preferences/site/{domain}", get(consent::request_page).post(consent::request_link))
        .route("/preferences/{link}", get(consent::preferences).post(consent::change))
        .route("/preferences/{link}/{file}", get(consent::download))
        .route("/unsubscribe/{link}", get(consent::unsubscribe_page).post(consent::unsubscribe))
        .route("/requests/site/{domain}", get(consent::request_form).post(consent::make_request))
        .route("/requests/{id}", get(consent::request_code).post(consent::confirm_request))
        .route_layer(from_fn_with_state(state.clone(), auth::guard))
        .fallback(error::not_found)
        .layer(from_fn_with_state(state, security::headers))
}
