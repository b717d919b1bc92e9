//! `tillit apikey create|list|revoke`: Stats API keys. `create` prints only the key on stdout,
//! once; the store keeps its SHA-256 hash.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::stats::service::generate_key;
use tillit_core::time::Clock;
use tillit_store::app::AppStore;

use crate::config::Config;

#[derive(Subcommand)]
pub enum ApiKeyCmd {
    /// Create a key that reads the given sites; prints the key (and nothing else) on stdout.
    Create {
        /// A site the key may read (repeat for several).
        #[arg(long = "site", required = true)]
        sites: Vec<String>,
        /// A name to recognise the key by.
        #[arg(long, default_value = "Stats API")]
        name: String,
        /// Requests per hour before the key gets 429 answers.
        #[arg(long, default_value_t = 600)]
        hourly_limit: u32,
    },
    /// List keys (their prefixes; keys themselves are never stored).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id or prefix.
    Revoke { key: String },
}

pub async fn run(config: &Config, cmd: ApiKeyCmd) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    let now = Clock::system().now();
    match cmd {
        ApiKeyCmd::Create { sites, name, hourly_limit } => {
            if hourly_limit == 0 {
                anyhow::bail!("--hourly-limit must be at least 1");
            }
            let mut ids = Vec::new();
            for domain in &sites {
                ids.push(super::site_id(&app, domain).await?);
            }
            let key = generate_key();
            app.add_api_key(&name, &key.prefix, &key.hash, hourly_limit, &ids, now).await?;
            println!("{}", key.key);
        }
        ApiKeyCmd::List { json } => {
            let keys = app.api_keys().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else if keys.is_empty() {
                println!("no API keys; create one with `tillit apikey create --site DOMAIN`");
            } else {
                println!("{:<5} {:<14} {:<24} {:>8} {:<8} SITES", "ID", "PREFIX", "NAME", "LIMIT/H", "STATE");
                for k in keys {
                    let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                    println!(
                        "{:<5} {:<14} {:<24} {:>8} {:<8} {}",
                        k.id,
                        k.prefix,
                        k.name,
                        k.hourly_limit,
                        state,
                        k.sites.join(",")
                    );
                }
            }
        }
        ApiKeyCmd::Revoke { key } => {
            let k = app.revoke_api_key(&key, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("revoked key {} ({})", k.id, k.prefix);
        }
    }
    Ok(())
}
