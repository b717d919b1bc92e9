//! Re-permission campaigns: a marketer whose list lacks provable consent for a purpose asks the
//! people they may lawfully ask (existing customers under the soft opt-in, or people whose
//! consent is about to lapse), once, through the double-opt-in path, with at most one reminder;
//! at the deadline, after a preview, everyone who did not say yes and has no other valid consent
//! is erased or restricted, and the campaign keeps the counts as evidence.
//!
//! A request for consent is itself marketing (the ICO fined Flybe and Honda for such emails), so
//! the audience rule is strict: suppressed, objecting, restricted and erased people, and anyone
//! who refused or withdrew this purpose, are never asked; the rule is checked again before every
//! email leaves the queue.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use tillit_store::app::Site;
use tillit_store::app::ledger::{ConsentStateRow, ContactRow, OptinRequest, Suppression};
use tillit_store::app::outreach::{CampaignRow, MailRow, MemberRow, NewMail};

use super::messages::{fill, mails};
use super::model::LegalBasis;
use super::{Ledger, LedgerError, Result, is_valid, item, sha256_hex};
use crate::i18n::Lang;
use crate::secret::{random_hex, token_hash};

/// Who a campaign may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Existing customers (ePrivacy Art. 13(2)) without consent to the purpose.
    Customers,
    /// People whose consent to the purpose lapses within this many days.
    Expiring(u32),
}

impl Audience {
    pub fn parse(text: &str) -> std::result::Result<Audience, String> {
        match text.split_once(':') {
            None if text == "customers" => Ok(Audience::Customers),
            Some(("expiring", days)) => match days.parse::<u32>() {
                Ok(d @ 1..=365) => Ok(Audience::Expiring(d)),
                _ => Err("expiring:<days> takes 1 to 365 days".into()),
            },
            _ => Err(format!("unknown audience {text:?}: use customers or expiring:<days>")),
        }
    }

    fn as_string(self) -> String {
        match self {
            Audience::Customers => "customers".into(),
            Audience::Expiring(d) => format!("expiring:{d}"),
        }
    }
}

/// A campaign to create.
#[derive(Clone, Debug)]
pub struct CampaignInput {
    pub purpose_key: String,
    /// `customers` or `expiring:<days>`.
    pub audience: String,
    /// The marketer's words above the request (plain text).
    pub message: String,
    /// `erase` or `restrict`: what the deadline does to those who did not say yes.
    pub action: String,
    /// Days from now to the deadline (7–90).
    pub deadline_days: u32,
    /// Days from the start to the one reminder, if any (before the deadline).
    pub reminder_days: Option<u32>,
}

/// Who would be asked, and why the others would not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub eligible: u32,
    pub excluded: BTreeMap<String, u32>,
}

/// A campaign and how it is going.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignStatus {
    #[serde(flatten)]
    pub campaign: CampaignRow,
    pub asked: u32,
    pub reminded: u32,
    pub said_yes: u32,
    pub said_no: u32,
    pub waiting: u32,
    /// After the deadline: what became of the members.
    pub outcomes: BTreeMap<String, u32>,
}

/// What closing a campaign does (`applied: false`: the preview).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Closing {
    pub applied: bool,
    pub action: String,
    /// Members the action applies to (no yes, no other valid consent).
    pub affected: u32,
    pub kept: BTreeMap<String, u32>,
}

/// Why `contact` may not be asked for `purpose_key`, if they may not.
fn refusal(
    audience: Audience,
    purpose_key: &str,
    contact: &ContactRow,
    states: &[&ConsentStateRow],
    suppressions: &[Suppression],
    now: i64,
) -> Option<&'static str> {
    if contact.sealed_key.is_none() {
        return Some("erased");
    }
    if contact.restricted {
        return Some("processing restricted");
    }
    if suppressions.iter().any(|s| s.scope == "all" || s.scope == format!("purpose:{purpose_key}")) {
        return Some("suppressed or objected");
    }
    let state = states.iter().find(|s| s.purpose_key == purpose_key);
    if state.is_some_and(|s| s.state == "withdrawn" || s.state == "refused") {
        return Some("said no to this purpose");
    }
    let valid = state.filter(|s| is_valid(s, now));
    match audience {
        Audience::Customers if valid.is_some() => Some("already consents"),
        Audience::Customers if contact.customer_since.is_none() => Some("no basis to ask (not a customer)"),
        Audience::Customers => None,
        Audience::Expiring(days) => match valid {
            None => Some("no consent to renew"),
            Some(s) if s.expires_at.is_none_or(|t| t > now + i64::from(days) * 86_400) => {
                Some("consent not expiring soon")
            }
            Some(_) => None,
        },
    }
}

