//! The access report (Art. 15) and portable copy (Art. 20): everything Tillit holds about one
//! contact — their fields, every consent event with its evidence and the exact wording they were
//! shown, receipts, messages sent, requests — with the information Art. 15(1)(a)–(h) requires,
//! derived from the same registry the ledger runs on. `tillit-web` renders it as a zip with a
//! readable cover, JSON and CSV.

use std::collections::BTreeMap;

use serde::Serialize;
use tillit_store::app::ledger::{ContactRow, PurposeRow, RequestRow, Suppression};
use tillit_store::app::outreach::MailRow;

use super::model::LegalBasis;
use super::{ContactView, Ledger, Result, pick, receipt};
use crate::i18n::Lang;

/// A purpose the person met, as Art. 15(1)(a) and (d) describe it.
#[derive(Clone, Debug, Serialize)]
pub struct PurposeInfo {
    pub key: String,
    pub version: u32,
    pub title: String,
    pub description: String,
    pub legal_basis: String,
    pub article: String,
    pub channel: String,
    pub data_categories: Vec<String>,
    /// How long a consent lasts before it must be renewed.
    pub lifetime: String,
}

/// A signed receipt.
#[derive(Clone, Debug, Serialize)]
pub struct ReceiptCopy {
    pub id: String,
    pub jws: String,
}

/// Everything held about one contact, with the Art. 15(1) information.
#[derive(Clone, Debug, Serialize)]
pub struct AccessReport {
    pub generated_at: i64,
    pub controller: String,
    pub controller_email: String,
    pub site: String,
    pub contact: ContactView,
    /// Where the data came from (Art. 15(1)(g)).
    pub source: String,
    pub customer_since: Option<i64>,
    /// (a) and (d).
    pub purposes: Vec<PurposeInfo>,
    /// (b): category and what it holds here.
    pub categories: Vec<(String, String)>,
    /// (c).
    pub recipients: Vec<String>,
    /// (d): the storage rules besides each purpose's lifetime.
    pub retention: Vec<String>,
    /// (f).
    pub authority: String,
    /// The exact wording shown, by its SHA-256 (as the ledger rows name it).
    pub notices: BTreeMap<String, String>,
    pub receipts: Vec<ReceiptCopy>,
    pub messages: Vec<MailRow>,
    pub requests: Vec<RequestRow>,
    pub suppressions: Vec<Suppression>,
    /// Where to act on the rights (e): the preference centre and the request form.
    pub preferences_url: String,
    pub requests_url: String,
    pub receipt_keys_url: String,
}

/// The supervisory authority a person may complain to (Art. 77), by the controller's jurisdiction.
pub fn authority(jurisdiction: &str) -> String {
    let named = match jurisdiction {
        "NO" => "Datatilsynet (Norway), www.datatilsynet.no",
        "DK" => "Datatilsynet (Denmark), www.datatilsynet.dk",
        "SE" => "Integritetsskyddsmyndigheten, IMY (Sweden), www.imy.se",
        "FI" => "Office of the Data Protection Ombudsman (Finland), tietosuoja.fi",
        "FR" => "Commission nationale de l'informatique et des libertés, CNIL (France), www.cnil.fr",
        "AT" => "Datenschutzbehörde, DSB (Austria), www.dsb.gv.at",
        "DE" => "the data protection authority of the controller's Land (Germany)",
        "IE" => "Data Protection Commission (Ireland), www.dataprotection.ie",
        "NL" => "Autoriteit Persoonsgegevens (Netherlands), autoriteitpersoonsgegevens.nl",
        _ => "",
    };
    let anywhere = "the supervisory authority of the EU/EEA country where you live, work, or where the alleged infringement took place";
    if named.is_empty() {
        format!("You may complain to {anywhere}.")
    } else {
        format!("You may complain to {named}, or to {anywhere}.")
    }
}

fn lifetime(p: &PurposeRow) -> String {
    match (p.legal_basis == LegalBasis::Consent.as_str(), p.lifetime_days) {
        (true, Some(d)) => format!("consent lasts {d} days, then lapses unless you renew it"),
        (true, None) => "until you withdraw your consent".into(),
        (false, _) => "while the basis applies, and until you object".into(),
    }
}

