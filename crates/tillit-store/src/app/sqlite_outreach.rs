//! The SQLite backend of the outreach part of [`super::AppStore`].

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::AppStoreError;
use super::ledger::{ConsentStateRow, ContactRow};
use super::outreach::{CampaignRow, MailRow, MemberRow, NewMail};
use super::sqlite::{SqliteApp, backend};
use super::sqlite_ledger::{contact_from_row, state_from_row};

fn mail_from_row(r: &SqliteRow) -> Result<MailRow, AppStoreError> {
    Ok(MailRow {
        id: r.try_get(0).map_err(backend)?,
        site_id: r.try_get(1).map_err(backend)?,
        contact_id: r.try_get(2).map_err(backend)?,
        purpose_key: r.try_get(3).map_err(backend)?,
        kind: r.try_get(4).map_err(backend)?,
        campaign_id: r.try_get(5).map_err(backend)?,
        subject: r.try_get(6).map_err(backend)?,
        body: r.try_get(7).map_err(backend)?,
        status: r.try_get(8).map_err(backend)?,
        attempts: r.try_get(9).map_err(backend)?,
        next_attempt_at: r.try_get(10).map_err(backend)?,
        last_error: r.try_get(11).map_err(backend)?,
        basis: r.try_get(12).map_err(backend)?,
        created_at: r.try_get(13).map_err(backend)?,
        sent_at: r.try_get(14).map_err(backend)?,
    })
}

fn campaign_from_row(r: &SqliteRow) -> Result<CampaignRow, AppStoreError> {
    Ok(CampaignRow {
        id: r.try_get(0).map_err(backend)?,
        site_id: r.try_get(1).map_err(backend)?,
        purpose_key: r.try_get(2).map_err(backend)?,
        audience: r.try_get(3).map_err(backend)?,
        message: r.try_get(4).map_err(backend)?,
        action: r.try_get(5).map_err(backend)?,
        created_by: r.try_get(6).map_err(backend)?,
        created_at: r.try_get(7).map_err(backend)?,
        started_at: r.try_get(8).map_err(backend)?,
        reminder_at: r.try_get(9).map_err(backend)?,
        reminded_at: r.try_get(10).map_err(backend)?,
        deadline_at: r.try_get(11).map_err(backend)?,
        closed_at: r.try_get(12).map_err(backend)?,
        outcome: r.try_get(13).map_err(backend)?,
    })
}

fn member_from_row(r: &SqliteRow) -> Result<MemberRow, AppStoreError> {
    Ok(MemberRow {
        campaign_id: r.try_get(0).map_err(backend)?,
        contact_id: r.try_get(1).map_err(backend)?,
        asked_at: r.try_get(2).map_err(backend)?,
        reminded_at: r.try_get(3).map_err(backend)?,
        answered_at: r.try_get(4).map_err(backend)?,
        answer: r.try_get(5).map_err(backend)?,
        outcome: r.try_get(6).map_err(backend)?,
    })
}

