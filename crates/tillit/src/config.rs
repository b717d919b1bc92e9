//! Configuration: built-in defaults, then a TOML file, then `TILLIT_*` environment variables, then
//! command-line flags. Only the binary reads these sources; everything else receives typed values.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The settings, validated.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// CIDR list whose `X-Forwarded-For`/`Forwarded` headers are believed.
    pub trusted_proxies: String,
    /// A MaxMind-format database (GeoLite2 or DB-IP Lite, country or city).
    pub geoip_db: Option<PathBuf>,
    /// Extra referrer-spam domains, one per line.
    pub referrer_spam_file: Option<PathBuf>,
    /// DuckDB's memory limit; `None`: by the event store's size when it opens
    /// (`EventStoreOptions::memory_limit_for`).
    pub duckdb_memory_limit_mb: Option<u32>,
    /// Threads DuckDB runs each statement on. Default 1: with more, the store thread busy-waits
    /// (spinning on DuckDB's task queue) whenever DuckDB's own thread holds one of its statements'
    /// tasks, which cost 8–18 % of the server's CPU per ingested event on 2 cores; and the
    /// dashboard's eight concurrent queries were as fast or faster each on one thread than
    /// sharing two (BENCHMARKS.md (o)). More threads speed up a single heavy query on a machine
    /// with cores to spare.
    pub duckdb_threads: u16,
    /// Threads DuckDB runs on while it builds day roll-ups (after an upgrade or an import, every
    /// day in a row). Default: the machine's cores; the build is background work that is done
    /// sooner with them, and queries meanwhile share them.
    pub duckdb_build_threads: u16,
    pub default_retention_days: u32,
    /// The admin API token; when unset, one is generated into `<data-dir>/admin-token`.
    pub admin_token: Option<String>,
    pub log: String,
    /// Where users reach Tillit; links in emails start with it. Default `http://<listen>`.
    pub public_url: String,
    /// The SMTP server for account emails, e.g. `smtp://127.0.0.1:25` or
    /// `smtps://user:pass@mail.example.com`. Unset: no email (links are shown to owners instead).
    pub smtp_url: Option<String>,
    /// The sender of Tillit's emails.
    pub mail_from: String,
    /// The data controller named on consent receipts (default: the public URL's host).
    pub controller_name: String,
    /// The controller's privacy contact on receipts (default: the sender address).
    pub controller_email: String,
    /// The jurisdiction on receipts: an ISO 3166-1 country code, or EU (the default).
    pub jurisdiction: String,
    /// Days a contact without any valid consent is kept before being retired.
    pub contact_retention_days: u32,
    /// Days the send gate's decisions are kept.
    pub send_log_retention_days: u32,
    /// Days an existing customer without consent is kept after their last purchase (soft opt-in).
    pub customer_retention_days: u32,
    /// Days audit-log rows are kept (then removed behind a signed checkpoint).
    pub audit_retention_days: u32,
    /// Marketing and campaign emails sent per minute at most (the mail queue's rate limit).
    pub mail_per_minute: u32,
    /// Who receives contacts' data besides the controller (Art. 15(1)(c)), `;`-separated, e.g.
    /// "Mail delivery: Example Mail AS, Norway".
    pub recipients: String,
}

/// The file/env layer: every field optional, names as in the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    trusted_proxies: Option<String>,
    geoip_db: Option<PathBuf>,
    referrer_spam_file: Option<PathBuf>,
    duckdb_memory_limit_mb: Option<u32>,
    duckdb_threads: Option<u16>,
    duckdb_build_threads: Option<u16>,
    default_retention_days: Option<u32>,
    admin_token: Option<String>,
    log: Option<String>,
    public_url: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    controller_name: Option<String>,
    controller_email: Option<String>,
    jurisdiction: Option<String>,
    contact_retention_days: Option<u32>,
    send_log_retention_days: Option<u32>,
    customer_retention_days: Option<u32>,
    audit_retention_days: Option<u32>,
    mail_per_minute: Option<u32>,
    recipients: Option<String>,
}

const KEYS: [&str; 23] = [
    "listen",
    "data_dir",
    "trusted_proxies",
    "geoip_db",
    "referrer_spam_file",
    "duckdb_memory_limit_mb",
    "duckdb_threads",
    "duckdb_build_threads",
    "default_retention_days",
    "admin_token",
    "log",
    "public_url",
    "smtp_url",
    "mail_from",
    "controller_name",
    "controller_email",
    "jurisdiction",
    "contact_retention_days",
    "send_log_retention_days",
    "customer_retention_days",
    "audit_retention_days",
    "mail_per_minute",
    "recipients",
];

