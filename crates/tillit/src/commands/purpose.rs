//! `tillit purpose add|list|publish`: the purposes a site asks consent for. `add` saves a
//! draft (a new version when the latest is published); `publish` freezes it for good.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Subcommand;

use tillit_core::ledger::model::PurposeInput;
use tillit_store::app::ledger::PurposeText;

use crate::config::Config;

#[derive(Subcommand)]
pub enum PurposeCmd {
    /// Save a purpose as a draft: `--key newsletter --legal-basis consent --title en="Newsletter"
    /// --description en="Monthly news"` (repeat --title/--description per language).
    Add {
        #[arg(long)]
        site: String,
        #[arg(long)]
        key: String,
        /// consent, contract, legal-obligation, vital-interests, public-task, legitimate-interests
        /// (or a–f).
        #[arg(long)]
        legal_basis: String,
        /// email, sms, phone or post.
        #[arg(long, default_value = "email")]
        channel: String,
        /// A data category (repeatable), e.g. contact.
        #[arg(long = "category")]
        categories: Vec<String>,
        /// Days a consent lasts before it must be renewed (default: until withdrawn).
        #[arg(long)]
        lifetime_days: Option<u32>,
        /// Special-category data (Art. 9): needs explicit consent.
        #[arg(long)]
        special_category: bool,
        /// LANG=TEXT, once per language (en required).
        #[arg(long = "title", required = true)]
        titles: Vec<String>,
        /// LANG=TEXT, once per language.
        #[arg(long = "description", required = true)]
        descriptions: Vec<String>,
    },
    /// List every version of a site's purposes.
    List {
        #[arg(long)]
        site: String,
    },
    /// Publish the draft of a purpose; it never changes afterwards.
    Publish {
        #[arg(long)]
        site: String,
        #[arg(long)]
        key: String,
    },
}

fn by_language(pairs: &[String], what: &str) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(l, t)| (l.trim().to_owned(), t.to_owned()))
                .with_context(|| format!("--{what} takes LANG=TEXT, e.g. en=\"Newsletter\""))
        })
        .collect()
}

pub async fn run(config: &Config, cmd: PurposeCmd) -> anyhow::Result<()> {
    let app = tillit_store::app::AppStore::open_sqlite(&config.app_db())
        .await
        .context("cannot open the application store")?;
    let clock = tillit_core::time::Clock::system();
    let ledger = super::serve::open_ledger(config, &app, &clock, None)?;
    let site_of = |domain: String| {
        let app = app.clone();
        async move {
            let id = super::site_id(&app, &domain).await?;
            let sites = app.list_sites().await?;
            sites.into_iter().find(|s| s.id == id).context("no such site")
        }
    };
    match cmd {
        PurposeCmd::Add {
            site,
            key,
            legal_basis,
            channel,
            categories,
            lifetime_days,
            special_category,
            titles,
            descriptions,
        } => {
            let site = site_of(site).await?;
            let titles = by_language(&titles, "title")?;
            let mut descriptions = by_language(&descriptions, "description")?;
            let texts = titles
                .into_iter()
                .map(|(lang, title)| {
                    let description = descriptions.remove(&lang).unwrap_or_default();
                    (lang, PurposeText { title, description })
                })
                .collect();
            if let Some(lang) = descriptions.keys().next() {
                anyhow::bail!("--description {lang}=… has no --title {lang}=…");
            }
            let input = PurposeInput {
                key,
                legal_basis,
                channel,
                data_categories: categories,
                lifetime_days,
                special_category,
                texts,
            };
            let p = ledger.save_purpose(&site, input).await?;
            super::audit_cli(&app, clock.now(), "purpose.draft", &format!("site:{}", site.id), &p.key).await?;
            println!(
                "saved purpose {} version {} as a draft; publish it with `tillit purpose publish`",
                p.key, p.version
            );
        }
        PurposeCmd::List { site } => {
            let site = site_of(site).await?;
            for p in ledger.purposes(&site).await? {
                let status = if p.published_at.is_some() { "published" } else { "draft" };
                let title = p.texts.get("en").map(|t| t.title.as_str()).unwrap_or("");
                println!(
                    "{:<24} v{:<3} {:<9} {:<20} {:<6} {title}",
                    p.key, p.version, status, p.legal_basis, p.channel
                );
            }
        }
        PurposeCmd::Publish { site, key } => {
            let site = site_of(site).await?;
            let p = ledger.publish_purpose(&site, &key).await?;
            super::audit_cli(&app, clock.now(), "purpose.publish", &format!("site:{}", site.id), &p.key).await?;
            println!("published purpose {} version {}", p.key, p.version);
        }
    }
    Ok(())
}
