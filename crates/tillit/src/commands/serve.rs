//! `tillit serve`: open the stores, replay the ingest log, start the jobs and the HTTP server, and
//! on SIGTERM/SIGINT stop accepting, write everything accepted to the store and exit 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use tracing::{info, warn};

use tillit_core::ingest::Ingestor;
use tillit_core::ingest::session::SESSION_TIMEOUT_SECS;
use tillit_core::ingest::useragent::UaParser;
use tillit_core::ingest::visitor::{DailySalt, SALT_MAX_AGE_SECS, needs_rotation, random_salt};
use tillit_core::ledger::keys::LedgerKeys;
use tillit_core::ledger::outbox::{Delivery, Pacer};
use tillit_core::ledger::receipt::Controller;
use tillit_core::ledger::{Ledger, RetentionRules};
use tillit_core::mail::Mailer;
use tillit_core::sites;
use tillit_core::stats::service::StatsService;
use tillit_core::time::Clock;
use tillit_core::writer::{self, StoreHandle, WriterOptions};
use tillit_store::app::AppStore;
use tillit_store::events::EventStore;
use tillit_web::{AppState, TrustedProxies, WebConfig};

use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let clock = Clock::system();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    let mut events = EventStore::open_duckdb(&config.events_db(), &config.event_store_options())?;
    delete_removed_sites_now(&app, &mut events).await?;

    let geo = super::open_geo(&config)?;
    let geo_status = format!("using {}", geo.description());
    let geo_attribution = geo.is_builtin();
    let geo = Some(geo);
    let spam = match &config.referrer_spam_file {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        None => String::new(),
    };
    let ua = UaParser::new(50_000)?;
    let salts = rotate_salts(&app, clock.now()).await?;
    let ingestor = Arc::new(Ingestor::new(ua, geo, &spam, salts));
    refresh_sites(&app, &ingestor, clock.now()).await?;
    // Queries read through their own connections, so they never wait behind the writer thread.
    let stats = StatsService::new(app.clone(), events.reader()?);
    let (sink, store, writer, recovery) = writer::start(&config.ingest_log_dir(), events, WriterOptions::default())?;
    if recovery.replayed_events > 0 || recovery.torn_tails > 0 {
        info!(events = recovery.replayed_events, torn_tails = recovery.torn_tails, "replayed the ingest log");
    }
    // Live visits continue across a restart: rebuild the sessions active in the last 30 minutes,
    // after the replay, so events that were only in the log count too.
    let now = clock.now();
    let recent = store.run(move |s| s.recent(now, SESSION_TIMEOUT_SECS)).await??;
    ingestor.sessions().restore(&recent);

    let admin_token = admin_token(&config)?;
    let web = WebConfig {
        trusted_proxies: TrustedProxies::parse(&config.trusted_proxies).map_err(anyhow::Error::msg)?,
        admin_token_sha256: Sha256::digest(admin_token.as_bytes()).into(),
        default_retention_days: config.default_retention_days,
        geo_builtin: geo_attribution,
        geo_status,
        public_url: config.public_url.clone(),
    };
    let mailer = match &config.smtp_url {
        Some(url) => Some(Mailer::new(url, &config.mail_from).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let ledger = open_ledger(&config, &app, &clock, mailer.clone())?;
    let state = AppState::new(
        ingestor.clone(),
        sink,
        store.clone(),
        app.clone(),
        clock.clone(),
        web,
        stats.clone(),
        mailer,
        ledger.clone(),
    );
    let router = tillit_web::router(state);

    let mut jobs = JoinSet::new();
    jobs.spawn(jobs_loop(app.clone(), ingestor.clone(), store.clone(), clock.clone()));
    jobs.spawn(rollups_loop(stats, clock.clone()));
    jobs.spawn(mail_loop(ledger.clone(), config.mail_per_minute));
    jobs.spawn(ledger_loop(ledger, config.retention_rules()));

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    info!(%addr, data_dir = %config.data_dir.display(), "tillit is serving; open http://{addr}/");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;

    info!("shutting down: writing accepted events to the store");
    jobs.abort_all();
    while jobs.join_next().await.is_some() {}
    drop(store);
    tokio::task::spawn_blocking(move || writer.join()).await.context("writer did not stop cleanly")?;
    info!("stopped");
    Ok(())
}

/// The consent ledger, with its keys from `<data-dir>/ledger-keys` (created on first start).
pub fn open_ledger(config: &Config, app: &AppStore, clock: &Clock, mailer: Option<Mailer>) -> anyhow::Result<Ledger> {
    let keys = LedgerKeys::load_or_create(&config.ledger_keys()).map_err(anyhow::Error::msg)?;
    let controller = Controller {
        name: config.controller_name.clone(),
        email: config.controller_email.clone(),
        jurisdiction: config.jurisdiction.clone(),
        recipients: config.recipients.split(';').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        retention: config.retention_rules(),
    };
    Ok(Ledger::new(app.clone(), keys, clock.clone(), mailer, &config.public_url, controller))
}

/// Every ten minutes: consents past their purpose's lifetime become `expired`, and unconfirmed
/// signups past their link's life are deleted with the people who never confirmed; every six
/// hours the ledger's retention rules.
async fn ledger_loop(ledger: Ledger, rules: RetentionRules) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        // Retention: at start and every 6 hours (its rules count in days).
        if n % 36 == 1 {
            match ledger.retention(&rules, false).await {
                Ok(done) => {
                    for (rule, count) in done.iter().filter(|(_, c)| *c > 0) {
                        info!(rule = %rule, count, "ledger retention");
                    }
                }
                Err(e) => warn!(error = %e, "ledger retention failed"),
            }
        }
        match ledger.expire_lapsed().await {
            Ok(0) => {}
            Ok(n) => info!(consents = n, "consents expired"),
            Err(e) => warn!(error = %e, "expiring consents failed"),
        }
        match ledger.purge_unconfirmed().await {
            Ok((0, 0)) => {}
            Ok((requests, contacts)) => info!(requests, contacts, "purged unconfirmed signups"),
            Err(e) => warn!(error = %e, "purging unconfirmed signups failed"),
        }
    }
}