fn day(at: i64) -> String {
    Timestamp::from_second(at).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default()
}

impl Ledger {
    /// Creates a campaign (not started). The purpose must be published, rest on consent and reach
    /// people by email.
    pub async fn create_campaign(&self, site: &Site, input: &CampaignInput, actor: &str) -> Result<CampaignRow> {
        let now = self.now();
        let audience = Audience::parse(input.audience.trim()).map_err(LedgerError::Invalid)?;
        let current = self.current_purposes(site.id).await?;
        let purpose = current
            .get(&input.purpose_key)
            .ok_or_else(|| LedgerError::NotFound(format!("published purpose {}", input.purpose_key)))?;
        if purpose.legal_basis != LegalBasis::Consent.as_str() || purpose.channel != "email" {
            return Err(LedgerError::Invalid(format!("{} is not an email purpose resting on consent", purpose.key)));
        }
        if !matches!(input.action.as_str(), "erase" | "restrict") {
            return Err(LedgerError::Invalid("the deadline action is erase or restrict".into()));
        }
        if !(7..=90).contains(&input.deadline_days) {
            return Err(LedgerError::Invalid("the deadline is 7 to 90 days away".into()));
        }
        if input.reminder_days.is_some_and(|r| r == 0 || r >= input.deadline_days) {
            return Err(LedgerError::Invalid("the reminder comes after the start and before the deadline".into()));
        }
        if input.message.trim().is_empty() || input.message.len() > 5_000 {
            return Err(LedgerError::Invalid("a message (1–5000 bytes) says why you are asking".into()));
        }
        let row = CampaignRow {
            id: format!("cp-{}", random_hex(8)),
            site_id: site.id,
            purpose_key: purpose.key.clone(),
            audience: audience.as_string(),
            message: input.message.trim().to_owned(),
            action: input.action.clone(),
            created_by: actor.to_owned(),
            created_at: now,
            started_at: None,
            // Both moments count from the start; until then, from now (what starting now would give).
            reminder_at: input.reminder_days.map(|d| now + i64::from(d) * 86_400),
            reminded_at: None,
            deadline_at: now + i64::from(input.deadline_days) * 86_400,
            closed_at: None,
            outcome: None,
        };
        self.app().save_campaign(&row).await?;
        Ok(row)
    }

    async fn site_campaign(&self, site: &Site, id: &str) -> Result<CampaignRow> {
        self.app()
            .campaign(id)
            .await?
            .filter(|c| c.site_id == site.id)
            .ok_or_else(|| LedgerError::NotFound(format!("campaign {id}")))
    }

    /// Every contact of the site with whether the campaign may ask them.
    async fn audience(&self, site: &Site, c: &CampaignRow) -> Result<Vec<(ContactRow, Option<&'static str>)>> {
        let now = self.now();
        let audience = Audience::parse(&c.audience).map_err(LedgerError::Store)?;
        let contacts = self.app().site_contacts(site.id).await?;
        let mut states: HashMap<i64, Vec<ConsentStateRow>> = HashMap::new();
        for s in self.app().site_consent_states(site.id).await? {
            states.entry(s.contact_id).or_default().push(s);
        }
        let mut out = Vec::with_capacity(contacts.len());
        for contact in contacts {
            let mine: Vec<&ConsentStateRow> = states.get(&contact.id).into_iter().flatten().collect();
            let suppressions = self.app().suppressions(site.id, &contact.email_hmac).await?;
            let why = refusal(audience, &c.purpose_key, &contact, &mine, &suppressions, now);
            out.push((contact, why));
        }
        Ok(out)
    }

    /// Who the campaign would ask, and why the others would not.
    pub async fn campaign_preview(&self, site: &Site, id: &str) -> Result<Preview> {
        let c = self.site_campaign(site, id).await?;
        let mut p = Preview::default();
        for (_, why) in self.audience(site, &c).await? {
            match why {
                None => p.eligible += 1,
                Some(why) => *p.excluded.entry(why.to_owned()).or_default() += 1,
            }
        }
        Ok(p)
    }

