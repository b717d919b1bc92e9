//! One module per subcommand, each with a `run` function.

pub mod apikey;
pub mod funnel;
pub mod goal;
pub mod import;
pub mod serve;
pub mod site;

use tracing_subscriber::EnvFilter;

/// Logs go to stderr. Nothing personal is ever logged: handlers log no IPs, user agents or emails.
pub fn init_logging(filter: &str) {
    let filter = EnvFilter::try_from_env("TILLIT_LOG")
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}
