//! The application store: sites, salts and job evidence (and, later, users and the ledger's
//! configuration). Embedded SQLite by default; a PostgreSQL backend will be a second variant of
//! [`AppStore`], chosen from the configured URL.

mod sqlite;

use std::path::Path;

use serde::Serialize;

pub use self::sqlite::SqliteApp;

/// Errors from the application store.
#[derive(Debug, thiserror::Error)]
pub enum AppStoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("application store: {0}")]
    Backend(String),
}

/// A site whose analytics Tillit collects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Site {
    pub id: u32,
    pub domain: String,
    pub timezone: String,
    pub retention_days: u32,
    pub created_at: i64,
}

/// A daily salt for visitor ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Salt {
    pub id: i64,
    pub salt: [u8; 16],
    pub created_at: i64,
}

/// A conversion goal of a site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GoalRow {
    pub id: i64,
    pub site_id: u32,
    /// Set for custom-event goals.
    pub event_name: Option<String>,
    /// Set for pageview goals (a path with Plausible wildcards).
    pub page_path: Option<String>,
    pub display_name: String,
}

/// A funnel: goals (by display name) to be completed in order within one visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FunnelRow {
    pub id: i64,
    pub site_id: u32,
    pub name: String,
    pub steps: Vec<GoalRow>,
}

/// A Stats API key as listed (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub hourly_limit: u32,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// Domains the key may read.
    pub sites: Vec<String>,
}

/// The application store. One concrete type; the backend is picked when it is opened.
#[derive(Clone)]
pub enum AppStore {
    Sqlite(SqliteApp),
}

impl AppStore {
    /// Opens (creating and migrating if needed) the SQLite store at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<AppStore, AppStoreError> {
        Ok(AppStore::Sqlite(SqliteApp::open(path).await?))
    }

    pub async fn add_site(
        &self,
        domain: &str,
        timezone: &str,
        retention_days: u32,
        now: i64,
    ) -> Result<Site, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.add_site(domain, timezone, retention_days, now).await,
        }
    }

    pub async fn list_sites(&self) -> Result<Vec<Site>, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.list_sites().await,
        }
    }

    /// Removes a site and queues the deletion of its events.
    pub async fn remove_site(&self, domain: &str, now: i64) -> Result<Site, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.remove_site(domain, now).await,
        }
    }

    /// Sites removed whose events still await deletion.
    pub async fn pending_site_deletions(&self) -> Result<Vec<u32>, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.pending_site_deletions().await,
        }
    }

    pub async fn complete_site_deletion(&self, site_id: u32) -> Result<(), AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.complete_site_deletion(site_id).await,
        }
    }

    /// Salts, newest first.
    pub async fn salts(&self) -> Result<Vec<Salt>, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.salts().await,
        }
    }

    pub async fn insert_salt(&self, salt: [u8; 16], now: i64) -> Result<Salt, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.insert_salt(salt, now).await,
        }
    }

    /// Destroys salts created before `cutoff`. Returns how many were deleted.
    pub async fn delete_salts_before(&self, cutoff: i64) -> Result<u64, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.delete_salts_before(cutoff).await,
        }
    }

    /// Records that a retention rule deleted `deleted` rows.
    pub async fn record_retention(
        &self,
        rule: &str,
        site_id: Option<u32>,
        deleted: u64,
        now: i64,
    ) -> Result<(), AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.record_retention(rule, site_id, deleted, now).await,
        }
    }

    /// Adds a goal; the display name must be unique within the site.
    pub async fn add_goal(
        &self,
        site_id: u32,
        event_name: Option<&str>,
        page_path: Option<&str>,
        display_name: &str,
        now: i64,
    ) -> Result<GoalRow, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.add_goal(site_id, event_name, page_path, display_name, now).await,
        }
    }

    pub async fn goals(&self, site_id: u32) -> Result<Vec<GoalRow>, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.goals(site_id).await,
        }
    }

    pub async fn remove_goal(&self, site_id: u32, display_name: &str) -> Result<(), AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.remove_goal(site_id, display_name).await,
        }
    }

    /// Adds a funnel whose steps are the site's goals with these display names, in order.
    pub async fn add_funnel(
        &self,
        site_id: u32,
        name: &str,
        steps: &[String],
        now: i64,
    ) -> Result<FunnelRow, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.add_funnel(site_id, name, steps, now).await,
        }
    }

    pub async fn funnels(&self, site_id: u32) -> Result<Vec<FunnelRow>, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.funnels(site_id).await,
        }
    }

    pub async fn remove_funnel(&self, site_id: u32, name: &str) -> Result<(), AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.remove_funnel(site_id, name).await,
        }
    }

    /// Stores a new key (by its hash) with the sites it may read.
    pub async fn add_api_key(
        &self,
        name: &str,
        prefix: &str,
        key_hash: &str,
        hourly_limit: u32,
        site_ids: &[u32],
        now: i64,
    ) -> Result<ApiKey, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.add_api_key(name, prefix, key_hash, hourly_limit, site_ids, now).await,
        }
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.api_keys(None).await,
        }
    }

    /// The live (not revoked) key with this hash.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => Ok(db.api_keys(Some(key_hash)).await?.into_iter().next()),
        }
    }

    /// Revokes a key by id or by its prefix.
    pub async fn revoke_api_key(&self, id_or_prefix: &str, now: i64) -> Result<ApiKey, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.revoke_api_key(id_or_prefix, now).await,
        }
    }

    pub async fn health(&self) -> Result<(), AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.health().await,
        }
    }
}
