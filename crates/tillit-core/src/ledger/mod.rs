//! The consent ledger: what a site asks for (purposes, collection points, the exact wording
//! shown), who said what (contacts and their consent events, with proof), and the one gate every
//! marketing message passes.
//!
//! - [`model`]: the vocabulary and the validation of registry input.
//! - [`keys`]: sealing personal fields, lookup hashes, signed links, receipt signatures.
//! - [`receipt`]: the signed consent receipt.
//! - [`messages`]: the emails' words in every language.
//! - [`deadline`]: Art. 12(3) deadlines of data-subject requests; [`requests`]: the requests.
//!
//! Rules kept here, whatever the caller: consent is recorded per purpose and only for what was
//! ticked; a form's consent counts only once the emailed link is confirmed by a POST; the notice
//! a person saw is stored and its hash recorded with their consent; an objection to direct
//! marketing (Art. 21) cannot be overridden by an admin; withdrawing takes one step.

pub mod access;
pub mod campaign;
pub mod deadline;
pub mod import;
pub mod keys;
pub mod messages;
pub mod model;
pub mod outbox;
pub mod receipt;
pub mod requests;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::warn;

use tillit_store::app::accounts::AuditCheckpoint;
use tillit_store::app::ledger::{
    CollectionPointRow, ConsentEvent, ConsentStateRow, ContactFieldRow, ContactRow, ErasureRow, LedgerCutoffs,
    LedgerWrite, NewConsentEvent, OptinRequest, PurposeRow, ReceiptRow,
};
use tillit_store::app::{AppStore, AppStoreError, Site};

use crate::i18n::Lang;
use crate::mail::Mailer;
use crate::secret::{hex, random_hex, token_hash};
use crate::time::Clock;

use self::keys::LedgerKeys;
use self::messages::{fill, mails};
use self::model::{ConsentState, FieldInput, LegalBasis, Method, PointInput, PointKind, PurposeInput, normalise_email};
use self::receipt::{Controller, ReceiptContext};

/// How long a double opt-in link works.
pub const OPTIN_TTL: i64 = 7 * 24 * 3600;
/// How long a preference-centre link works.
pub const PREFERENCE_LINK_TTL: i64 = 30 * 24 * 3600;
/// Signups accepted per client network (truncated IP) per hour.
pub const SIGNUPS_PER_NETWORK: u32 = 30;
/// Emails (confirmations, links) sent to one address per hour; more are silently skipped.
pub const EMAILS_PER_ADDRESS: u32 = 3;

/// Why a ledger operation failed. Messages are safe to show to the person asking.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Refused by a rule no one may override (an objection, a missing consent).
    #[error("{0}")]
    Refused(String),
    #[error("this link is invalid, used or expired")]
    InvalidLink,
    #[error("too many requests; try again in {0} s")]
    Throttled(i64),
    #[error("email is not configured on this server, so consent cannot be confirmed")]
    NoMail,
    #[error("ledger store: {0}")]
    Store(String),
}

impl From<AppStoreError> for LedgerError {
    fn from(e: AppStoreError) -> LedgerError {
        match e {
            AppStoreError::NotFound(what) => LedgerError::NotFound(what),
            AppStoreError::Conflict(what) => LedgerError::Conflict(format!("{what} already exists")),
            AppStoreError::Backend(e) => LedgerError::Store(e),
        }
    }
}

type Result<T> = std::result::Result<T, LedgerError>;

/// Messages the public pages translate (compared by the web layer; the rest stay in English).
pub mod msg {
    pub const TICK_A_BOX: &str = "tick the box of each thing you want to receive";
    pub const FORM_CHANGED: &str = "the form changed since it was shown; reload the page and choose again";
    pub const BAD_EMAIL: &str = super::model::BAD_EMAIL;
}

/// The circumstances of a request, as evidence. The IP address is truncated and the user agent
/// hashed before anything is stored.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub page_url: String,
    pub ip: Option<IpAddr>,
    pub user_agent: String,
    pub lang: Lang,
}

/// An IPv4 address without its last byte, an IPv6 address without its last 80 bits.
pub fn truncate_ip(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.0", o[0], o[1], o[2])
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
        }
    }
}

/// One purpose as a form shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormItem {
    pub key: String,
    pub title: String,
    pub description: String,
}

/// What a collection point shows in one language, and the hash of exactly that wording.
#[derive(Clone, Debug, Serialize)]
pub struct Form {
    pub point: String,
    pub lang: &'static str,
    pub intro: String,
    pub items: Vec<FormItem>,
    pub notice_sha256: String,
    pub double_opt_in: bool,
}

/// A signup as submitted.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Signup {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The purposes whose box was ticked; one entry each.
    #[serde(default)]
    pub purposes: Vec<String>,
    pub notice_sha256: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// What became of a signup.
#[derive(Debug)]
pub enum SignupOutcome {
    /// A confirmation email is on its way (or was held back by the per-address limit: the answer
    /// is the same, so it reveals nothing).
    ConfirmationSent,
    /// Recorded at once (an API or import point without double opt-in).
    Recorded(Vec<ConsentEvent>),
}

/// A contact's personal fields, as sealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactData {
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A contact opened for someone allowed to read them.
#[derive(Clone, Debug, Serialize)]
pub struct ContactView {
    pub id: String,
    #[serde(flatten)]
    pub data: ContactData,
    pub locale: String,
    pub restricted: bool,
    pub created_at: i64,
    pub states: Vec<ConsentStateRow>,
    pub history: Vec<ConsentEvent>,
    pub objected: bool,
}

/// One purpose in the preference centre.
#[derive(Clone, Debug, Serialize)]
pub struct Choice {
    pub item: FormItem,
    pub state: Option<String>,
    pub since: Option<i64>,
    pub expires_at: Option<i64>,
    /// Whether the person can give it here (it rests on consent).
    pub consent_based: bool,
}

/// The preference centre's page for one contact.
#[derive(Clone, Debug, Serialize)]
pub struct Preferences {
    pub site: String,
    pub contact: ContactView,
    pub choices: Vec<Choice>,
    pub receipts: Vec<String>,
}

/// The answer of the send gate.
#[derive(Debug)]
pub enum Decision {
    Allowed(SendPermit),
    Denied(String),
}

/// Proof that the send gate allowed one message; only [`Ledger::may_send`] makes one.
#[derive(Debug)]
pub struct SendPermit {
    site_id: u32,
    contact_id: i64,
    purpose_key: String,
    pub reason: String,
}

/// How long the ledger keeps what it no longer needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionRules {
    /// A contact without any valid consent (and no change to their consents) for this long is
    /// retired: fields, key and email hash removed, ledger rows kept.
    pub contact_days: u32,
    /// An existing customer (soft opt-in) is kept this long after they last bought, consent or not.
    pub customer_days: u32,
    /// Send-gate decisions are kept this long.
    pub send_log_days: u32,
    /// Audit-log rows are kept this long (then removed behind a signed checkpoint).
    pub audit_days: u32,
}

impl Default for RetentionRules {
    fn default() -> RetentionRules {
        RetentionRules { contact_days: 30, customer_days: 1095, send_log_days: 730, audit_days: 1825 }
    }
}

/// Why an erased address is not added again.
pub const ERASED: &str = "this address was erased at its owner's request and cannot be added again here";

/// What `tillit ledger verify` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    pub events: u64,
    pub receipts: u64,
    /// The first broken link, described; `None` when everything verifies.
    pub first_broken: Option<String>,
}

