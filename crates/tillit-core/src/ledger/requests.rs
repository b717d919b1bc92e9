//! Data-subject requests (Art. 15–21): received from the person (request form, preference
//! centre) or entered by staff, each with its channel; nothing is released or deleted before the
//! person proves control of the address with an emailed one-time code; due one calendar month
//! after receipt, extendable once by up to two months within that first month, with a notice.
//!
//! Once verified, requests the ledger can carry out alone are carried out at once (erasure,
//! objection, restriction, access by a preference-centre link); rectification waits for staff.

use rand::Rng;
use serde_json::json;

use tillit_store::app::Site;
use tillit_store::app::ledger::RequestRow;

use super::deadline::{MAX_EXTENSION_MONTHS, due_at, may_extend};
use super::messages::{fill, mails};
use super::model::normalise_email;
use super::{Evidence, Ledger, LedgerError, Result};
use crate::i18n::Lang;
use crate::secret::{random_hex, token_hash};

/// How long an identity code works.
pub const CODE_TTL: i64 = 30 * 60;
/// Wrong codes allowed before the request must be made again.
pub const CODE_ATTEMPTS: u8 = 5;

/// The kinds of request.
pub const KINDS: [&str; 6] = ["access", "portability", "rectification", "erasure", "restriction", "objection"];
/// Where a request came from.
pub const CHANNELS: [&str; 3] = ["request-form", "preference-centre", "staff"];

/// A request as someone makes it.
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub kind: String,
    pub channel: String,
    pub email: String,
    pub details: String,
    pub lang: Lang,
}

impl Ledger {
    /// Records a request and emails the person a one-time code. The answer is the same whether
    /// or not the address is a contact.
    pub async fn open_request(&self, site: &Site, r: NewRequest) -> Result<RequestRow> {
        if !KINDS.contains(&r.kind.as_str()) {
            return Err(LedgerError::Invalid(format!("unknown request kind {:?} ({})", r.kind, KINDS.join(", "))));
        }
        if !CHANNELS.contains(&r.channel.as_str()) {
            return Err(LedgerError::Invalid(format!("unknown channel {:?} ({})", r.channel, CHANNELS.join(", "))));
        }
        if r.details.chars().count() > 4000 {
            return Err(LedgerError::Invalid("details are at most 4000 characters".into()));
        }
        if self.inner.mailer.is_none() {
            return Err(LedgerError::NoMail);
        }
        let now = self.now();
        let email = normalise_email(&r.email).map_err(LedgerError::Invalid)?;
        let hmac = self.inner.keys.email_lookup(site.id, &email);
        self.inner
            .limiter
            .hit(format!("request:{hmac}"), super::EMAILS_PER_ADDRESS, now)
            .map_err(LedgerError::Throttled)?;
        let zone = crate::stats::period::zone(&site.timezone);
        let due = due_at(now, &zone, 0).ok_or_else(|| LedgerError::Store("cannot compute the deadline".into()))?;
        let id = format!("rq-{}", random_hex(12));
        let sealed = self.inner.keys.seal_secret(email.as_bytes(), &id).map_err(LedgerError::Store)?;
        let mut row = RequestRow {
            id,
            site_id: site.id,
            kind: r.kind,
            channel: r.channel,
            email_hmac: hmac,
            sealed_email: Some(sealed),
            details: r.details.trim().to_owned(),
            language: r.lang.code().to_owned(),
            received_at: now,
            due_at: due,
            extended_months: 0,
            extension_reason: None,
            status: "unverified".into(),
            code_hash: None,
            code_expires_at: None,
            code_attempts: 0,
            verified_at: None,
            closed_at: None,
            outcome: None,
        };
        self.send_code(site, &mut row, &email, r.lang).await?;
        Ok(row)
    }