impl SqliteApp {
    pub(super) async fn queue_mail(&self, m: &NewMail, now: i64) -> Result<i64, AppStoreError> {
        let done = sqlx::query(
            "INSERT INTO outbox (site_id, contact_id, purpose_key, kind, campaign_id, subject, body, status,
               next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
        )
        .bind(m.site_id)
        .bind(m.contact_id)
        .bind(&m.purpose_key)
        .bind(&m.kind)
        .bind(&m.campaign_id)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.last_insert_rowid())
    }

    /// A contact's messages (newest first), or the queued ones due at a moment (oldest first).
    pub(super) async fn mail(
        &self,
        contact: Option<i64>,
        due: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MailRow>, AppStoreError> {
        macro_rules! select {
            ($cond:literal) => {
                concat!(
                    "SELECT id, site_id, contact_id, purpose_key, kind, campaign_id, subject, body, status, attempts,
                       next_attempt_at, last_error, basis, created_at, sent_at FROM outbox WHERE ",
                    $cond
                )
            };
        }
        let q = match (contact, due) {
            (Some(c), _) => sqlx::query(select!("contact_id = ? ORDER BY id DESC LIMIT ?")).bind(c),
            (None, Some(now)) => {
                sqlx::query(select!("status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"))
                    .bind(now)
            }
            (None, None) => return Ok(Vec::new()),
        };
        let rows = q.bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(mail_from_row).collect()
    }

    pub(super) async fn update_mail(&self, m: &MailRow) -> Result<(), AppStoreError> {
        sqlx::query(
            "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, basis = ?, sent_at = ?
             WHERE id = ?",
        )
        .bind(&m.status)
        .bind(m.attempts)
        .bind(m.next_attempt_at)
        .bind(&m.last_error)
        .bind(&m.basis)
        .bind(m.sent_at)
        .bind(m.id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn mail_counts(&self, site_id: u32) -> Result<Vec<(String, u64)>, AppStoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM outbox WHERE site_id = ? GROUP BY status ORDER BY status")
                .bind(site_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(s, n)| (s, n.max(0) as u64)).collect())
    }

    pub(super) async fn site_contacts(&self, site_id: u32) -> Result<Vec<ContactRow>, AppStoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            super::sqlite_ledger::contact_columns!(),
            " FROM contacts WHERE site_id = ? AND sealed_key IS NOT NULL ORDER BY id"
        ))
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(contact_from_row).collect()
    }

    pub(super) async fn site_consent_states(&self, site_id: u32) -> Result<Vec<ConsentStateRow>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT s.contact_id, s.purpose_key, s.purpose_version, s.state, s.method, s.since, s.expires_at, s.last_seq
             FROM consent_state s JOIN contacts c ON c.id = s.contact_id WHERE c.site_id = ? ORDER BY s.contact_id",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(state_from_row).collect()
    }

    pub(super) async fn save_campaign(&self, c: &CampaignRow) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT OR REPLACE INTO campaigns (id, site_id, purpose_key, audience, message, action, created_by,
               created_at, started_at, reminder_at, reminded_at, deadline_at, closed_at, outcome)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.id)
        .bind(c.site_id)
        .bind(&c.purpose_key)
        .bind(&c.audience)
        .bind(&c.message)
        .bind(&c.action)
        .bind(&c.created_by)
        .bind(c.created_at)
        .bind(c.started_at)
        .bind(c.reminder_at)
        .bind(c.reminded_at)
        .bind(c.deadline_at)
        .bind(c.closed_at)
        .bind(&c.outcome)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn campaigns(
        &self,
        site: Option<u32>,
        id: Option<&str>,
    ) -> Result<Vec<CampaignRow>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT id, site_id, purpose_key, audience, message, action, created_by, created_at, started_at,
               reminder_at, reminded_at, deadline_at, closed_at, outcome
             FROM campaigns WHERE (?1 IS NULL OR site_id = ?1) AND (?2 IS NULL OR id = ?2)
             ORDER BY created_at DESC, id",
        )
        .bind(site)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(campaign_from_row).collect()
    }

    pub(super) async fn save_member(&self, m: &MemberRow) -> Result<(), AppStoreError> {
        sqlx::query(
            "INSERT OR REPLACE INTO campaign_members (campaign_id, contact_id, asked_at, reminded_at, answered_at,
               answer, outcome)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&m.campaign_id)
        .bind(m.contact_id)
        .bind(m.asked_at)
        .bind(m.reminded_at)
        .bind(m.answered_at)
        .bind(&m.answer)
        .bind(&m.outcome)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn members(
        &self,
        campaign_id: &str,
        contact: Option<i64>,
    ) -> Result<Vec<MemberRow>, AppStoreError> {
        let rows = sqlx::query(
            "SELECT campaign_id, contact_id, asked_at, reminded_at, answered_at, answer, outcome
             FROM campaign_members WHERE campaign_id = ?1 AND (?2 IS NULL OR contact_id = ?2) ORDER BY contact_id",
        )
        .bind(campaign_id)
        .bind(contact)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(member_from_row).collect()
    }
}

/// Records a contact's answer about a purpose in the open campaigns that asked them for it and
/// have none from them yet; on the caller's connection, so a ledger write can do it in its own
/// transaction.
pub(super) async fn answer(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    purpose_key: &str,
    answer: &str,
    now: i64,
) -> Result<u64, AppStoreError> {
    let done = sqlx::query(
        "UPDATE campaign_members SET answered_at = ?, answer = ?
         WHERE contact_id = ? AND answered_at IS NULL
           AND campaign_id IN (SELECT id FROM campaigns WHERE closed_at IS NULL AND purpose_key = ?)",
    )
    .bind(now)
    .bind(answer)
    .bind(contact_id)
    .bind(purpose_key)
    .execute(conn)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected())
}
