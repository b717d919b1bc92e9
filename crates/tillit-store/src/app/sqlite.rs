//! The SQLite backend of [`super::AppStore`]. WAL mode with `synchronous = FULL`: the CLI may
//! change sites while the server runs, and a committed change survives power loss.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{ApiKey, AppStoreError, FunnelRow, GoalRow, NewApiKey, Salt, Site};

/// The SQLite application store.
#[derive(Clone)]
pub struct SqliteApp {
    pub(super) pool: SqlitePool,
}

impl SqliteApp {
    pub(super) async fn open(path: &Path) -> Result<SqliteApp, AppStoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(backend)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(backend)?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await.map_err(backend)?;
        Ok(SqliteApp { pool })
    }

    pub(super) async fn add_site(
        &self,
        domain: &str,
        timezone: &str,
        retention_days: u32,
        now: i64,
    ) -> Result<Site, AppStoreError> {
        let res = sqlx::query("INSERT INTO sites (domain, timezone, retention_days, created_at) VALUES (?, ?, ?, ?)")
            .bind(domain)
            .bind(timezone)
            .bind(retention_days)
            .bind(now)
            .execute(&self.pool)
            .await;
        match res {
            Ok(done) => Ok(Site {
                id: u32::try_from(done.last_insert_rowid()).map_err(backend)?,
                domain: domain.to_owned(),
                timezone: timezone.to_owned(),
                retention_days,
                created_at: now,
                previous_domain: None,
                domain_changed_at: None,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AppStoreError::Conflict(format!("site {domain}")))
            }
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn list_sites(&self) -> Result<Vec<Site>, AppStoreError> {
        let rows = sqlx::query("SELECT id, domain, timezone, retention_days, created_at, previous_domain, domain_changed_at FROM sites ORDER BY domain")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(site_from_row).collect()
    }

    pub(super) async fn add_goal(
        &self,
        site_id: u32,
        event_name: Option<&str>,
        page_path: Option<&str>,
        scroll_threshold: Option<u8>,
        display_name: &str,
        now: i64,
    ) -> Result<GoalRow, AppStoreError> {
        let res = sqlx::query(
            "INSERT INTO goals (site_id, event_name, page_path, scroll_threshold, display_name, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(site_id)
        .bind(event_name)
        .bind(page_path)
        .bind(scroll_threshold)
        .bind(display_name)
        .bind(now)
        .execute(&self.pool)
        .await;
        match res {
            Ok(done) => Ok(GoalRow {
                id: done.last_insert_rowid(),
                site_id,
                event_name: event_name.map(str::to_owned),
                page_path: page_path.map(str::to_owned),
                scroll_threshold,
                display_name: display_name.to_owned(),
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AppStoreError::Conflict(format!("goal {display_name}")))
            }
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn goals(&self, site_id: u32) -> Result<Vec<GoalRow>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT id, site_id, event_name, page_path, display_name, scroll_threshold FROM goals WHERE site_id = ? \
             ORDER BY id",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(GoalRow {
                    id: r.try_get(0).map_err(backend)?,
                    site_id: r.try_get(1).map_err(backend)?,
                    event_name: r.try_get(2).map_err(backend)?,
                    page_path: r.try_get(3).map_err(backend)?,
                    display_name: r.try_get(4).map_err(backend)?,
                    scroll_threshold: r.try_get(5).map_err(backend)?,
                })
            })
            .collect()
    }

    pub(super) async fn remove_goal(&self, site_id: u32, display_name: &str) -> Result<(), AppStoreError> {
        let done = sqlx::query("DELETE FROM goals WHERE site_id = ? AND display_name = ?")
            .bind(site_id)
            .bind(display_name)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(AppStoreError::NotFound(format!("goal {display_name}")));
        }
        Ok(())
    }

    pub(super) async fn add_funnel(
        &self,
        site_id: u32,
        name: &str,
        steps: &[String],
        now: i64,
    ) -> Result<FunnelRow, AppStoreError> {
        let goals = self.goals(site_id).await?;
        let mut ids = Vec::new();
        for step in steps {
            let g = goals
                .iter()
                .find(|g| g.display_name == *step)
                .ok_or_else(|| AppStoreError::NotFound(format!("goal {step}")))?;
            ids.push(g.id);
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let res = sqlx::query("INSERT INTO funnels (site_id, name, created_at) VALUES (?, ?, ?)")
            .bind(site_id)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await;
        let id = match res {
            Ok(done) => done.last_insert_rowid(),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AppStoreError::Conflict(format!("funnel {name}")));
            }
            Err(e) => return Err(backend(e)),
        };
        for (order, goal) in ids.iter().enumerate() {
            sqlx::query("INSERT INTO funnel_steps (funnel_id, step_order, goal_id) VALUES (?, ?, ?)")
                .bind(id)
                .bind(order as i64)
                .bind(goal)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        self.funnels(site_id)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(|| AppStoreError::NotFound(format!("funnel {name}")))
    }

    pub(super) async fn funnels(&self, site_id: u32) -> Result<Vec<FunnelRow>, AppStoreError> {
        let goals = self.goals(site_id).await?;
        let rows = sqlx::query(
            "SELECT f.id, f.name, s.goal_id FROM funnels f JOIN funnel_steps s ON s.funnel_id = f.id
             WHERE f.site_id = ? ORDER BY f.id, s.step_order",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut out: Vec<FunnelRow> = Vec::new();
        for r in &rows {
            let id: i64 = r.try_get(0).map_err(backend)?;
            let goal_id: i64 = r.try_get(2).map_err(backend)?;
            if out.last().is_none_or(|f| f.id != id) {
                out.push(FunnelRow { id, site_id, name: r.try_get(1).map_err(backend)?, steps: Vec::new() });
            }
            if let (Some(f), Some(g)) = (out.last_mut(), goals.iter().find(|g| g.id == goal_id)) {
                f.steps.push(g.clone());
            }
        }
        Ok(out)
    }

    pub(super) async fn remove_funnel(&self, site_id: u32, name: &str) -> Result<(), AppStoreError> {
        let done = sqlx::query("DELETE FROM funnels WHERE site_id = ? AND name = ?")
            .bind(site_id)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(AppStoreError::NotFound(format!("funnel {name}")));
        }
        Ok(())
    }

    pub(super) async fn add_api_key(&self, key: &NewApiKey<'_>, now: i64) -> Result<ApiKey, AppStoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "INSERT INTO api_keys (name, prefix, key_hash, hourly_limit, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(key.name)
        .bind(key.prefix)
        .bind(key.key_hash)
        .bind(key.hourly_limit)
        .bind(key.scopes.join(","))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let id = done.last_insert_rowid();
        for site in key.site_ids {
            sqlx::query("INSERT INTO api_key_sites (key_id, site_id) VALUES (?, ?)")
                .bind(id)
                .bind(site)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        let mut keys = self.api_keys(Some(key.key_hash)).await?;
        keys.pop().ok_or_else(|| AppStoreError::NotFound("new api key".into()))
    }

    /// All keys (revoked ones too), or the live key with `hash`.
    pub(super) async fn api_keys(&self, hash: Option<&str>) -> Result<Vec<ApiKey>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT k.id, k.name, k.prefix, k.hourly_limit, k.created_at, k.revoked_at,
                    coalesce(group_concat(s.domain, ' '), ''), k.scopes, coalesce(group_concat(s.id, ' '), '')
             FROM api_keys k
             LEFT JOIN api_key_sites ks ON ks.key_id = k.id
             LEFT JOIN sites s ON s.id = ks.site_id
             WHERE (?1 IS NULL OR (k.key_hash = ?1 AND k.revoked_at IS NULL))
             GROUP BY k.id ORDER BY k.id",
        )
        .bind(hash)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let sites: String = r.try_get(6).map_err(backend)?;
                let mut sites: Vec<String> = sites.split_whitespace().map(str::to_owned).collect();
                sites.sort();
                let scopes: String = r.try_get(7).map_err(backend)?;
                let ids: String = r.try_get(8).map_err(backend)?;
                Ok(ApiKey {
                    scopes: scopes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                    site_ids: ids.split_whitespace().filter_map(|s| s.parse().ok()).collect(),
                    id: r.try_get(0).map_err(backend)?,
                    name: r.try_get(1).map_err(backend)?,
                    prefix: r.try_get(2).map_err(backend)?,
                    hourly_limit: r.try_get(3).map_err(backend)?,
                    created_at: r.try_get(4).map_err(backend)?,
                    revoked_at: r.try_get(5).map_err(backend)?,
                    sites,
                })
            })
            .collect()
    }

    pub(super) async fn revoke_api_key(&self, id_or_prefix: &str, now: i64) -> Result<ApiKey, AppStoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM api_keys WHERE (CAST(id AS TEXT) = ?1 OR prefix = ?1) AND revoked_at IS NULL",
        )
        .bind(id_or_prefix)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let id = id.ok_or_else(|| AppStoreError::NotFound(format!("api key {id_or_prefix}")))?;
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        let keys = self.api_keys(None).await?;
        keys.into_iter().find(|k| k.id == id).ok_or_else(|| AppStoreError::NotFound(format!("api key {id}")))
    }

    pub(super) async fn update_site(&self, site: &Site) -> Result<(), AppStoreError> {
        let res = sqlx::query(
            "UPDATE sites SET domain = ?, timezone = ?, retention_days = ?, previous_domain = ?, domain_changed_at = ? \
             WHERE id = ?",
        )
        .bind(&site.domain)
        .bind(&site.timezone)
        .bind(site.retention_days)
        .bind(&site.previous_domain)
        .bind(site.domain_changed_at)
        .bind(site.id)
        .execute(&self.pool)
        .await;
        match res {
            Ok(done) if done.rows_affected() == 0 => Err(AppStoreError::NotFound(format!("site {}", site.domain))),
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AppStoreError::Conflict(format!("site {}", site.domain)))
            }
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn remove_site(&self, domain: &str, now: i64) -> Result<Site, AppStoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let row = sqlx::query("SELECT id, domain, timezone, retention_days, created_at, previous_domain, domain_changed_at FROM sites WHERE domain = ?")
            .bind(domain)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or_else(|| AppStoreError::NotFound(format!("site {domain}")))?;
        let site = site_from_row(&row)?;
        sqlx::query("DELETE FROM sites WHERE id = ?").bind(site.id).execute(&mut *tx).await.map_err(backend)?;
        sqlx::query("INSERT OR IGNORE INTO site_deletions (site_id, requested_at) VALUES (?, ?)")
            .bind(site.id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(site)
    }

    pub(super) async fn pending_site_deletions(&self) -> Result<Vec<u32>, AppStoreError> {
        sqlx::query_scalar::<_, u32>("SELECT site_id FROM site_deletions ORDER BY site_id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)
    }

    pub(super) async fn complete_site_deletion(&self, site_id: u32) -> Result<(), AppStoreError> {
        sqlx::query("DELETE FROM site_deletions WHERE site_id = ?")
            .bind(site_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn salts(&self) -> Result<Vec<Salt>, AppStoreError> {
        let rows = sqlx::query("SELECT id, salt, created_at FROM salts ORDER BY created_at DESC, id DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let bytes: Vec<u8> = r.try_get(1).map_err(backend)?;
                Ok(Salt {
                    id: r.try_get(0).map_err(backend)?,
                    salt: bytes.try_into().map_err(|_| AppStoreError::Backend("salt of wrong length".into()))?,
                    created_at: r.try_get(2).map_err(backend)?,
                })
            })
            .collect()
    }

    pub(super) async fn insert_salt(&self, salt: [u8; 16], now: i64) -> Result<Salt, AppStoreError> {
        let done = sqlx::query("INSERT INTO salts (salt, created_at) VALUES (?, ?)")
            .bind(salt.as_slice())
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(Salt { id: done.last_insert_rowid(), salt, created_at: now })
    }

    pub(super) async fn delete_salts_before(&self, cutoff: i64) -> Result<u64, AppStoreError> {
        let done = sqlx::query("DELETE FROM salts WHERE created_at < ?")
            .bind(cutoff)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn record_retention(
        &self,
        rule: &str,
        site_id: Option<u32>,
        deleted: u64,
        now: i64,
    ) -> Result<(), AppStoreError> {
        sqlx::query("INSERT INTO retention_runs (rule, site_id, deleted, ran_at) VALUES (?, ?, ?, ?)")
            .bind(rule)
            .bind(site_id)
            .bind(i64::try_from(deleted).unwrap_or(i64::MAX))
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn health(&self) -> Result<(), AppStoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }
}

/// A `sites` row selected as `id, domain, timezone, retention_days, created_at, previous_domain,
/// domain_changed_at`.
fn site_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Site, AppStoreError> {
    Ok(Site {
        id: row.try_get::<u32, _>(0).map_err(backend)?,
        domain: row.try_get(1).map_err(backend)?,
        timezone: row.try_get(2).map_err(backend)?,
        retention_days: row.try_get::<u32, _>(3).map_err(backend)?,
        created_at: row.try_get(4).map_err(backend)?,
        previous_domain: row.try_get(5).map_err(backend)?,
        domain_changed_at: row.try_get(6).map_err(backend)?,
    })
}

pub(super) fn backend(err: impl std::fmt::Display) -> AppStoreError {
    AppStoreError::Backend(err.to_string())
}

#[cfg(test)]
mod tests {
    use crate::app::{AppStore, AppStoreError};

    #[tokio::test]
    async fn sites_salts_and_deletions() {
        let tmp = tempfile::tempdir().unwrap();
        let app = AppStore::open_sqlite(&tmp.path().join("app.sqlite3")).await.unwrap();
        let a = app.add_site("a.test", "Europe/Oslo", 30, 100).await.unwrap();
        assert!(matches!(app.add_site("a.test", "UTC", 30, 100).await, Err(AppStoreError::Conflict(_))));
        let removed = app.remove_site("a.test", 200).await.unwrap();
        assert_eq!(removed.id, a.id);
        assert_eq!(app.pending_site_deletions().await.unwrap(), [a.id]);
        let b = app.add_site("a.test", "UTC", 30, 300).await.unwrap();
        assert!(b.id > a.id, "ids are never reused");
        app.complete_site_deletion(a.id).await.unwrap();
        assert!(app.pending_site_deletions().await.unwrap().is_empty());
        assert!(matches!(app.remove_site("nope.test", 1).await, Err(AppStoreError::NotFound(_))));

        app.insert_salt([1; 16], 1_000).await.unwrap();
        app.insert_salt([2; 16], 90_000).await.unwrap();
        assert_eq!(app.salts().await.unwrap()[0].salt, [2; 16], "newest first");
        assert_eq!(app.delete_salts_before(50_000).await.unwrap(), 1);
        assert_eq!(app.salts().await.unwrap().len(), 1);
        app.health().await.unwrap();
    }
}
