//! Contact import (Art. 14): people from another tool's export, one row at a time. The source is
//! recorded on every contact; consent is recorded only where the row carries evidence for it (when,
//! how, and the exact wording shown), and is otherwise left out, the contact marked as needing
//! permission. Suppressed people (erased or objecting) are refused, and nobody is imported twice.
//! Reading the file (encodings, delimiters, column names) is the command line's job.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use serde_json::json;
use tillit_store::app::AppStoreError;
use tillit_store::app::Site;
use tillit_store::app::ledger::{ContactFieldRow, ContactRow, PurposeRow};

use super::model::{ConsentState, LegalBasis, Method, normalise_email};
use super::{ContactData, Ledger, LedgerError, LedgerWrite, Result, sha256_hex, truncate_ip};
use crate::i18n::Lang;

/// What applies to every row of one import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Where the file came from, as recorded on each contact (`import:<source>`).
    pub source: String,
    /// The purpose the file's consent evidence is for.
    pub purpose: Option<String>,
    /// The wording people were shown, when the file has no column for it.
    pub wording: Option<String>,
    /// The method, when the file has no column for it.
    pub method: Option<String>,
    /// Every row is an existing customer (since the import, unless a row says when).
    pub customers: bool,
    pub dry_run: bool,
}

/// One row, already decoded and mapped to Tillit's names.
#[derive(Clone, Debug, Default)]
pub struct ImportRow {
    pub email: String,
    pub name: String,
    pub language: String,
    pub fields: BTreeMap<String, String>,
    pub consent_time: String,
    pub consent_method: String,
    pub consent_wording: String,
    pub consent_ip: String,
    pub customer_since: String,
}

/// What became of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    /// Imported with a consent backed by the row's evidence.
    WithConsent,
    /// Imported without consent (needs permission), and why there is none.
    NeedsPermission(String),
    Skipped(String),
}

/// Parses the times exports use: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (UTC) or a date.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Some(ts.as_second());
    }
    if let Ok(dt) = t.replace('T', " ").parse::<DateTime>() {
        return dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_second());
    }
    let date = t.parse::<Date>().ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_second())
}

/// Maps the method names exports use onto Tillit's.
fn parse_method(text: &str) -> Option<Method> {
    let t: String = text.trim().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    match t.as_str() {
        "doubleoptin" | "doi" | "confirmed" | "confirmedoptin" => Some(Method::DoubleOptIn),
        "checkbox" | "singleoptin" | "optin" | "form" | "webform" | "signupform" => Some(Method::Checkbox),
        _ => None,
    }
}

/// One file's import: the site's registry read once, the addresses met so far remembered.
pub struct Importer {
    ledger: Ledger,
    site: Site,
    opts: ImportOptions,
    fields: Vec<ContactFieldRow>,
    /// The purpose the file's consent evidence is for.
    purpose: Option<PurposeRow>,
    /// Keyed hashes of the addresses met so far in the file.
    seen: HashSet<String>,
    /// Notices already stored by this import (a file usually shows one wording).
    notices: HashSet<String>,
}

impl Ledger {
    /// Starts an import into `site`. The purpose, if any, must be published and rest on consent.
    pub async fn importer(&self, site: &Site, opts: ImportOptions) -> Result<Importer> {
        let source = opts.source.trim();
        if source.is_empty() || source.len() > 100 || source.chars().any(char::is_control) {
            return Err(LedgerError::Invalid("the source is 1–100 printable characters, e.g. crm-2026-11".into()));
        }
        let purpose = match &opts.purpose {
            None => None,
            Some(key) => {
                let mut current = self.current_purposes(site.id).await?;
                let p = current.remove(key).ok_or_else(|| LedgerError::NotFound(format!("published purpose {key}")))?;
                if p.legal_basis != LegalBasis::Consent.as_str() {
                    return Err(LedgerError::Invalid(format!("{key} does not rest on consent")));
                }
                Some(p)
            }
        };
        Ok(Importer {
            ledger: self.clone(),
            site: site.clone(),
            fields: self.app().contact_fields(site.id).await?,
            opts,
            purpose,
            seen: HashSet::new(),
            notices: HashSet::new(),
        })
    }
}