/// Fixed-window counters in memory (keys hold hashes of addresses, never the addresses).
#[derive(Default)]
struct Limiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl Limiter {
    const WINDOW: i64 = 3600;

    /// Counts one use of `key`; `Err(seconds to wait)` past `limit`.
    fn hit(&self, key: String, limit: u32, now: i64) -> std::result::Result<(), i64> {
        let Ok(mut w) = self.windows.lock() else { return Ok(()) };
        if w.len() > 100_000 {
            w.retain(|_, (start, _)| now < *start + Self::WINDOW);
        }
        let entry = w.entry(key).or_insert((now, 0));
        if now >= entry.0 + Self::WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return Err(entry.0 + Self::WINDOW - now);
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The ledger service. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    app: AppStore,
    keys: LedgerKeys,
    clock: Clock,
    mailer: Option<Mailer>,
    public_url: String,
    controller: Controller,
    limiter: Limiter,
}

/// The text of `map` in `lang`, else English.
fn pick<T>(map: &BTreeMap<String, T>, lang: Lang) -> Option<&T> {
    map.get(lang.code()).or_else(|| map.get("en"))
}

fn item(p: &PurposeRow, lang: Lang) -> FormItem {
    let text = pick(&p.texts, lang);
    FormItem {
        key: p.key.clone(),
        title: text.map(|t| t.title.clone()).unwrap_or_else(|| p.key.clone()),
        description: text.map(|t| t.description.clone()).unwrap_or_default(),
    }
}

/// The exact wording of a form or a preference-centre choice, as stored and hashed.
fn notice_body(intro: &str, items: &[FormItem]) -> String {
    let mut body = intro.trim().to_owned();
    for i in items {
        body.push_str(&format!("\n\n[ ] {}\n{}", i.title.trim(), i.description.trim()));
    }
    body
}

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

impl Ledger {
    pub fn new(
        app: AppStore,
        keys: LedgerKeys,
        clock: Clock,
        mailer: Option<Mailer>,
        public_url: &str,
        controller: Controller,
    ) -> Ledger {
        Ledger {
            inner: Arc::new(Inner {
                app,
                keys,
                clock,
                mailer,
                public_url: public_url.trim_end_matches('/').to_owned(),
                controller,
                limiter: Limiter::default(),
            }),
        }
    }

    pub fn keys(&self) -> &LedgerKeys {
        &self.inner.keys
    }

    fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    fn app(&self) -> &AppStore {
        &self.inner.app
    }

    // ---- registry ----

    /// Saves a purpose as its key's draft (a new version when the latest is published).
    pub async fn save_purpose(&self, site: &Site, input: PurposeInput) -> Result<PurposeRow> {
        let new = input.validate(site.id).map_err(LedgerError::Invalid)?;
        Ok(self.app().save_purpose_draft(&new, self.now()).await?)
    }

    /// Publishes a purpose's draft; from then on it never changes.
    pub async fn publish_purpose(&self, site: &Site, key: &str) -> Result<PurposeRow> {
        Ok(self.app().publish_purpose(site.id, key, self.now()).await?)
    }

    /// Every version of every purpose.
    pub async fn purposes(&self, site: &Site) -> Result<Vec<PurposeRow>> {
        Ok(self.app().purposes(site.id).await?)
    }

    /// The latest published version of each purpose, by key.
    pub async fn current_purposes(&self, site_id: u32) -> Result<BTreeMap<String, PurposeRow>> {
        let mut current = BTreeMap::new();
        for p in self.app().purposes(site_id).await? {
            if p.published_at.is_some() {
                current.insert(p.key.clone(), p);
            }
        }
        Ok(current)
    }

    pub async fn add_point(&self, site: &Site, input: PointInput) -> Result<CollectionPointRow> {
        let current = self.current_purposes(site.id).await?;
        let bases: BTreeMap<String, LegalBasis> =
            current.iter().filter_map(|(k, p)| p.legal_basis.parse().ok().map(|b| (k.clone(), b))).collect();
        let kind = input.validate(&bases).map_err(LedgerError::Invalid)?;
        let row = CollectionPointRow {
            id: 0,
            site_id: site.id,
            key: input.key,
            kind: kind.as_str().to_owned(),
            purposes: input.purposes,
            intro: input.intro,
            double_opt_in: input.double_opt_in,
            created_at: 0,
        };
        Ok(self.app().add_collection_point(&row, self.now()).await?)
    }

    pub async fn points(&self, site: &Site) -> Result<Vec<CollectionPointRow>> {
        Ok(self.app().collection_points(site.id).await?)
    }

    async fn point(&self, site_id: u32, key: &str) -> Result<CollectionPointRow> {
        let points = self.app().collection_points(site_id).await?;
        points
            .into_iter()
            .find(|p| p.key == key)
            .ok_or_else(|| LedgerError::NotFound(format!("collection point {key}")))
    }

    pub async fn add_field(&self, site: &Site, input: FieldInput) -> Result<ContactFieldRow> {
        let field = input.validate().map_err(LedgerError::Invalid)?;
        self.app().add_contact_field(site.id, &field, self.now()).await?;
        Ok(field)
    }

    pub async fn fields(&self, site_id: u32) -> Result<Vec<ContactFieldRow>> {
        Ok(self.app().contact_fields(site_id).await?)
    }

    // ---- capture ----

    /// What the collection point shows in `lang`. The wording is stored (once per hash) so that
    /// every consent given through it can point to exactly what the person read.
    pub async fn form(&self, site: &Site, point_key: &str, lang: Lang) -> Result<Form> {
        Ok(self.form_parts(site, point_key, lang).await?.0)
    }

    /// [`Ledger::form`], with the point and the current purposes it was made from.
    async fn form_parts(
        &self,
        site: &Site,
        point_key: &str,
        lang: Lang,
    ) -> Result<(Form, CollectionPointRow, BTreeMap<String, PurposeRow>)> {
        let point = self.point(site.id, point_key).await?;
        let current = self.current_purposes(site.id).await?;
        let items: Vec<FormItem> =
            point.purposes.iter().filter_map(|k| current.get(k)).map(|p| item(p, lang)).collect();
        let intro = pick(&point.intro, lang).cloned().unwrap_or_default();
        let body = notice_body(&intro, &items);
        let notice_sha256 = sha256_hex(&body);
        self.app().put_notice(site.id, &notice_sha256, lang.code(), &body, self.now()).await?;
        let form = Form {
            point: point.key.clone(),
            lang: lang.code(),
            intro,
            items,
            notice_sha256,
            double_opt_in: point.double_opt_in,
        };
        Ok((form, point, current))
    }

