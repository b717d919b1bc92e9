//! Tillit's HTTP layer: the only crate that knows about HTTP, headers and the JSON wire format.
//!
//! Handlers parse the request, call the domain ([`tillit_core`]) and map the result to a response.
//! They never touch SQL and never wait on the event store.

pub mod api;
pub mod client_ip;
pub mod error;
mod pages;
pub mod tracker;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use tillit_core::ingest::Ingestor;
use tillit_core::stats::service::StatsService;
use tillit_core::time::Clock;
use tillit_core::writer::{EventSink, StoreHandle};
use tillit_store::app::AppStore;

pub use client_ip::TrustedProxies;

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
}

/// Everything a handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub ingestor: Arc<Ingestor>,
    pub sink: EventSink,
    pub events: StoreHandle,
    pub app: AppStore,
    pub clock: Clock,
    pub config: Arc<WebConfig>,
    pub tracker: Arc<tracker::Scripts>,
    pub stats: StatsService,
}

impl AppState {
    pub fn new(
        ingestor: Arc<Ingestor>,
        sink: EventSink,
        events: StoreHandle,
        app: AppStore,
        clock: Clock,
        config: WebConfig,
        stats: StatsService,
    ) -> AppState {
        AppState {
            ingestor,
            sink,
            events,
            app,
            clock,
            config: Arc::new(config),
            tracker: Arc::new(tracker::Scripts::default()),
            stats,
        }
    }
}

/// The whole HTTP surface. Pure: no spawning, no I/O.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/api/event", post(api::event::post).options(api::event::preflight).layer(DefaultBodyLimit::disable()))
        .route("/api/health", get(api::health::get))
        .route("/api/admin/sites", get(api::sites::list).post(api::sites::create))
        .route("/api/admin/sites/{domain}", delete(api::sites::remove))
        .route("/api/admin/sites/{domain}/goals", get(api::goals::list).post(api::goals::create))
        .route("/api/admin/sites/{domain}/goals/{name}", delete(api::goals::remove))
        .route("/api/v1/stats/realtime/visitors", get(api::stats::realtime))
        .route("/api/v1/stats/aggregate", get(api::stats::aggregate))
        .route("/api/v1/stats/timeseries", get(api::stats::timeseries))
        .route("/api/v1/stats/breakdown", get(api::stats::breakdown))
        .route("/api/v1/stats/funnel", get(api::stats::funnel))
        .route("/api/v2/query", post(api::stats::query_v2))
        .route("/api/admin/sites/{domain}/funnels", get(api::goals::list_funnels).post(api::goals::create_funnel))
        .route("/api/admin/sites/{domain}/funnels/{name}", delete(api::goals::remove_funnel))
        .route("/js/{file}", get(tracker::get))
        .fallback(error::not_found)
        .with_state(state)
}
