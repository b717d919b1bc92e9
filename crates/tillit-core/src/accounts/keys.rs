//! API keys: generated here, shown once, stored as a SHA-256 hash, each with an hourly budget.

use std::collections::HashMap;
use std::sync::Mutex;

use tillit_store::app::{AppStore, AppStoreError};

use crate::access::{Principal, Scope};
use crate::secret::{hex, token_hash};

/// A new key: what to show once, and what to store.
pub struct NewKey {
    pub key: String,
    pub prefix: String,
    pub hash: String,
}

/// Makes a random key.
pub fn generate_key() -> NewKey {
    let bytes: [u8; 24] = rand::random();
    let key = format!("tlt_{}", hex(&bytes));
    NewKey { prefix: key[..12].to_owned(), hash: token_hash(&key), key }
}

/// Why a key was turned away.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyRejection {
    /// Unknown or revoked.
    Invalid,
    /// Over its hourly budget.
    RateLimited { limit: u32, retry_after: i64 },
}

/// Requests per key in the current clock hour.
#[derive(Default)]
pub struct KeyBudgets {
    windows: Mutex<HashMap<i64, (i64, u32)>>,
}

impl KeyBudgets {
    fn spend(&self, key_id: i64, limit: u32, now: i64) -> Result<(), KeyRejection> {
        let hour = now.div_euclid(3600);
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let slot = w.entry(key_id).or_insert((hour, 0));
        if slot.0 != hour {
            *slot = (hour, 0);
        }
        if slot.1 >= limit {
            return Err(KeyRejection::RateLimited { limit, retry_after: (hour + 1) * 3600 - now });
        }
        slot.1 += 1;
        Ok(())
    }

    /// The principal of a live key, one request spent from its budget. A revoked key is unknown
    /// from the moment it is revoked: every request looks the key up.
    pub async fn authenticate(
        &self,
        app: &AppStore,
        key: &str,
        now: i64,
    ) -> Result<Result<Principal, KeyRejection>, AppStoreError> {
        let Some(found) = app.api_key_by_hash(&token_hash(key.trim())).await? else {
            return Ok(Err(KeyRejection::Invalid));
        };
        if let Err(r) = self.spend(found.id, found.hourly_limit, now) {
            return Ok(Err(r));
        }
        let scopes: Vec<Scope> = found.scopes.iter().filter_map(|s| s.parse().ok()).collect();
        Ok(Ok(Principal::api_key(found.id, &found.prefix, &found.site_ids, &scopes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hashed() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a.key, b.key);
        assert!(a.key.starts_with("tlt_") && a.key.len() == 52);
        assert_eq!(a.hash, token_hash(&a.key));
        assert!(a.key.starts_with(&a.prefix));
    }

    #[test]
    fn budget_resets_each_hour() {
        let r = KeyBudgets::default();
        let t = 7200 * 1000;
        assert!(r.spend(1, 2, t).is_ok());
        assert!(r.spend(1, 2, t + 10).is_ok());
        assert_eq!(r.spend(1, 2, t + 20), Err(KeyRejection::RateLimited { limit: 2, retry_after: 3580 }));
        assert!(r.spend(2, 2, t + 20).is_ok(), "other keys have their own budget");
        assert!(r.spend(1, 2, t + 3600).is_ok());
    }
}
