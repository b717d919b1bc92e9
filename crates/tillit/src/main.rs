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

/// The exit status of a process whose reader went away (128 + SIGPIPE), as shells report it.
const BROKEN_PIPE_STATUS: i32 = 141;

/// Rust ignores SIGPIPE, so `println!` into a closed pipe (`tillit goal list | grep -q x`) panics.
/// The reader has all it wanted: end quietly with the status a shell gives a writer killed by
/// SIGPIPE, instead of printing a panic and a backtrace.
fn end_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if msg.is_some_and(|m| m.starts_with("failed printing to std") && m.contains("Broken pipe")) {
            std::process::exit(BROKEN_PIPE_STATUS);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    end_quietly_on_broken_pipe();
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
    // One worker per core (tokio's default; `TOKIO_WORKER_THREADS` overrides it).
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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

/// jemalloc serves every allocation in the process: with unprefixed symbols it is also the `malloc`
/// behind DuckDB's C++. Under the ingest load glibc's malloc took about a sixth of the server's CPU
/// (arena locks shared by the runtime, log and store threads, and consolidating free lists); with
/// jemalloc the process needs 0–32 % less CPU per event (~15 % typical) at about the same peak RSS
/// in most runs (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts (before `main`); `MALLOC_CONF` in the environment
/// overrides them. Allocations from 128 KiB up (DuckDB's blocks and vectors, request queues) go to
/// jemalloc's arena for large blocks, which returns freed pages to the kernel at once, and other
/// freed pages are returned after a second rather than ten: peak RSS under the ingest load
/// 209–220 MB with the defaults, ~190 MB with these, at the same CPU per event (BENCHMARKS.md).
#[allow(non_upper_case_globals, unsafe_code)]
// SAFETY: jemalloc reads this symbol as a `const char *`: a thin pointer to a NUL-terminated
// string that lives for the whole process.
#[unsafe(no_mangle)]
static malloc_conf: &[u8; 63] = b"oversize_threshold:131072,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// One line on stderr with the whole cause chain, exit code 1.
fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("tillit: {e:#}");
    ExitCode::FAILURE
}