    async fn send_code(&self, site: &Site, row: &mut RequestRow, email: &str, lang: Lang) -> Result<()> {
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        row.code_hash = Some(token_hash(&format!("{}:{code}", row.id)));
        row.code_expires_at = Some(self.now() + CODE_TTL);
        row.code_attempts = 0;
        self.app().save_request(row).await?;
        let m = mails(lang);
        let body =
            fill(m.code_body, &[("site", &site.domain), ("code", &code), ("minutes", &(CODE_TTL / 60).to_string())]);
        self.mail(email, m.code_subject, body, &[]).await
    }

    /// Checks the code; on success the request is verified and, where the ledger can, carried out.
    pub async fn verify_request(&self, id: &str, code: &str, ev: &Evidence) -> Result<RequestRow> {
        let now = self.now();
        let mut row = self.app().request(id).await?.ok_or(LedgerError::InvalidLink)?;
        if row.status != "unverified" {
            return Err(LedgerError::Invalid("this request is already verified".into()));
        }
        let live = row.code_expires_at.is_some_and(|t| t > now) && row.code_attempts < CODE_ATTEMPTS;
        if !live {
            return Err(LedgerError::Invalid(
                "the code has expired or was entered wrongly too often; ask again".into(),
            ));
        }
        let expected = row.code_hash.clone().unwrap_or_default();
        if token_hash(&format!("{id}:{}", code.trim())) != expected {
            row.code_attempts += 1;
            self.app().save_request(&row).await?;
            return Err(LedgerError::Invalid("wrong code".into()));
        }
        row.status = "open".into();
        row.verified_at = Some(now);
        row.code_hash = None;
        row.code_expires_at = None;
        self.app().save_request(&row).await?;
        self.carry_out(row, ev).await
    }

    /// What the ledger does on its own once a request is verified.
    async fn carry_out(&self, mut row: RequestRow, ev: &Evidence) -> Result<RequestRow> {
        let site = self.site(row.site_id).await?;
        let contact =
            self.app().contact_by_email(row.site_id, &row.email_hmac).await?.filter(|c| c.sealed_key.is_some());
        let outcome = match (row.kind.as_str(), &contact) {
            ("erasure", _) => {
                let erasure = match &contact {
                    Some(c) => self.erase_self(c).await?,
                    None => {
                        let email = self.request_email(&row)?;
                        self.erase(&site, &email, &format!("request:{}", row.id)).await?
                    }
                };
                Some(format!("erased; receipt {}", erasure.receipt_id))
            }
            ("objection", Some(c)) => {
                self.object(c, ev).await?;
                Some("objection recorded: every consent withdrawn, no marketing".into())
            }
            ("restriction", Some(c)) => {
                self.app().set_restricted(c.id, true, self.now()).await?;
                Some("processing restricted: nothing is sent".into())
            }
            ("access" | "portability", Some(c)) => {
                let email = self.request_email(&row)?;
                let m = mails(Lang::parse(&row.language).unwrap_or_default());
                let body = fill(
                    m.link_body,
                    &[
                        ("site", &site.domain),
                        ("link", &self.preference_link(c)),
                        ("days", &(super::PREFERENCE_LINK_TTL / 86_400).to_string()),
                    ],
                );
                self.mail(&email, m.link_subject, body, &[]).await?;
                Some("a link to download every record was emailed".into())
            }
            (_, None) => Some("no data is held about this address".into()),
            // Rectification: staff read the details and correct.
            _ => None,
        };
        if let Some(outcome) = outcome {
            row.status = "completed".into();
            row.closed_at = Some(self.now());
            row.outcome = Some(outcome);
            // The address is needed no longer.
            row.sealed_email = None;
            self.app().save_request(&row).await?;
        }
        Ok(row)
    }

    fn request_email(&self, row: &RequestRow) -> Result<String> {
        let sealed = row.sealed_email.as_deref().ok_or_else(|| LedgerError::NotFound("request address".into()))?;
        let plain = self.inner.keys.open_secret(sealed, &row.id).map_err(LedgerError::Store)?;
        String::from_utf8(plain).map_err(|e| LedgerError::Store(e.to_string()))
    }

    /// A site's requests by due date.
    pub async fn requests(&self, site: &Site) -> Result<Vec<RequestRow>> {
        Ok(self.app().requests(site.id).await?)
    }