/// The mail queue: every second, what is due goes out within the rate limit; every minute the
/// campaigns' reminders that are due are queued.
async fn mail_loop(ledger: Ledger, per_minute: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let started = std::time::Instant::now();
    let now_ms = || i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let mut pacer = Pacer::new(per_minute, now_ms());
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        if n % 60 == 1 {
            match ledger.send_reminders().await {
                Ok(0) => {}
                Ok(queued) => info!(queued, "campaign reminders queued"),
                Err(e) => warn!(error = %e, "queueing campaign reminders failed"),
            }
        }
        let budget = pacer.available(now_ms());
        match ledger.deliver_due(budget).await {
            Ok(d) => {
                pacer.spend(d.sent + d.retrying + d.failed);
                if d != Delivery::default() {
                    info!(
                        sent = d.sent,
                        retrying = d.retrying,
                        cancelled = d.cancelled,
                        failed = d.failed,
                        "mail queue"
                    );
                }
            }
            Err(e) => warn!(error = %e, "mail queue failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

/// Day roll-ups: built for finished days at start and then every five minutes (a day becomes
/// finished half an hour after midnight UTC; a back-filled day is rebuilt on the next round).
async fn rollups_loop(stats: StatsService, clock: Clock) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    let mut first = true;
    loop {
        tick.tick().await;
        let started = std::time::Instant::now();
        match stats.build_rollups(clock.now()).await {
            Ok(0) if first => info!("day roll-ups up to date"),
            Ok(0) => {}
            Ok(days) => info!(days, ms = started.elapsed().as_millis() as u64, "built day roll-ups"),
            Err(e) => warn!(error = %e, "building day roll-ups failed"),
        }
        first = false;
    }
}

/// The periodic jobs: site list refresh, salt rotation, session eviction, retention, site deletion.
async fn jobs_loop(app: AppStore, ingestor: Arc<Ingestor>, store: StoreHandle, clock: Clock) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        if let Err(e) = refresh_sites(&app, &ingestor, clock.now()).await {
            warn!(error = %e, "site refresh failed");
        }
        if n % 30 == 1 {
            match rotate_salts(&app, clock.now()).await {
                Ok(salts) => ingestor.set_salts(salts),
                Err(e) => warn!(error = %e, "salt rotation failed"),
            }
            ingestor.sessions().evict(clock.now());
            if let Err(e) = delete_removed_sites(&app, &store).await {
                warn!(error = %e, "deleting removed sites failed");
            }
            // Expired sessions are refused anyway; this keeps the table small.
            if let Err(e) = app.purge_expired_sessions(clock.now()).await {
                warn!(error = %e, "purging expired sessions failed");
            }
        }
        // Retention: at start and then every 6 hours (the rule itself is per day).
        if n % 10_800 == 1
            && let Err(e) = apply_retention(&app, &store, clock.now()).await
        {
            warn!(error = %e, "retention job failed");
        }
    }
}