    /// Starts a campaign: queues one request to everyone it may ask. Returns how many.
    pub async fn start_campaign(&self, site: &Site, id: &str) -> Result<u32> {
        let now = self.now();
        let mut c = self.site_campaign(site, id).await?;
        if c.started_at.is_some() {
            return Err(LedgerError::Conflict(format!("campaign {id} has already started")));
        }
        if self.inner.mailer.is_none() {
            return Err(LedgerError::NoMail);
        }
        // The reminder and the deadline count from the start.
        let waited = now - c.created_at;
        c.reminder_at = c.reminder_at.map(|t| t + waited);
        c.deadline_at += waited;
        c.started_at = Some(now);
        self.app().save_campaign(&c).await?;
        let mut asked = 0;
        for (contact, why) in self.audience(site, &c).await? {
            if why.is_some() {
                continue;
            }
            self.queue_request(&c, contact.id, "request").await?;
            self.app()
                .save_member(&MemberRow {
                    campaign_id: c.id.clone(),
                    contact_id: contact.id,
                    asked_at: Some(now),
                    reminded_at: None,
                    answered_at: None,
                    answer: None,
                    outcome: None,
                })
                .await?;
            asked += 1;
        }
        Ok(asked)
    }

    async fn queue_request(&self, c: &CampaignRow, contact_id: i64, which: &str) -> Result<()> {
        let mail = NewMail {
            site_id: c.site_id,
            contact_id,
            purpose_key: c.purpose_key.clone(),
            kind: "permission".into(),
            campaign_id: Some(c.id.clone()),
            // The words are written when the message goes (with a fresh link); this says which.
            subject: which.to_owned(),
            body: String::new(),
        };
        self.app().queue_mail(&mail, self.now()).await?;
        Ok(())
    }

    /// Queues the one reminder of every campaign whose reminder is due, to those who have not
    /// answered. Returns how many reminders were queued.
    pub async fn send_reminders(&self) -> Result<u32> {
        let now = self.now();
        let mut queued = 0;
        for site in self.app().list_sites().await? {
            for mut c in self.app().campaigns(site.id).await? {
                let due = c.started_at.is_some()
                    && c.closed_at.is_none()
                    && c.reminded_at.is_none()
                    && c.reminder_at.is_some_and(|t| t <= now)
                    && now < c.deadline_at;
                if !due {
                    continue;
                }
                // Marked first: a crash mid-way must not lead to a second reminder.
                c.reminded_at = Some(now);
                self.app().save_campaign(&c).await?;
                for mut m in self.app().members(&c.id).await? {
                    if m.answered_at.is_some() || m.reminded_at.is_some() {
                        continue;
                    }
                    self.queue_request(&c, m.contact_id, "reminder").await?;
                    m.reminded_at = Some(now);
                    self.app().save_member(&m).await?;
                    queued += 1;
                }
            }
        }
        Ok(queued)
    }

    /// The subject and body of a campaign's request to `contact`, with a fresh confirmation link;
    /// `Err(why)` when it must not go (the campaign ended, they answered, or may no longer be asked).
    pub(super) async fn compose_request(
        &self,
        site: &Site,
        contact: &ContactRow,
        row: &MailRow,
        lang: Lang,
    ) -> Result<std::result::Result<(String, String), String>> {
        let now = self.now();
        let Some(c) = self.app().campaign(row.campaign_id.as_deref().unwrap_or_default()).await? else {
            return Ok(Err("no such campaign".into()));
        };
        if c.closed_at.is_some() || now >= c.deadline_at {
            return Ok(Err("campaign over".into()));
        }
        if self.app().member(&c.id, contact.id).await?.is_some_and(|m| m.answered_at.is_some()) {
            return Ok(Err("already answered".into()));
        }
        let audience = Audience::parse(&c.audience).map_err(LedgerError::Store)?;
        let states = self.app().consent_states(contact.id).await?;
        let suppressions = self.app().suppressions(site.id, &contact.email_hmac).await?;
        let mine: Vec<&ConsentStateRow> = states.iter().collect();
        if let Some(why) = refusal(audience, &c.purpose_key, contact, &mine, &suppressions, now) {
            return Ok(Err(why.to_owned()));
        }
        let current = self.current_purposes(site.id).await?;
        let Some(purpose) = current.get(&c.purpose_key) else {
            return Ok(Err("purpose no longer published".into()));
        };
        let shown = item(purpose, lang);
        let m = mails(lang);
        let text = |link: &str, decline: &str| {
            fill(
                m.permission_body,
                &[
                    ("message", &c.message),
                    ("purpose", &shown.title),
                    ("description", &shown.description),
                    ("link", link),
                    ("decline", decline),
                    ("deadline", &day(c.deadline_at)),
                ],
            )
        };
        // The notice is the request as the person reads it, without their links.
        let notice = text("[confirmation link]", "[link to say no]");
        let notice_sha256 = sha256_hex(&notice);
        self.app().put_notice(site.id, &notice_sha256, lang.code(), &notice, now).await?;
        let token = random_hex(32);
        self.app()
            .add_optin(&OptinRequest {
                token_hash: token_hash(&token),
                site_id: site.id,
                contact_id: contact.id,
                purpose_ids: vec![purpose.id],
                evidence: json!({
                    "collection_point": format!("campaign:{}", c.id),
                    "notice_sha256": notice_sha256,
                    "page_url": "",
                    "language": lang.code(),
                    "ip_trunc": "",
                    "ua_hash": "",
                    "campaign": c.id,
                })
                .to_string(),
                created_at: now,
                expires_at: c.deadline_at,
                used_at: None,
            })
            .await?;
        let link = format!("{}/confirm/{token}", self.inner.public_url);
        let decline = self.unsubscribe_link(&contact.public_id, &c.purpose_key);
        let footer = match audience {
            Audience::Customers => fill(m.permission_footer, &[("preferences", &self.preference_link(contact))]),
            Audience::Expiring(_) => {
                fill(m.marketing_footer, &[("unsubscribe", &decline), ("preferences", &self.preference_link(contact))])
            }
        };
        let subject = if row.subject == "reminder" { m.reminder_subject } else { m.permission_subject };
        Ok(Ok((fill(subject, &[("site", &site.domain)]), format!("{}\n-- \n{footer}", text(&link, &decline)))))
    }

