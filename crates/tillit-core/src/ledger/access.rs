//! The access report (Art. 15) and portable copy (Art. 20): everything Tillit holds about one
//! contact — their fields, every consent event with its evidence and the exact wording they were
//! shown, receipts, messages sent, requests — with the information Art. 15(1)(a)–(h) requires,
//! derived from the same registry the ledger runs on. The report holds facts, not sentences:
//! `tillit-web` words them in the person's language and renders the zip with a readable cover,
//! JSON and CSV.

use std::collections::BTreeMap;

use serde::Serialize;
use tillit_store::app::ledger::{ContactRow, RequestRow, Suppression};
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
    /// Days a consent lasts before it must be renewed (`None`: until withdrawn).
    pub lifetime_days: Option<u32>,
}

/// A kind of data held about the person (Art. 15(1)(b)).
#[derive(Clone, Debug, Serialize)]
pub struct Category {
    /// `email`, `name`, `field`, `consent-records` or `communications`.
    pub kind: String,
    /// For a field: its key and its declared data category.
    pub field: Option<String>,
    pub data_category: Option<String>,
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
    /// Where the data came from (Art. 15(1)(g)): `form`, `widget`, `api`, `admin` or
    /// `import:<source>`.
    pub source: String,
    pub customer_since: Option<i64>,
    /// (a) and (d).
    pub purposes: Vec<PurposeInfo>,
    /// (b).
    pub categories: Vec<Category>,
    /// (c): as configured; empty means no one outside the controller.
    pub recipients: Vec<String>,
    /// (d): the storage rules besides each purpose's lifetime.
    pub retention: super::RetentionRules,
    /// (f): the controller's jurisdiction (ISO 3166-1, or EU).
    pub jurisdiction: String,
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

/// The supervisory authority of a jurisdiction, when Tillit knows it (Art. 77): name and site.
pub fn authority(jurisdiction: &str) -> Option<&'static str> {
    Some(match jurisdiction {
        "NO" => "Datatilsynet (Norway), www.datatilsynet.no",
        "DK" => "Datatilsynet (Denmark), www.datatilsynet.dk",
        "SE" => "Integritetsskyddsmyndigheten, IMY (Sweden), www.imy.se",
        "FI" => "Office of the Data Protection Ombudsman (Finland), tietosuoja.fi",
        "FR" => "Commission nationale de l'informatique et des libertés, CNIL (France), www.cnil.fr",
        "AT" => "Datenschutzbehörde, DSB (Austria), www.dsb.gv.at",
        "IE" => "Data Protection Commission (Ireland), www.dataprotection.ie",
        "NL" => "Autoriteit Persoonsgegevens (Netherlands), autoriteitpersoonsgegevens.nl",
        _ => return None,
    })
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
                lifetime_days: p.lifetime_days,
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
        let kind = |k: &str| Category { kind: k.to_owned(), field: None, data_category: None };
        let mut categories = vec![kind("email")];
        if !view.data.name.is_empty() {
            categories.push(kind("name"));
        }
        for key in view.data.fields.keys() {
            let declared = fields.iter().find(|f| &f.key == key).map(|f| f.data_category.clone());
            categories.push(Category { kind: "field".into(), field: Some(key.clone()), data_category: declared });
        }
        categories.extend([kind("consent-records"), kind("communications")]);
        let requests =
            self.app().requests(site.id).await?.into_iter().filter(|q| q.email_hmac == contact.email_hmac).collect();
        Ok(AccessReport {
            generated_at: self.now(),
            controller: self.inner.controller.name.clone(),
            controller_email: self.inner.controller.email.clone(),
            site: site.domain.clone(),
            source: contact.source.clone(),
            customer_since: contact.customer_since,
            purposes,
            categories,
            recipients: self.inner.controller.recipients.clone(),
            retention: self.inner.controller.retention,
            jurisdiction: self.inner.controller.jurisdiction.clone(),
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
