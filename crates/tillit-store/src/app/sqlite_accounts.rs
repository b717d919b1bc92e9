//! The SQLite backend of the accounts part of [`super::AppStore`].

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::AppStoreError;
use super::accounts::{
    AUDIT_GENESIS, AuditCheckpoint, AuditEntry, Credentials, EmailToken, NewEmailToken, RoleRow, SessionUser,
    SharedLink, TokenPurpose, User, audit_hash,
};
use super::sqlite::{SqliteApp, backend};

/// The columns `user_from_row` reads, as a literal for `concat!` (sqlx takes only static SQL).
macro_rules! user_columns {
    () => {
        "u.id, u.email, u.totp_secret IS NOT NULL, u.created_at, u.disabled_at, u.locale"
    };
}

/// How many columns `user_columns!()` selects: the columns a query adds after it start here.
const USER_COLUMNS: usize = 6;

macro_rules! link_columns {
    () => {
        "id, site_id, slug, name, password_hash, allow_embed, created_at, revoked_at"
    };
}

fn user_from_row(r: &SqliteRow) -> Result<User, AppStoreError> {
    Ok(User {
        id: r.try_get(0).map_err(backend)?,
        email: r.try_get(1).map_err(backend)?,
        two_factor: r.try_get(2).map_err(backend)?,
        created_at: r.try_get(3).map_err(backend)?,
        disabled_at: r.try_get(4).map_err(backend)?,
        locale: r.try_get(5).map_err(backend)?,
        roles: Vec::new(),
    })
}

fn link_from_row(r: &SqliteRow) -> Result<SharedLink, AppStoreError> {
    let password_hash: Option<String> = r.try_get(4).map_err(backend)?;
    Ok(SharedLink {
        id: r.try_get(0).map_err(backend)?,
        site_id: r.try_get(1).map_err(backend)?,
        slug: r.try_get(2).map_err(backend)?,
        name: r.try_get(3).map_err(backend)?,
        has_password: password_hash.is_some(),
        password_hash,
        allow_embed: r.try_get(5).map_err(backend)?,
        created_at: r.try_get(6).map_err(backend)?,
        revoked_at: r.try_get(7).map_err(backend)?,
    })
}

