//! Rows of the consent ledger: purposes, notices, collection points, contacts, consent events
//! with their chain hash, receipts, pending opt-ins, suppressions and send decisions. The rules
//! (what may be recorded, what a state means) live in `tillit_core::ledger`; this module stores
//! what it is given, atomically, and keeps the chain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sqlite_ledger::ContactBy;
use super::{AppStore, AppStoreError};

/// A purpose's title and description in one language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeText {
    pub title: String,
    pub description: String,
}

/// One version of a purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurposeRow {
    pub id: i64,
    #[serde(skip)]
    pub site_id: u32,
    pub key: String,
    pub version: u32,
    pub legal_basis: String,
    pub channel: String,
    pub data_categories: Vec<String>,
    pub lifetime_days: Option<u32>,
    pub special_category: bool,
    /// Per language code.
    pub texts: BTreeMap<String, PurposeText>,
    pub created_at: i64,
    pub published_at: Option<i64>,
}

/// A purpose version to store as the key's draft.
#[derive(Clone, Debug)]
pub struct NewPurpose {
    pub site_id: u32,
    pub key: String,
    pub legal_basis: String,
    pub channel: String,
    pub data_categories: Vec<String>,
    pub lifetime_days: Option<u32>,
    pub special_category: bool,
    pub texts: BTreeMap<String, PurposeText>,
}

/// Where consent is collected and what is asked there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CollectionPointRow {
    pub id: i64,
    #[serde(skip)]
    pub site_id: u32,
    pub key: String,
    pub kind: String,
    pub purposes: Vec<String>,
    /// The text above the checkboxes, per language code.
    pub intro: BTreeMap<String, String>,
    pub double_opt_in: bool,
    pub created_at: i64,
}

/// A custom contact field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContactFieldRow {
    pub key: String,
    pub data_category: String,
    pub special_category: bool,
}

/// A contact as stored: the personal part only sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRow {
    pub id: i64,
    pub site_id: u32,
    pub public_id: String,
    pub email_hmac: String,
    /// The contact's own key, sealed under the ledger key; `None` once erased.
    pub sealed_key: Option<Vec<u8>>,
    /// The personal fields (JSON), sealed under the contact's key.
    pub sealed: Option<Vec<u8>>,
    pub locale: String,
    /// Processing restricted (Art. 18): kept, never sent to.
    pub restricted: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Where the data came from (Art. 14(2)(f)): `form`, `api`, `admin` or `import:<source>`.
    pub source: String,
    /// An existing customer since then: the soft opt-in of ePrivacy Art. 13(2).
    pub customer_since: Option<i64>,
    /// Imported without evidence of consent: may only be asked for it.
    pub needs_permission: bool,
}

/// A consent event to append. `expires_at` goes to the current state, not into the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConsentEvent {
    pub event_id: String,
    pub site_id: u32,
    pub contact_id: i64,
    pub purpose_id: i64,
    pub purpose_key: String,
    pub purpose_version: u32,
    pub state: String,
    pub method: String,
    pub collection_point: String,
    pub notice_sha256: String,
    pub page_url: String,
    pub language: String,
    pub ip_trunc: String,
    pub ua_hash: String,
    /// A JSON object: what else supports the event (an admin's reference, an import's source).
    pub evidence: String,
    pub actor: String,
    pub occurred_at: i64,
    pub recorded_at: i64,
    pub expires_at: Option<i64>,
}

/// One row of the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentEvent {
    pub seq: i64,
    pub event_id: String,
    #[serde(skip)]
    pub site_id: u32,
    #[serde(skip)]
    pub contact_id: i64,
    #[serde(skip)]
    pub purpose_id: i64,
    pub purpose_key: String,
    pub purpose_version: u32,
    pub state: String,
    pub method: String,
    pub collection_point: String,
    pub notice_sha256: String,
    pub page_url: String,
    pub language: String,
    pub ip_trunc: String,
    pub ua_hash: String,
    pub evidence: String,
    pub actor: String,
    pub occurred_at: i64,
    pub recorded_at: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// A signed receipt of a consent event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptRow {
    pub seq: i64,
    pub receipt_id: String,
    pub jws: String,
}

