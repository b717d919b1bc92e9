//! Consent receipts: the person's copy of a given or withdrawn consent. The payload carries the
//! Kantara Consent Receipt v1.1 fields, extended with the ISO/IEC TS 27560 record details Tillit
//! keeps (record id and hash, notice hash, purpose version, state, legal basis); it is signed as
//! a compact JWS with the ledger's Ed25519 key, which `/.well-known/jwks.json` publishes.

use serde_json::{Value, json};

use tillit_store::app::ledger::{ConsentEvent, PurposeRow, ReceiptRow};

use super::keys::LedgerKeys;
use super::model::LegalBasis;

/// Who the controller is, for receipts and notices.
#[derive(Clone, Debug, Default)]
pub struct Controller {
    pub name: String,
    pub email: String,
    /// ISO 3166-1 alpha-2 code, or "EU".
    pub jurisdiction: String,
    /// Who receives contacts' data besides the controller (Art. 15(1)(c)).
    pub recipients: Vec<String>,
    /// How long the ledger keeps what (Art. 15(1)(d)).
    pub retention: super::RetentionRules,
}

/// What a receipt says besides its event and purpose.
#[derive(Clone, Copy)]
pub struct ReceiptContext<'a> {
    pub controller: &'a Controller,
    pub site_domain: &'a str,
    pub public_url: &'a str,
    /// The contact's public id (never their email: receipts are kept after erasure).
    pub principal: &'a str,
}

/// Whether an event in this state gets a receipt.
pub fn has_receipt(state: &str) -> bool {
    matches!(state, "given" | "renewed" | "withdrawn")
}

/// The receipt of `event` (which must be sealed: its hash is part of the payload).
pub fn payload(event: &ConsentEvent, purpose: &PurposeRow, ctx: &ReceiptContext<'_>) -> Value {
    let ReceiptContext { controller, site_domain, public_url, principal } = *ctx;
    let text = purpose.texts.get(&event.language).or_else(|| purpose.texts.get("en"));
    let title = text.map(|t| t.title.as_str()).unwrap_or(&purpose.key);
    let basis = purpose.legal_basis.parse::<LegalBasis>().map(LegalBasis::article).unwrap_or("");
    let termination = match purpose.lifetime_days {
        Some(days) => format!("until withdrawn, at most {days} days, then renewed or expired"),
        None => "until withdrawn".to_owned(),
    };
    json!({
        "version": "KI-CR-v1.1.0",
        "jurisdiction": controller.jurisdiction,
        "consentTimestamp": event.occurred_at,
        "collectionMethod": format!("{} at {}", event.method, event.collection_point),
        "consentReceiptID": receipt_id(event),
        "language": event.language,
        "piiPrincipalId": principal,
        "piiControllers": [{
            "piiController": controller.name,
            "onBehalf": false,
            "contact": controller.email,
            "email": controller.email,
            "piiControllerUrl": format!("https://{site_domain}"),
        }],
        "policyUrl": format!("https://{site_domain}"),
        "services": [{
            "service": site_domain,
            "purposes": [{
                "purpose": title,
                "purposeCategory": ["6 - Marketing"],
                "consentType": if purpose.special_category { "EXPLICIT" } else { "EXPRESSED" },
                "piiCategory": purpose.data_categories,
                "primaryPurpose": true,
                "termination": termination,
                "thirdPartyDisclosure": false,
            }],
        }],
        "sensitive": purpose.special_category,
        "spiCat": if purpose.special_category { purpose.data_categories.clone() } else { Vec::new() },
        // ISO/IEC TS 27560 record details.
        "iat": event.recorded_at,
        "recordId": event.event_id,
        "recordSeq": event.seq,
        "recordHash": event.hash,
        "eventState": event.state,
        "purposeKey": purpose.key,
        "purposeVersion": purpose.version,
        "lawfulBasis": basis,
        "noticeHash": event.notice_sha256,
        "withdrawalMethod": format!("{public_url}/preferences/site/{site_domain}"),
    })
}

/// A receipt's id, derived from its event so that it never needs storing apart from it.
pub fn receipt_id(event: &ConsentEvent) -> String {
    format!("cr-{}", event.event_id)
}

/// Signs `event`'s receipt if its state gets one.
pub fn sign(
    keys: &LedgerKeys,
    event: &ConsentEvent,
    purpose: &PurposeRow,
    ctx: &ReceiptContext<'_>,
) -> Option<ReceiptRow> {
    has_receipt(&event.state).then(|| ReceiptRow {
        seq: event.seq,
        receipt_id: receipt_id(event),
        jws: keys.sign_jws(&payload(event, purpose, ctx)),
    })
}
