//! `tillit campaign create|list|status|start|close`: re-permission campaigns from the command line.
//! Requests and reminders are queued here and sent by the running server's mail queue.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::ledger::campaign::{CampaignInput, CampaignStatus};
use tillit_core::mail::Mailer;

use crate::config::Config;

#[derive(Subcommand)]
pub enum CampaignCmd {
    /// Create a campaign (it sends nothing until started).
    Create {
        #[arg(long)]
        site: String,
        /// The published consent purpose to ask for.
        #[arg(long)]
        purpose: String,
        /// `customers` (existing customers without consent) or `expiring:<days>`.
        #[arg(long, default_value = "customers")]
        audience: String,
        /// Why you are asking, in your own words (shown above the request).
        #[arg(long)]
        message: String,
        /// What the deadline does to those who did not say yes: erase or restrict.
        #[arg(long, default_value = "erase")]
        action: String,
        /// Days until the deadline (7–90).
        #[arg(long, default_value_t = 30)]
        deadline_days: u32,
        /// Days after the start for the one reminder (omit for none).
        #[arg(long)]
        reminder_days: Option<u32>,
    },
    /// List a site's campaigns with their answers.
    List {
        #[arg(long)]
        site: String,
    },
    /// One campaign's answers; before the start, who it would ask.
    Status {
        #[arg(long)]
        site: String,
        id: String,
    },
    /// Queue the requests to everyone the campaign may ask.
    Start {
        #[arg(long)]
        site: String,
        id: String,
    },
    /// After the deadline: show what closing does, or with --apply do it.
    Close {
        #[arg(long)]
        site: String,
        id: String,
        #[arg(long)]
        apply: bool,
    },
}

fn print_status(s: &CampaignStatus) {
    let c = &s.campaign;
    let state = if c.closed_at.is_some() {
        "closed"
    } else if c.started_at.is_some() {
        "running"
    } else {
        "not started"
    };
    println!(
        "{}  {}  purpose {}  audience {}  {}  asked {}  yes {}  no {}  waiting {}  reminded {}",
        c.id, state, c.purpose_key, c.audience, c.action, s.asked, s.said_yes, s.said_no, s.waiting, s.reminded
    );
    for (outcome, n) in &s.outcomes {
        println!("  {outcome}: {n}");
    }
}

pub async fn run(config: &Config, cmd: CampaignCmd) -> anyhow::Result<()> {
    let app = tillit_store::app::AppStore::open_sqlite(&config.app_db())
        .await
        .context("cannot open the application store")?;
    let clock = tillit_core::time::Clock::system();
    // The mailer is only checked for here (a campaign without email cannot run); the server sends.
    let mailer = match &config.smtp_url {
        Some(url) => Some(Mailer::new(url, &config.mail_from).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let ledger = super::serve::open_ledger(config, &app, &clock, mailer)?;
    let domain = match &cmd {
        CampaignCmd::Create { site, .. }
        | CampaignCmd::List { site }
        | CampaignCmd::Status { site, .. }
        | CampaignCmd::Start { site, .. }
        | CampaignCmd::Close { site, .. } => site,
    };
    let id = super::site_id(&app, domain).await?;
    let site = app.list_sites().await?.into_iter().find(|s| s.id == id).context("no such site")?;
    let operator = tillit_core::access::Actor::Operator.to_string();
    match cmd {
        CampaignCmd::Create { purpose, audience, message, action, deadline_days, reminder_days, .. } => {
            let input = CampaignInput { purpose_key: purpose, audience, message, action, deadline_days, reminder_days };
            let c = ledger.create_campaign(&site, &input, &operator).await?;
            super::audit_cli(&app, clock.now(), "campaign.create", &format!("campaign:{}", c.id), &c.purpose_key)
                .await?;
            let preview = ledger.campaign_preview(&site, &c.id).await?;
            println!("created {} (not started); it would ask {}", c.id, preview.eligible);
            for (why, n) in &preview.excluded {
                println!("  not asked, {why}: {n}");
            }
        }
        CampaignCmd::List { .. } => {
            for s in ledger.campaigns(&site).await? {
                print_status(&s);
            }
        }
        CampaignCmd::Status { id, .. } => {
            let s = ledger.campaign_status(&site, &id).await?;
            print_status(&s);
            if s.campaign.started_at.is_none() {
                let preview = ledger.campaign_preview(&site, &id).await?;
                println!("would ask {}", preview.eligible);
                for (why, n) in &preview.excluded {
                    println!("  not asked, {why}: {n}");
                }
            }
        }
        CampaignCmd::Start { id, .. } => {
            let asked = ledger.start_campaign(&site, &id).await?;
            super::audit_cli(&app, clock.now(), "campaign.start", &format!("campaign:{id}"), &asked).await?;
            println!("queued {asked} requests; the server sends them");
        }
        CampaignCmd::Close { id, apply, .. } => {
            let closing = ledger.close_campaign(&site, &id, apply, &operator).await?;
            if apply {
                super::audit_cli(&app, clock.now(), "campaign.close", &format!("campaign:{id}"), &closing).await?;
            }
            let verb = if apply { "" } else { "would be " };
            println!("{} {verb}{}", closing.affected, if closing.action == "erase" { "erased" } else { "restricted" });
            for (why, n) in &closing.kept {
                println!("  {why}: {n}");
            }
        }
    }
    Ok(())
}
