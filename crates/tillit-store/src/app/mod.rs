//! The application store: sites, salts, job evidence, accounts and the consent ledger. Embedded
//! SQLite by default; a PostgreSQL backend will be a second variant of [`AppStore`], chosen from
//! the configured URL.

pub mod accounts;
pub mod ledger;
pub mod outreach;
mod sqlite;
mod sqlite_accounts;
mod sqlite_ledger;
mod sqlite_outreach;

use std::path::Path;

use serde::Serialize;

use self::accounts::{
    AuditCheckpoint, AuditEntry, Credentials, EmailToken, NewEmailToken, RoleRow, SessionUser, SharedLink,
    TokenPurpose, User,
};
pub use self::sqlite::SqliteApp;

/// Forwards a call to the backend in use; one arm per backend.
macro_rules! backend {
    ($self:ident, $db:ident => $call:expr) => {
        match $self {
            AppStore::Sqlite($db) => $call,
        }
    };
}

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
    /// The domain before the last change; it keeps answering for a grace period the domain owns.
    pub previous_domain: Option<String>,
    pub domain_changed_at: Option<i64>,
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
    /// Set for pageview and scroll goals (a path with Plausible wildcards).
    pub page_path: Option<String>,
    /// Set for scroll goals: the least scroll depth (per cent, 1–100) on a page of `page_path`.
    pub scroll_threshold: Option<u8>,
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
    /// Domains the key may use.
    pub sites: Vec<String>,
    #[serde(skip)]
    pub site_ids: Vec<u32>,
    /// What the key may do on its sites (`read-analytics`, `manage-ledger`).
    pub scopes: Vec<String>,
}