    /// Takes a signup. Each ticked purpose is consented to separately; nothing is recorded for
    /// purposes not ticked. Through a form, consent waits for the emailed confirmation. `trusted`
    /// says the caller holds the site's ledger rights (an API key, a marketer): only they may use
    /// a point without confirmation, and they are not rate-limited.
    pub async fn signup(
        &self,
        site: &Site,
        point_key: &str,
        s: Signup,
        ev: &Evidence,
        trusted: bool,
    ) -> Result<SignupOutcome> {
        let now = self.now();
        let network = ev.ip.map(truncate_ip).unwrap_or_default();
        if !trusted {
            self.inner
                .limiter
                .hit(format!("signup:{network}"), SIGNUPS_PER_NETWORK, now)
                .map_err(LedgerError::Throttled)?;
        }
        let (form, point, current) = self.form_parts(site, point_key, ev.lang).await?;
        if !point.double_opt_in && !trusted {
            return Err(LedgerError::Refused(format!(
                "collection point {point_key} records consent without an emailed confirmation, so only the site's \
                 ledger API keys may use it"
            )));
        }
        if s.notice_sha256 != form.notice_sha256 {
            return Err(LedgerError::Invalid(msg::FORM_CHANGED.into()));
        }
        let mut chosen: Vec<String> = Vec::new();
        for key in s.purposes {
            if !point.purposes.contains(&key) {
                return Err(LedgerError::Invalid(format!("{key:?} is not asked for here")));
            }
            if !chosen.contains(&key) {
                chosen.push(key);
            }
        }
        if chosen.is_empty() {
            return Err(LedgerError::Invalid(msg::TICK_A_BOX.into()));
        }
        let email = normalise_email(&s.email).map_err(LedgerError::Invalid)?;
        let name = s.name.unwrap_or_default().trim().to_owned();
        if name.chars().count() > 200 {
            return Err(LedgerError::Invalid("the name is at most 200 characters".into()));
        }
        let defined = self.app().contact_fields(site.id).await?;
        for (key, value) in &s.fields {
            let field = defined
                .iter()
                .find(|f| &f.key == key)
                .ok_or_else(|| LedgerError::Invalid(format!("unknown field {key:?}")))?;
            if field.special_category {
                return Err(LedgerError::Refused(format!(
                    "{key} is special-category data: it can be stored only after explicit consent is confirmed"
                )));
            }
            if value.chars().count() > 1000 {
                return Err(LedgerError::Invalid(format!("{key} is at most 1000 characters")));
            }
        }
        let kind: PointKind = point.kind.parse().map_err(LedgerError::Store)?;
        if point.double_opt_in && self.inner.mailer.is_none() {
            return Err(LedgerError::NoMail);
        }
        let data = ContactData { email: email.clone(), name, fields: s.fields };
        let contact = self.find_or_create_contact(site.id, &data, ev.lang, kind.as_str()).await?;
        let purposes: Vec<&PurposeRow> = chosen.iter().filter_map(|k| current.get(k)).collect();
        let evidence = json!({
            "collection_point": point.key,
            "notice_sha256": form.notice_sha256,
            "page_url": ev.page_url,
            "language": ev.lang.code(),
            "ip_trunc": network,
            "ua_hash": self.ua_hash(&ev.user_agent),
            "at": now,
        });
        if !point.double_opt_in {
            let method = if kind == PointKind::Import { Method::ImportWithEvidence } else { Method::Checkbox };
            let states = self.app().consent_states(contact.id).await?;
            let events = purposes
                .iter()
                .map(|p| self.new_event(site, &contact, p, renewal(&states, &p.key, now), method, &evidence, "contact"))
                .collect();
            let written = self.write(site, &contact, events, LedgerWrite::default()).await?;
            return Ok(SignupOutcome::Recorded(written));
        }
        let token = random_hex(32);
        self.app()
            .add_optin(&OptinRequest {
                token_hash: token_hash(&token),
                site_id: site.id,
                contact_id: contact.id,
                purpose_ids: purposes.iter().map(|p| p.id).collect(),
                evidence: evidence.to_string(),
                created_at: now,
                expires_at: now + OPTIN_TTL,
                used_at: None,
            })
            .await?;
        if self.inner.limiter.hit(format!("mail:{}", contact.email_hmac), EMAILS_PER_ADDRESS, now).is_ok() {
            let m = mails(ev.lang);
            let list: Vec<String> = purposes.iter().map(|p| format!("- {}", item(p, ev.lang).title)).collect();
            let body = fill(
                m.confirm_body,
                &[
                    ("site", &site.domain),
                    ("purposes", &list.join("\n")),
                    ("link", &format!("{}/confirm/{token}", self.inner.public_url)),
                    ("days", &(OPTIN_TTL / 86_400).to_string()),
                ],
            );
            self.mail(&email, m.confirm_subject, body, &[]).await?;
        }
        Ok(SignupOutcome::ConfirmationSent)
    }

    /// What a pending confirmation is for: its site and purposes, in `lang`.
    pub async fn pending(&self, token: &str, lang: Lang) -> Result<(Site, Vec<FormItem>)> {
        let request = self.live_optin(token).await?;
        let site = self.site(request.site_id).await?;
        let purposes = self.app().purposes(site.id).await?;
        let items = purposes.iter().filter(|p| request.purpose_ids.contains(&p.id)).map(|p| item(p, lang)).collect();
        Ok((site, items))
    }

    async fn live_optin(&self, token: &str) -> Result<OptinRequest> {
        match self.app().optin(&token_hash(token)).await? {
            Some(r) if r.used_at.is_none() && r.expires_at > self.now() => Ok(r),
            _ => Err(LedgerError::InvalidLink),
        }
    }

    /// Confirms a double opt-in: each requested purpose becomes given (renewed if it already
    /// was), with the signup's evidence and the confirmation's. The token works once.
    pub async fn confirm(&self, token: &str, ev: &Evidence) -> Result<Vec<ConsentEvent>> {
        let now = self.now();
        let request = self.live_optin(token).await?;
        let site = self.site(request.site_id).await?;
        let contact = self.live_contact(request.contact_id).await?;
        let purposes = self.app().purposes(site.id).await?;
        let states = self.app().consent_states(contact.id).await?;
        let signup: Value = serde_json::from_str(&request.evidence).unwrap_or_default();
        let evidence = json!({
            "signup": signup,
            "confirmation": {
                "ip_trunc": ev.ip.map(truncate_ip).unwrap_or_default(),
                "ua_hash": self.ua_hash(&ev.user_agent),
                "at": now,
            },
        });
        let mut events = Vec::new();
        for p in purposes.iter().filter(|p| request.purpose_ids.contains(&p.id)) {
            let mut e = self.new_event(
                &site,
                &contact,
                p,
                renewal(&states, &p.key, now),
                Method::DoubleOptIn,
                &evidence,
                "contact",
            );
            // The wording, page and language are those of the signup, where the person chose.
            e.collection_point = signup["collection_point"].as_str().unwrap_or_default().to_owned();
            e.notice_sha256 = signup["notice_sha256"].as_str().unwrap_or_default().to_owned();
            e.page_url = signup["page_url"].as_str().unwrap_or_default().to_owned();
            e.language = signup["language"].as_str().unwrap_or("en").to_owned();
            e.ip_trunc = signup["ip_trunc"].as_str().unwrap_or_default().to_owned();
            e.ua_hash = signup["ua_hash"].as_str().unwrap_or_default().to_owned();
            events.push(e);
        }
        let extras = LedgerWrite {
            use_optin: Some((request.token_hash.clone(), now)),
            // Signing up again is the person's own new choice: it lifts their earlier objection.
            unsuppress: vec![(site.id, contact.email_hmac.clone(), "all".into())],
            ..LedgerWrite::default()
        };
        let written = self.write(&site, &contact, events, extras).await.map_err(|e| match e {
            LedgerError::NotFound(_) => LedgerError::InvalidLink,
            other => other,
        })?;
        self.send_receipts(&site, &contact, &written, ev.lang).await;
        Ok(written)
    }

    // ---- the preference centre ----

