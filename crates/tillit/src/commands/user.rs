//! `tillit user add|list|role|disable|enable|remove`: accounts from the command line. Works while
//! the server runs (the store is shared); a disabled or removed user's sessions end at once.

use std::io::Read;

use anyhow::Context;
use clap::Subcommand;

use tillit_core::access::{Actor, Role};
use tillit_core::accounts::Accounts;
use tillit_core::time::Clock;
use tillit_store::app::AppStore;
use tillit_store::app::accounts::User;

use crate::config::Config;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user. Without --password-stdin a random password is printed once.
    Add {
        email: String,
        /// owner, admin, marketer, analyst or viewer.
        #[arg(long)]
        role: String,
        /// Limit the role to this site (default: every site). Repeat for several sites.
        #[arg(long = "site")]
        sites: Vec<String>,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users and their roles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replace a user's roles.
    Role {
        email: String,
        #[arg(long)]
        role: String,
        #[arg(long = "site")]
        sites: Vec<String>,
    },
    /// Disable a user: their sessions end now and they cannot sign in.
    Disable { email: String },
    /// Enable a disabled user again.
    Enable { email: String },
    /// Remove a user (the audit log keeps their name).
    Remove { email: String },
    /// Print a one-hour, single-use link to choose a new password (for servers without email).
    ResetLink { email: String },
}

pub async fn run(config: &Config, cmd: UserCmd) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    let accounts = Accounts::new(app.clone(), Clock::system());
    let by = Actor::Operator;
    match cmd {
        UserCmd::Add { email, role, sites, password_stdin } => {
            let roles = roles(&app, &role, &sites).await?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_to_string(&mut line).context("cannot read the password from stdin")?;
                (line.trim_end_matches(['\n', '\r']).to_owned(), false)
            } else {
                (tillit_core::secret::random_hex(12), true)
            };
            let user = accounts.add_user(&by, &email, &password, &roles).await?;
            if generated {
                println!(
                    "added {} ({}); password (shown once, change it after signing in): {password}",
                    user.email, role
                );
            } else {
                println!("added {} ({})", user.email, role);
            }
        }
        UserCmd::List { json } => {
            let users = accounts.users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else if users.is_empty() {
                println!("no users; open the web UI to create the owner, or `tillit user add EMAIL --role owner`");
            } else {
                let sites = app.list_sites().await?;
                println!("{:<5} {:<32} {:<9} {:<4} ROLES", "ID", "EMAIL", "STATE", "2FA");
                for u in users {
                    let roles: Vec<String> = u
                        .roles
                        .iter()
                        .map(|r| match r.site_id.and_then(|id| sites.iter().find(|s| s.id == id)) {
                            Some(site) => format!("{}@{}", r.role, site.domain),
                            None => format!("{}@*", r.role),
                        })
                        .collect();
                    let state = if u.disabled_at.is_some() { "disabled" } else { "active" };
                    let tfa = if u.two_factor { "on" } else { "off" };
                    println!("{:<5} {:<32} {:<9} {:<4} {}", u.id, u.email, state, tfa, roles.join(","));
                }
            }
        }
        UserCmd::Role { email, role, sites } => {
            let user = find(&accounts, &email).await?;
            let roles = roles(&app, &role, &sites).await?;
            accounts.set_roles(&by, user.id, &roles).await?;
            println!("{} is now {role}", user.email);
        }
        UserCmd::Disable { email } => {
            let user = find(&accounts, &email).await?;
            accounts.set_disabled(&by, user.id, true).await?;
            println!("disabled {}; their sessions have ended", user.email);
        }
        UserCmd::Enable { email } => {
            let user = find(&accounts, &email).await?;
            accounts.set_disabled(&by, user.id, false).await?;
            println!("enabled {}", user.email);
        }
        UserCmd::ResetLink { email } => {
            let user = find(&accounts, &email).await?;
            let Some((token, _)) = accounts.request_reset(&user.email, "cli").await? else {
                anyhow::bail!("{} is disabled; enable them first", user.email);
            };
            println!("{}/password/reset/{token}", config.public_url);
        }
        UserCmd::Remove { email } => {
            let user = find(&accounts, &email).await?;
            accounts.remove_user(&by, user.id).await?;
            println!("removed {}", user.email);
        }
    }
    Ok(())
}

async fn roles(app: &AppStore, role: &str, sites: &[String]) -> anyhow::Result<Vec<(Option<u32>, Role)>> {
    let role: Role = role.parse().map_err(anyhow::Error::msg)?;
    if sites.is_empty() {
        return Ok(vec![(None, role)]);
    }
    let mut out = Vec::new();
    for domain in sites {
        out.push((Some(super::site_id(app, domain).await?), role));
    }
    Ok(out)
}

async fn find(accounts: &Accounts, email: &str) -> anyhow::Result<User> {
    let email = email.trim().to_lowercase();
    accounts.users().await?.into_iter().find(|u| u.email == email).with_context(|| format!("no user {email}"))
}
