//! Starting and stopping a real server for a test.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tillit_store::EventRecord;
use tillit_store::events::{EventStore, EventStoreOptions};

pub const CHROME_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tillit")
}

/// Runs a CLI command against `data_dir`.
pub fn tillit(data_dir: &Path, args: &[&str]) -> Output {
    tillit_with(data_dir, args, &[])
}

/// Runs a CLI command against `data_dir` with extra environment variables.
pub fn tillit_with(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("TILLIT_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("run tillit")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `tillit serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub async fn start(data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        Self::start_on(data_dir, free_port(), extra_env).await
    }

    pub async fn start_on(data_dir: &Path, port: u16, extra_env: &[(&str, &str)]) -> Server {
        Self::spawn(data_dir, port, extra_env, Stdio::inherit()).await
    }

    /// Starts a server whose log (stderr) goes to `log`.
    pub async fn start_logging_to(data_dir: &Path, extra_env: &[(&str, &str)], log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("create log file");
        Self::spawn(data_dir, free_port(), extra_env, Stdio::from(file)).await
    }

    async fn spawn(data_dir: &Path, port: u16, extra_env: &[(&str, &str)], stderr: Stdio) -> Server {
        let mut cmd = Command::new(bin());
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("TILLIT_ADMIN_TOKEN", "test-admin-token")
            .env("TILLIT_LOG", "warn")
            .env_remove("TILLIT_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn tillit serve");
        let mut server = Server { child, base: format!("http://127.0.0.1:{port}") };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited during start-up with {status}");
            }
            if let Ok(r) = client.get(format!("{}/api/health", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not become healthy");
    }

    /// SIGTERM, and wait: the exit status must be success.
    pub fn stop(mut self) {
        signal(&self.child, "TERM");
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "graceful shutdown exited with {status}");
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        signal(&self.child, "KILL");
        let _ = self.child.wait();
    }

    pub async fn post_event(&self, body: &str, ip: &str, ua: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/api/event", self.base))
            .header("content-type", "text/plain")
            .header("user-agent", ua)
            .header("x-forwarded-for", ip)
            .body(body.to_owned())
            .send()
            .await
            .expect("post event")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

/// Opens the event store of a stopped server and returns every event.
pub fn stored_events(data_dir: &Path) -> Vec<EventRecord> {
    let store = EventStore::open_duckdb(&data_dir.join("events.duckdb"), &EventStoreOptions::default()).unwrap();
    store.recent(4_000_000_000, 4_000_000_000).unwrap()
}

pub fn stored_count(data_dir: &Path) -> u64 {
    let store = EventStore::open_duckdb(&data_dir.join("events.duckdb"), &EventStoreOptions::default()).unwrap();
    store.count(None).unwrap()
}

pub fn add_site(data_dir: &Path, domain: &str) {
    let out = tillit(data_dir, &["site", "add", domain]);
    assert!(out.status.success(), "site add failed: {}", String::from_utf8_lossy(&out.stderr));
}
