//! `tillit funnel add|list|remove`: funnels of 2 to 8 goals completed in order within a visit.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::goals::check_funnel;
use tillit_core::time::Clock;
use tillit_store::app::AppStore;

use crate::config::Config;

#[derive(Subcommand)]
pub enum FunnelCmd {
    /// Add a funnel: `--step` names a goal (its display name); give 2 to 8, in order.
    Add {
        #[arg(long)]
        site: String,
        #[arg(long)]
        name: String,
        #[arg(long = "step", required = true)]
        steps: Vec<String>,
    },
    /// List a site's funnels.
    List {
        #[arg(long)]
        site: String,
    },
    /// Remove a funnel.
    Remove {
        #[arg(long)]
        site: String,
        #[arg(long)]
        name: String,
    },
}

pub async fn run(config: &Config, cmd: FunnelCmd) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    match cmd {
        FunnelCmd::Add { site, name, steps } => {
            check_funnel(&name, &steps)?;
            let id = super::site_id(&app, &site).await?;
            let f = app
                .add_funnel(id, name.trim(), &steps, Clock::system().now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("added funnel {} ({} steps)", f.name, f.steps.len());
        }
        FunnelCmd::List { site } => {
            for f in app.funnels(super::site_id(&app, &site).await?).await? {
                let steps: Vec<&str> = f.steps.iter().map(|g| g.display_name.as_str()).collect();
                println!("{:<30} {}", f.name, steps.join(" → "));
            }
        }
        FunnelCmd::Remove { site, name } => {
            app.remove_funnel(super::site_id(&app, &site).await?, &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("removed funnel {name}");
        }
    }
    Ok(())
}
