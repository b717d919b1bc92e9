//! `tillit goal add|list|remove`: conversion goals of a site.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::goals::{GoalSpec, NewGoal};
use tillit_core::time::Clock;
use tillit_store::app::AppStore;

use crate::config::Config;

#[derive(Subcommand)]
pub enum GoalCmd {
    /// Add a goal: a custom event (`--event Signup`), a pageview (`--page '/blog/*'`), or a scroll
    /// at least so deep on a page (`--page '/blog/*' --scroll 75`).
    Add {
        #[arg(long)]
        site: String,
        #[arg(long, conflicts_with = "page", required_unless_present = "page")]
        event: Option<String>,
        #[arg(long)]
        page: Option<String>,
        /// Scroll threshold in per cent (1–100), with `--page`: the goal is a scroll that deep.
        #[arg(long, requires = "page")]
        scroll: Option<i64>,
        /// Display name (default: the event name, `Visit /path` or `Scroll N% on /path`).
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
        GoalCmd::Add { site, event, page, scroll, name } => {
            let goal = NewGoal::parse(GoalSpec {
                event_name: event,
                page_path: page,
                scroll_threshold: scroll,
                display_name: name,
            })?;
            let id = super::site_id(&app, &site).await?;
            let g = app
                .add_goal(
                    id,
                    goal.event_name.as_deref(),
                    goal.page_path.as_deref(),
                    goal.scroll_threshold,
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
                let what = match (&g.event_name, &g.page_path, g.scroll_threshold) {
                    (Some(e), _, _) => format!("event {e}"),
                    (None, Some(p), Some(t)) => format!("scroll {t}% on {p}"),
                    (None, Some(p), None) => format!("pageview {p}"),
                    (None, None, _) => String::new(),
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