    /// A signed link to a contact's preference centre, valid for [`PREFERENCE_LINK_TTL`].
    pub fn preference_link(&self, contact: &ContactRow) -> String {
        let payload = format!("p:{}:{}", contact.public_id, self.now() + PREFERENCE_LINK_TTL);
        format!("{}/preferences/{}", self.inner.public_url, self.inner.keys.sign_link(&payload))
    }

    /// A signed link that withdraws one purpose (no expiry: it sits in sent emails).
    pub fn unsubscribe_link(&self, public_id: &str, purpose_key: &str) -> String {
        let payload = format!("u:{public_id}:{purpose_key}");
        format!("{}/unsubscribe/{}", self.inner.public_url, self.inner.keys.sign_link(&payload))
    }

    /// The contact a preference-centre link is for.
    pub async fn open_preferences(&self, link: &str) -> Result<ContactRow> {
        let payload = self.inner.keys.open_link(link).ok_or(LedgerError::InvalidLink)?;
        let mut parts = payload.split(':');
        let (Some("p"), Some(public_id), Some(expires)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(LedgerError::InvalidLink);
        };
        if expires.parse::<i64>().map_or(true, |e| e <= self.now()) {
            return Err(LedgerError::InvalidLink);
        }
        match self.app().contact_by_public_id(public_id).await? {
            Some(c) if c.sealed_key.is_some() => Ok(c),
            _ => Err(LedgerError::InvalidLink),
        }
    }

    /// Emails a preference-centre link to `email` if it is a contact of the site. The answer is
    /// the same either way, so it tells no one who is on the list.
    pub async fn request_link(&self, site: &Site, email: &str, lang: Lang) -> Result<()> {
        if self.inner.mailer.is_none() {
            return Err(LedgerError::NoMail);
        }
        let email = normalise_email(email).map_err(LedgerError::Invalid)?;
        let hmac = self.inner.keys.email_lookup(site.id, &email);
        let Some(contact) = self.app().contact_by_email(site.id, &hmac).await? else { return Ok(()) };
        if contact.sealed_key.is_none()
            || self.inner.limiter.hit(format!("mail:{hmac}"), EMAILS_PER_ADDRESS, self.now()).is_err()
        {
            return Ok(());
        }
        let m = mails(lang);
        let body = fill(
            m.link_body,
            &[
                ("site", &site.domain),
                ("link", &self.preference_link(&contact)),
                ("days", &(PREFERENCE_LINK_TTL / 86_400).to_string()),
            ],
        );
        self.mail(&email, m.link_subject, body, &[]).await
    }

    /// The preference centre's view of a contact.
    pub async fn preferences(&self, contact: &ContactRow, lang: Lang) -> Result<Preferences> {
        let site = self.site(contact.site_id).await?;
        let view = self.view(contact).await?;
        let current = self.current_purposes(site.id).await?;
        let choices = current
            .values()
            .filter(|p| {
                p.legal_basis == LegalBasis::Consent.as_str() || view.states.iter().any(|s| s.purpose_key == p.key)
            })
            .map(|p| {
                let state = view.states.iter().find(|s| s.purpose_key == p.key);
                Choice {
                    item: item(p, lang),
                    state: state.map(|s| s.state.clone()),
                    since: state.map(|s| s.since),
                    expires_at: state.and_then(|s| s.expires_at),
                    consent_based: p.legal_basis == LegalBasis::Consent.as_str(),
                }
            })
            .collect();
        let receipts =
            view.history.iter().filter(|e| receipt::has_receipt(&e.state)).map(receipt::receipt_id).collect();
        Ok(Preferences { site: site.domain, contact: view, choices, receipts })
    }

    /// Gives or withdraws one purpose from the preference centre (or an unsubscribe link).
    pub async fn choose(
        &self,
        contact: &ContactRow,
        purpose_key: &str,
        give: bool,
        method: Method,
        ev: &Evidence,
    ) -> Result<Vec<ConsentEvent>> {
        let now = self.now();
        let site = self.site(contact.site_id).await?;
        let current = self.current_purposes(site.id).await?;
        let purpose =
            current.get(purpose_key).ok_or_else(|| LedgerError::NotFound(format!("purpose {purpose_key}")))?;
        let states = self.app().consent_states(contact.id).await?;
        let valid_now = states.iter().any(|s| s.purpose_key == purpose_key && is_valid(s, now));
        let mut extras = LedgerWrite::default();
        let state = if give {
            if purpose.legal_basis != LegalBasis::Consent.as_str() {
                return Err(LedgerError::Invalid(format!("{purpose_key} does not rest on consent")));
            }
            // The person's own choice lifts their earlier objection.
            extras.unsuppress.push((site.id, contact.email_hmac.clone(), "all".into()));
            renewal(&states, purpose_key, now)
        } else if valid_now || purpose.legal_basis != LegalBasis::Consent.as_str() {
            ConsentState::Withdrawn
        } else if states
            .iter()
            .any(|s| s.purpose_key == purpose_key && matches!(s.state.as_str(), "refused" | "withdrawn"))
        {
            return Ok(Vec::new());
        } else {
            // Never given (or lapsed): a "no" to being asked, recorded as a refusal.
            ConsentState::Refused
        };
        let shown = [item(purpose, ev.lang)];
        let body = notice_body("", &shown);
        let notice = sha256_hex(&body);
        self.app().put_notice(site.id, &notice, ev.lang.code(), &body, now).await?;
        let mut e = self.new_event(&site, contact, purpose, state, method, &json!({}), "contact");
        e.collection_point = PointKind::PreferenceCentre.as_str().to_owned();
        e.notice_sha256 = notice;
        e.page_url = ev.page_url.clone();
        e.ip_trunc = ev.ip.map(truncate_ip).unwrap_or_default();
        e.ua_hash = self.ua_hash(&ev.user_agent);
        let written = self.write(&site, contact, vec![e], extras).await?;
        self.send_receipts(&site, contact, &written, ev.lang).await;
        Ok(written)
    }

    /// Objection to direct marketing (Art. 21(2)): every consent is withdrawn and the contact
    /// suppressed; no admin action can undo it (only the person's own new consent).
    pub async fn object(&self, contact: &ContactRow, ev: &Evidence) -> Result<Vec<ConsentEvent>> {
        let now = self.now();
        let site = self.site(contact.site_id).await?;
        let purposes = self.app().purposes(site.id).await?;
        let states = self.app().consent_states(contact.id).await?;
        let events = states
            .iter()
            .filter(|s| is_valid(s, now))
            .filter_map(|s| purposes.iter().find(|p| p.key == s.purpose_key && p.version == s.purpose_version))
            .map(|p| {
                let mut e = self.new_event(
                    &site,
                    contact,
                    p,
                    ConsentState::Withdrawn,
                    Method::PreferenceCentre,
                    &json!({"objection": "Art. 21(2) GDPR"}),
                    "contact",
                );
                e.collection_point = PointKind::PreferenceCentre.as_str().to_owned();
                e.ip_trunc = ev.ip.map(truncate_ip).unwrap_or_default();
                e.ua_hash = self.ua_hash(&ev.user_agent);
                e.language = ev.lang.code().to_owned();
                e
            })
            .collect();
        let extras = LedgerWrite {
            suppress: vec![(site.id, contact.email_hmac.clone(), "all".into(), "objection".into())],
            ..LedgerWrite::default()
        };
        let written = self.write(&site, contact, events, extras).await?;
        self.send_receipts(&site, contact, &written, ev.lang).await;
        Ok(written)
    }

