//! One module per subcommand, each with a `run` function.

pub mod apikey;
pub mod audit;
pub mod campaign;
pub mod contact;
pub mod funnel;
pub mod goal;
pub mod import;
pub mod ledger;
pub mod purpose;
pub mod retention;
pub mod serve;
pub mod site;
pub mod user;

use anyhow::Context;
use tillit_store::app::AppStore;
use tracing_subscriber::EnvFilter;

/// The id of the site with this domain (`www.` and case ignored), or a one-line error.
pub async fn site_id(app: &AppStore, domain: &str) -> anyhow::Result<u32> {
    let domain = tillit_core::sites::normalise_domain(domain);
    let all = app.list_sites().await?;
    all.into_iter().find(|s| s.domain == domain).map(|s| s.id).with_context(|| format!("no site {domain}"))
}

/// The geolocation database: the configured one (`geoip_db`), or the built-in country database.
pub fn open_geo(config: &crate::config::Config) -> anyhow::Result<tillit_core::ingest::geo::GeoDb> {
    use tillit_core::ingest::geo::GeoDb;
    Ok(match &config.geoip_db {
        Some(path) => GeoDb::open(path)?,
        None => GeoDb::builtin()?,
    })
}

/// Logs go to stderr. Nothing personal is ever logged: handlers log no IPs, user agents or emails.
pub fn init_logging(filter: &str) {
    let filter = EnvFilter::try_from_env("TILLIT_LOG")
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

/// Records in the audit log an action taken from the command line (by the operator).
pub async fn audit_cli(
    app: &AppStore,
    now: i64,
    action: &str,
    target: &str,
    detail: &impl serde::Serialize,
) -> anyhow::Result<()> {
    let detail = serde_json::to_string(detail)?;
    app.append_audit(now, &tillit_core::access::Actor::Operator.to_string(), action, target, &detail)
        .await
        .context("cannot write the audit log")?;
    Ok(())
}
