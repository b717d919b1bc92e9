//! `tillit ledger verify`: recomputes the consent ledger's hash chain and checks every receipt's
//! signature against its row; exit code 1 names the first broken link.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::ledger::keys::LedgerKeys;
use tillit_store::app::AppStore;

use crate::config::Config;

#[derive(Subcommand)]
pub enum LedgerCmd {
    /// Check the chain of consent events and the receipt signatures.
    Verify,
}

pub async fn run(config: &Config, cmd: LedgerCmd) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    match cmd {
        LedgerCmd::Verify => {
            let path = config.ledger_keys();
            anyhow::ensure!(
                path.exists(),
                "no ledger keys at {}: receipts cannot be checked without them",
                path.display()
            );
            let keys = LedgerKeys::load_or_create(&path).map_err(anyhow::Error::msg)?;
            let report = tillit_core::ledger::verify(&app, &keys).await?;
            match report.first_broken {
                None => println!("ledger intact: {} events, {} receipts verified", report.events, report.receipts),
                Some(broken) => {
                    anyhow::bail!("ledger broken after {} intact events: {broken}", report.events)
                }
            }
        }
    }
    Ok(())
}