async fn refresh_sites(app: &AppStore, ingestor: &Ingestor, now: i64) -> anyhow::Result<()> {
    let all = app.list_sites().await?;
    ingestor.set_sites(all.into_iter().map(|s| sites::info(s, now)));
    Ok(())
}

/// Makes sure today's salt exists, destroys salts older than 48 hours, and returns the pair in use.
pub async fn rotate_salts(app: &AppStore, now: i64) -> anyhow::Result<DailySalt> {
    let salts = app.salts().await?;
    let current = match salts.first() {
        Some(s) if !needs_rotation(s.created_at, now) => s.clone(),
        _ => app.insert_salt(random_salt(), now).await?,
    };
    app.delete_salts_before(now - SALT_MAX_AGE_SECS).await?;
    Ok(DailySalt { current: current.salt })
}

/// Deletes events older than each site's retention and leaves evidence of how many went.
pub async fn apply_retention(app: &AppStore, store: &StoreHandle, now: i64) -> anyhow::Result<u64> {
    let mut total = 0;
    for site in app.list_sites().await? {
        let cutoff = now - i64::from(site.retention_days) * 86_400;
        let id = site.id;
        let deleted = store.run(move |s| s.delete_before(id, cutoff)).await??;
        if deleted > 0 {
            app.record_retention("analytics events past site retention", Some(site.id), deleted, now).await?;
            info!(site = %site.domain, deleted, "retention deleted old events");
        }
        total += deleted;
    }
    Ok(total)
}

async fn delete_removed_sites(app: &AppStore, store: &StoreHandle) -> anyhow::Result<()> {
    for site_id in app.pending_site_deletions().await? {
        let deleted = store.run(move |s| s.delete_site(site_id)).await??;
        app.record_retention("events of a removed site", Some(site_id), deleted, Clock::system().now()).await?;
        app.complete_site_deletion(site_id).await?;
    }
    Ok(())
}

async fn delete_removed_sites_now(app: &AppStore, events: &mut EventStore) -> anyhow::Result<()> {
    for site_id in app.pending_site_deletions().await? {
        let deleted = events.delete_site(site_id)?;
        app.record_retention("events of a removed site", Some(site_id), deleted, Clock::system().now()).await?;
        app.complete_site_deletion(site_id).await?;
    }
    Ok(())
}

/// The admin API token: from the configuration, else from `<data-dir>/admin-token`, created with
/// mode 0600 on first start.
fn admin_token(config: &Config) -> anyhow::Result<String> {
    if let Some(t) = &config.admin_token {
        return Ok(t.trim().to_owned());
    }
    let path = config.data_dir.join("admin-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        return Ok(t.trim().to_owned());
    }
    let token: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    tillit_core::secret::write_private(&path, &token).with_context(|| format!("cannot create {}", path.display()))?;
    info!(path = %path.display(), "created an admin API token");
    Ok(token)
}
