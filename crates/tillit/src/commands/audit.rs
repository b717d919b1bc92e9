//! `tillit audit verify|export`: proves the audit log unaltered (every row sealed by its hash and
//! chained to the one before) and writes it out as JSON lines.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::accounts::{Accounts, AuditCheck};
use tillit_core::time::Clock;
use tillit_store::app::AppStore;

use crate::config::Config;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain; exit code 1 names the first altered row.
    Verify,
    /// Print every row as a JSON line (with its hashes, so the copy can be verified too).
    Export,
}

pub async fn run(config: &Config, cmd: AuditCmd) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    let accounts = Accounts::new(app, Clock::system());
    match cmd {
        AuditCmd::Verify => match accounts.verify_audit().await? {
            AuditCheck::Intact { rows, head } => println!("audit log intact: {rows} rows, head {head}"),
            AuditCheck::Broken { seq, reason } => anyhow::bail!("audit log altered at row {seq}: {reason}"),
        },
        AuditCmd::Export => {
            let mut after = 0;
            loop {
                let batch = accounts.audit_entries(after, 5_000).await?;
                let Some(last) = batch.last() else { break };
                after = last.seq;
                for e in &batch {
                    println!("{}", serde_json::to_string(e)?);
                }
            }
        }
    }
    Ok(())
}
