//! Email links against a real SMTP server on loopback (PyPI `aiosmtpd`, writing a Maildir):
//! password reset (single use, every session ends) and invitations.
//!
//! Without `aiosmtpd` the test is skipped, unless `TILLIT_REQUIRE_SMTP=1` (as in CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{StatusCode, redirect};
use serde_json::Value;

use crate::support::{Server, free_port, tillit};

pub(crate) struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn smtp_server(maildir: &Path) -> Option<(Smtp, u16)> {
    let available = Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
    if !available {
        assert!(std::env::var("TILLIT_REQUIRE_SMTP").is_err(), "aiosmtpd is required but not installed");
        eprintln!("skipping mail test: aiosmtpd not installed (pip install aiosmtpd)");
        return None;
    }
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((Smtp(child), port))
}

/// Waits for the `n`th message in the Maildir and returns it.
pub(crate) async fn nth_mail(maildir: &Path, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut files: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        if files.len() >= n {
            // Undo quoted-printable soft line breaks (long links are wrapped) and `=3D`.
            let raw = std::fs::read_to_string(&files[n - 1]).unwrap();
            return raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
        }
        assert!(Instant::now() < deadline, "no email number {n} arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn link_in(mail: &str, marker: &str) -> String {
    let start = mail.find(marker).unwrap_or_else(|| panic!("no {marker} link in {mail}"));
    mail[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_and_invitation_by_email() {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("maildir");
    let Some((_smtp, port)) = smtp_server(&maildir) else { return };
    let dir = tmp.path().join("data");
    let out = tillit(&dir, &["user", "add", "owner@x.test", "--role", "owner"]);
    assert!(out.status.success());
    let generated = String::from_utf8_lossy(&out.stdout).rsplit(": ").next().unwrap().trim().to_owned();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server =
        Server::start(&dir, &[("TILLIT_SMTP_URL", &smtp), ("TILLIT_MAIL_FROM", "Tillit <no-reply@x.test>")]).await;
    let client = reqwest::Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    let post = |path: String, form: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut req = client.post(format!("{}{path}", server.base)).header("origin", &server.base).form(&form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let cookie = |res: &reqwest::Response| {
        res.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("tillit_session=") && !c.starts_with("tillit_session=;"))
            .map(|c| c.split(';').next().unwrap().to_owned())
    };
    let old = post("/login".into(), vec![("email", "owner@x.test".into()), ("password", generated.clone())], None)
        .await
        .unwrap();
    let old_session = cookie(&old).expect("signed in with the generated password");

    // Unknown and known addresses get the same answer; only the known one gets mail.
    let unknown = post("/password/forgot".into(), vec![("email", "ghost@x.test".into())], None).await.unwrap();
    let known = post("/password/forgot".into(), vec![("email", "owner@x.test".into())], None).await.unwrap();
    assert_eq!((unknown.status(), known.status()), (StatusCode::OK, StatusCode::OK));
    assert_eq!(unknown.text().await.unwrap(), known.text().await.unwrap());
    let mail = nth_mail(&maildir, 1).await;
    assert!(mail.contains("To: owner@x.test") && mail.contains("From: Tillit <no-reply@x.test>"), "{mail}");
    let link = link_in(&mail, &format!("{}/password/reset/", server.base));
    let path = link.trim_start_matches(&server.base).to_owned();
    assert_eq!(client.get(&link).send().await.unwrap().status(), 200);
    let short = post(path.clone(), vec![("password", "short".into())], None).await.unwrap();
    assert_eq!(short.status(), 400, "a too-short password does not use up the link");
    let done = post(path.clone(), vec![("password", "my new long password".into())], None).await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{:?}", done.text().await);
    assert_eq!(done.headers()["location"], "/login?done=reset");
    let again = post(path, vec![("password", "yet another password".into())], None).await.unwrap();
    assert_eq!(again.status(), 400, "single use");
    let account = client.get(format!("{}/account", server.base)).header("cookie", &old_session).send().await.unwrap();
    assert_eq!(account.status(), StatusCode::SEE_OTHER, "the reset ended the old session");
    let signed = post(
        "/login".into(),
        vec![("email", "owner@x.test".into()), ("password", "my new long password".into())],
        None,
    )
    .await
    .unwrap();
    let owner = cookie(&signed).expect("new password works");

    // An invitation by email; the invitee joins with the role they were given.
    let invited: Value = client
        .post(format!("{}/api/admin/users", server.base))
        .header("origin", &server.base)
        .header("cookie", &owner)
        .body(r#"{"email":"new@x.test","role":"analyst"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(invited["emailed"], true);
    let mail = nth_mail(&maildir, 2).await;
    assert!(mail.contains("To: new@x.test"), "{mail}");
    let link = link_in(&mail, &format!("{}/invite/", server.base));
    let joined =
        post(link.trim_start_matches(&server.base).to_owned(), vec![("password", "the invitee password".into())], None)
            .await
            .unwrap();
    assert_eq!(joined.headers()["location"], "/");
    let users = tillit(&dir, &["user", "list", "--json"]);
    let users: Value = serde_json::from_slice(&users.stdout).unwrap();
    let new = users.as_array().unwrap().iter().find(|u| u["email"] == "new@x.test").expect("invitee added");
    assert_eq!(new["roles"][0]["role"], "analyst");
    server.stop();
}
