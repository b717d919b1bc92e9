//! `tillit goal add|list|remove`: conversion goals of a site.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::goals::{GoalSpec, NewGoal};
use tillit_core::time::Clock;
use tillit_store::app::AppStore;

use crate::config::Config;

#[derive(Subcommand)]
pub enum GoalCmd {
    /// Add a goal: a custom event (`--event Signup`) or a pageview (`--page '/blog/*'`).
    Add {
        #[arg(long)]
        site: String,
        #[arg(long, conflicts_with = "page", required_unless_present = "page")]
        event: Option<String>,
        #[arg(long)]
        page: Option<String>,
        /// Display name (default: the event name, or `Visit /path`).
        #[arg(long)]
        name: Option<String>,
    },
    /// List a site's goals.
    List {
        #[arg(long)]
        site: String,
    },
    /// Remove a goal by its display name.
    Remove {
        #[arg(long)]
        site: String,
        #[arg(long)]
        name: String,
    },
}

pub async fn run(config: &Config, cmd: GoalCmd) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    match cmd {
        GoalCmd::Add { site, event, page, name } => {
            let goal = NewGoal::parse(GoalSpec { event_name: event, page_path: page, display_name: name })?;
            let id = super::site_id(&app, &site).await?;
            let g = app
                .add_goal(
                    id,
                    goal.event_name.as_deref(),
                    goal.page_path.as_deref(),
                    &goal.display_name,
                    Clock::system().now(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("added goal {}", g.display_name);
        }
        GoalCmd::List { site } => {
            let id = super::site_id(&app, &site).await?;
            for g in app.goals(id).await? {
                let what = match (&g.event_name, &g.page_path) {
                    (Some(e), _) => format!("event {e}"),
                    (None, Some(p)) => format!("pageview {p}"),
                    (None, None) => String::new(),
                };
                println!("{:<40} {what}", g.display_name);
            }
        }
        GoalCmd::Remove { site, name } => {
            let id = super::site_id(&app, &site).await?;
            app.remove_goal(id, &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("removed goal {name}");
        }
    }
    Ok(())
}
