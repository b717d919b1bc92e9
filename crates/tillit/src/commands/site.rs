//! `tillit site add|list|remove`. Works while the server runs: sites live in the SQLite store,
//! which the server re-reads every few seconds.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::sites::NewSite;
use tillit_core::time::Clock;
use tillit_store::app::{AppStore, AppStoreError};

use crate::config::Config;

#[derive(Subcommand)]
pub enum SiteCmd {
    /// Add a site.
    Add {
        domain: String,
        /// IANA time zone for reports, e.g. Europe/Oslo.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Days to keep events (default: 25 months).
        #[arg(long)]
        retention_days: Option<u32>,
    },
    /// List sites.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a site and delete its events.
    Remove { domain: String },
}

pub async fn run(config: &Config, cmd: SiteCmd) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    let now = Clock::system().now();
    match cmd {
        SiteCmd::Add { domain, timezone, retention_days } => {
            let new =
                NewSite::parse(&domain, Some(&timezone), retention_days.unwrap_or(config.default_retention_days))?;
            let site = app.add_site(&new.domain, &new.timezone, new.retention_days, now).await.map_err(explain)?;
            println!("added {} (time zone {}, retention {} days)", site.domain, site.timezone, site.retention_days);
        }
        SiteCmd::List { json } => {
            let sites = app.list_sites().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sites)?);
            } else if sites.is_empty() {
                println!("no sites; add one with `tillit site add DOMAIN`");
            } else {
                println!("{:<40} {:<24} {:>9}", "DOMAIN", "TIME ZONE", "RETENTION");
                for s in sites {
                    println!("{:<40} {:<24} {:>8}d", s.domain, s.timezone, s.retention_days);
                }
            }
        }
        SiteCmd::Remove { domain } => {
            let site = app.remove_site(&tillit_core::sites::normalise_domain(&domain), now).await.map_err(explain)?;
            println!("removed {}; its events are deleted by the server (or at its next start)", site.domain);
        }
    }
    Ok(())
}

fn explain(e: AppStoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}