impl SqliteApp {
    pub(super) async fn count_users(&self) -> Result<u64, AppStoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await.map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    /// Adds a user with roles. With `only_if_none`, fails with `Conflict` when any user exists
    /// (first-run setup), checked in the same transaction as the insert.
    pub(super) async fn add_user(
        &self,
        email: &str,
        password_hash: &str,
        roles: &[RoleRow],
        only_if_none: bool,
        now: i64,
    ) -> Result<User, AppStoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        if only_if_none {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *tx).await.map_err(backend)?;
            if n > 0 {
                return Err(AppStoreError::Conflict("an owner".into()));
            }
        }
        let res = sqlx::query("INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)")
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await;
        let id = match res {
            Ok(done) => done.last_insert_rowid(),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AppStoreError::Conflict("a user with this email".into()));
            }
            Err(e) => return Err(backend(e)),
        };
        insert_roles(&mut tx, id, roles).await?;
        tx.commit().await.map_err(backend)?;
        self.user(id).await?.ok_or_else(|| AppStoreError::NotFound("user".into()))
    }

    pub(super) async fn users(&self) -> Result<Vec<User>, AppStoreError> {
        let rows = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users u ORDER BY u.id"))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            users.push(self.user_with_roles(row).await?);
        }
        Ok(users)
    }

    pub(super) async fn user(&self, id: i64) -> Result<Option<User>, AppStoreError> {
        let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(self.user_with_roles(&row).await?))
    }

    /// The user in `row` (read by `user_from_row`) with their roles.
    async fn user_with_roles(&self, row: &SqliteRow) -> Result<User, AppStoreError> {
        let mut user = user_from_row(row)?;
        user.roles = self.roles(user.id).await?;
        Ok(user)
    }

    async fn roles(&self, user_id: i64) -> Result<Vec<RoleRow>, AppStoreError> {
        let rows = sqlx::query("SELECT site_id, role FROM user_roles WHERE user_id = ? ORDER BY IFNULL(site_id, 0)")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| Ok(RoleRow { site_id: r.try_get(0).map_err(backend)?, role: r.try_get(1).map_err(backend)? }))
            .collect()
    }

    /// The user with this email (any case) or id, with password hash and TOTP secrets.
    pub(super) async fn credentials(
        &self,
        email: Option<&str>,
        id: Option<i64>,
    ) -> Result<Option<Credentials>, AppStoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash, u.totp_secret, u.totp_pending FROM users u
             WHERE u.email = ?1 OR u.id = ?2"
        ))
        .bind(email)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Credentials {
            user: self.user_with_roles(&row).await?,
            password_hash: row.try_get(USER_COLUMNS).map_err(backend)?,
            totp_secret: row.try_get(USER_COLUMNS + 1).map_err(backend)?,
            totp_pending: row.try_get(USER_COLUMNS + 2).map_err(backend)?,
        }))
    }

    /// Sets a new password hash and ends every session of the user.
    pub(super) async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), AppStoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        end_sessions_and_commit(tx, done.rows_affected(), user_id).await
    }

    pub(super) async fn set_roles(&self, user_id: i64, roles: &[RoleRow]) -> Result<(), AppStoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_roles(&mut tx, user_id, roles).await?;
        tx.commit().await.map_err(backend)
    }

    /// Disables (`Some(now)`) or re-enables (`None`) a user; disabling ends their sessions.
    pub(super) async fn set_locale(&self, user_id: i64, locale: Option<&str>) -> Result<(), AppStoreError> {
        sqlx::query("UPDATE users SET locale = ? WHERE id = ?")
            .bind(locale)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn set_disabled(&self, user_id: i64, disabled_at: Option<i64>) -> Result<(), AppStoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query("UPDATE users SET disabled_at = ? WHERE id = ?")
            .bind(disabled_at)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        end_sessions_and_commit(tx, done.rows_affected(), user_id).await
    }

    pub(super) async fn remove_user(&self, user_id: i64) -> Result<(), AppStoreError> {
        let done =
            sqlx::query("DELETE FROM users WHERE id = ?").bind(user_id).execute(&self.pool).await.map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(AppStoreError::NotFound("user".into()));
        }
        Ok(())
    }

    pub(super) async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
        second_factor_due: bool,
    ) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, second_factor_due)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(now)
        .bind(expires_at)
        .bind(second_factor_due)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// The enabled user of an unexpired session.
    pub(super) async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<SessionUser>, AppStoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", s.second_factor_due, s.created_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionUser {
            user: self.user_with_roles(&row).await?,
            second_factor_due: row.try_get(USER_COLUMNS).map_err(backend)?,
            created_at: row.try_get(USER_COLUMNS + 1).map_err(backend)?,
        }))
    }

    /// Ends one session (`token_hash`) or, with `user_id`, every session of that user.
    pub(super) async fn end_sessions(
        &self,
        token_hash: Option<&str>,
        user_id: Option<i64>,
    ) -> Result<u64, AppStoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = ?1 OR user_id = ?2")
            .bind(token_hash)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn purge_expired_sessions(&self, now: i64) -> Result<u64, AppStoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn set_totp_pending(&self, user_id: i64, secret: Option<&[u8]>) -> Result<(), AppStoreError> {
        sqlx::query("UPDATE users SET totp_pending = ? WHERE id = ?")
            .bind(secret)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Turns the pending TOTP secret on (with fresh recovery codes), or (`code_hashes` = `None`)
    /// turns two-factor authentication off.
    pub(super) async fn set_totp(&self, user_id: i64, code_hashes: Option<&[String]>) -> Result<(), AppStoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let sql = if code_hashes.is_some() {
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL WHERE id = ? AND totp_pending IS NOT NULL"
        } else {
            "UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE id = ?"
        };
        let done = sqlx::query(sql).bind(user_id).execute(&mut *tx).await.map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(AppStoreError::NotFound("a pending two-factor setup".into()));
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        for hash in code_hashes.unwrap_or_default() {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)")
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    /// Marks an unused recovery code used; false when there is none with this hash.
    pub(super) async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, AppStoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(code_hash)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn add_email_token(&self, t: &NewEmailToken<'_>, now: i64) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, purpose, user_id, email, role, site_id, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.token_hash)
        .bind(t.purpose.as_str())
        .bind(t.user_id)
        .bind(t.email)
        .bind(t.role.map(|r| r.role.as_str()))
        .bind(t.role.and_then(|r| r.site_id))
        .bind(now)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// Uses a token: returns it if it exists for `purpose`, is unexpired and unused, and marks it
    /// used in the same statement, so two concurrent uses cannot both succeed.
    pub(super) async fn take_email_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<EmailToken>, AppStoreError> {
        let row = sqlx::query(
            "UPDATE email_tokens SET used_at = ?1
             WHERE token_hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1
             RETURNING user_id, email, role, site_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(EmailToken {
            user_id: r.try_get(0).map_err(backend)?,
            email: r.try_get(1).map_err(backend)?,
            role: r.try_get(2).map_err(backend)?,
            site_id: r.try_get(3).map_err(backend)?,
        }))
    }

    pub(super) async fn setting(&self, key: &str) -> Result<Option<String>, AppStoreError> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    pub(super) async fn set_setting(&self, key: &str, value: &str) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn add_shared_link(
        &self,
        site_id: u32,
        slug: &str,
        name: &str,
        password_hash: Option<&str>,
        allow_embed: bool,
        now: i64,
    ) -> Result<SharedLink, AppStoreError> {
        let row = sqlx::query(concat!(
            "INSERT INTO shared_links (site_id, slug, name, password_hash, allow_embed, created_at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING ",
            link_columns!()
        ))
        .bind(site_id)
        .bind(slug)
        .bind(name)
        .bind(password_hash)
        .bind(allow_embed)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        link_from_row(&row)
    }

    /// A site's links, or the live link with `slug`.
    pub(super) async fn shared_links(
        &self,
        site_id: Option<u32>,
        slug: Option<&str>,
    ) -> Result<Vec<SharedLink>, AppStoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            link_columns!(),
            " FROM shared_links
             WHERE site_id = ?1 OR (slug = ?2 AND revoked_at IS NULL) ORDER BY id"
        ))
        .bind(site_id)
        .bind(slug)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(link_from_row).collect()
    }

    pub(super) async fn revoke_shared_link(&self, site_id: u32, id: i64, now: i64) -> Result<(), AppStoreError> {
        let done =
            sqlx::query("UPDATE shared_links SET revoked_at = ? WHERE site_id = ? AND id = ? AND revoked_at IS NULL")
                .bind(now)
                .bind(site_id)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(AppStoreError::NotFound("shared link".into()));
        }
        Ok(())
    }

    /// Appends a row to the audit log, chained to the last one. `BEGIN IMMEDIATE` takes the write
    /// lock before reading the last hash, so concurrent appends (server and CLI) stay a chain.
    pub(super) async fn append_audit(
        &self,
        at: i64,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<AuditEntry, AppStoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let last: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, AUDIT_GENESIS.to_owned()),
        };
        let hash = audit_hash(&prev_hash, seq, at, actor, action, target, detail);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(seq)
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(AuditEntry {
            seq,
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.to_owned(),
            prev_hash,
            hash,
        })
    }

    /// Up to `limit` audit rows with `seq > after`, in order.
    pub(super) async fn audit_entries(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log
             WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get(0).map_err(backend)?,
                    at: r.try_get(1).map_err(backend)?,
                    actor: r.try_get(2).map_err(backend)?,
                    action: r.try_get(3).map_err(backend)?,
                    target: r.try_get(4).map_err(backend)?,
                    detail: r.try_get(5).map_err(backend)?,
                    prev_hash: r.try_get(6).map_err(backend)?,
                    hash: r.try_get(7).map_err(backend)?,
                })
            })
            .collect()
    }

    pub(super) async fn audit_before(&self, cutoff: i64) -> Result<Option<AuditEntry>, AppStoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM audit_log WHERE at < ?")
            .bind(cutoff)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        match last {
            Some(seq) => Ok(self.audit_entries(seq - 1, 1).await?.pop()),
            None => Ok(None),
        }
    }

    pub(super) async fn audit_count_through(&self, through: i64) -> Result<u64, AppStoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE seq <= ?")
            .bind(through)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    pub(super) async fn cut_audit(&self, c: &AuditCheckpoint) -> Result<u64, AppStoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at, jws) VALUES (?, ?, ?, ?)")
            .bind(c.seq)
            .bind(&c.hash)
            .bind(c.at)
            .bind(&c.jws)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let done =
            sqlx::query("DELETE FROM audit_log WHERE seq <= ?").bind(c.seq).execute(&mut *tx).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>, AppStoreError> {
        let row: Option<(i64, String, i64, String)> =
            sqlx::query_as("SELECT seq, hash, at, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(row.map(|(seq, hash, at, jws)| AuditCheckpoint { seq, hash, at, jws }))
    }
}

/// Finishes a change to one user's row: `NotFound` when no row changed, else every session of the
/// user ends in the same transaction (a changed password or a disabled account signs out everywhere).
async fn end_sessions_and_commit(
    mut tx: sqlx::Transaction<'_, sqlx::Sqlite>,
    changed: u64,
    user_id: i64,
) -> Result<(), AppStoreError> {
    if changed == 0 {
        return Err(AppStoreError::NotFound("user".into()));
    }
    sqlx::query("DELETE FROM sessions WHERE user_id = ?").bind(user_id).execute(&mut *tx).await.map_err(backend)?;
    tx.commit().await.map_err(backend)
}

async fn insert_roles(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    user_id: i64,
    roles: &[RoleRow],
) -> Result<(), AppStoreError> {
    for r in roles {
        let res = sqlx::query("INSERT INTO user_roles (user_id, site_id, role) VALUES (?, ?, ?)")
            .bind(user_id)
            .bind(r.site_id)
            .bind(&r.role)
            .execute(&mut **tx)
            .await;
        match res {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AppStoreError::Conflict("a role for this site".into()));
            }
            Err(e) => return Err(backend(e)),
        }
    }
    Ok(())
}