    /// Withdraws the purpose named by an unsubscribe link.
    pub async fn unsubscribe(&self, link: &str, method: Method, ev: &Evidence) -> Result<(ContactRow, String)> {
        let payload = self.inner.keys.open_link(link).ok_or(LedgerError::InvalidLink)?;
        let mut parts = payload.splitn(3, ':');
        let (Some("u"), Some(public_id), Some(purpose)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(LedgerError::InvalidLink);
        };
        let contact = match self.app().contact_by_public_id(public_id).await? {
            Some(c) if c.sealed_key.is_some() => c,
            _ => return Err(LedgerError::InvalidLink),
        };
        self.choose(&contact, purpose, false, method, ev).await?;
        Ok((contact, purpose.to_owned()))
    }

    /// Rectification by the person: name and non-special fields (special-category fields need
    /// explicit consent to a purpose flagged for them).
    pub async fn rectify(&self, contact: &ContactRow, name: &str, fields: &BTreeMap<String, String>) -> Result<()> {
        let now = self.now();
        let contact = &self.live_contact(contact.id).await?;
        let name = name.trim();
        if name.chars().count() > 200 {
            return Err(LedgerError::Invalid("the name is at most 200 characters".into()));
        }
        let defined = self.app().contact_fields(contact.site_id).await?;
        let purposes = self.app().purposes(contact.site_id).await?;
        let states = self.app().consent_states(contact.id).await?;
        let explicit = states.iter().any(|s| {
            is_valid(s, now)
                && purposes
                    .iter()
                    .any(|p| p.key == s.purpose_key && p.version == s.purpose_version && p.special_category)
        });
        let mut data = self.open_contact(contact)?;
        for (key, value) in fields {
            let field = defined
                .iter()
                .find(|f| &f.key == key)
                .ok_or_else(|| LedgerError::Invalid(format!("unknown field {key:?}")))?;
            if field.special_category && !value.is_empty() && !explicit {
                return Err(LedgerError::Refused(format!(
                    "{key} is special-category data: it needs explicit consent to a purpose for it"
                )));
            }
            if value.chars().count() > 1000 {
                return Err(LedgerError::Invalid(format!("{key} is at most 1000 characters")));
            }
            if value.is_empty() {
                data.fields.remove(key);
            } else {
                data.fields.insert(key.clone(), value.clone());
            }
        }
        data.name = name.to_owned();
        let sealed = self.seal_contact(contact, &data)?;
        self.app().update_contact(contact.id, &sealed, &contact.locale, now).await?;
        Ok(())
    }

    /// Everything held about a contact (Art. 15 and 20), as JSON.
    pub async fn export(&self, contact: &ContactRow) -> Result<Value> {
        let site = self.site(contact.site_id).await?;
        let view = self.view(contact).await?;
        let mut receipts = Vec::new();
        for e in view.history.iter().filter(|e| receipt::has_receipt(&e.state)) {
            if let Some(r) = self.app().receipt(&receipt::receipt_id(e)).await? {
                receipts.push(json!({"id": r.receipt_id, "jws": r.jws}));
            }
        }
        let suppressions = self.app().suppressions(site.id, &contact.email_hmac).await?;
        Ok(json!({
            "exported_at": self.now(),
            "controller": {"name": self.inner.controller.name, "email": self.inner.controller.email},
            "site": site.domain,
            "contact": view,
            "receipts": receipts,
            "suppressions": suppressions,
            "receipt_keys": format!("{}/.well-known/jwks.json", self.inner.public_url),
        }))
    }

    /// Erases a person (Art. 17): their valid consents are withdrawn in the ledger, their key and
    /// sealed fields destroyed (the ledger rows stay for the chain, unreadable), their pending
    /// requests dropped, and their email's keyed hash kept as a suppression so no form, import
    /// or API call adds them again. Returns the signed erasure receipt. Works for an address that
    /// was never a contact too: it is then only suppressed.
    pub async fn erase(&self, site: &Site, email: &str, actor: &str) -> Result<ErasureRow> {
        let email = normalise_email(email).map_err(LedgerError::Invalid)?;
        let hmac = self.inner.keys.email_lookup(site.id, &email);
        let contact = self.app().contact_by_email(site.id, &hmac).await?;
        self.erase_contact(site, &hmac, contact.as_ref(), actor).await
    }

    /// [`Ledger::erase`] for a contact the caller already holds (the preference centre).
    pub async fn erase_self(&self, contact: &ContactRow) -> Result<ErasureRow> {
        let site = self.site(contact.site_id).await?;
        let actor = format!("contact:{}", contact.public_id);
        self.erase_contact(&site, &contact.email_hmac, Some(contact), &actor).await
    }

    async fn erase_contact(
        &self,
        site: &Site,
        hmac: &str,
        contact: Option<&ContactRow>,
        actor: &str,
    ) -> Result<ErasureRow> {
        let now = self.now();
        let mut events = Vec::new();
        if let Some(c) = contact {
            let purposes = self.app().purposes(site.id).await?;
            for s in self.app().consent_states(c.id).await?.iter().filter(|s| is_valid(s, now)) {
                if let Some(p) = purposes.iter().find(|p| p.key == s.purpose_key && p.version == s.purpose_version) {
                    let mut e = self.new_event(
                        site,
                        c,
                        p,
                        ConsentState::Withdrawn,
                        Method::Erasure,
                        &json!({"erasure": "Art. 17 GDPR"}),
                        actor,
                    );
                    e.collection_point = "erasure".into();
                    events.push(e);
                }
            }
        }
        let receipt_id = format!("er-{}", random_hex(16));
        let public_id = contact.map(|c| c.public_id.clone());
        let jws = self.inner.keys.sign_jws(&json!({
            "type": "erasure-receipt",
            "receiptId": receipt_id,
            "jurisdiction": self.inner.controller.jurisdiction,
            "piiControllers": [{"piiController": self.inner.controller.name, "email": self.inner.controller.email}],
            "service": site.domain,
            "piiPrincipalId": public_id,
            "erasedAt": now,
            "erased": ["contact fields (encryption key destroyed)", "pending confirmations", "current consent states"],
            "kept": ["ledger rows without personal data (proof of past consent)", "a keyed hash of the email address, so it is not added again"],
            "iat": now,
        }));
        let row = ErasureRow {
            receipt_id,
            site_id: site.id,
            email_hmac: hmac.to_owned(),
            public_id,
            erased_at: now,
            actor: actor.to_owned(),
            jws,
        };
        let extras = LedgerWrite {
            // Erasure outranks an earlier objection: the suppression's reason becomes erasure.
            suppress: vec![(site.id, hmac.to_owned(), "all".into(), "erasure".into())],
            erase: Some((contact.map(|c| c.id), row.clone())),
            ..LedgerWrite::default()
        };
        match contact {
            Some(c) => self.write(site, c, events, extras).await?,
            // Never a contact: only the suppression and the record.
            None => self.app().write_ledger(extras, now).await?,
        };
        Ok(row)
    }

    // ---- admin ----

    /// The contact with this email on a site, opened (for people allowed to read personal data).
    pub async fn lookup(&self, site: &Site, email: &str) -> Result<Option<ContactView>> {
        let email = normalise_email(email).map_err(LedgerError::Invalid)?;
        let hmac = self.inner.keys.email_lookup(site.id, &email);
        match self.app().contact_by_email(site.id, &hmac).await? {
            Some(c) if c.sealed_key.is_some() => Ok(Some(self.view(&c).await?)),
            _ => Ok(None),
        }
    }

