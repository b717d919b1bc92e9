//! The command line: sites and imports.

use std::io::Write;

use crate::support::{CHROME_UA, Server, add_site, bin, stored_count, tillit};

#[tokio::test]
async fn sites_can_be_managed_while_the_server_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]).await;
    add_site(tmp.path(), "late.test");
    let out = tillit(tmp.path(), &["site", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("late.test"));
    // The server notices the new site within its refresh interval.
    let ev = r#"{"n":"pageview","u":"https://late.test/","d":"late.test"}"#;
    let mut accepted = false;
    for _ in 0..50 {
        let res = server.post_event(ev, "", CHROME_UA).await;
        if res.headers().get("x-plausible-dropped").is_none() {
            accepted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(accepted, "the running server never saw the new site");
    let dup = tillit(tmp.path(), &["site", "add", "late.test"]);
    assert_eq!(dup.status.code(), Some(1));
    let err = String::from_utf8_lossy(&dup.stderr);
    assert_eq!(err.lines().count(), 1, "one-line reason, got {err:?}");
    assert!(err.contains("already exists"));
    let bad = tillit(tmp.path(), &["site", "add", "not a domain"]);
    assert_eq!(bad.status.code(), Some(1));
    let bad_tz = tillit(tmp.path(), &["site", "add", "x.test", "--timezone", "Moon/Base"]);
    assert!(String::from_utf8_lossy(&bad_tz.stderr).contains("unknown time zone"));
    let rm = tillit(tmp.path(), &["site", "remove", "late.test"]);
    assert!(rm.status.success());
    let missing = tillit(tmp.path(), &["site", "remove", "late.test"]);
    assert_eq!(missing.status.code(), Some(1));
    server.stop();
    // The removed site's events are deleted at the next start at the latest.
    let server = Server::start(tmp.path(), &[]).await;
    server.stop();
    assert_eq!(stored_count(tmp.path()), 0);
}

/// A listing piped into a reader that stops early (`| grep -q`, `| head -1`) ends with the status
/// of a writer whose pipe closed, and without a panic on stderr.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    for domain in ["a.test", "b.test"] {
        assert!(tillit(dir.path(), &["site", "add", domain]).status.success());
    }
    let (reader, writer) = std::io::pipe().expect("pipe");
    // Nobody reads: the first line written meets a closed pipe.
    drop(reader);
    let out = std::process::Command::new(bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["site", "list"])
        .env_remove("TILLIT_CONFIG")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run tillit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn import_is_idempotent_and_reports_what_it_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let file = tmp.path().join("events.ndjson");
    let mut f = std::fs::File::create(&file).unwrap();
    for i in 0..20 {
        writeln!(
            f,
            r#"{{"timestamp":"2025-06-0{}T10:00:{:02}Z","site":"shop.test","name":"pageview","url":"https://shop.test/p{}","referrer":"https://duckduckgo.com/","user_agent":"{}","ip":"203.0.113.{}"}}"#,
            1 + i % 3,
            i,
            i % 4,
            CHROME_UA,
            i % 5
        )
        .unwrap();
    }
    // A duplicated line is a second, real event.
    writeln!(f, r#"{{"timestamp":"2025-06-01T10:00:00Z","site":"shop.test","url":"https://shop.test/p0","user_agent":"{CHROME_UA}","ip":"203.0.113.0"}}"#).unwrap();
    writeln!(f, r#"{{"timestamp":"2025-06-01T10:00:00Z","site":"shop.test","url":"https://shop.test/p0","user_agent":"{CHROME_UA}","ip":"203.0.113.0"}}"#).unwrap();
    writeln!(f, "this is not json").unwrap();
    writeln!(f, r#"{{"timestamp":"2025-06-01T10:00:00Z","site":"other.test","url":"https://other.test/","user_agent":"{CHROME_UA}","ip":"203.0.113.1"}}"#).unwrap();
    writeln!(f, r#"{{"timestamp":"2025-06-01T10:00:00Z","site":"shop.test","url":"https://shop.test/","user_agent":"Googlebot/2.1","ip":"203.0.113.1"}}"#).unwrap();
    writeln!(f, r#"{{"timestamp":"2025-06-01T10:00:00Z","site":"shop.test","url":"data:x","user_agent":"{CHROME_UA}","ip":"203.0.113.1"}}"#).unwrap();
    drop(f);
    let file_arg = file.to_str().unwrap();
    let out = tillit(tmp.path(), &["import", file_arg, "--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("imported 22 events from 26 lines"), "{stdout}");
    assert!(
        stdout.contains("not a JSON object") && stdout.contains("unknown site") && stdout.contains("bot or crawler"),
        "{stdout}"
    );
    assert_eq!(stored_count(tmp.path()), 22);
    let again = tillit(tmp.path(), &["import", file_arg, "--quiet"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("imported 0 events"), "{stdout}");
    assert!(stdout.contains("already imported"), "{stdout}");
    assert_eq!(stored_count(tmp.path()), 22);

    let log = tmp.path().join("access.log");
    std::fs::write(
        &log,
        format!(
            "203.0.113.9 - - [10/Oct/2025:13:55:36 +0200] \"GET /about HTTP/1.1\" 200 2326 \"https://www.google.com/\" \"{CHROME_UA}\"\n\
             203.0.113.9 - - [10/Oct/2025:13:55:37 +0200] \"GET /style.css HTTP/1.1\" 200 100 \"-\" \"{CHROME_UA}\"\n\
             203.0.113.9 - - [10/Oct/2025:13:55:38 +0200] \"GET /missing HTTP/1.1\" 404 100 \"-\" \"{CHROME_UA}\"\n"
        ),
    )
    .unwrap();
    let out = tillit(tmp.path(), &["import", log.to_str().unwrap(), "--format", "combined", "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "--site is required for logs");
    let out = tillit(
        tmp.path(),
        &["import", log.to_str().unwrap(), "--format", "combined", "--site", "shop.test", "--quiet"],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 1 events from 3 lines"));
    assert_eq!(stored_count(tmp.path()), 23);
}

#[tokio::test]
async fn import_refuses_while_the_server_holds_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    add_site(tmp.path(), "shop.test");
    let server = Server::start(tmp.path(), &[]).await;
    let file = tmp.path().join("e.ndjson");
    std::fs::write(&file, "").unwrap();
    let out = tillit(tmp.path(), &["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use by another process"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop();
}