/// Flags given on the command line (highest precedence).
#[derive(Debug, Default)]
pub struct Flags {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration. `file` is the `--config` path, if any; `env` is the process
    /// environment (passed in so tests can supply their own).
    pub fn load(file: Option<&Path>, env: &HashMap<String, String>, flags: Flags) -> anyhow::Result<Config> {
        let file = file.map(Path::to_path_buf).or_else(|| env.get("TILLIT_CONFIG").map(PathBuf::from));
        let from_file: Layer = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => Layer::default(),
        };
        let from_env = env_layer(env)?;
        let pick = |a: Option<String>, b: Option<String>, c: Option<String>| c.or(b).or(a);

        let listen = pick(from_file.listen, from_env.listen, flags.listen).unwrap_or_else(|| "127.0.0.1:8000".into());
        let listen: SocketAddr =
            listen.parse().with_context(|| format!("invalid listen address {listen:?}: use HOST:PORT"))?;
        let data_dir =
            flags.data_dir.or(from_env.data_dir).or(from_file.data_dir).unwrap_or_else(|| PathBuf::from("data"));
        let mut config = Config {
            listen,
            data_dir,
            trusted_proxies: from_env.trusted_proxies.or(from_file.trusted_proxies).unwrap_or_default(),
            geoip_db: from_env.geoip_db.or(from_file.geoip_db),
            referrer_spam_file: from_env.referrer_spam_file.or(from_file.referrer_spam_file),
            duckdb_memory_limit_mb: from_env.duckdb_memory_limit_mb.or(from_file.duckdb_memory_limit_mb),
            duckdb_threads: from_env.duckdb_threads.or(from_file.duckdb_threads).unwrap_or(1),
            duckdb_build_threads: from_env.duckdb_build_threads.or(from_file.duckdb_build_threads).unwrap_or_else(
                || std::thread::available_parallelism().map_or(1, |n| u16::try_from(n.get()).unwrap_or(u16::MAX)),
            ),
            default_retention_days: from_env
                .default_retention_days
                .or(from_file.default_retention_days)
                .unwrap_or(tillit_core::sites::DEFAULT_RETENTION_DAYS),
            admin_token: from_env.admin_token.or(from_file.admin_token).filter(|t| !t.trim().is_empty()),
            log: from_env.log.or(from_file.log).unwrap_or_else(|| "info".into()),
            public_url: from_env
                .public_url
                .or(from_file.public_url)
                .unwrap_or_else(|| format!("http://{listen}"))
                .trim_end_matches('/')
                .to_owned(),
            smtp_url: from_env.smtp_url.or(from_file.smtp_url).filter(|u| !u.trim().is_empty()),
            mail_from: from_env.mail_from.or(from_file.mail_from).unwrap_or_else(|| "Tillit <tillit@localhost>".into()),
            controller_name: String::new(),
            controller_email: from_env.controller_email.or(from_file.controller_email).unwrap_or_default(),
            jurisdiction: from_env
                .jurisdiction
                .or(from_file.jurisdiction)
                .unwrap_or_else(|| "EU".into())
                .trim()
                .to_ascii_uppercase(),
            contact_retention_days: from_env.contact_retention_days.or(from_file.contact_retention_days).unwrap_or(30),
            send_log_retention_days: from_env
                .send_log_retention_days
                .or(from_file.send_log_retention_days)
                .unwrap_or(730),
            customer_retention_days: from_env
                .customer_retention_days
                .or(from_file.customer_retention_days)
                .unwrap_or(1095),
            audit_retention_days: from_env.audit_retention_days.or(from_file.audit_retention_days).unwrap_or(1825),
            mail_per_minute: from_env.mail_per_minute.or(from_file.mail_per_minute).unwrap_or(60),
            recipients: from_env.recipients.or(from_file.recipients).unwrap_or_default(),
        };
        config.controller_name = from_env.controller_name.or(from_file.controller_name).unwrap_or_else(|| {
            let host = config.public_url.split_once("://").map_or("", |(_, rest)| rest);
            host.split(['/', ':']).next().unwrap_or("").to_owned()
        });
        if config.controller_email.is_empty() {
            let from = &config.mail_from;
            config.controller_email =
                from.rsplit_once('<').map_or(from.as_str(), |(_, a)| a.trim_end_matches('>')).trim().to_owned();
        }
        if !(config.jurisdiction == "EU"
            || (config.jurisdiction.len() == 2 && config.jurisdiction.bytes().all(|b| b.is_ascii_uppercase())))
        {
            bail!("jurisdiction must be an ISO 3166-1 country code (NO, SE, DK, …) or EU");
        }
        if !(config.public_url.starts_with("http://") || config.public_url.starts_with("https://")) {
            bail!("public_url must start with http:// or https://");
        }
        if config.contact_retention_days == 0
            || config.send_log_retention_days == 0
            || config.customer_retention_days == 0
            || config.audit_retention_days == 0
        {
            bail!(
                "contact_retention_days, send_log_retention_days, customer_retention_days and audit_retention_days must be at least 1"
            );
        }
        if config.mail_per_minute == 0 {
            bail!("mail_per_minute must be at least 1");
        }
        if config.duckdb_memory_limit_mb.is_some_and(|mb| mb < 64) {
            bail!("duckdb_memory_limit_mb must be at least 64");
        }
        tillit_web::TrustedProxies::parse(&config.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("invalid trusted_proxies: {e}"))?;
        Ok(config)
    }

    pub fn app_db(&self) -> PathBuf {
        self.data_dir.join("app.sqlite3")
    }

    /// The ledger's retention rules.
    pub fn retention_rules(&self) -> tillit_core::ledger::RetentionRules {
        tillit_core::ledger::RetentionRules {
            contact_days: self.contact_retention_days,
            customer_days: self.customer_retention_days,
            send_log_days: self.send_log_retention_days,
            audit_days: self.audit_retention_days,
        }
    }

    /// The ledger's master and receipt-signing keys (created on first start; back it up).
    pub fn ledger_keys(&self) -> PathBuf {
        self.data_dir.join("ledger-keys")
    }

    pub fn events_db(&self) -> PathBuf {
        self.data_dir.join("events.duckdb")
    }

    /// How the event store runs: the configured limits, and where no memory limit is configured
    /// one by the store's size now (an absent store is empty).
    pub fn event_store_options(&self) -> tillit_store::events::EventStoreOptions {
        let store_bytes = std::fs::metadata(self.events_db()).map_or(0, |m| m.len());
        tillit_store::events::EventStoreOptions {
            memory_limit_mb: self
                .duckdb_memory_limit_mb
                .unwrap_or_else(|| tillit_store::events::EventStoreOptions::memory_limit_for(store_bytes)),
            threads: self.duckdb_threads,
            build_threads: self.duckdb_build_threads,
        }
    }

    pub fn ingest_log_dir(&self) -> PathBuf {
        self.data_dir.join("ingest-log")
    }
}