    /// Records a consent event on someone's behalf, with evidence (a signed paper form, a call
    /// recording reference). An objection stands: giving consent over it is refused.
    pub async fn admin_record(
        &self,
        site: &Site,
        email: &str,
        purpose_key: &str,
        state: ConsentState,
        evidence: &str,
        actor: &str,
    ) -> Result<Vec<ConsentEvent>> {
        let now = self.now();
        if evidence.trim().is_empty() || evidence.len() > 2000 {
            return Err(LedgerError::Invalid("evidence is required (1–2000 characters): what proves this".into()));
        }
        if matches!(state, ConsentState::Expired | ConsentState::Renewed) {
            return Err(LedgerError::Invalid("record given, refused or withdrawn".into()));
        }
        let email = normalise_email(email).map_err(LedgerError::Invalid)?;
        let current = self.current_purposes(site.id).await?;
        let purpose =
            current.get(purpose_key).ok_or_else(|| LedgerError::NotFound(format!("purpose {purpose_key}")))?;
        let hmac = self.inner.keys.email_lookup(site.id, &email);
        if state == ConsentState::Given {
            if self.objected(site.id, &hmac).await? {
                return Err(LedgerError::Refused(
                    "this person objected to direct marketing (Art. 21 GDPR); no admin action can override it".into(),
                ));
            }
            if purpose.legal_basis != LegalBasis::Consent.as_str() {
                return Err(LedgerError::Invalid(format!("{purpose_key} does not rest on consent")));
            }
        }
        let data = ContactData { email, ..ContactData::default() };
        let contact = self.find_or_create_contact(site.id, &data, Lang::En, "admin").await?;
        let states = self.app().consent_states(contact.id).await?;
        let state = if state == ConsentState::Given { renewal(&states, purpose_key, now) } else { state };
        let mut e = self.new_event(
            site,
            &contact,
            purpose,
            state,
            Method::AdminWithEvidence,
            &json!({"evidence": evidence.trim()}),
            actor,
        );
        e.collection_point = PointKind::Api.as_str().to_owned();
        self.write(site, &contact, vec![e], LedgerWrite::default()).await
    }

    // ---- the send gate ----

    /// Whether a message for `purpose_key` may go to the contact with this email. The one place
    /// that decides, and every decision is logged.
    pub async fn may_send(&self, site: &Site, email: &str, purpose_key: &str) -> Result<Decision> {
        let email = normalise_email(email).map_err(LedgerError::Invalid)?;
        let hmac = self.inner.keys.email_lookup(site.id, &email);
        let Some(contact) = self.app().contact_by_email(site.id, &hmac).await? else {
            return Ok(Decision::Denied("not a contact".into()));
        };
        self.gate(site, &contact, purpose_key).await
    }

    /// The send gate for a contact the caller holds (the mail queue asks it before every attempt).
    pub(crate) async fn gate(&self, site: &Site, contact: &ContactRow, purpose_key: &str) -> Result<Decision> {
        let now = self.now();
        let current = self.current_purposes(site.id).await?;
        let states = self.app().consent_states(contact.id).await?;
        let state = states.iter().find(|s| s.purpose_key == purpose_key);
        let suppressions = self.app().suppressions(site.id, &contact.email_hmac).await?;
        let denied = if contact.sealed_key.is_none() {
            Some("erased".to_owned())
        } else if contact.restricted {
            Some("processing restricted".to_owned())
        } else if let Some(s) =
            suppressions.iter().find(|s| s.scope == "all" || s.scope == format!("purpose:{purpose_key}"))
        {
            Some(format!("suppressed ({})", s.reason))
        } else {
            match (current.get(purpose_key), state) {
                (None, _) => Some("no such published purpose".to_owned()),
                (Some(_), Some(s)) if is_valid(s, now) => None,
                (Some(_), Some(s)) if s.state == "withdrawn" || s.state == "refused" => {
                    Some(format!("consent {}", s.state))
                }
                (Some(_), Some(s)) if s.expires_at.is_some_and(|t| t <= now) || s.state == "expired" => {
                    Some("consent expired".to_owned())
                }
                (Some(p), _) if p.legal_basis != LegalBasis::Consent.as_str() => None,
                _ => Some("no consent".to_owned()),
            }
        };
        let reason = match (&denied, state) {
            (Some(r), _) => r.clone(),
            (None, Some(s)) if is_valid(s, now) => format!("consent {} (v{})", s.state, s.purpose_version),
            (None, _) => current.get(purpose_key).map(|p| p.legal_basis.clone()).unwrap_or_default(),
        };
        self.app().log_send_decision(site.id, contact.id, purpose_key, denied.is_none(), &reason, now).await?;
        if let Some(reason) = denied {
            return Ok(Decision::Denied(reason));
        }
        Ok(Decision::Allowed(SendPermit {
            site_id: site.id,
            contact_id: contact.id,
            purpose_key: purpose_key.to_owned(),
            reason,
        }))
    }

    // ---- receipts, jobs and verification ----

    /// A receipt and its verified payload.
    pub async fn receipt(&self, receipt_id: &str) -> Result<(ReceiptRow, Value)> {
        if receipt_id.starts_with("er-") {
            let e = self.app().erasure(receipt_id).await?.ok_or_else(|| LedgerError::NotFound("receipt".into()))?;
            let payload = self
                .inner
                .keys
                .verify_jws(&e.jws)
                .ok_or_else(|| LedgerError::Store("a receipt does not verify".into()))?;
            return Ok((ReceiptRow { seq: 0, receipt_id: e.receipt_id, jws: e.jws }, payload));
        }
        let r = self.app().receipt(receipt_id).await?.ok_or_else(|| LedgerError::NotFound("receipt".into()))?;
        let payload =
            self.inner.keys.verify_jws(&r.jws).ok_or_else(|| LedgerError::Store("a receipt does not verify".into()))?;
        Ok((r, payload))
    }

    /// Records `expired` for consents past their purpose's lifetime. Returns how many.
    pub async fn expire_lapsed(&self) -> Result<usize> {
        let now = self.now();
        let mut total = 0;
        loop {
            let lapsed = self.app().lapsed_consents(now, 500).await?;
            if lapsed.is_empty() {
                return Ok(total);
            }
            let before = total;
            for s in lapsed {
                let contact =
                    self.app().contact(s.contact_id).await?.ok_or_else(|| LedgerError::NotFound("contact".into()))?;
                let site = self.site(contact.site_id).await?;
                let purposes = self.app().purposes(site.id).await?;
                let Some(p) = purposes.iter().find(|p| p.key == s.purpose_key && p.version == s.purpose_version) else {
                    continue;
                };
                let mut e = self.new_event(
                    &site,
                    &contact,
                    p,
                    ConsentState::Expired,
                    Method::Expiry,
                    &json!({"expired_at": s.expires_at}),
                    "tillit",
                );
                e.collection_point = "lifetime".into();
                self.write(&site, &contact, vec![e], LedgerWrite::default()).await?;
                total += 1;
            }
            if total == before {
                // Nothing in this batch could be expired (its purpose version is gone): stop
                // rather than read the same batch again.
                return Ok(total);
            }
        }
    }

