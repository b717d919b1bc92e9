//! `tillit retention run [--dry-run]`: applies the consent ledger's retention rules now (the
//! server also runs them every six hours) or lists what they would remove. Analytics events
//! follow each site's retention in the server's own job, and consents each purpose's lifetime in
//! the expiry job; both are listed.

use anyhow::Context;
use clap::Subcommand;

use crate::config::Config;

#[derive(Subcommand)]
pub enum RetentionCmd {
    /// Apply the rules (or, with --dry-run, only count what they would remove).
    Run {
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(config: &Config, cmd: RetentionCmd) -> anyhow::Result<()> {
    let RetentionCmd::Run { dry_run } = cmd;
    let app = tillit_store::app::AppStore::open_sqlite(&config.app_db())
        .await
        .context("cannot open the application store")?;
    let clock = tillit_core::time::Clock::system();
    let ledger = super::serve::open_ledger(config, &app, &clock, None)?;
    let results = ledger.retention(&config.retention_rules(), dry_run).await?;
    let verb = if dry_run { "would remove" } else { "removed" };
    for (rule, count) in results {
        println!("{rule}: {verb} {count}");
    }
    for site in app.list_sites().await? {
        println!(
            "analytics events of {} after {} days: applied by the server's retention job",
            site.domain, site.retention_days
        );
        // Per purpose: a consent lasts the purpose's lifetime, then expires (and the contact
        // rule above takes over).
        for (key, p) in ledger.current_purposes(site.id).await? {
            if let Some(days) = p.lifetime_days {
                println!("consents to {} {key} after {days} days: expire (every ten minutes)", site.domain);
            }
        }
    }
    Ok(())
}