fn env_layer(env: &HashMap<String, String>) -> anyhow::Result<Layer> {
    let mut table = toml::Table::new();
    for key in KEYS {
        let var = format!("TILLIT_{}", key.to_ascii_uppercase());
        if let Some(value) = env.get(&var) {
            let v = match key {
                "duckdb_memory_limit_mb"
                | "duckdb_threads"
                | "duckdb_build_threads"
                | "default_retention_days"
                | "contact_retention_days"
                | "send_log_retention_days"
                | "customer_retention_days"
                | "audit_retention_days"
                | "mail_per_minute" => {
                    toml::Value::Integer(value.trim().parse().with_context(|| format!("{var} must be a whole number"))?)
                }
                _ => toml::Value::String(value.clone()),
            };
            table.insert(key.to_owned(), v);
        }
    }
    toml::Value::Table(table).try_into().context("invalid TILLIT_* environment variable")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("tillit.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\nduckdb_threads = 1\n").unwrap();
        let c = Config::load(Some(&file), &env(&[]), Flags::default()).unwrap();
        assert_eq!((c.listen.port(), c.data_dir.to_str().unwrap(), c.duckdb_threads), (9000, "/from/file", 1));
        let c = Config::load(
            Some(&file),
            &env(&[("TILLIT_LISTEN", "127.0.0.1:9100"), ("TILLIT_TRUSTED_PROXIES", "10.0.0.0/8")]),
            Flags::default(),
        )
        .unwrap();
        assert_eq!((c.listen.port(), c.trusted_proxies.as_str()), (9100, "10.0.0.0/8"));
        let flags = Flags { listen: Some("127.0.0.1:9200".into()), data_dir: Some("/flag".into()) };
        let c = Config::load(Some(&file), &env(&[("TILLIT_LISTEN", "127.0.0.1:9100")]), flags).unwrap();
        assert_eq!((c.listen.port(), c.data_dir.to_str().unwrap()), (9200, "/flag"));
    }

    #[test]
    fn bad_values_are_reported() {
        assert!(Config::load(None, &env(&[("TILLIT_LISTEN", "nope")]), Flags::default()).is_err());
        assert!(Config::load(None, &env(&[("TILLIT_TRUSTED_PROXIES", "10.0.0.0/99")]), Flags::default()).is_err());
        assert!(Config::load(None, &env(&[("TILLIT_DUCKDB_THREADS", "two")]), Flags::default()).is_err());
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("t.toml");
        std::fs::write(&file, "lisen = 1").unwrap();
        assert!(Config::load(Some(&file), &env(&[]), Flags::default()).is_err());
    }
}