    /// The ledger's retention rules at `now`: what each removes (`dry_run`) or removed. Applied
    /// deletions leave an evidence row each (rule, count, time; nothing personal).
    pub async fn retention(&self, rules: &RetentionRules, dry_run: bool) -> Result<Vec<(String, u64)>> {
        let now = self.now();
        let days = |d: u32| now - i64::from(d) * 86_400;
        let cut = LedgerCutoffs {
            now,
            contact: days(rules.contact_days),
            customer: days(rules.customer_days),
            decision: days(rules.send_log_days),
        };
        let (requests, contacts, decisions) = if dry_run {
            self.app().ledger_retention_counts(&cut).await?
        } else {
            self.app().apply_ledger_retention(&cut).await?
        };
        let out = vec![
            (format!("unconfirmed signups after {} days", OPTIN_TTL / 86_400), requests),
            (
                format!(
                    "contacts without valid consent for {} days (customers: {} days after their last purchase)",
                    rules.contact_days, rules.customer_days
                ),
                contacts,
            ),
            (format!("send-gate decisions after {} days", rules.send_log_days), decisions),
            (
                format!("audit log entries after {} days", rules.audit_days),
                self.audit_retention(days(rules.audit_days), dry_run).await?,
            ),
        ];
        if !dry_run {
            for (rule, n) in out.iter().filter(|(_, n)| *n > 0) {
                self.app().record_retention(rule, None, *n, now).await?;
            }
        }
        Ok(out)
    }

    /// Removes the audit rows older than `cutoff` behind a signed checkpoint (or, with `dry_run`,
    /// counts them). Returns how many.
    async fn audit_retention(&self, cutoff: i64, dry_run: bool) -> Result<u64> {
        let Some(last) = self.app().audit_before(cutoff).await? else { return Ok(0) };
        if dry_run {
            return Ok(self.app().audit_count_through(last.seq).await?);
        }
        let at = self.now();
        let jws = self.inner.keys.sign_jws(&json!({
            "type": "audit-checkpoint",
            "seq": last.seq,
            "hash": last.hash,
            "iat": at,
        }));
        Ok(self.app().cut_audit(&AuditCheckpoint { seq: last.seq, hash: last.hash, at, jws }).await?)
    }

    /// Whether an audit checkpoint was signed by this ledger's key for exactly its seq and hash.
    pub fn audit_checkpoint_holds(&self, c: &AuditCheckpoint) -> bool {
        self.inner
            .keys
            .verify_jws(&c.jws)
            .is_some_and(|p| p["type"] == "audit-checkpoint" && p["seq"] == json!(c.seq) && p["hash"] == json!(c.hash))
    }

    /// Deletes expired confirmation requests and the people who never confirmed.
    pub async fn purge_unconfirmed(&self) -> Result<(u64, u64)> {
        Ok(self.app().purge_optins(self.now()).await?)
    }

    /// Recomputes the chain and every receipt signature; names the first broken link.
    pub async fn verify(&self) -> Result<VerifyReport> {
        verify(self.app(), &self.inner.keys).await
    }

    pub fn jwks(&self) -> Value {
        self.inner.keys.jwks()
    }

    // ---- helpers ----

    async fn site(&self, id: u32) -> Result<Site> {
        let sites = self.app().list_sites().await?;
        sites.into_iter().find(|s| s.id == id).ok_or_else(|| LedgerError::NotFound("site".into()))
    }

    async fn live_contact(&self, id: i64) -> Result<ContactRow> {
        match self.app().contact(id).await? {
            Some(c) if c.sealed_key.is_some() => Ok(c),
            _ => Err(LedgerError::InvalidLink),
        }
    }

    async fn objected(&self, site_id: u32, hmac: &str) -> Result<bool> {
        let suppressions = self.app().suppressions(site_id, hmac).await?;
        Ok(suppressions.iter().any(|s| s.scope == "all" && s.reason == "objection"))
    }

    fn ua_hash(&self, user_agent: &str) -> String {
        if user_agent.is_empty() { String::new() } else { self.inner.keys.agent_hash(user_agent) }
    }

    /// The contact with this email, created (with the given fields) when there is none. An
    /// existing contact's fields are not touched: a signup proves no one's identity.
    async fn find_or_create_contact(
        &self,
        site_id: u32,
        data: &ContactData,
        lang: Lang,
        source: &str,
    ) -> Result<ContactRow> {
        let hmac = self.inner.keys.email_lookup(site_id, &data.email);
        let suppressions = self.app().suppressions(site_id, &hmac).await?;
        if suppressions.iter().any(|s| s.reason == "erasure") {
            return Err(LedgerError::Refused(ERASED.into()));
        }
        if let Some(c) = self.app().contact_by_email(site_id, &hmac).await?
            && c.sealed_key.is_some()
        {
            return Ok(c);
        }
        let (contact, _) = self.app().insert_contact(&self.new_contact(site_id, data, lang, source)?).await?;
        if contact.sealed_key.is_none() {
            return Err(LedgerError::Refused(ERASED.into()));
        }
        Ok(contact)
    }

    /// A new contact's row: a fresh key of their own, their fields sealed under it.
    fn new_contact(&self, site_id: u32, data: &ContactData, lang: Lang, source: &str) -> Result<ContactRow> {
        let now = self.now();
        let public_id = random_hex(16);
        let (key, sealed_key) = self.inner.keys.new_contact_key().map_err(LedgerError::Store)?;
        let plain = serde_json::to_vec(data).map_err(|e| LedgerError::Store(e.to_string()))?;
        let sealed = self.inner.keys.seal_fields(&key, &plain, &public_id).map_err(LedgerError::Store)?;
        Ok(ContactRow {
            id: 0,
            site_id,
            public_id,
            email_hmac: self.inner.keys.email_lookup(site_id, &data.email),
            sealed_key: Some(sealed_key),
            sealed: Some(sealed),
            locale: lang.code().to_owned(),
            restricted: false,
            created_at: now,
            updated_at: now,
            source: source.to_owned(),
            customer_since: None,
            needs_permission: false,
        })
    }

    fn contact_key(&self, contact: &ContactRow) -> Result<[u8; 32]> {
        let sealed_key = contact.sealed_key.as_deref().ok_or_else(|| LedgerError::NotFound("contact".into()))?;
        self.inner.keys.open_contact_key(sealed_key).map_err(LedgerError::Store)
    }

    fn open_contact(&self, contact: &ContactRow) -> Result<ContactData> {
        let key = self.contact_key(contact)?;
        let sealed = contact.sealed.as_deref().ok_or_else(|| LedgerError::NotFound("contact".into()))?;
        let plain = self.inner.keys.open_fields(&key, sealed, &contact.public_id).map_err(LedgerError::Store)?;
        serde_json::from_slice(&plain).map_err(|e| LedgerError::Store(e.to_string()))
    }

    fn seal_contact(&self, contact: &ContactRow, data: &ContactData) -> Result<Vec<u8>> {
        let key = self.contact_key(contact)?;
        let plain = serde_json::to_vec(data).map_err(|e| LedgerError::Store(e.to_string()))?;
        self.inner.keys.seal_fields(&key, &plain, &contact.public_id).map_err(LedgerError::Store)
    }