/// The current state of a contact's consent to a purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentStateRow {
    #[serde(skip)]
    pub contact_id: i64,
    pub purpose_key: String,
    pub purpose_version: u32,
    pub state: String,
    pub method: String,
    pub since: i64,
    pub expires_at: Option<i64>,
    pub last_seq: i64,
}

/// A pending double opt-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptinRequest {
    pub token_hash: String,
    pub site_id: u32,
    pub contact_id: i64,
    pub purpose_ids: Vec<i64>,
    /// JSON: the signup's evidence.
    pub evidence: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A suppression: who must not receive marketing, for which scope (`all` or `purpose:<key>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub scope: String,
    pub reason: String,
    pub created_at: i64,
}

/// Signs a sealed consent event into a receipt (`None`: its state gets none).
pub type Signer<'a> = dyn Fn(&ConsentEvent) -> Option<ReceiptRow> + Send + Sync + 'a;

/// Everything one ledger change writes, applied in one transaction: consent events (chained,
/// with receipts and state), the use of an opt-in token, suppressions added or lifted.
#[derive(Default)]
pub struct LedgerWrite<'a> {
    pub events: Vec<NewConsentEvent>,
    /// Signs an appended event; `None` for states that get no receipt. Runs inside the
    /// transaction, so an event and its receipt are stored together or not at all.
    pub sign: Option<&'a Signer<'a>>,
    /// An opt-in token hash that must be unused and unexpired at `now`; it is marked used.
    pub use_optin: Option<(String, i64)>,
    /// `(site, email_hmac, scope, reason)` to add.
    pub suppress: Vec<(u32, String, String, String)>,
    /// `(site, email_hmac, scope)` to lift (never an erasure's).
    pub unsuppress: Vec<(u32, String, String)>,
    /// Records an erasure; with a contact, also destroys their key and sealed fields and drops
    /// their pending requests and current states. Their ledger rows stay, unreadable.
    pub erase: Option<(Option<i64>, ErasureRow)>,
    /// `(contact, purpose, answer)`: answers to the open campaigns that asked the contact for the
    /// purpose and have no answer from them yet (a later answer changes nothing).
    pub answers: Vec<(i64, String, String)>,
}

/// The moments the ledger's retention rules measure from.
#[derive(Clone, Copy, Debug)]
pub struct LedgerCutoffs {
    pub now: i64,
    /// Contacts without valid consent and without a consent change since then are retired.
    pub contact: i64,
    /// ...unless they have been customers since this moment (soft opt-in).
    pub customer: i64,
    /// Send-gate decisions older than this are deleted.
    pub decision: i64,
}

/// A data-subject request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestRow {
    pub id: String,
    #[serde(skip)]
    pub site_id: u32,
    pub kind: String,
    pub channel: String,
    #[serde(skip)]
    pub email_hmac: String,
    /// The address, sealed under the ledger key; `None` once the request is closed.
    #[serde(skip)]
    pub sealed_email: Option<Vec<u8>>,
    pub details: String,
    pub language: String,
    pub received_at: i64,
    pub due_at: i64,
    pub extended_months: u8,
    pub extension_reason: Option<String>,
    /// `unverified`, `open`, `completed` or `rejected`.
    pub status: String,
    #[serde(skip)]
    pub code_hash: Option<String>,
    #[serde(skip)]
    pub code_expires_at: Option<i64>,
    #[serde(skip)]
    pub code_attempts: u8,
    pub verified_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub outcome: Option<String>,
}

/// The record of an erasure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErasureRow {
    pub receipt_id: String,
    #[serde(skip)]
    pub site_id: u32,
    #[serde(skip)]
    pub email_hmac: String,
    pub public_id: Option<String>,
    pub erased_at: i64,
    pub actor: String,
    pub jws: String,
}

/// The `prev_hash` of the first ledger row.
pub const LEDGER_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of a ledger row: SHA-256 over the previous hash and every field, each prefixed with
/// its length so that no two different rows encode to the same bytes.
pub fn consent_hash(e: &ConsentEvent) -> String {
    let mut h = Sha256::new();
    let ints = [
        e.seq,
        i64::from(e.site_id),
        e.contact_id,
        e.purpose_id,
        i64::from(e.purpose_version),
        e.occurred_at,
        e.recorded_at,
    ];
    let texts = [
        &e.prev_hash,
        &e.event_id,
        &e.purpose_key,
        &e.state,
        &e.method,
        &e.collection_point,
        &e.notice_sha256,
        &e.page_url,
        &e.language,
        &e.ip_trunc,
        &e.ua_hash,
        &e.evidence,
        &e.actor,
    ];
    for i in ints {
        h.update(8u64.to_le_bytes());
        h.update(i.to_le_bytes());
    }
    for t in texts {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl ConsentEvent {
    pub(super) fn sealed(new: &NewConsentEvent, seq: i64, prev_hash: String) -> ConsentEvent {
        let mut e = ConsentEvent {
            seq,
            event_id: new.event_id.clone(),
            site_id: new.site_id,
            contact_id: new.contact_id,
            purpose_id: new.purpose_id,
            purpose_key: new.purpose_key.clone(),
            purpose_version: new.purpose_version,
            state: new.state.clone(),
            method: new.method.clone(),
            collection_point: new.collection_point.clone(),
            notice_sha256: new.notice_sha256.clone(),
            page_url: new.page_url.clone(),
            language: new.language.clone(),
            ip_trunc: new.ip_trunc.clone(),
            ua_hash: new.ua_hash.clone(),
            evidence: new.evidence.clone(),
            actor: new.actor.clone(),
            occurred_at: new.occurred_at,
            recorded_at: new.recorded_at,
            prev_hash,
            hash: String::new(),
        };
        e.hash = consent_hash(&e);
        e
    }

    /// Whether the row's hash matches its fields and `prev_hash`.
    pub fn is_sealed(&self) -> bool {
        self.hash == consent_hash(self)
    }
}

/// Forwards to the backend in use.
macro_rules! ledger_backend {
    ($self:ident, $db:ident => $call:expr) => {
        match $self {
            AppStore::Sqlite($db) => $call,
        }
    };
}

impl AppStore {
    /// Stores `p` as the key's draft: replaces an unpublished latest version, else adds the next.
    pub async fn save_purpose_draft(&self, p: &NewPurpose, now: i64) -> Result<PurposeRow, AppStoreError> {
        ledger_backend!(self, db => db.save_purpose_draft(p, now).await)
    }

    /// Publishes the key's draft; `NotFound` when there is none.
    pub async fn publish_purpose(&self, site_id: u32, key: &str, now: i64) -> Result<PurposeRow, AppStoreError> {
        ledger_backend!(self, db => db.publish_purpose(site_id, key, now).await)
    }

    /// Every version of every purpose of a site, by key then version.
    pub async fn purposes(&self, site_id: u32) -> Result<Vec<PurposeRow>, AppStoreError> {
        ledger_backend!(self, db => db.purposes(site_id).await)
    }

    /// Stores a notice (idempotent: the hash is the key).
    pub async fn put_notice(
        &self,
        site_id: u32,
        sha256: &str,
        language: &str,
        body: &str,
        now: i64,
    ) -> Result<(), AppStoreError> {
        ledger_backend!(self, db => db.put_notice(site_id, sha256, language, body, now).await)
    }

    /// The body of a site's notice by hash.
    pub async fn notice(&self, site_id: u32, sha256: &str) -> Result<Option<String>, AppStoreError> {
        ledger_backend!(self, db => db.notice(site_id, sha256).await)
    }

    pub async fn add_collection_point(
        &self,
        point: &CollectionPointRow,
        now: i64,
    ) -> Result<CollectionPointRow, AppStoreError> {
        ledger_backend!(self, db => db.add_collection_point(point, now).await)
    }

    pub async fn collection_points(&self, site_id: u32) -> Result<Vec<CollectionPointRow>, AppStoreError> {
        ledger_backend!(self, db => db.collection_points(site_id).await)
    }

    pub async fn add_contact_field(
        &self,
        site_id: u32,
        field: &ContactFieldRow,
        now: i64,
    ) -> Result<(), AppStoreError> {
        ledger_backend!(self, db => db.add_contact_field(site_id, field, now).await)
    }

    pub async fn contact_fields(&self, site_id: u32) -> Result<Vec<ContactFieldRow>, AppStoreError> {
        ledger_backend!(self, db => db.contact_fields(site_id).await)
    }

    /// Inserts a contact, or returns the existing one with the same email hash.
    pub async fn insert_contact(&self, c: &ContactRow) -> Result<(ContactRow, bool), AppStoreError> {
        ledger_backend!(self, db => db.insert_contact(c).await)
    }

    pub async fn contact_by_email(&self, site_id: u32, email_hmac: &str) -> Result<Option<ContactRow>, AppStoreError> {
        ledger_backend!(self, db => db.contact_by(ContactBy::Email(site_id, email_hmac)).await)
    }

    pub async fn contact_by_public_id(&self, public_id: &str) -> Result<Option<ContactRow>, AppStoreError> {
        ledger_backend!(self, db => db.contact_by(ContactBy::PublicId(public_id)).await)
    }

    pub async fn contact(&self, id: i64) -> Result<Option<ContactRow>, AppStoreError> {
        ledger_backend!(self, db => db.contact_by(ContactBy::Id(id)).await)
    }

    /// Replaces a contact's sealed fields and locale.
    pub async fn update_contact(&self, id: i64, sealed: &[u8], locale: &str, now: i64) -> Result<(), AppStoreError> {
        ledger_backend!(self, db => db.update_contact(id, sealed, locale, now).await)
    }

    /// Applies a ledger change atomically; returns the appended events.
    pub async fn write_ledger(&self, w: LedgerWrite<'_>, now: i64) -> Result<Vec<ConsentEvent>, AppStoreError> {
        ledger_backend!(self, db => db.write_ledger(w, now).await)
    }

    /// A contact's consent events, oldest first.
    pub async fn consent_history(&self, contact_id: i64) -> Result<Vec<ConsentEvent>, AppStoreError> {
        ledger_backend!(self, db => db.consent_events(Some(contact_id), 0, u32::MAX).await)
    }

    /// Up to `limit` ledger rows with `seq > after`, in order.
    pub async fn consent_events(&self, after: i64, limit: u32) -> Result<Vec<ConsentEvent>, AppStoreError> {
        ledger_backend!(self, db => db.consent_events(None, after, limit).await)
    }

    pub async fn consent_states(&self, contact_id: i64) -> Result<Vec<ConsentStateRow>, AppStoreError> {
        ledger_backend!(self, db => db.consent_states(contact_id).await)
    }

    /// States still valid (given or renewed) whose expiry has passed.
    pub async fn lapsed_consents(&self, now: i64, limit: u32) -> Result<Vec<ConsentStateRow>, AppStoreError> {
        ledger_backend!(self, db => db.lapsed_consents(now, limit).await)
    }

    pub async fn receipt(&self, receipt_id: &str) -> Result<Option<ReceiptRow>, AppStoreError> {
        ledger_backend!(self, db => db.receipts(Some(receipt_id), 0, 1).await.map(|mut r| r.pop()))
    }

    /// Up to `limit` receipts with `seq > after`, in order.
    pub async fn receipts(&self, after: i64, limit: u32) -> Result<Vec<ReceiptRow>, AppStoreError> {
        ledger_backend!(self, db => db.receipts(None, after, limit).await)
    }

    /// Restricts processing for a contact (Art. 18), or lifts it.
    pub async fn set_restricted(&self, contact_id: i64, restricted: bool, now: i64) -> Result<(), AppStoreError> {
        ledger_backend!(self, db => db.set_restricted(contact_id, restricted, now).await)
    }

    /// Stores a request (new or changed).
    pub async fn save_request(&self, r: &RequestRow) -> Result<(), AppStoreError> {
        ledger_backend!(self, db => db.save_request(r).await)
    }

    pub async fn request(&self, id: &str) -> Result<Option<RequestRow>, AppStoreError> {
        ledger_backend!(self, db => db.requests(None, Some(id)).await.map(|mut r| r.pop()))
    }

    /// A site's requests, by due date.
    pub async fn requests(&self, site_id: u32) -> Result<Vec<RequestRow>, AppStoreError> {
        ledger_backend!(self, db => db.requests(Some(site_id), None).await)
    }

    pub async fn erasure(&self, receipt_id: &str) -> Result<Option<ErasureRow>, AppStoreError> {
        ledger_backend!(self, db => db.erasure(receipt_id).await)
    }

    pub async fn add_optin(&self, r: &OptinRequest) -> Result<(), AppStoreError> {
        ledger_backend!(self, db => db.add_optin(r).await)
    }

    pub async fn optin(&self, token_hash: &str) -> Result<Option<OptinRequest>, AppStoreError> {
        ledger_backend!(self, db => db.optin(token_hash).await)
    }

    /// Deletes opt-in requests expired before `now`, and their contacts when nothing else refers
    /// to them (no ledger rows, no other pending request). Returns `(requests, contacts)`.
    pub async fn purge_optins(&self, now: i64) -> Result<(u64, u64), AppStoreError> {
        ledger_backend!(self, db => db.purge_optins(now).await)
    }

    /// What the ledger's retention rules would remove: `(expired confirmation requests, contacts
    /// without valid consent, send decisions)` (see [`LedgerCutoffs`]).
    pub async fn ledger_retention_counts(&self, cut: &LedgerCutoffs) -> Result<(u64, u64, u64), AppStoreError> {
        ledger_backend!(self, db => db.ledger_retention(cut, false).await)
    }

    /// Applies the ledger's retention rules (see [`AppStore::ledger_retention_counts`]): expired
    /// requests deleted; contacts without valid consent retired (key, fields and email hash
    /// removed, so the address may sign up afresh; their ledger rows stay); old send decisions
    /// deleted, with anything still queued for the retired. Returns the counts.
    pub async fn apply_ledger_retention(&self, cut: &LedgerCutoffs) -> Result<(u64, u64, u64), AppStoreError> {
        ledger_backend!(self, db => db.ledger_retention(cut, true).await)
    }

    pub async fn suppressions(&self, site_id: u32, email_hmac: &str) -> Result<Vec<Suppression>, AppStoreError> {
        ledger_backend!(self, db => db.suppressions(site_id, email_hmac).await)
    }

    pub async fn log_send_decision(
        &self,
        site_id: u32,
        contact_id: i64,
        purpose_key: &str,
        allowed: bool,
        reason: &str,
        now: i64,
    ) -> Result<(), AppStoreError> {
        ledger_backend!(self, db => db.log_send_decision(site_id, contact_id, purpose_key, allowed, reason, now).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_event() -> NewConsentEvent {
        NewConsentEvent {
            event_id: "e1".into(),
            site_id: 1,
            contact_id: 2,
            purpose_id: 3,
            purpose_key: "news".into(),
            purpose_version: 1,
            state: "given".into(),
            method: "checkbox".into(),
            collection_point: "footer".into(),
            notice_sha256: "ab".into(),
            page_url: "https://a.test/".into(),
            language: "en".into(),
            ip_trunc: "192.0.2.0".into(),
            ua_hash: "cd".into(),
            evidence: "{}".into(),
            actor: "contact".into(),
            occurred_at: 10,
            recorded_at: 11,
            expires_at: None,
        }
    }

    fn event() -> ConsentEvent {
        ConsentEvent::sealed(&new_event(), 1, LEDGER_GENESIS.into())
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let e = event();
        assert!(e.is_sealed());
        let changes: Vec<fn(&mut ConsentEvent)> = vec![
            |e| e.seq = 2,
            |e| e.site_id = 9,
            |e| e.contact_id = 9,
            |e| e.purpose_id = 9,
            |e| e.purpose_version = 2,
            |e| e.occurred_at = 1,
            |e| e.recorded_at = 1,
            |e| e.prev_hash.push('0'),
            |e| e.event_id.push('x'),
            |e| e.purpose_key.push('x'),
            |e| e.state = "withdrawn".into(),
            |e| e.method.push('x'),
            |e| e.collection_point.push('x'),
            |e| e.notice_sha256.push('x'),
            |e| e.page_url.push('x'),
            |e| e.language.push('x'),
            |e| e.ip_trunc.push('x'),
            |e| e.ua_hash.push('x'),
            |e| e.evidence.push('x'),
            |e| e.actor.push('x'),
        ];
        for change in changes {
            let mut altered = e.clone();
            change(&mut altered);
            assert!(!altered.is_sealed(), "{altered:?}");
        }
    }

    #[tokio::test]
    async fn unconfirmed_signups_are_purged_with_their_people_and_the_ledger_refuses_edits() {
        let tmp = tempfile::tempdir().unwrap();
        let app = AppStore::open_sqlite(&tmp.path().join("app.sqlite3")).await.unwrap();
        let contact = |public_id: &str, hmac: &str| ContactRow {
            id: 0,
            site_id: 1,
            public_id: public_id.into(),
            email_hmac: hmac.into(),
            sealed_key: Some(vec![1]),
            sealed: Some(vec![2]),
            locale: "en".into(),
            restricted: false,
            created_at: 10,
            updated_at: 10,
            source: "form".into(),
            customer_since: None,
            needs_permission: false,
        };
        let (pending, created) = app.insert_contact(&contact("p1", "h1")).await.unwrap();
        assert!(created);
        assert!(!app.insert_contact(&contact("p1b", "h1")).await.unwrap().1, "one contact per email hash");
        let (consented, _) = app.insert_contact(&contact("p2", "h2")).await.unwrap();
        for (token, id) in [("t1", pending.id), ("t2", consented.id)] {
            let r = OptinRequest {
                token_hash: token.into(),
                site_id: 1,
                contact_id: id,
                purpose_ids: vec![1],
                evidence: "{}".into(),
                created_at: 10,
                expires_at: 100,
                used_at: None,
            };
            app.add_optin(&r).await.unwrap();
        }
        let new = NewConsentEvent { contact_id: consented.id, ..new_event() };
        let w = LedgerWrite { events: vec![new], use_optin: Some(("t2".into(), 50)), ..LedgerWrite::default() };
        app.write_ledger(w, 50).await.unwrap();
        let again = LedgerWrite { use_optin: Some(("t2".into(), 60)), ..LedgerWrite::default() };
        assert!(matches!(app.write_ledger(again, 60).await, Err(AppStoreError::NotFound(_))), "single use");
        assert_eq!(app.purge_optins(50).await.unwrap(), (1, 0), "used requests go; pending ones wait");
        assert_eq!(app.purge_optins(100).await.unwrap(), (1, 1), "expired: the person who never confirmed goes too");
        assert!(app.contact(pending.id).await.unwrap().is_none());
        assert!(app.contact(consented.id).await.unwrap().is_some());
        let AppStore::Sqlite(db) = &app;
        let edit = sqlx::query("UPDATE consent_events SET state = 'withdrawn'").execute(&db.pool).await;
        assert!(edit.is_err(), "append-only");
        let delete = sqlx::query("DELETE FROM consent_events").execute(&db.pool).await;
        assert!(delete.is_err(), "append-only");
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut a = event();
        a.method = "ab".into();
        a.collection_point = "c".into();
        let mut b = event();
        b.method = "a".into();
        b.collection_point = "bc".into();
        assert_ne!(consent_hash(&a), consent_hash(&b));
    }
}
