//! `tillit contact export|erase`: a person's data from the command line — everything held about
//! them as JSON (Art. 15 and 20), or their erasure (Art. 17) with its signed receipt. Both are
//! recorded in the audit log.

use anyhow::Context;
use clap::Subcommand;

use crate::config::Config;

#[derive(Subcommand)]
pub enum ContactCmd {
    /// Print everything held about a person as JSON.
    Export {
        #[arg(long)]
        site: String,
        email: String,
    },
    /// Erase a person: their fields and key are destroyed, their consents withdrawn, their
    /// address suppressed so it is not added again. Prints the erasure receipt.
    Erase {
        #[arg(long)]
        site: String,
        email: String,
    },
}

pub async fn run(config: &Config, cmd: ContactCmd) -> anyhow::Result<()> {
    let app = tillit_store::app::AppStore::open_sqlite(&config.app_db())
        .await
        .context("cannot open the application store")?;
    let clock = tillit_core::time::Clock::system();
    let ledger = super::serve::open_ledger(config, &app, &clock, None)?;
    let (ContactCmd::Export { site, email } | ContactCmd::Erase { site, email }) = &cmd;
    let id = super::site_id(&app, site).await?;
    let site = app.list_sites().await?.into_iter().find(|s| s.id == id).context("no such site")?;
    let operator = tillit_core::access::Actor::Operator.to_string();
    match cmd {
        ContactCmd::Export { .. } => {
            let view = ledger.lookup(&site, email).await?.context("no contact with this email on this site")?;
            let contact = app.contact_by_public_id(&view.id).await?.context("no such contact")?;
            let data = ledger.export(&contact).await?;
            super::audit_cli(&app, clock.now(), "contact.export", &format!("contact:{}", view.id), &"cli").await?;
            println!("{}", serde_json::to_string_pretty(&data)?);
        }
        ContactCmd::Erase { .. } => {
            let erasure = ledger.erase(&site, email, &operator).await?;
            let target = format!("contact:{}", erasure.public_id.as_deref().unwrap_or("-"));
            super::audit_cli(&app, clock.now(), "contact.erase", &target, &erasure.receipt_id).await?;
            match &erasure.public_id {
                Some(_) => println!("erased; receipt {}", erasure.receipt_id),
                None => println!("not a contact; the address is suppressed; receipt {}", erasure.receipt_id),
            }
            println!("{}", erasure.jws);
        }
    }
    Ok(())
}
