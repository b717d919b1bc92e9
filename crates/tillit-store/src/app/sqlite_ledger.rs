//! The SQLite backend of the ledger part of [`super::AppStore`].

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::AppStoreError;
use super::ledger::{
    CollectionPointRow, ConsentEvent, ConsentStateRow, ContactFieldRow, ContactRow, ErasureRow, LEDGER_GENESIS,
    LedgerCutoffs, LedgerWrite, NewPurpose, OptinRequest, PurposeRow, ReceiptRow, RequestRow, Suppression,
};
use super::sqlite::{SqliteApp, backend};

/// How a contact is looked up.
pub(super) enum ContactBy<'a> {
    Email(u32, &'a str),
    PublicId(&'a str),
    Id(i64),
}

macro_rules! purpose_columns {
    () => {
        "id, site_id, key, version, legal_basis, channel, data_categories, lifetime_days, special_category, texts, created_at, published_at"
    };
}

macro_rules! contact_columns {
    () => {
        "id, site_id, public_id, email_hmac, sealed_key, sealed, locale, restricted, created_at, updated_at,
         source, customer_since, needs_permission"
    };
}
pub(super) use contact_columns;

macro_rules! event_columns {
    () => {
        "seq, event_id, site_id, contact_id, purpose_id, purpose_key, purpose_version, state, method, collection_point,
         notice_sha256, page_url, language, ip_trunc, ua_hash, evidence, actor, occurred_at, recorded_at, prev_hash, hash"
    };
}

fn json<T: serde::de::DeserializeOwned>(r: &SqliteRow, i: usize) -> Result<T, AppStoreError> {
    let text: String = r.try_get(i).map_err(backend)?;
    serde_json::from_str(&text).map_err(backend)
}

fn purpose_from_row(r: &SqliteRow) -> Result<PurposeRow, AppStoreError> {
    Ok(PurposeRow {
        id: r.try_get(0).map_err(backend)?,
        site_id: r.try_get(1).map_err(backend)?,
        key: r.try_get(2).map_err(backend)?,
        version: r.try_get(3).map_err(backend)?,
        legal_basis: r.try_get(4).map_err(backend)?,
        channel: r.try_get(5).map_err(backend)?,
        data_categories: json(r, 6)?,
        lifetime_days: r.try_get(7).map_err(backend)?,
        special_category: r.try_get(8).map_err(backend)?,
        texts: json(r, 9)?,
        created_at: r.try_get(10).map_err(backend)?,
        published_at: r.try_get(11).map_err(backend)?,
    })
}

fn event_from_row(r: &SqliteRow) -> Result<ConsentEvent, AppStoreError> {
    Ok(ConsentEvent {
        seq: r.try_get(0).map_err(backend)?,
        event_id: r.try_get(1).map_err(backend)?,
        site_id: r.try_get(2).map_err(backend)?,
        contact_id: r.try_get(3).map_err(backend)?,
        purpose_id: r.try_get(4).map_err(backend)?,
        purpose_key: r.try_get(5).map_err(backend)?,
        purpose_version: r.try_get(6).map_err(backend)?,
        state: r.try_get(7).map_err(backend)?,
        method: r.try_get(8).map_err(backend)?,
        collection_point: r.try_get(9).map_err(backend)?,
        notice_sha256: r.try_get(10).map_err(backend)?,
        page_url: r.try_get(11).map_err(backend)?,
        language: r.try_get(12).map_err(backend)?,
        ip_trunc: r.try_get(13).map_err(backend)?,
        ua_hash: r.try_get(14).map_err(backend)?,
        evidence: r.try_get(15).map_err(backend)?,
        actor: r.try_get(16).map_err(backend)?,
        occurred_at: r.try_get(17).map_err(backend)?,
        recorded_at: r.try_get(18).map_err(backend)?,
        prev_hash: r.try_get(19).map_err(backend)?,
        hash: r.try_get(20).map_err(backend)?,
    })
}

pub(super) fn contact_from_row(r: &SqliteRow) -> Result<ContactRow, AppStoreError> {
    Ok(ContactRow {
        id: r.try_get(0).map_err(backend)?,
        site_id: r.try_get(1).map_err(backend)?,
        public_id: r.try_get(2).map_err(backend)?,
        email_hmac: r.try_get(3).map_err(backend)?,
        sealed_key: r.try_get(4).map_err(backend)?,
        sealed: r.try_get(5).map_err(backend)?,
        locale: r.try_get(6).map_err(backend)?,
        restricted: r.try_get(7).map_err(backend)?,
        created_at: r.try_get(8).map_err(backend)?,
        updated_at: r.try_get(9).map_err(backend)?,
        source: r.try_get(10).map_err(backend)?,
        customer_since: r.try_get(11).map_err(backend)?,
        needs_permission: r.try_get(12).map_err(backend)?,
    })
}

pub(super) fn state_from_row(r: &SqliteRow) -> Result<ConsentStateRow, AppStoreError> {
    Ok(ConsentStateRow {
        contact_id: r.try_get(0).map_err(backend)?,
        purpose_key: r.try_get(1).map_err(backend)?,
        purpose_version: r.try_get(2).map_err(backend)?,
        state: r.try_get(3).map_err(backend)?,
        method: r.try_get(4).map_err(backend)?,
        since: r.try_get(5).map_err(backend)?,
        expires_at: r.try_get(6).map_err(backend)?,
        last_seq: r.try_get(7).map_err(backend)?,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, AppStoreError> {
    serde_json::to_string(v).map_err(backend)
}

impl SqliteApp {
    pub(super) async fn save_purpose_draft(&self, p: &NewPurpose, now: i64) -> Result<PurposeRow, AppStoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let latest: Option<(i64, u32, Option<i64>)> = sqlx::query_as(
            "SELECT id, version, published_at FROM purposes WHERE site_id = ? AND key = ? ORDER BY version DESC LIMIT 1",
        )
        .bind(p.site_id)
        .bind(&p.key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let version = match latest {
            Some((id, version, None)) => {
                sqlx::query("DELETE FROM purposes WHERE id = ?").bind(id).execute(&mut *tx).await.map_err(backend)?;
                version
            }
            Some((_, version, Some(_))) => version + 1,
            None => 1,
        };
        let row = sqlx::query(concat!(
            "INSERT INTO purposes (site_id, key, version, legal_basis, channel, data_categories, lifetime_days,
                special_category, texts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ",
            purpose_columns!()
        ))
        .bind(p.site_id)
        .bind(&p.key)
        .bind(version)
        .bind(&p.legal_basis)
        .bind(&p.channel)
        .bind(to_json(&p.data_categories)?)
        .bind(p.lifetime_days)
        .bind(p.special_category)
        .bind(to_json(&p.texts)?)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let purpose = purpose_from_row(&row)?;
        tx.commit().await.map_err(backend)?;
        Ok(purpose)
    }

    pub(super) async fn publish_purpose(&self, site_id: u32, key: &str, now: i64) -> Result<PurposeRow, AppStoreError> {
        let row = sqlx::query(concat!(
            "UPDATE purposes SET published_at = ? WHERE id = (SELECT id FROM purposes WHERE site_id = ? AND key = ?
                ORDER BY version DESC LIMIT 1) AND published_at IS NULL RETURNING ",
            purpose_columns!()
        ))
        .bind(now)
        .bind(site_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            Some(r) => purpose_from_row(&r),
            None => Err(AppStoreError::NotFound(format!("a draft of purpose {key}"))),
        }
    }

    pub(super) async fn purposes(&self, site_id: u32) -> Result<Vec<PurposeRow>, AppStoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            purpose_columns!(),
            " FROM purposes WHERE site_id = ? ORDER BY key, version"
        ))
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(purpose_from_row).collect()
    }

    pub(super) async fn put_notice(
        &self,
        site_id: u32,
        sha256: &str,
        language: &str,
        body: &str,
        now: i64,
    ) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT OR IGNORE INTO notices (sha256, site_id, language, body, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(sha256)
        .bind(site_id)
        .bind(language)
        .bind(body)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn notice(&self, site_id: u32, sha256: &str) -> Result<Option<String>, AppStoreError> {
        sqlx::query_scalar("SELECT body FROM notices WHERE site_id = ? AND sha256 = ?")
            .bind(site_id)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    pub(super) async fn add_collection_point(
        &self,
        p: &CollectionPointRow,
        now: i64,
    ) -> Result<CollectionPointRow, AppStoreError> {
        let res = sqlx::query(
            "INSERT INTO collection_points (site_id, key, kind, purposes, intro, double_opt_in, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.site_id)
        .bind(&p.key)
        .bind(&p.kind)
        .bind(to_json(&p.purposes)?)
        .bind(to_json(&p.intro)?)
        .bind(p.double_opt_in)
        .bind(now)
        .execute(&self.pool)
        .await;
        match res {
            Ok(done) => Ok(CollectionPointRow { id: done.last_insert_rowid(), created_at: now, ..p.clone() }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AppStoreError::Conflict(format!("collection point {}", p.key)))
            }
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn collection_points(&self, site_id: u32) -> Result<Vec<CollectionPointRow>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT id, site_id, key, kind, purposes, intro, double_opt_in, created_at FROM collection_points
             WHERE site_id = ? ORDER BY key",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(CollectionPointRow {
                    id: r.try_get(0).map_err(backend)?,
                    site_id: r.try_get(1).map_err(backend)?,
                    key: r.try_get(2).map_err(backend)?,
                    kind: r.try_get(3).map_err(backend)?,
                    purposes: json(r, 4)?,
                    intro: json(r, 5)?,
                    double_opt_in: r.try_get(6).map_err(backend)?,
                    created_at: r.try_get(7).map_err(backend)?,
                })
            })
            .collect()
    }

    pub(super) async fn add_contact_field(
        &self,
        site_id: u32,
        f: &ContactFieldRow,
        now: i64,
    ) -> Result<(), AppStoreError> {
        let res = sqlx::query(
            "INSERT INTO contact_fields (site_id, key, data_category, special_category, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(site_id)
        .bind(&f.key)
        .bind(&f.data_category)
        .bind(f.special_category)
        .bind(now)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AppStoreError::Conflict(format!("field {}", f.key)))
            }
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn contact_fields(&self, site_id: u32) -> Result<Vec<ContactFieldRow>, AppStoreError> {
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT key, data_category, special_category FROM contact_fields WHERE site_id = ? ORDER BY key",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(key, data_category, special_category)| ContactFieldRow { key, data_category, special_category })
            .collect())
    }

    pub(super) async fn insert_contact(&self, c: &ContactRow) -> Result<(ContactRow, bool), AppStoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let existing =
            sqlx::query(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE site_id = ? AND email_hmac = ?"))
                .bind(c.site_id)
                .bind(&c.email_hmac)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if let Some(r) = existing {
            return Ok((contact_from_row(&r)?, false));
        }
        let done = sqlx::query(
            "INSERT INTO contacts (site_id, public_id, email_hmac, sealed_key, sealed, locale, created_at, updated_at,
               source, customer_since, needs_permission)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.site_id)
        .bind(&c.public_id)
        .bind(&c.email_hmac)
        .bind(&c.sealed_key)
        .bind(&c.sealed)
        .bind(&c.locale)
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(&c.source)
        .bind(c.customer_since)
        .bind(c.needs_permission)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok((ContactRow { id: done.last_insert_rowid(), ..c.clone() }, true))
    }

    pub(super) async fn contact_by(&self, by: ContactBy<'_>) -> Result<Option<ContactRow>, AppStoreError> {
        macro_rules! select {
            ($cond:literal) => {
                concat!("SELECT ", contact_columns!(), " FROM contacts WHERE ", $cond)
            };
        }
        let q = match by {
            ContactBy::Email(site, hmac) => {
                sqlx::query(select!("site_id = ? AND email_hmac = ?")).bind(site).bind(hmac)
            }
            ContactBy::PublicId(id) => sqlx::query(select!("public_id = ?")).bind(id),
            ContactBy::Id(id) => sqlx::query(select!("id = ?")).bind(id),
        };
        let row = q.fetch_optional(&self.pool).await.map_err(backend)?;
        row.as_ref().map(contact_from_row).transpose()
    }

    pub(super) async fn update_contact(
        &self,
        id: i64,
        sealed: &[u8],
        locale: &str,
        now: i64,
    ) -> Result<(), AppStoreError> {
        let done = sqlx::query(
            "UPDATE contacts SET sealed = ?, locale = ?, updated_at = ? WHERE id = ? AND sealed_key IS NOT NULL",
        )
        .bind(sealed)
        .bind(locale)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(AppStoreError::NotFound("contact".into()));
        }
        Ok(())
    }

    pub(super) async fn write_ledger(&self, w: LedgerWrite<'_>, now: i64) -> Result<Vec<ConsentEvent>, AppStoreError> {
        // BEGIN IMMEDIATE takes the write lock before reading the chain's head, so concurrent
        // writers (server and CLI) still form one chain.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        if let Some((token_hash, at)) = &w.use_optin {
            let done = sqlx::query(
                "UPDATE optin_requests SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
            )
            .bind(at)
            .bind(token_hash)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if done.rows_affected() == 0 {
                return Err(AppStoreError::NotFound("confirmation request".into()));
            }
        }
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM consent_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        let (mut seq, mut prev) = head.unwrap_or((0, LEDGER_GENESIS.to_owned()));
        let mut appended = Vec::with_capacity(w.events.len());
        for new in &w.events {
            seq += 1;
            let e = ConsentEvent::sealed(new, seq, prev);
            sqlx::query(concat!(
                "INSERT INTO consent_events (",
                event_columns!(),
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .bind(e.seq)
            .bind(&e.event_id)
            .bind(e.site_id)
            .bind(e.contact_id)
            .bind(e.purpose_id)
            .bind(&e.purpose_key)
            .bind(e.purpose_version)
            .bind(&e.state)
            .bind(&e.method)
            .bind(&e.collection_point)
            .bind(&e.notice_sha256)
            .bind(&e.page_url)
            .bind(&e.language)
            .bind(&e.ip_trunc)
            .bind(&e.ua_hash)
            .bind(&e.evidence)
            .bind(&e.actor)
            .bind(e.occurred_at)
            .bind(e.recorded_at)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            sqlx::query(
                "INSERT INTO consent_state (contact_id, purpose_key, purpose_version, state, method, since, expires_at, last_seq)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (contact_id, purpose_key) DO UPDATE SET purpose_version = excluded.purpose_version,
                   state = excluded.state, method = excluded.method, since = excluded.since,
                   expires_at = excluded.expires_at, last_seq = excluded.last_seq",
            )
            .bind(e.contact_id)
            .bind(&e.purpose_key)
            .bind(e.purpose_version)
            .bind(&e.state)
            .bind(&e.method)
            .bind(e.occurred_at)
            .bind(new.expires_at)
            .bind(e.seq)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if let Some(receipt) = w.sign.and_then(|sign| sign(&e)) {
                sqlx::query("INSERT INTO receipts (seq, receipt_id, jws) VALUES (?, ?, ?)")
                    .bind(receipt.seq)
                    .bind(&receipt.receipt_id)
                    .bind(&receipt.jws)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            prev = e.hash.clone();
            appended.push(e);
        }
        for (contact, purpose, answer) in &w.answers {
            super::sqlite_outreach::answer(&mut tx, *contact, purpose, answer, now).await?;
        }
        for (site, hmac, scope, reason) in &w.suppress {
            sqlx::query(
                "INSERT INTO suppressions (site_id, email_hmac, scope, reason, created_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (site_id, email_hmac, scope) DO UPDATE SET reason = excluded.reason,
                   created_at = excluded.created_at WHERE suppressions.reason <> 'erasure'",
            )
            .bind(site)
            .bind(hmac)
            .bind(scope)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        for (site, hmac, scope) in &w.unsuppress {
            sqlx::query(
                "DELETE FROM suppressions WHERE site_id = ? AND email_hmac = ? AND scope = ? AND reason <> 'erasure'",
            )
            .bind(site)
            .bind(hmac)
            .bind(scope)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        if let Some((contact, e)) = &w.erase {
            if let Some(contact_id) = contact {
                sqlx::query(
                    "UPDATE contacts SET sealed_key = NULL, sealed = NULL, locale = '', updated_at = ? WHERE id = ?",
                )
                .bind(now)
                .bind(contact_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                for sql in [
                    "DELETE FROM optin_requests WHERE contact_id = ?",
                    "DELETE FROM consent_state WHERE contact_id = ?",
                    // Messages sent or waiting: their subjects and bodies were written for this person.
                    "DELETE FROM outbox WHERE contact_id = ?",
                ] {
                    sqlx::query(sql).bind(contact_id).execute(&mut *tx).await.map_err(backend)?;
                }
            }
            sqlx::query(
                "INSERT INTO erasures (receipt_id, site_id, email_hmac, public_id, erased_at, actor, jws)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&e.receipt_id)
            .bind(e.site_id)
            .bind(&e.email_hmac)
            .bind(&e.public_id)
            .bind(e.erased_at)
            .bind(&e.actor)
            .bind(&e.jws)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(appended)
    }

    pub(super) async fn set_restricted(
        &self,
        contact_id: i64,
        restricted: bool,
        now: i64,
    ) -> Result<(), AppStoreError> {
        sqlx::query("UPDATE contacts SET restricted = ?, updated_at = ? WHERE id = ?")
            .bind(restricted)
            .bind(now)
            .bind(contact_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn save_request(&self, r: &RequestRow) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT OR REPLACE INTO dsr_requests (id, site_id, kind, channel, email_hmac, sealed_email, details, language,
               received_at, due_at, extended_months, extension_reason, status, code_hash, code_expires_at,
               code_attempts, verified_at, closed_at, outcome)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&r.id)
        .bind(r.site_id)
        .bind(&r.kind)
        .bind(&r.channel)
        .bind(&r.email_hmac)
        .bind(&r.sealed_email)
        .bind(&r.details)
        .bind(&r.language)
        .bind(r.received_at)
        .bind(r.due_at)
        .bind(r.extended_months)
        .bind(&r.extension_reason)
        .bind(&r.status)
        .bind(&r.code_hash)
        .bind(r.code_expires_at)
        .bind(r.code_attempts)
        .bind(r.verified_at)
        .bind(r.closed_at)
        .bind(&r.outcome)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn requests(
        &self,
        site_id: Option<u32>,
        id: Option<&str>,
    ) -> Result<Vec<RequestRow>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT id, site_id, kind, channel, email_hmac, sealed_email, details, language, received_at, due_at,
               extended_months, extension_reason, status, code_hash, code_expires_at, code_attempts, verified_at,
               closed_at, outcome
             FROM dsr_requests WHERE (?1 IS NULL OR site_id = ?1) AND (?2 IS NULL OR id = ?2) ORDER BY due_at, id",
        )
        .bind(site_id)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(RequestRow {
                    id: r.try_get(0).map_err(backend)?,
                    site_id: r.try_get(1).map_err(backend)?,
                    kind: r.try_get(2).map_err(backend)?,
                    channel: r.try_get(3).map_err(backend)?,
                    email_hmac: r.try_get(4).map_err(backend)?,
                    sealed_email: r.try_get(5).map_err(backend)?,
                    details: r.try_get(6).map_err(backend)?,
                    language: r.try_get(7).map_err(backend)?,
                    received_at: r.try_get(8).map_err(backend)?,
                    due_at: r.try_get(9).map_err(backend)?,
                    extended_months: r.try_get(10).map_err(backend)?,
                    extension_reason: r.try_get(11).map_err(backend)?,
                    status: r.try_get(12).map_err(backend)?,
                    code_hash: r.try_get(13).map_err(backend)?,
                    code_expires_at: r.try_get(14).map_err(backend)?,
                    code_attempts: r.try_get(15).map_err(backend)?,
                    verified_at: r.try_get(16).map_err(backend)?,
                    closed_at: r.try_get(17).map_err(backend)?,
                    outcome: r.try_get(18).map_err(backend)?,
                })
            })
            .collect()
    }

    pub(super) async fn erasure(&self, receipt_id: &str) -> Result<Option<ErasureRow>, AppStoreError> {
        let row = sqlx::query(
            "SELECT receipt_id, site_id, email_hmac, public_id, erased_at, actor, jws FROM erasures WHERE receipt_id = ?",
        )
        .bind(receipt_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(ErasureRow {
                receipt_id: r.try_get(0).map_err(backend)?,
                site_id: r.try_get(1).map_err(backend)?,
                email_hmac: r.try_get(2).map_err(backend)?,
                public_id: r.try_get(3).map_err(backend)?,
                erased_at: r.try_get(4).map_err(backend)?,
                actor: r.try_get(5).map_err(backend)?,
                jws: r.try_get(6).map_err(backend)?,
            })
        })
        .transpose()
    }

    pub(super) async fn consent_events(
        &self,
        contact_id: Option<i64>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ConsentEvent>, AppStoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM consent_events WHERE (?1 IS NULL OR contact_id = ?1) AND seq > ?2 ORDER BY seq LIMIT ?3"
        ))
        .bind(contact_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(event_from_row).collect()
    }

    pub(super) async fn consent_states(&self, contact_id: i64) -> Result<Vec<ConsentStateRow>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT contact_id, purpose_key, purpose_version, state, method, since, expires_at, last_seq
             FROM consent_state WHERE contact_id = ? ORDER BY purpose_key",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(state_from_row).collect()
    }

    pub(super) async fn lapsed_consents(&self, now: i64, limit: u32) -> Result<Vec<ConsentStateRow>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT contact_id, purpose_key, purpose_version, state, method, since, expires_at, last_seq
             FROM consent_state WHERE expires_at IS NOT NULL AND expires_at <= ? AND state IN ('given', 'renewed')
             ORDER BY expires_at LIMIT ?",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(state_from_row).collect()
    }

    pub(super) async fn receipts(
        &self,
        receipt_id: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ReceiptRow>, AppStoreError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, receipt_id, jws FROM receipts WHERE (?1 IS NULL OR receipt_id = ?1) AND seq > ?2
             ORDER BY seq LIMIT ?3",
        )
        .bind(receipt_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(|(seq, receipt_id, jws)| ReceiptRow { seq, receipt_id, jws }).collect())
    }

    pub(super) async fn add_optin(&self, r: &OptinRequest) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT INTO optin_requests (token_hash, site_id, contact_id, purpose_ids, evidence, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&r.token_hash)
        .bind(r.site_id)
        .bind(r.contact_id)
        .bind(to_json(&r.purpose_ids)?)
        .bind(&r.evidence)
        .bind(r.created_at)
        .bind(r.expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn optin(&self, token_hash: &str) -> Result<Option<OptinRequest>, AppStoreError> {
        let row = sqlx::query(
            "SELECT token_hash, site_id, contact_id, purpose_ids, evidence, created_at, expires_at, used_at
             FROM optin_requests WHERE token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(OptinRequest {
                token_hash: r.try_get(0).map_err(backend)?,
                site_id: r.try_get(1).map_err(backend)?,
                contact_id: r.try_get(2).map_err(backend)?,
                purpose_ids: json(&r, 3)?,
                evidence: r.try_get(4).map_err(backend)?,
                created_at: r.try_get(5).map_err(backend)?,
                expires_at: r.try_get(6).map_err(backend)?,
                used_at: r.try_get(7).map_err(backend)?,
            })
        })
        .transpose()
    }

    pub(super) async fn purge_optins(&self, now: i64) -> Result<(u64, u64), AppStoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let requests = sqlx::query("DELETE FROM optin_requests WHERE expires_at <= ? OR used_at IS NOT NULL")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        // A person who never confirmed never consented: nothing about them is kept.
        let contacts = sqlx::query(
            "DELETE FROM contacts WHERE id NOT IN (SELECT contact_id FROM consent_events)
               AND id NOT IN (SELECT contact_id FROM optin_requests) AND source NOT LIKE 'import:%'",
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok((requests, contacts))
    }

    pub(super) async fn ledger_retention(
        &self,
        cut: &LedgerCutoffs,
        apply: bool,
    ) -> Result<(u64, u64, u64), AppStoreError> {
        let LedgerCutoffs { now, contact: contact_cutoff, customer: customer_cutoff, decision: decision_cutoff } = *cut;
        // Contacts still readable, with no pending confirmation, no consent that is valid now, no
        // change to any consent (nor their creation) since the cutoff, and not customers since
        // the customer cutoff.
        macro_rules! stale_contacts {
            () => {
                "FROM contacts c WHERE c.sealed_key IS NOT NULL AND c.created_at < ?1
                   AND (c.customer_since IS NULL OR c.customer_since < ?3)
                   AND NOT EXISTS (SELECT 1 FROM optin_requests o WHERE o.contact_id = c.id)
                   AND NOT EXISTS (SELECT 1 FROM consent_state s WHERE s.contact_id = c.id AND (s.since >= ?1
                       OR (s.state IN ('given', 'renewed') AND (s.expires_at IS NULL OR s.expires_at > ?2))))"
            };
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let count = |n: i64| n.max(0) as u64;
        let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM optin_requests WHERE expires_at <= ?")
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let contacts: i64 = sqlx::query_scalar(concat!("SELECT count(*) ", stale_contacts!()))
            .bind(contact_cutoff)
            .bind(now)
            .bind(customer_cutoff)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let decisions: i64 = sqlx::query_scalar("SELECT count(*) FROM send_decisions WHERE at < ?")
            .bind(decision_cutoff)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if apply {
            sqlx::query(concat!(
                "UPDATE contacts SET sealed_key = NULL, sealed = NULL, locale = '', email_hmac = 'retired:' || id,
                   updated_at = ?2 WHERE id IN (SELECT c.id ",
                stale_contacts!(),
                ")"
            ))
            .bind(contact_cutoff)
            .bind(now)
            .bind(customer_cutoff)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            // What was queued for the retired contacts goes with them.
            sqlx::query("DELETE FROM outbox WHERE contact_id IN (SELECT id FROM contacts WHERE sealed_key IS NULL)")
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query("DELETE FROM send_decisions WHERE at < ?")
                .bind(decision_cutoff)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        if apply {
            // Expired requests and the people who never confirmed: the same purge the ledger job runs.
            self.purge_optins(now).await?;
        }
        Ok((count(requests), count(contacts), count(decisions)))
    }

    pub(super) async fn suppressions(&self, site_id: u32, email_hmac: &str) -> Result<Vec<Suppression>, AppStoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT scope, reason, created_at FROM suppressions WHERE site_id = ? AND email_hmac = ? ORDER BY scope",
        )
        .bind(site_id)
        .bind(email_hmac)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(|(scope, reason, created_at)| Suppression { scope, reason, created_at }).collect())
    }

    pub(super) async fn log_send_decision(
        &self,
        site_id: u32,
        contact_id: i64,
        purpose_key: &str,
        allowed: bool,
        reason: &str,
        now: i64,
    ) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT INTO send_decisions (site_id, contact_id, purpose_key, allowed, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(site_id)
        .bind(contact_id)
        .bind(purpose_key)
        .bind(allowed)
        .bind(reason)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }
}