    /// A campaign with its counts.
    pub async fn campaign_status(&self, site: &Site, id: &str) -> Result<CampaignStatus> {
        let c = self.site_campaign(site, id).await?;
        self.status_of(c).await
    }

    /// A site's campaigns, newest first, with their counts.
    pub async fn campaigns(&self, site: &Site) -> Result<Vec<CampaignStatus>> {
        let mut out = Vec::new();
        for c in self.app().campaigns(site.id).await? {
            out.push(self.status_of(c).await?);
        }
        Ok(out)
    }

    async fn status_of(&self, campaign: CampaignRow) -> Result<CampaignStatus> {
        let members = self.app().members(&campaign.id).await?;
        let count = |f: &dyn Fn(&MemberRow) -> bool| members.iter().filter(|m| f(m)).count() as u32;
        let mut outcomes = BTreeMap::new();
        for m in &members {
            if let Some(o) = &m.outcome {
                *outcomes.entry(o.clone()).or_default() += 1;
            }
        }
        Ok(CampaignStatus {
            asked: members.len() as u32,
            reminded: count(&|m| m.reminded_at.is_some()),
            said_yes: count(&|m| m.answer.as_deref() == Some("given")),
            said_no: count(&|m| m.answer.as_deref() == Some("declined")),
            waiting: count(&|m| m.answered_at.is_none()),
            outcomes,
            campaign,
        })
    }

