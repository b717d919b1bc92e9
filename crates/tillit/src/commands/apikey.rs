//! `tillit apikey create|list|revoke`: Stats API keys. `create` prints only the key on stdout,
//! once; the store keeps its SHA-256 hash.

use anyhow::Context;
use clap::Subcommand;

use tillit_core::access::Scope;
use tillit_core::accounts::keys::generate_key;
use tillit_core::time::Clock;
use tillit_store::app::{AppStore, NewApiKey};

use super::audit_cli;
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
        /// What the key may do: read-analytics (default) and/or manage-ledger (repeat for both).
        #[arg(long = "scope", default_value = "read-analytics")]
        scopes: Vec<String>,
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
        ApiKeyCmd::Create { sites, name, hourly_limit, scopes } => {
            if hourly_limit == 0 {
                anyhow::bail!("--hourly-limit must be at least 1");
            }
            for s in &scopes {
                s.parse::<Scope>().map_err(anyhow::Error::msg)?;
            }
            let mut ids = Vec::new();
            for domain in &sites {
                ids.push(super::site_id(&app, domain).await?);
            }
            let key = generate_key();
            let new = NewApiKey {
                name: &name,
                prefix: &key.prefix,
                key_hash: &key.hash,
                hourly_limit,
                site_ids: &ids,
                scopes: &scopes,
            };
            let created = app.add_api_key(&new, now).await?;
            audit_cli(&app, now, "key.create", &format!("key:{}:{}", created.id, created.prefix), &created).await?;
            println!("{}", key.key);
        }
        ApiKeyCmd::List { json } => {
            let keys = app.api_keys().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else if keys.is_empty() {
                println!("no API keys; create one with `tillit apikey create --site DOMAIN`");
            } else {
                println!(
                    "{:<5} {:<14} {:<24} {:>8} {:<8} {:<30} SITES",
                    "ID", "PREFIX", "NAME", "LIMIT/H", "STATE", "SCOPES"
                );
                for k in keys {
                    let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                    println!(
                        "{:<5} {:<14} {:<24} {:>8} {:<8} {:<30} {}",
                        k.id,
                        k.prefix,
                        k.name,
                        k.hourly_limit,
                        state,
                        k.scopes.join(","),
                        k.sites.join(",")
                    );
                }
            }
        }
        ApiKeyCmd::Revoke { key } => {
            let k = app.revoke_api_key(&key, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            audit_cli(&app, now, "key.revoke", &format!("key:{}:{}", k.id, k.prefix), &k).await?;
            println!("revoked key {} ({})", k.id, k.prefix);
        }
    }
    Ok(())
}
