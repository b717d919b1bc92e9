//! The mail queue. Marketing messages and campaign requests are written to the store before
//! anything is sent; [`Ledger::deliver_due`] sends what is due, asking the send gate (or, for a
//! campaign's request, the campaign's rule) again before every attempt, so a withdrawal, an
//! objection or an erasure stops mail that is still waiting. A failed attempt is retried after
//! [`BACKOFF`]; a rejection (SMTP 5xx) or [`MAX_ATTEMPTS`] failures end it. Delivery is at least
//! once: a crash between the SMTP server's acceptance and the row's update sends it again.

use serde::Serialize;
use tillit_store::app::outreach::{MailRow, NewMail};
use tracing::warn;

use super::messages::{fill, mails};
use super::{Decision, Ledger, LedgerError, Result, SendPermit};
use crate::i18n::Lang;

/// Seconds to wait after the 1st, 2nd, … failed attempt.
pub const BACKOFF: [i64; 5] = [60, 300, 1_800, 7_200, 43_200];
/// Attempts before a message is given up as failed.
pub const MAX_ATTEMPTS: u32 = BACKOFF.len() as u32 + 1;

/// What one run of the queue did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub sent: u32,
    /// Failed this time, tried again later.
    pub retrying: u32,
    /// The gate said no: not sent, never will be.
    pub cancelled: u32,
    /// Rejected, or out of attempts.
    pub failed: u32,
}

/// The queue's rate limit: a bucket of `per_minute` sends that refills continuously.
#[derive(Debug)]
pub struct Pacer {
    per_minute: u32,
    tokens: f64,
    last_ms: i64,
}

impl Pacer {
    pub fn new(per_minute: u32, now_ms: i64) -> Pacer {
        Pacer { per_minute: per_minute.max(1), tokens: f64::from(per_minute.max(1)), last_ms: now_ms }
    }

    /// How many messages may go now (at least 0, at most a minute's worth).
    pub fn available(&mut self, now_ms: i64) -> u32 {
        let rate = f64::from(self.per_minute) / 60_000.0;
        let elapsed = (now_ms - self.last_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(self.per_minute));
        self.last_ms = now_ms;
        self.tokens.floor() as u32
    }

    /// Spends `n` sends.
    pub fn spend(&mut self, n: u32) {
        self.tokens = (self.tokens - f64::from(n)).max(0.0);
    }
}

/// How one attempt ended.
enum Attempt {
    Sent(String),
    Cancelled(String),
    Failed { permanent: bool, error: String },
}

impl Ledger {
    /// Queues one marketing message the send gate allowed. It goes out with a visible
    /// unsubscribe link plus `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058), and only
    /// if the gate still allows it when its turn comes. Returns the queue id.
    pub async fn send_marketing(&self, permit: SendPermit, subject: &str, body: &str) -> Result<i64> {
        if self.inner.mailer.is_none() {
            return Err(LedgerError::NoMail);
        }
        if subject.trim().is_empty() || subject.len() > 300 || body.trim().is_empty() || body.len() > 100_000 {
            return Err(LedgerError::Invalid("a subject (≤ 300 bytes) and a body (≤ 100 kB) are required".into()));
        }
        let mail = NewMail {
            site_id: permit.site_id,
            contact_id: permit.contact_id,
            purpose_key: permit.purpose_key,
            kind: "marketing".into(),
            campaign_id: None,
            subject: subject.trim().to_owned(),
            body: body.trim_end().to_owned(),
        };
        Ok(self.app().queue_mail(&mail, self.now()).await?)
    }

    /// Sends up to `max` queued messages that are due. Store errors stop the run; a message's
    /// own failure is recorded on it and the run goes on.
    pub async fn deliver_due(&self, max: u32) -> Result<Delivery> {
        let mut report = Delivery::default();
        if max == 0 {
            return Ok(report);
        }
        for mut row in self.app().due_mail(self.now(), max).await? {
            let attempt = self.attempt(&row).await?;
            let now = self.now();
            row.attempts += 1;
            match attempt {
                Attempt::Sent(basis) => {
                    row.status = "sent".into();
                    row.basis = Some(basis);
                    row.sent_at = Some(now);
                    row.last_error = None;
                    report.sent += 1;
                }
                Attempt::Cancelled(why) => {
                    row.status = "cancelled".into();
                    row.last_error = Some(why);
                    report.cancelled += 1;
                }
                Attempt::Failed { permanent, error } => {
                    warn!(id = row.id, attempt = row.attempts, error = %error, "queued email not sent");
                    row.last_error = Some(error);
                    if permanent || row.attempts >= MAX_ATTEMPTS {
                        row.status = "failed".into();
                        report.failed += 1;
                    } else {
                        row.next_attempt_at = now + BACKOFF[(row.attempts - 1) as usize];
                        report.retrying += 1;
                    }
                }
            }
            self.app().update_mail(&row).await?;
        }
        Ok(report)
    }

    async fn attempt(&self, row: &MailRow) -> Result<Attempt> {
        let Some(mailer) = self.inner.mailer.as_ref() else {
            return Ok(Attempt::Failed { permanent: false, error: "email is not configured".into() });
        };
        let contact = match self.app().contact(row.contact_id).await? {
            Some(c) if c.sealed_key.is_some() => c,
            _ => return Ok(Attempt::Cancelled("erased".into())),
        };
        let site = self.site(row.site_id).await?;
        let lang = Lang::parse(&contact.locale).unwrap_or_default();
        let (basis, subject, body, headers) = if row.kind == "permission" {
            match self.compose_request(&site, &contact, row, lang).await? {
                Err(why) => return Ok(Attempt::Cancelled(why)),
                Ok((subject, body)) => {
                    let basis = format!("re-permission campaign {}", row.campaign_id.as_deref().unwrap_or_default());
                    (basis, subject, body, vec![])
                }
            }
        } else {
            let permit = match self.gate(&site, &contact, &row.purpose_key).await? {
                Decision::Denied(why) => return Ok(Attempt::Cancelled(why)),
                Decision::Allowed(p) => p,
            };
            let unsubscribe = self.unsubscribe_link(&contact.public_id, &row.purpose_key);
            // Mail clients POST to the header's URL without a browser (RFC 8058): that endpoint
            // takes the one-click form; people who open the visible link get a page with a button.
            let one_click = unsubscribe.replacen("/unsubscribe/", "/api/unsubscribe/", 1);
            let footer = fill(
                mails(lang).marketing_footer,
                &[("unsubscribe", &unsubscribe), ("preferences", &self.preference_link(&contact))],
            );
            let headers = vec![
                ("List-Unsubscribe", format!("<{one_click}>")),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned()),
            ];
            (permit.reason, row.subject.clone(), format!("{}\n\n-- \n{footer}", row.body), headers)
        };
        let email = self.open_contact(&contact)?.email;
        Ok(match mailer.send_with_headers(&email, &subject, body, &headers).await {
            Ok(()) => Attempt::Sent(basis),
            Err(e) => Attempt::Failed { permanent: e.permanent, error: e.message },
        })
    }
}
