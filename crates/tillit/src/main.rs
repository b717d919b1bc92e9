//! The `tillit` binary: command-line parsing, configuration and wiring. No domain logic lives here.

mod commands;
mod config;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use config::{Config, Flags};

/// Cookieless web analytics and a consent ledger you can prove.
#[derive(Parser)]
#[command(name = "tillit", version, about)]
struct Cli {
    /// TOML configuration file (also TILLIT_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Where Tillit keeps its data (also TILLIT_DATA_DIR). Default: ./data
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on (also TILLIT_LISTEN). Default: 127.0.0.1:8000
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage the sites whose analytics Tillit collects.
    #[command(subcommand)]
    Site(commands::site::SiteCmd),
    /// Manage a site's conversion goals.
    #[command(subcommand)]
    Goal(commands::goal::GoalCmd),
    /// Manage a site's funnels.
    #[command(subcommand)]
    Funnel(commands::funnel::FunnelCmd),
    /// Manage Stats API keys.
    #[command(subcommand)]
    Apikey(commands::apikey::ApiKeyCmd),
    /// Import historic events from NDJSON or web-server access logs.
    Import(commands::import::ImportArgs),
    /// Manage the people who sign in, and their roles.
    #[command(subcommand)]
    User(commands::user::UserCmd),
    /// Verify or export the audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCmd),
    /// Manage the purposes a site asks consent for.
    #[command(subcommand)]
    Purpose(commands::purpose::PurposeCmd),
    /// Verify the consent ledger.
    #[command(subcommand)]
    Ledger(commands::ledger::LedgerCmd),
    /// Export, erase or import people's data.
    #[command(subcommand)]
    Contact(commands::contact::ContactCmd),
    /// Re-permission campaigns: ask those who may be asked, once, then let go.
    #[command(subcommand)]
    Campaign(commands::campaign::CampaignCmd),
    /// Apply the ledger's retention rules, or list what they would remove.
    #[command(subcommand)]
    Retention(commands::retention::RetentionCmd),
}

fn main() -> ExitCode {
    tune_malloc();
    // TLS (SMTP today) uses ring. Naming the provider keeps TLS working when another crate in the
    // same build enables rustls' second provider too (rustls then refuses to pick one).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let env: HashMap<String, String> = std::env::vars().collect();
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let config = match Config::load(cli.config.as_deref(), &env, Flags { listen, data_dir: cli.data_dir.clone() }) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    commands::init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::from(e)),
    };
    let res = runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => commands::serve::run(config).await,
            Command::Site(cmd) => commands::site::run(&config, cmd).await,
            Command::Import(args) => commands::import::run(&config, args).await,
            Command::Goal(cmd) => commands::goal::run(&config, cmd).await,
            Command::Apikey(cmd) => commands::apikey::run(&config, cmd).await,
            Command::Funnel(cmd) => commands::funnel::run(&config, cmd).await,
            Command::User(cmd) => commands::user::run(&config, cmd).await,
            Command::Audit(cmd) => commands::audit::run(&config, cmd).await,
            Command::Purpose(cmd) => commands::purpose::run(&config, cmd).await,
            Command::Ledger(cmd) => commands::ledger::run(&config, cmd).await,
            Command::Contact(cmd) => commands::contact::run(&config, cmd).await,
            Command::Campaign(cmd) => commands::campaign::run(&config, cmd).await,
            Command::Retention(cmd) => commands::retention::run(&config, cmd).await,
        }
    });
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Caps glibc's malloc arenas at two. By default glibc gives each thread that allocates its own
/// arena (up to 8 per core) and keeps freed memory in each; DuckDB's query threads and tokio's
/// blocking pool then hold hundreds of MB that no one uses: a 10 M-event dashboard peaked at
/// 2.1 GB RSS with a 512 MB DuckDB limit, 0.95 GB with two arenas, at the same speed (BENCHMARKS.md).
///
/// Also fixes the size from which allocations get their own mapping at 128 KiB. glibc starts
/// there but raises the bar each time such a block is freed, after which DuckDB's 256 KiB buffers
/// come from the arenas and their memory stays with the process after every checkpoint; fixed,
/// they are returned when freed (peak RSS under ingest 235 → 204–212 MB, BENCHMARKS.md).
#[allow(unsafe_code)]
fn tune_malloc() {
    // SAFETY: `mallopt` only sets an allocator parameter; it is called first thing in `main`,
    // before any other thread exists. Its return value (0 on failure) needs no handling: the
    // default arenas are merely larger.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}

/// One line on stderr with the whole cause chain, exit code 1.
fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("tillit: {e:#}");
    ExitCode::FAILURE
}