impl Importer {
    /// Imports one row (or, with `dry_run`, says what importing it would do).
    pub async fn row(&mut self, row: &ImportRow) -> Result<RowOutcome> {
        let (ledger, site, opts) = (&self.ledger, &self.site, &self.opts);
        let now = ledger.now();
        if row.email.trim().is_empty() {
            return Ok(RowOutcome::Skipped("no email".into()));
        }
        let Ok(email) = normalise_email(&row.email) else {
            return Ok(RowOutcome::Skipped("invalid email".into()));
        };
        let hmac = ledger.inner.keys.email_lookup(site.id, &email);
        if !self.seen.insert(hmac.clone()) {
            return Ok(RowOutcome::Skipped("duplicate in file".into()));
        }
        let suppressions = ledger.app().suppressions(site.id, &hmac).await?;
        if suppressions.iter().any(|s| s.reason == "erasure") {
            return Ok(RowOutcome::Skipped("erased (suppressed)".into()));
        }
        if suppressions.iter().any(|s| s.scope == "all") {
            return Ok(RowOutcome::Skipped("objected (suppressed)".into()));
        }
        if ledger.app().contact_by_email(site.id, &hmac).await?.is_some() {
            return Ok(RowOutcome::Skipped("already a contact".into()));
        }
        for key in row.fields.keys() {
            match self.fields.iter().find(|f| &f.key == key) {
                None => return Ok(RowOutcome::Skipped(format!("unknown field {key}"))),
                // Art. 9 data needs explicit consent given here, not a column in someone's export.
                Some(f) if f.special_category => {
                    return Ok(RowOutcome::Skipped(format!("special-category field {key}")));
                }
                Some(_) => {}
            }
        }
        let customer_since = match (row.customer_since.trim(), opts.customers) {
            ("", false) => None,
            ("", true) => Some(now),
            (text, _) => match parse_time(text) {
                Some(t) if t <= now => Some(t),
                _ if opts.customers => Some(now),
                // Truthy flags ("yes", "1", "x") count from now; anything else is not a customer.
                _ if matches!(text.to_lowercase().as_str(), "yes" | "y" | "true" | "1" | "x" | "ja") => Some(now),
                _ => None,
            },
        };
        let consent = self.consent(row, now).await?;
        if opts.dry_run {
            return Ok(match consent {
                Ok(_) => RowOutcome::WithConsent,
                Err(why) => RowOutcome::NeedsPermission(why),
            });
        }
        // The wording is stored before anything points to it (once per import).
        if let Ok((_, _, sha256, _, wording)) = &consent
            && self.notices.insert(sha256.clone())
        {
            ledger.app().put_notice(site.id, sha256, "und", wording, now).await?;
        }
        let lang = Lang::parse(row.language.trim()).unwrap_or_default();
        let data = ContactData { email, name: row.name.trim().to_owned(), fields: row.fields.clone() };
        let mut contact = ContactRow {
            customer_since,
            needs_permission: consent.is_err(),
            ..ledger.new_contact(site.id, &data, lang, &format!("import:{}", opts.source))?
        };
        contact = match ledger.app().insert_new_contact(&contact).await {
            Ok(c) => c,
            // Someone signed up between the check and now.
            Err(AppStoreError::Conflict(_)) => return Ok(RowOutcome::Skipped("already a contact".into())),
            Err(e) => return Err(e.into()),
        };
        let (purpose, (occurred_at, method, notice_sha256, ip, _)) = match (&self.purpose, consent) {
            (Some(p), Ok(c)) => (p, c),
            (_, Err(why)) => return Ok(RowOutcome::NeedsPermission(why)),
            (None, Ok(_)) => return Ok(RowOutcome::NeedsPermission("no purpose given for consent".into())),
        };
        let evidence = json!({
            "source": opts.source,
            "method_in_file": row.consent_method.trim(),
            "time_in_file": row.consent_time.trim(),
        });
        let actor = format!("import:{}", opts.source);
        let mut e = ledger.new_event(site, &contact, purpose, ConsentState::Given, method, &evidence, &actor);
        e.collection_point = actor.clone();
        e.notice_sha256 = notice_sha256;
        e.language = lang.code().to_owned();
        e.ip_trunc = ip;
        e.occurred_at = occurred_at;
        e.expires_at = purpose.lifetime_days.map(|d| occurred_at + i64::from(d) * 86_400);
        ledger.write(site, &contact, vec![e], LedgerWrite::default()).await?;
        Ok(RowOutcome::WithConsent)
    }

    /// The consent a row proves: `(when, method, notice hash, truncated ip, wording)`, or why it
    /// proves none.
    async fn consent(
        &self,
        row: &ImportRow,
        now: i64,
    ) -> Result<std::result::Result<(i64, Method, String, String, String), String>> {
        let Some(purpose) = &self.purpose else {
            return Ok(Err("no purpose given for consent".into()));
        };
        let time = row.consent_time.trim();
        if time.is_empty() {
            return Ok(Err("no consent time".into()));
        }
        let Some(at) = parse_time(time).filter(|t| *t <= now) else {
            return Ok(Err("unreadable consent time".into()));
        };
        let method_text = if row.consent_method.trim().is_empty() {
            self.opts.method.clone().unwrap_or_default()
        } else {
            row.consent_method.clone()
        };
        let Some(method) = parse_method(&method_text) else {
            return Ok(Err("no consent method".into()));
        };
        let wording = if row.consent_wording.trim().is_empty() {
            self.opts.wording.clone().unwrap_or_default()
        } else {
            row.consent_wording.clone()
        };
        if wording.trim().is_empty() {
            return Ok(Err("no consent wording".into()));
        }
        if purpose.lifetime_days.is_some_and(|d| at + i64::from(d) * 86_400 <= now) {
            return Ok(Err("consent lapsed".into()));
        }
        let notice = sha256_hex(wording.trim());
        let ip = row.consent_ip.trim().parse().map(truncate_ip).unwrap_or_default();
        Ok(Ok((at, method, notice, ip, wording.trim().to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_times_and_methods_are_read() {
        assert_eq!(parse_time("2024-03-01T10:00:00Z"), Some(1_709_287_200));
        assert_eq!(parse_time("2024-03-01 10:00:00"), Some(1_709_287_200));
        assert_eq!(parse_time("2024-03-01"), Some(1_709_251_200));
        assert_eq!(parse_time("01/03/2024"), None);
        assert_eq!(parse_method("Double opt-in"), Some(Method::DoubleOptIn));
        assert_eq!(parse_method("single_opt_in"), Some(Method::Checkbox));
        assert_eq!(parse_method("bought a list"), None);
    }
}