    /// Extends a verified request by 1–2 months (Art. 12(3)): only within the first month, with a
    /// reason, and the person is told.
    pub async fn extend_request(&self, site: &Site, id: &str, months: u8, reason: &str) -> Result<RequestRow> {
        let now = self.now();
        let mut row = self.site_request(site, id).await?;
        if row.status != "open" {
            return Err(LedgerError::Invalid("only an open, verified request can be extended".into()));
        }
        if months == 0 || months > MAX_EXTENSION_MONTHS as u8 || row.extended_months > 0 {
            return Err(LedgerError::Invalid("a request is extended once, by one or two months".into()));
        }
        if reason.trim().is_empty() {
            return Err(LedgerError::Invalid("say why the request needs more time".into()));
        }
        let zone = crate::stats::period::zone(&site.timezone);
        if !may_extend(row.received_at, &zone, now) {
            return Err(LedgerError::Refused("an extension must be decided within the first month".into()));
        }
        let due = due_at(row.received_at, &zone, months as i8)
            .ok_or_else(|| LedgerError::Store("cannot compute the deadline".into()))?;
        row.due_at = due;
        row.extended_months = months;
        row.extension_reason = Some(reason.trim().to_owned());
        self.app().save_request(&row).await?;
        let lang = Lang::parse(&row.language).unwrap_or_default();
        let m = mails(lang);
        let day = jiff::Timestamp::from_second(due - 1)
            .map(|t| lang.date(t.to_zoned(zone.clone()).date()))
            .unwrap_or_default();
        let body = fill(m.extension_body, &[("site", &site.domain), ("due", &day), ("reason", reason.trim())]);
        let email = self.request_email(&row)?;
        self.mail(&email, m.extension_subject, body, &[]).await?;
        Ok(row)
    }

    /// Closes a request with what was done (staff, e.g. after a rectification).
    pub async fn close_request(&self, site: &Site, id: &str, outcome: &str, rejected: bool) -> Result<RequestRow> {
        let mut row = self.site_request(site, id).await?;
        if row.closed_at.is_some() {
            return Err(LedgerError::Invalid("this request is closed".into()));
        }
        if outcome.trim().is_empty() {
            return Err(LedgerError::Invalid("say what was done".into()));
        }
        row.status = if rejected { "rejected" } else { "completed" }.into();
        row.closed_at = Some(self.now());
        row.outcome = Some(outcome.trim().to_owned());
        row.sealed_email = None;
        self.app().save_request(&row).await?;
        Ok(row)
    }

    async fn site_request(&self, site: &Site, id: &str) -> Result<RequestRow> {
        match self.app().request(id).await? {
            Some(r) if r.site_id == site.id => Ok(r),
            _ => Err(LedgerError::NotFound(format!("request {id}"))),
        }
    }
}

/// Whether a request is past its due time and still not closed.
pub fn overdue(r: &RequestRow, now: i64) -> bool {
    r.closed_at.is_none() && r.status != "unverified" && now >= r.due_at
}

/// A request as staff see it in a list.
pub fn summary(r: &RequestRow, now: i64) -> serde_json::Value {
    json!({"request": r, "overdue": overdue(r, now)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_means_verified_unanswered_and_past_due() {
        let r = RequestRow {
            id: "rq-1".into(),
            site_id: 1,
            kind: "access".into(),
            channel: "staff".into(),
            email_hmac: String::new(),
            sealed_email: None,
            details: String::new(),
            language: "en".into(),
            received_at: 0,
            due_at: 100,
            extended_months: 0,
            extension_reason: None,
            status: "open".into(),
            code_hash: None,
            code_expires_at: None,
            code_attempts: 0,
            verified_at: Some(1),
            closed_at: None,
            outcome: None,
        };
        assert!(!overdue(&r, 99));
        assert!(overdue(&r, 100));
        assert!(!overdue(&RequestRow { closed_at: Some(50), ..r.clone() }, 200), "answered");
        assert!(!overdue(&RequestRow { status: "unverified".into(), ..r }, 200), "never confirmed by the person");
    }
}
