//! Sign-in throttling: failed attempts counted per account and per client in fixed windows, in
//! memory only (the keys are an email and an address, which must not reach disk or logs).
//!
//! Unknown accounts are counted exactly like known ones, so throttling reveals nothing about
//! which emails exist.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures allowed per account in a window.
pub const PER_ACCOUNT: u32 = 5;
/// Failures allowed per client in a window (several people may share an address).
pub const PER_CLIENT: u32 = 20;
/// The window, in seconds.
pub const WINDOW: i64 = 15 * 60;

#[derive(Default)]
pub struct Throttle {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl Throttle {
    /// `Err(seconds to wait)` when either key has used up its failures.
    pub fn check(&self, account: &str, client: &str, now: i64) -> Result<(), i64> {
        let Ok(w) = self.windows.lock() else { return Ok(()) };
        let wait = |key: &str, limit: u32| match w.get(key) {
            Some(&(start, n)) if now < start + WINDOW && n >= limit => Some(start + WINDOW - now),
            _ => None,
        };
        match wait(&account_key(account), PER_ACCOUNT).max(wait(&client_key(client), PER_CLIENT)) {
            Some(s) => Err(s.max(1)),
            None => Ok(()),
        }
    }

    pub fn failed(&self, account: &str, client: &str, now: i64) {
        let Ok(mut w) = self.windows.lock() else { return };
        if w.len() > 100_000 {
            w.retain(|_, (start, _)| now < *start + WINDOW);
        }
        for key in [account_key(account), client_key(client)] {
            let entry = w.entry(key).or_insert((now, 0));
            if now >= entry.0 + WINDOW {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// A successful sign-in clears the account's failures (not the client's).
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut w) = self.windows.lock() {
            w.remove(&account_key(account));
        }
    }
}

fn account_key(email: &str) -> String {
    format!("a:{}", email.trim().to_lowercase())
}

fn client_key(client: &str) -> String {
    format!("c:{client}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_its_failures_and_reopens_after_the_window() {
        let t = Throttle::default();
        for i in 0..PER_ACCOUNT {
            assert!(t.check("A@x.test", "10.0.0.1", 100).is_ok(), "attempt {i}");
            t.failed("a@x.test", "10.0.0.1", 100);
        }
        assert_eq!(t.check("a@x.test", "10.0.0.2", 160), Err(WINDOW - 60));
        assert!(t.check("b@x.test", "10.0.0.1", 160).is_ok());
        assert!(t.check("a@x.test", "10.0.0.1", 100 + WINDOW).is_ok());
    }

    #[test]
    fn locks_a_client_spraying_many_accounts() {
        let t = Throttle::default();
        for i in 0..PER_CLIENT {
            t.failed(&format!("u{i}@x.test"), "10.0.0.9", 0);
        }
        assert!(t.check("new@x.test", "10.0.0.9", 1).is_err());
        assert!(t.check("new@x.test", "10.0.0.8", 1).is_ok());
    }

    #[test]
    fn success_clears_the_account() {
        let t = Throttle::default();
        for _ in 0..PER_ACCOUNT - 1 {
            t.failed("a@x.test", "c", 0);
        }
        t.succeeded("a@x.test");
        t.failed("a@x.test", "c", 0);
        assert!(t.check("a@x.test", "c", 0).is_ok());
    }
}