impl Ledger {
    /// Everything held about a contact, with the Art. 15(1)(a)–(h) information.
    pub async fn access_report(&self, contact: &ContactRow) -> Result<AccessReport> {
        let site = self.site(contact.site_id).await?;
        let view = self.view(contact).await?;
        let lang = Lang::parse(&contact.locale).unwrap_or_default();
        let all = self.app().purposes(site.id).await?;
        let mut purposes = Vec::new();
        for p in &all {
            let met = view.history.iter().any(|e| e.purpose_id == p.id);
            if !met {
                continue;
            }
            let text = pick(&p.texts, lang);
            purposes.push(PurposeInfo {
                key: p.key.clone(),
                version: p.version,
                title: text.map(|t| t.title.clone()).unwrap_or_else(|| p.key.clone()),
                description: text.map(|t| t.description.clone()).unwrap_or_default(),
                legal_basis: p.legal_basis.clone(),
                article: p.legal_basis.parse::<LegalBasis>().map(|b| b.article().to_owned()).unwrap_or_default(),
                channel: p.channel.clone(),
                data_categories: p.data_categories.clone(),
                lifetime: lifetime(p),
            });
        }
        let mut notices = BTreeMap::new();
        for e in &view.history {
            if !e.notice_sha256.is_empty()
                && !notices.contains_key(&e.notice_sha256)
                && let Some(body) = self.app().notice(site.id, &e.notice_sha256).await?
            {
                notices.insert(e.notice_sha256.clone(), body);
            }
        }
        let mut receipts = Vec::new();
        for e in view.history.iter().filter(|e| receipt::has_receipt(&e.state)) {
            if let Some(r) = self.app().receipt(&receipt::receipt_id(e)).await? {
                receipts.push(ReceiptCopy { id: r.receipt_id, jws: r.jws });
            }
        }
        let fields = self.app().contact_fields(site.id).await?;
        let mut categories = vec![
            ("contact data".to_owned(), "your email address".to_owned()),
            (
                "consent records".to_owned(),
                "what you agreed to or declined, when, where and with what wording; a shortened network address (the last part removed) and a keyed fingerprint of your browser's name, never the full address or name".to_owned(),
            ),
            ("communications".to_owned(), "which messages were sent to you, when, and under which consent".to_owned()),
        ];
        if !view.data.name.is_empty() {
            categories.insert(1, ("identity".to_owned(), "your name".to_owned()));
        }
        for key in view.data.fields.keys() {
            let category = fields.iter().find(|f| &f.key == key).map_or("other", |f| f.data_category.as_str());
            categories.push((category.to_owned(), format!("the field {key}")));
        }
        let source = match contact.source.as_str() {
            "form" | "widget" => "from you, through a signup form".to_owned(),
            "api" => format!("from you, through {}'s own systems", site.domain),
            "admin" => "entered by staff, with the evidence shown in the consent records".to_owned(),
            other => match other.strip_prefix("import:") {
                Some(s) => format!(
                    "imported from another system of the controller (source: {s}), not collected from you directly here"
                ),
                None => other.to_owned(),
            },
        };
        let r = self.inner.controller.retention;
        let retention = vec![
            format!("Without any valid consent, your details are removed after {} days.", r.contact_days),
            format!(
                "As an existing customer, your details may be kept for {} days after your last purchase.",
                r.customer_days
            ),
            format!("Records of decisions to send you a message are kept {} days.", r.send_log_days),
            "Unconfirmed signups are deleted after 7 days.".to_owned(),
            "Consent records without your details are kept as proof while the controller may need to show them; once your details are erased they cannot be linked to you.".to_owned(),
        ];
        let requests =
            self.app().requests(site.id).await?.into_iter().filter(|q| q.email_hmac == contact.email_hmac).collect();
        let recipients = if self.inner.controller.recipients.is_empty() {
            vec![format!("No one outside {}.", self.inner.controller.name)]
        } else {
            self.inner.controller.recipients.clone()
        };
        Ok(AccessReport {
            generated_at: self.now(),
            controller: self.inner.controller.name.clone(),
            controller_email: self.inner.controller.email.clone(),
            site: site.domain.clone(),
            source,
            customer_since: contact.customer_since,
            purposes,
            categories,
            recipients,
            retention,
            authority: authority(&self.inner.controller.jurisdiction),
            notices,
            receipts,
            messages: self.app().contact_mail(contact.id).await?,
            requests,
            suppressions: self.app().suppressions(site.id, &contact.email_hmac).await?,
            preferences_url: self.preference_link(contact),
            requests_url: format!("{}/requests/site/{}", self.inner.public_url, site.domain),
            receipt_keys_url: format!("{}/.well-known/jwks.json", self.inner.public_url),
            contact: view,
        })
    }
}
