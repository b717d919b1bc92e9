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
    let clock = Clock::system();
    let accounts = Accounts::new(app.clone(), clock.clone());
    match cmd {
        AuditCmd::Verify => {
            // Rows past the retention period go behind a checkpoint signed with the ledger's key.
            let ledger = super::serve::open_ledger(config, &app, &clock, None)?;
            let since = app.audit_checkpoint().await?.map(|c| c.seq);
            match accounts.verify_audit(|c| ledger.audit_checkpoint_holds(c)).await? {
                AuditCheck::Intact { rows, head } => match since {
                    Some(seq) => {
                        println!("audit log intact: {rows} rows after the checkpoint at row {seq}, head {head}")
                    }
                    None => println!("audit log intact: {rows} rows, head {head}"),
                },
                AuditCheck::Broken { seq, reason } => anyhow::bail!("audit log altered at row {seq}: {reason}"),
            }
        }
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
