//! Rows of outreach: the mail queue (each marketing or campaign message, its attempts and the
//! basis it went out under) and re-permission campaigns with their members. Which contact may be
//! mailed or asked is decided in `tillit_core::ledger`; this module stores what it is given.

use serde::Serialize;

use super::ledger::{ConsentStateRow, ContactRow};
use super::{AppStore, AppStoreError};

/// A message to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMail {
    pub site_id: u32,
    pub contact_id: i64,
    pub purpose_key: String,
    /// `marketing` or `permission` (a campaign's request for consent).
    pub kind: String,
    pub campaign_id: Option<String>,
    pub subject: String,
    pub body: String,
}

/// A queued or finished message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MailRow {
    pub id: i64,
    #[serde(skip)]
    pub site_id: u32,
    #[serde(skip)]
    pub contact_id: i64,
    pub purpose_key: String,
    pub kind: String,
    pub campaign_id: Option<String>,
    pub subject: String,
    #[serde(skip)]
    pub body: String,
    /// `queued`, `sent`, `cancelled` (the gate said no) or `failed` (the server kept refusing).
    pub status: String,
    pub attempts: u32,
    #[serde(skip)]
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    /// The send gate's reason for the attempt that went out.
    pub basis: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// A re-permission campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CampaignRow {
    pub id: String,
    #[serde(skip)]
    pub site_id: u32,
    pub purpose_key: String,
    /// `customers` or `expiring`.
    pub audience: String,
    /// The marketer's own words above the request.
    pub message: String,
    /// What the deadline does to members who did not answer: `erase` or `restrict`.
    pub action: String,
    pub created_by: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub reminder_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub deadline_at: i64,
    pub closed_at: Option<i64>,
    /// JSON counts of what the deadline did.
    pub outcome: Option<String>,
}

/// One person a campaign asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberRow {
    pub campaign_id: String,
    #[serde(skip)]
    pub contact_id: i64,
    pub asked_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub answered_at: Option<i64>,
    /// `given` or `declined`.
    pub answer: Option<String>,
    /// At the deadline: `erased`, `restricted` or `kept: <why>`.
    pub outcome: Option<String>,
}

/// Forwards to the backend in use.
macro_rules! outreach_backend {
    ($self:ident, $db:ident => $call:expr) => {
        match $self {
            AppStore::Sqlite($db) => $call,
        }
    };
}

impl AppStore {
    /// Queues a message, due at once. Returns its id.
    pub async fn queue_mail(&self, m: &NewMail, now: i64) -> Result<i64, AppStoreError> {
        outreach_backend!(self, db => db.queue_mail(m, now).await)
    }

    /// Up to `limit` queued messages due at `now`, oldest first.
    pub async fn due_mail(&self, now: i64, limit: u32) -> Result<Vec<MailRow>, AppStoreError> {
        outreach_backend!(self, db => db.mail(None, Some(now), limit).await)
    }

    /// Every message for a contact, newest first.
    pub async fn contact_mail(&self, contact_id: i64) -> Result<Vec<MailRow>, AppStoreError> {
        outreach_backend!(self, db => db.mail(Some(contact_id), None, u32::MAX).await)
    }

    /// Stores a message's new status, attempts, next attempt, error, basis and send time.
    pub async fn update_mail(&self, m: &MailRow) -> Result<(), AppStoreError> {
        outreach_backend!(self, db => db.update_mail(m).await)
    }

    /// A site's messages by status: `(status, count)`.
    pub async fn mail_counts(&self, site_id: u32) -> Result<Vec<(String, u64)>, AppStoreError> {
        outreach_backend!(self, db => db.mail_counts(site_id).await)
    }

    /// Every readable (not erased) contact of a site.
    pub async fn site_contacts(&self, site_id: u32) -> Result<Vec<ContactRow>, AppStoreError> {
        outreach_backend!(self, db => db.site_contacts(site_id).await)
    }

    /// The current consent states of every contact of a site.
    pub async fn site_consent_states(&self, site_id: u32) -> Result<Vec<ConsentStateRow>, AppStoreError> {
        outreach_backend!(self, db => db.site_consent_states(site_id).await)
    }

    /// Inserts a contact that must be new (an import): `Conflict` when the email hash is taken.
    pub async fn insert_new_contact(&self, c: &ContactRow) -> Result<ContactRow, AppStoreError> {
        match self.insert_contact(c).await? {
            (row, true) => Ok(row),
            (_, false) => Err(AppStoreError::Conflict("contact".into())),
        }
    }

    /// Stores a campaign (new or changed).
    pub async fn save_campaign(&self, c: &CampaignRow) -> Result<(), AppStoreError> {
        outreach_backend!(self, db => db.save_campaign(c).await)
    }

    pub async fn campaign(&self, id: &str) -> Result<Option<CampaignRow>, AppStoreError> {
        outreach_backend!(self, db => db.campaigns(None, Some(id)).await.map(|mut c| c.pop()))
    }

    /// A site's campaigns, newest first.
    pub async fn campaigns(&self, site_id: u32) -> Result<Vec<CampaignRow>, AppStoreError> {
        outreach_backend!(self, db => db.campaigns(Some(site_id), None).await)
    }

    /// Stores a member (new or changed).
    pub async fn save_member(&self, m: &MemberRow) -> Result<(), AppStoreError> {
        outreach_backend!(self, db => db.save_member(m).await)
    }

    pub async fn members(&self, campaign_id: &str) -> Result<Vec<MemberRow>, AppStoreError> {
        outreach_backend!(self, db => db.members(campaign_id, None).await)
    }

    /// One contact's membership of a campaign.
    pub async fn member(&self, campaign_id: &str, contact_id: i64) -> Result<Option<MemberRow>, AppStoreError> {
        outreach_backend!(self, db => db.members(campaign_id, Some(contact_id)).await.map(|mut m| m.pop()))
    }
}