    async fn view(&self, contact: &ContactRow) -> Result<ContactView> {
        // Read afresh: the caller's row may predate a rectification.
        let contact = &self.live_contact(contact.id).await?;
        let data = self.open_contact(contact)?;
        let states = self.app().consent_states(contact.id).await?;
        let history = self.app().consent_history(contact.id).await?;
        let objected = self.objected(contact.site_id, &contact.email_hmac).await?;
        Ok(ContactView {
            id: contact.public_id.clone(),
            data,
            locale: contact.locale.clone(),
            restricted: contact.restricted,
            created_at: contact.created_at,
            states,
            history,
            objected,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn new_event(
        &self,
        site: &Site,
        contact: &ContactRow,
        purpose: &PurposeRow,
        state: ConsentState,
        method: Method,
        evidence: &Value,
        actor: &str,
    ) -> NewConsentEvent {
        let now = self.now();
        let expires_at = match state {
            ConsentState::Given | ConsentState::Renewed => purpose.lifetime_days.map(|d| now + i64::from(d) * 86_400),
            _ => None,
        };
        NewConsentEvent {
            event_id: random_hex(16),
            site_id: site.id,
            contact_id: contact.id,
            purpose_id: purpose.id,
            purpose_key: purpose.key.clone(),
            purpose_version: purpose.version,
            state: state.as_str().to_owned(),
            method: method.as_str().to_owned(),
            collection_point: evidence["collection_point"].as_str().unwrap_or_default().to_owned(),
            notice_sha256: evidence["notice_sha256"].as_str().unwrap_or_default().to_owned(),
            page_url: evidence["page_url"].as_str().unwrap_or_default().to_owned(),
            language: evidence["language"].as_str().unwrap_or("en").to_owned(),
            ip_trunc: evidence["ip_trunc"].as_str().unwrap_or_default().to_owned(),
            ua_hash: evidence["ua_hash"].as_str().unwrap_or_default().to_owned(),
            evidence: evidence.to_string(),
            actor: actor.to_owned(),
            occurred_at: now,
            recorded_at: now,
            expires_at,
        }
    }

    /// Appends events (with signed receipts) and `extras` in one transaction.
    async fn write(
        &self,
        site: &Site,
        contact: &ContactRow,
        events: Vec<NewConsentEvent>,
        mut extras: LedgerWrite<'_>,
    ) -> Result<Vec<ConsentEvent>> {
        let purposes: HashMap<i64, PurposeRow> =
            self.app().purposes(site.id).await?.into_iter().map(|p| (p.id, p)).collect();
        let ctx = ReceiptContext {
            controller: &self.inner.controller,
            site_domain: &site.domain,
            public_url: &self.inner.public_url,
            principal: &contact.public_id,
        };
        let keys = &self.inner.keys;
        let sign = |e: &ConsentEvent| purposes.get(&e.purpose_id).and_then(|p| receipt::sign(keys, e, p, &ctx));
        // Any yes or no to a purpose answers the open campaigns that asked this person for it.
        extras.answers = events
            .iter()
            .filter_map(|e| {
                let answer = match e.state.as_str() {
                    "given" | "renewed" => "given",
                    "refused" | "withdrawn" => "declined",
                    _ => return None,
                };
                Some((contact.id, e.purpose_key.clone(), answer.to_owned()))
            })
            .collect();
        extras.events = events;
        extras.sign = Some(&sign);
        Ok(self.app().write_ledger(extras, self.now()).await?)
    }

    async fn mail(&self, to: &str, subject: &str, body: String, headers: &[(&str, String)]) -> Result<()> {
        let mailer = self.inner.mailer.as_ref().ok_or(LedgerError::NoMail)?;
        mailer.send_with_headers(to, subject, body, headers).await.map_err(|e| {
            warn!(error = %e, "ledger email not sent");
            LedgerError::Store(format!("the email could not be sent: {e}"))
        })
    }

    /// Emails the person their receipts. Best effort: the consent is already recorded, and the
    /// receipts stay downloadable from the preference centre.
    async fn send_receipts(&self, site: &Site, contact: &ContactRow, events: &[ConsentEvent], lang: Lang) {
        let with_receipt: Vec<&ConsentEvent> = events.iter().filter(|e| receipt::has_receipt(&e.state)).collect();
        if with_receipt.is_empty() || self.inner.mailer.is_none() {
            return;
        }
        let Ok(data) = self.open_contact(contact) else { return };
        let m = mails(lang);
        let lines: Vec<String> = with_receipt
            .iter()
            .map(|e| {
                let what = if e.state == "withdrawn" { m.withdrawn } else { m.given };
                format!("- {} (v{}): {what}, {}", e.purpose_key, e.purpose_version, format_time(e.occurred_at))
            })
            .collect();
        let links: Vec<String> = with_receipt
            .iter()
            .map(|e| format!("{}/receipts/{}", self.inner.public_url, receipt::receipt_id(e)))
            .collect();
        let body = fill(
            m.receipt_body,
            &[
                ("site", &site.domain),
                ("events", &lines.join("\n")),
                ("receipts", &links.join("\n")),
                ("preferences", &self.preference_link(contact)),
            ],
        );
        let _ = self.mail(&data.email, m.receipt_subject, body, &[]).await;
    }
}

fn format_time(t: i64) -> String {
    jiff::Timestamp::from_second(t).map(|ts| ts.strftime("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

fn is_valid(s: &ConsentStateRow, now: i64) -> bool {
    matches!(s.state.as_str(), "given" | "renewed") && s.expires_at.is_none_or(|t| t > now)
}

/// `Renewed` when the contact already holds valid consent to the purpose, else `Given`.
fn renewal(states: &[ConsentStateRow], purpose_key: &str, now: i64) -> ConsentState {
    if states.iter().any(|s| s.purpose_key == purpose_key && is_valid(s, now)) {
        ConsentState::Renewed
    } else {
        ConsentState::Given
    }
}

/// Walks the whole chain and every receipt. Used by the server and by `tillit ledger verify`.
pub async fn verify(app: &AppStore, keys: &LedgerKeys) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let mut hashes: HashMap<i64, String> = HashMap::new();
    let mut prev = tillit_store::app::ledger::LEDGER_GENESIS.to_owned();
    let mut last_seq = 0;
    loop {
        let page = app.consent_events(last_seq, 1000).await?;
        let Some(last) = page.last() else { break };
        let next_after = last.seq;
        for e in page {
            let broken = if e.seq != last_seq + 1 {
                Some(format!("row {} follows row {last_seq}: rows are missing", e.seq))
            } else if e.prev_hash != prev {
                Some(format!("row {} (event {}) does not point to the row before it", e.seq, e.event_id))
            } else if !e.is_sealed() {
                Some(format!("row {} (event {}) was altered: its hash does not match its contents", e.seq, e.event_id))
            } else {
                None
            };
            if let Some(b) = broken {
                report.first_broken = Some(b);
                return Ok(report);
            }
            report.events += 1;
            prev = e.hash.clone();
            last_seq = e.seq;
            hashes.insert(e.seq, e.hash);
        }
        last_seq = next_after;
    }
    let mut after = 0;
    loop {
        let page = app.receipts(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in page {
            let payload = keys.verify_jws(&r.jws);
            let matches =
                payload.as_ref().and_then(|p| p["recordHash"].as_str()) == hashes.get(&r.seq).map(String::as_str);
            if payload.is_none() || !matches {
                report.first_broken = Some(format!(
                    "receipt {} (row {}) {}",
                    r.receipt_id,
                    r.seq,
                    if payload.is_none() { "has a signature that does not verify" } else { "does not match its row" }
                ));
                return Ok(report);
            }
            report.receipts += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