/// A key to store: its hash (never the key), where it works and what it may do.
#[derive(Clone, Debug)]
pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub hourly_limit: u32,
    pub site_ids: &'a [u32],
    pub scopes: &'a [String],
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

    /// Changes a site's domain (and previous domain), time zone and retention (its events stay: they are keyed by
    /// id).
    pub async fn update_site(&self, site: &Site) -> Result<(), AppStoreError> {
        backend!(self, db => db.update_site(site).await)
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
        scroll_threshold: Option<u8>,
        display_name: &str,
        now: i64,
    ) -> Result<GoalRow, AppStoreError> {
        match self {
            AppStore::Sqlite(db) => {
                db.add_goal(site_id, event_name, page_path, scroll_threshold, display_name, now).await
            }
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

    /// Stores a new key (by its hash) with the sites it may use.
    pub async fn add_api_key(&self, key: &NewApiKey<'_>, now: i64) -> Result<ApiKey, AppStoreError> {
        backend!(self, db => db.add_api_key(key, now).await)
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

    pub async fn count_users(&self) -> Result<u64, AppStoreError> {
        backend!(self, db => db.count_users().await)
    }

    /// Adds a user with roles. With `only_if_none`, fails with `Conflict` when any user exists
    /// (the first-run owner), decided in the same transaction as the insert.
    pub async fn add_user(
        &self,
        email: &str,
        password_hash: &str,
        roles: &[RoleRow],
        only_if_none: bool,
        now: i64,
    ) -> Result<User, AppStoreError> {
        backend!(self, db => db.add_user(email, password_hash, roles, only_if_none, now).await)
    }

    pub async fn users(&self) -> Result<Vec<User>, AppStoreError> {
        backend!(self, db => db.users().await)
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>, AppStoreError> {
        backend!(self, db => db.user(id).await)
    }

    /// The user with this email (any case), with password hash and TOTP secrets.
    pub async fn credentials_by_email(&self, email: &str) -> Result<Option<Credentials>, AppStoreError> {
        backend!(self, db => db.credentials(Some(email), None).await)
    }

    pub async fn credentials(&self, user_id: i64) -> Result<Option<Credentials>, AppStoreError> {
        backend!(self, db => db.credentials(None, Some(user_id)).await)
    }

    /// Sets a new password hash and ends every session of the user.
    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), AppStoreError> {
        backend!(self, db => db.set_password(user_id, password_hash).await)
    }

    pub async fn set_roles(&self, user_id: i64, roles: &[RoleRow]) -> Result<(), AppStoreError> {
        backend!(self, db => db.set_roles(user_id, roles).await)
    }

    /// Sets the user's UI language (`None`: follow the browser).
    pub async fn set_locale(&self, user_id: i64, locale: Option<&str>) -> Result<(), AppStoreError> {
        backend!(self, db => db.set_locale(user_id, locale).await)
    }

    /// Disables (`Some(now)`) or re-enables (`None`) a user; either way their sessions end.
    pub async fn set_disabled(&self, user_id: i64, disabled_at: Option<i64>) -> Result<(), AppStoreError> {
        backend!(self, db => db.set_disabled(user_id, disabled_at).await)
    }

    pub async fn remove_user(&self, user_id: i64) -> Result<(), AppStoreError> {
        backend!(self, db => db.remove_user(user_id).await)
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
        second_factor_due: bool,
    ) -> Result<(), AppStoreError> {
        backend!(self, db => db.create_session(token_hash, user_id, now, expires_at, second_factor_due).await)
    }

    /// The enabled user of an unexpired session.
    pub async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<SessionUser>, AppStoreError> {
        backend!(self, db => db.session_user(token_hash, now).await)
    }

    pub async fn end_session(&self, token_hash: &str) -> Result<u64, AppStoreError> {
        backend!(self, db => db.end_sessions(Some(token_hash), None).await)
    }

    pub async fn end_user_sessions(&self, user_id: i64) -> Result<u64, AppStoreError> {
        backend!(self, db => db.end_sessions(None, Some(user_id)).await)
    }

    pub async fn purge_expired_sessions(&self, now: i64) -> Result<u64, AppStoreError> {
        backend!(self, db => db.purge_expired_sessions(now).await)
    }

    pub async fn set_totp_pending(&self, user_id: i64, secret: Option<&[u8]>) -> Result<(), AppStoreError> {
        backend!(self, db => db.set_totp_pending(user_id, secret).await)
    }

    /// Turns the pending TOTP secret on with these recovery codes, or (`None`) two-factor off.
    pub async fn set_totp(&self, user_id: i64, code_hashes: Option<&[String]>) -> Result<(), AppStoreError> {
        backend!(self, db => db.set_totp(user_id, code_hashes).await)
    }

    pub async fn use_recovery_code(&self, user_id: i64, code_hash: &str, now: i64) -> Result<bool, AppStoreError> {
        backend!(self, db => db.use_recovery_code(user_id, code_hash, now).await)
    }

    pub async fn add_email_token(&self, token: &NewEmailToken<'_>, now: i64) -> Result<(), AppStoreError> {
        backend!(self, db => db.add_email_token(token, now).await)
    }

    /// Uses a single-use token: `None` unless it exists for `purpose`, unexpired and unused.
    pub async fn take_email_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<EmailToken>, AppStoreError> {
        backend!(self, db => db.take_email_token(token_hash, purpose, now).await)
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>, AppStoreError> {
        backend!(self, db => db.setting(key).await)
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), AppStoreError> {
        backend!(self, db => db.set_setting(key, value).await)
    }

    pub async fn add_shared_link(
        &self,
        site_id: u32,
        slug: &str,
        name: &str,
        password_hash: Option<&str>,
        allow_embed: bool,
        now: i64,
    ) -> Result<SharedLink, AppStoreError> {
        backend!(self, db => db.add_shared_link(site_id, slug, name, password_hash, allow_embed, now).await)
    }

    /// A site's shared links, revoked ones included.
    pub async fn shared_links(&self, site_id: u32) -> Result<Vec<SharedLink>, AppStoreError> {
        backend!(self, db => db.shared_links(Some(site_id), None).await)
    }

    /// The live shared link with this slug.
    pub async fn shared_link(&self, slug: &str) -> Result<Option<SharedLink>, AppStoreError> {
        backend!(self, db => Ok(db.shared_links(None, Some(slug)).await?.into_iter().next()))
    }

    pub async fn revoke_shared_link(&self, site_id: u32, id: i64, now: i64) -> Result<(), AppStoreError> {
        backend!(self, db => db.revoke_shared_link(site_id, id, now).await)
    }

    /// Appends a row to the audit log, chained to the previous one.
    pub async fn append_audit(
        &self,
        at: i64,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<AuditEntry, AppStoreError> {
        backend!(self, db => db.append_audit(at, actor, action, target, detail).await)
    }

    /// Up to `limit` audit rows after `seq`, in order.
    pub async fn audit_entries(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, AppStoreError> {
        backend!(self, db => db.audit_entries(after, limit).await)
    }

    /// The newest audit row older than `cutoff`, if any (what retention would remove up to).
    pub async fn audit_before(&self, cutoff: i64) -> Result<Option<AuditEntry>, AppStoreError> {
        backend!(self, db => db.audit_before(cutoff).await)
    }

    /// How many audit rows have `seq <= through`.
    pub async fn audit_count_through(&self, through: i64) -> Result<u64, AppStoreError> {
        backend!(self, db => db.audit_count_through(through).await)
    }

    /// In one transaction: stores the checkpoint, then deletes every audit row it covers.
    /// Returns how many rows went.
    pub async fn cut_audit(&self, checkpoint: &AuditCheckpoint) -> Result<u64, AppStoreError> {
        backend!(self, db => db.cut_audit(checkpoint).await)
    }

    /// The newest audit checkpoint, if retention ever removed rows.
    pub async fn audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>, AppStoreError> {
        backend!(self, db => db.audit_checkpoint().await)
    }

    pub async fn health(&self) -> Result<(), AppStoreError> {
        match self {
            AppStore::Sqlite(db) => db.health().await,
        }
    }
}