    /// Closes a campaign after its deadline. `apply: false` only says what would happen. Members
    /// who did not say yes and hold no other valid consent are erased or restricted (the
    /// campaign's action); the others are kept, with the reason. The counts stay on the campaign.
    pub async fn close_campaign(&self, site: &Site, id: &str, apply: bool, actor: &str) -> Result<Closing> {
        let now = self.now();
        let mut c = self.site_campaign(site, id).await?;
        if c.started_at.is_none() {
            return Err(LedgerError::Invalid(format!("campaign {id} never started")));
        }
        if c.closed_at.is_some() {
            return Err(LedgerError::Conflict(format!("campaign {id} is already closed")));
        }
        if now < c.deadline_at {
            return Err(LedgerError::Invalid(format!(
                "campaign {id} runs until {}: people may still answer",
                day(c.deadline_at)
            )));
        }
        let mut closing = Closing { applied: apply, action: c.action.clone(), ..Closing::default() };
        let mut plan = Vec::new();
        for m in self.app().members(&c.id).await? {
            let contact = self.app().contact(m.contact_id).await?;
            let states = self.app().consent_states(m.contact_id).await?;
            let keep = match &contact {
                Some(contact) if contact.sealed_key.is_some() => {
                    if states.iter().any(|s| s.purpose_key == c.purpose_key && is_valid(s, now)) {
                        Some("kept: consents")
                    } else if states.iter().any(|s| is_valid(s, now)) {
                        Some("kept: valid consent to another purpose")
                    } else {
                        None
                    }
                }
                _ => Some("kept: already erased"),
            };
            match keep {
                Some(why) => *closing.kept.entry(why.to_owned()).or_default() += 1,
                None => closing.affected += 1,
            }
            plan.push((m, contact, keep));
        }
        if !apply {
            return Ok(closing);
        }
        let actor = format!("{actor} (campaign {})", c.id);
        for (mut m, contact, keep) in plan {
            m.outcome = Some(match (keep, contact) {
                (Some(why), _) => why.to_owned(),
                (None, Some(contact)) if c.action == "erase" => {
                    self.erase_contact(site, &contact.email_hmac, Some(&contact), &actor).await?;
                    "erased".to_owned()
                }
                (None, Some(contact)) => {
                    self.app().set_restricted(contact.id, true, now).await?;
                    "restricted".to_owned()
                }
                (None, None) => "kept: already erased".to_owned(),
            });
            self.app().save_member(&m).await?;
        }
        c.closed_at = Some(now);
        c.outcome = Some(json!({"action": c.action, "affected": closing.affected, "kept": closing.kept}).to_string());
        self.app().save_campaign(&c).await?;
        let rule = format!("re-permission campaign {} ({} at the deadline)", c.id, c.action);
        self.app().record_retention(&rule, Some(site.id), u64::from(closing.affected), now).await?;
        Ok(closing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> ContactRow {
        ContactRow {
            id: 1,
            site_id: 1,
            public_id: "p".into(),
            email_hmac: "h".into(),
            sealed_key: Some(vec![1]),
            sealed: Some(vec![2]),
            locale: "en".into(),
            restricted: false,
            created_at: 0,
            updated_at: 0,
            source: "import:crm".into(),
            customer_since: Some(0),
            needs_permission: true,
        }
    }

    fn state(purpose: &str, state: &str, expires_at: Option<i64>) -> ConsentStateRow {
        ConsentStateRow {
            contact_id: 1,
            purpose_key: purpose.into(),
            purpose_version: 1,
            state: state.into(),
            method: "checkbox".into(),
            since: 0,
            expires_at,
            last_seq: 1,
        }
    }

    #[test]
    fn only_people_with_a_basis_to_be_asked_are_asked() {
        let now = 1_000_000;
        let c = contact();
        let news = "news";
        assert_eq!(refusal(Audience::Customers, news, &c, &[], &[], now), None);
        let not_customer = ContactRow { customer_since: None, ..c.clone() };
        assert_eq!(
            refusal(Audience::Customers, news, &not_customer, &[], &[], now),
            Some("no basis to ask (not a customer)")
        );
        let restricted = ContactRow { restricted: true, ..c.clone() };
        assert_eq!(refusal(Audience::Customers, news, &restricted, &[], &[], now), Some("processing restricted"));
        let erased = ContactRow { sealed_key: None, ..c.clone() };
        assert_eq!(refusal(Audience::Customers, news, &erased, &[], &[], now), Some("erased"));
        let objection = Suppression { scope: "all".into(), reason: "objection".into(), created_at: 0 };
        assert_eq!(refusal(Audience::Customers, news, &c, &[], &[objection], now), Some("suppressed or objected"));
        let withdrawn = state(news, "withdrawn", None);
        assert_eq!(refusal(Audience::Customers, news, &c, &[&withdrawn], &[], now), Some("said no to this purpose"));
        let given = state(news, "given", None);
        assert_eq!(refusal(Audience::Customers, news, &c, &[&given], &[], now), Some("already consents"));
        // A lapsed consent leaves a customer who may be asked again.
        let lapsed = state(news, "given", Some(now - 1));
        assert_eq!(refusal(Audience::Customers, news, &c, &[&lapsed], &[], now), None);

        let soon = state(news, "given", Some(now + 10 * 86_400));
        let later = state(news, "given", Some(now + 60 * 86_400));
        assert_eq!(refusal(Audience::Expiring(30), news, &c, &[&soon], &[], now), None);
        assert_eq!(refusal(Audience::Expiring(30), news, &c, &[&later], &[], now), Some("consent not expiring soon"));
        assert_eq!(refusal(Audience::Expiring(30), news, &c, &[], &[], now), Some("no consent to renew"));
    }

    #[test]
    fn audiences_parse() {
        assert_eq!(Audience::parse("customers"), Ok(Audience::Customers));
        assert_eq!(Audience::parse("expiring:30"), Ok(Audience::Expiring(30)));
        assert!(Audience::parse("expiring:0").is_err());
        assert!(Audience::parse("everyone").is_err());
    }
}
