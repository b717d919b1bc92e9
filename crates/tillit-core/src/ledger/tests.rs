//! The ledger's rules over a real SQLite store (the email paths are covered end to end in
//! `crates/tillit/tests/it/ledger.rs`, against a real SMTP server).

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    site: Site,
    clock: Clock,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let app = AppStore::open_sqlite(&dir.path().join("app.sqlite3")).await.unwrap();
    let site = app.add_site("shop.test", "UTC", 30, 1_000).await.unwrap();
    let keys = LedgerKeys::parse(&LedgerKeys::generate_file().unwrap()).unwrap();
    let clock = Clock::fixed(1_700_000_000);
    let controller = Controller {
        name: "Shop AS".into(),
        email: "dpo@shop.test".into(),
        jurisdiction: "NO".into(),
        recipients: vec!["Mail delivery: Post AS, Norway".into()],
        ..Controller::default()
    };
    let ledger = Ledger::new(app, keys, clock.clone(), None, "http://tillit.test/", controller);
    for (key, basis, lifetime) in [("news", "a", Some(30)), ("offers", "a", None), ("service", "f", None)] {
        let input: PurposeInput = serde_json::from_value(json!({
            "key": key, "legal_basis": basis, "lifetime_days": lifetime,
            "texts": {"en": {"title": format!("{key} title"), "description": format!("What {key} is")},
                      "nb": {"title": format!("{key} tittel"), "description": format!("Hva {key} er")}}
        }))
        .unwrap();
        ledger.save_purpose(&site, input).await.unwrap();
        ledger.publish_purpose(&site, key).await.unwrap();
    }
    let point: PointInput = serde_json::from_value(json!({
        "key": "crm", "kind": "api", "purposes": ["news", "offers"], "double_opt_in": false,
        "intro": {"en": "Keep in touch", "nb": "Hold kontakten"}
    }))
    .unwrap();
    ledger.add_point(&site, point).await.unwrap();
    Fixture { _dir: dir, ledger, site, clock }
}

fn evidence() -> Evidence {
    Evidence {
        page_url: "https://shop.test/signup".into(),
        ip: Some("203.0.113.77".parse().unwrap()),
        user_agent: "Mozilla/5.0 Test".into(),
        lang: Lang::En,
    }
}

async fn sign_up(f: &Fixture, email: &str, purposes: &[&str]) -> Result<SignupOutcome> {
    let form = f.ledger.form(&f.site, "crm", Lang::En).await.unwrap();
    let s = Signup {
        email: email.into(),
        name: Some("Ada".into()),
        purposes: purposes.iter().map(|s| s.to_string()).collect(),
        notice_sha256: form.notice_sha256,
        fields: BTreeMap::new(),
    };
    f.ledger.signup(&f.site, "crm", s, &evidence(), true).await
}

#[tokio::test]
async fn purposes_are_versioned_and_published_versions_are_frozen() {
    let f = fixture().await;
    let change: PurposeInput = serde_json::from_value(json!({
        "key": "news", "legal_basis": "a",
        "texts": {"en": {"title": "News v2", "description": "Weekly now"}}
    }))
    .unwrap();
    let draft = f.ledger.save_purpose(&f.site, change).await.unwrap();
    assert_eq!((draft.version, draft.published_at), (2, None));
    let current = f.ledger.current_purposes(f.site.id).await.unwrap();
    assert_eq!(current["news"].version, 1, "a draft does not replace the published version");
    f.ledger.publish_purpose(&f.site, "news").await.unwrap();
    assert_eq!(f.ledger.current_purposes(f.site.id).await.unwrap()["news"].version, 2);
    assert!(matches!(f.ledger.publish_purpose(&f.site, "news").await, Err(LedgerError::NotFound(_))));
    let all = f.ledger.purposes(&f.site).await.unwrap();
    let v1 = all.iter().find(|p| p.key == "news" && p.version == 1).unwrap();
    assert_eq!(v1.texts["en"].title, "news title", "version 1 kept its words");
}

#[tokio::test]
async fn consent_is_per_purpose_with_the_notice_shown() {
    let f = fixture().await;
    let form = f.ledger.form(&f.site, "crm", Lang::En).await.unwrap();
    let anyone = Signup {
        email: "x@example.com".into(),
        purposes: vec!["news".into()],
        notice_sha256: form.notice_sha256,
        ..Signup::default()
    };
    let err = f.ledger.signup(&f.site, "crm", anyone, &evidence(), false).await.unwrap_err();
    assert!(matches!(err, LedgerError::Refused(_)), "a point without confirmation is only for trusted callers: {err}");
    let err = sign_up(&f, "ada@example.com", &[]).await.unwrap_err();
    assert!(matches!(err, LedgerError::Invalid(ref m) if m.contains("tick")), "{err}");
    let err = sign_up(&f, "ada@example.com", &["service"]).await.unwrap_err();
    assert!(matches!(err, LedgerError::Invalid(_)), "a purpose the form does not ask for");
    let mut stale = Signup { email: "ada@example.com".into(), purposes: vec!["news".into()], ..Signup::default() };
    stale.notice_sha256 = "0".repeat(64);
    assert!(matches!(f.ledger.signup(&f.site, "crm", stale, &evidence(), true).await, Err(LedgerError::Invalid(_))));

    let SignupOutcome::Recorded(events) = sign_up(&f, " Ada@Example.com ", &["news"]).await.unwrap() else {
        panic!("an API point records at once")
    };
    assert_eq!(events.len(), 1, "only the ticked purpose");
    let e = &events[0];
    assert_eq!((e.state.as_str(), e.method.as_str(), e.ip_trunc.as_str()), ("given", "checkbox", "203.0.113.0"));
    let form = f.ledger.form(&f.site, "crm", Lang::En).await.unwrap();
    assert_eq!(e.notice_sha256, form.notice_sha256);
    let body = f.ledger.app().notice(f.site.id, &e.notice_sha256).await.unwrap().unwrap();
    assert!(body.contains("Keep in touch") && body.contains("news title") && body.contains("What offers is"));
    assert!(!e.ua_hash.contains("Mozilla"));

    let view = f.ledger.lookup(&f.site, "ada@example.com").await.unwrap().unwrap();
    assert_eq!((view.data.email.as_str(), view.data.name.as_str()), ("ada@example.com", "Ada"));
    assert_eq!(view.states.len(), 1);
    let (receipt, payload) = f.ledger.receipt(&receipt::receipt_id(e)).await.unwrap();
    assert_eq!(payload["recordHash"], e.hash.as_str());
    assert_eq!(payload["piiPrincipalId"], view.id.as_str());
    assert!(!receipt.jws.contains("ada@"), "receipts carry no email");
}

#[tokio::test]
async fn the_send_gate_follows_consent_withdrawal_expiry_and_objection() {
    let f = fixture().await;
    let allowed = |d: &Decision| matches!(d, Decision::Allowed(_));
    assert!(!allowed(&f.ledger.may_send(&f.site, "ada@example.com", "news").await.unwrap()));
    sign_up(&f, "ada@example.com", &["news", "offers"]).await.unwrap();
    assert!(allowed(&f.ledger.may_send(&f.site, "ada@example.com", "news").await.unwrap()));
    assert!(allowed(&f.ledger.may_send(&f.site, "ada@example.com", "service").await.unwrap()), "legitimate interests");

    // Withdrawal through the link in an email.
    let contact = f
        .ledger
        .app()
        .contact_by_public_id(&f.ledger.lookup(&f.site, "ada@example.com").await.unwrap().unwrap().id)
        .await
        .unwrap()
        .unwrap();
    let link = f.ledger.unsubscribe_link(&contact.public_id, "offers");
    let token = link.rsplit('/').next().unwrap();
    f.ledger.unsubscribe(token, Method::ListUnsubscribePost, &evidence()).await.unwrap();
    match f.ledger.may_send(&f.site, "ada@example.com", "offers").await.unwrap() {
        Decision::Denied(r) => assert_eq!(r, "consent withdrawn"),
        d => panic!("{d:?}"),
    }
    assert!(f.ledger.unsubscribe("x.y", Method::UnsubscribeLink, &evidence()).await.is_err());

    // News lasts 30 days; after that it is expired, in the gate and in the ledger.
    f.clock.set(1_700_000_000 + 31 * 86_400);
    assert!(!allowed(&f.ledger.may_send(&f.site, "ada@example.com", "news").await.unwrap()));
    assert_eq!(f.ledger.expire_lapsed().await.unwrap(), 1);
    assert_eq!(f.ledger.expire_lapsed().await.unwrap(), 0);

    // An objection withdraws everything and no admin can give consent over it.
    sign_up(&f, "ada@example.com", &["news"]).await.unwrap();
    f.ledger.object(&contact, &evidence()).await.unwrap();
    for purpose in ["news", "service"] {
        assert!(!allowed(&f.ledger.may_send(&f.site, "ada@example.com", purpose).await.unwrap()));
    }
    let err = f
        .ledger
        .admin_record(&f.site, "ada@example.com", "news", ConsentState::Given, "phone call 12 May", "user:1")
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Refused(ref m) if m.contains("Art. 21")), "{err}");
    // The person's own choice in the preference centre lifts it.
    f.ledger.choose(&contact, "news", true, Method::PreferenceCentre, &evidence()).await.unwrap();
    assert!(allowed(&f.ledger.may_send(&f.site, "ada@example.com", "news").await.unwrap()));

    let report = f.ledger.verify().await.unwrap();
    assert_eq!(report.first_broken, None);
    assert!(report.events >= 6 && report.receipts >= 5, "{report:?}");
}

#[tokio::test]
async fn preference_links_expire_and_rectification_guards_special_fields() {
    let f = fixture().await;
    f.ledger
        .add_field(
            &f.site,
            FieldInput { key: "city".into(), data_category: "location".into(), special_category: false },
        )
        .await
        .unwrap();
    f.ledger
        .add_field(&f.site, FieldInput { key: "health".into(), data_category: "health".into(), special_category: true })
        .await
        .unwrap();
    sign_up(&f, "bo@example.com", &["news"]).await.unwrap();
    let view = f.ledger.lookup(&f.site, "bo@example.com").await.unwrap().unwrap();
    let contact = f.ledger.app().contact_by_public_id(&view.id).await.unwrap().unwrap();
    let link = f.ledger.preference_link(&contact);
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert_eq!(f.ledger.open_preferences(&token).await.unwrap().id, contact.id);

    let fields = BTreeMap::from([("city".to_owned(), "Bergen".to_owned())]);
    f.ledger.rectify(&contact, "Bo B.", &fields).await.unwrap();
    let special = BTreeMap::from([("health".to_owned(), "asthma".to_owned())]);
    assert!(matches!(f.ledger.rectify(&contact, "Bo B.", &special).await, Err(LedgerError::Refused(_))));
    let export = f.ledger.export(&contact).await.unwrap();
    assert_eq!(export["contact"]["name"], "Bo B.");
    assert_eq!(export["contact"]["fields"]["city"], "Bergen");
    assert_eq!(export["receipts"].as_array().unwrap().len(), 1);

    let prefs = f.ledger.preferences(&contact, Lang::Nb).await.unwrap();
    let news = prefs.choices.iter().find(|c| c.item.key == "news").unwrap();
    assert_eq!((news.item.title.as_str(), news.state.as_deref()), ("news tittel", Some("given")));

    f.clock.set(1_700_000_000 + PREFERENCE_LINK_TTL + 1);
    assert!(matches!(f.ledger.open_preferences(&token).await, Err(LedgerError::InvalidLink)));
}

#[tokio::test]
async fn erasure_destroys_the_person_keeps_the_chain_and_stays_erased() {
    let f = fixture().await;
    sign_up(&f, "eve@example.com", &["news", "offers"]).await.unwrap();
    let before = f.ledger.lookup(&f.site, "eve@example.com").await.unwrap().unwrap();
    let contact = f.ledger.app().contact_by_public_id(&before.id).await.unwrap().unwrap();
    let link = f.ledger.preference_link(&contact);
    let token = link.rsplit('/').next().unwrap().to_owned();

    let erasure = f.ledger.erase(&f.site, "Eve@Example.com", "user:1").await.unwrap();
    assert_eq!(erasure.public_id.as_deref(), Some(before.id.as_str()));
    let (_, receipt) = f.ledger.receipt(&erasure.receipt_id).await.unwrap();
    assert_eq!(receipt["type"], "erasure-receipt");
    assert!(!erasure.jws.contains("eve@"), "the receipt names no email");

    let after = f.ledger.app().contact(contact.id).await.unwrap().unwrap();
    assert_eq!((after.sealed_key, after.sealed), (None, None), "key and fields destroyed");
    assert!(f.ledger.lookup(&f.site, "eve@example.com").await.unwrap().is_none());
    assert!(matches!(f.ledger.open_preferences(&token).await, Err(LedgerError::InvalidLink)));
    assert!(matches!(f.ledger.may_send(&f.site, "eve@example.com", "news").await.unwrap(), Decision::Denied(_)));
    let history = f.ledger.app().consent_history(contact.id).await.unwrap();
    assert_eq!(history.iter().filter(|e| e.method == "erasure" && e.state == "withdrawn").count(), 2);

    // Stays erased: a new signup, an admin record, a preference-centre request add nothing.
    assert!(matches!(sign_up(&f, "eve@example.com", &["news"]).await, Err(LedgerError::Refused(_))));
    let admin =
        f.ledger.admin_record(&f.site, "eve@example.com", "news", ConsentState::Given, "paper form", "user:1").await;
    assert!(matches!(admin, Err(LedgerError::Refused(_))));
    // An address that was never a contact can be erased too (suppressed before it arrives).
    f.ledger.erase(&f.site, "never@example.com", "user:1").await.unwrap();
    assert!(matches!(sign_up(&f, "never@example.com", &["news"]).await, Err(LedgerError::Refused(_))));

    let report = f.ledger.verify().await.unwrap();
    assert_eq!(report.first_broken, None, "the chain still verifies");
}

#[tokio::test]
async fn retention_retires_contacts_without_consent_and_leaves_evidence() {
    let f = fixture().await;
    let rules = RetentionRules { send_log_days: 365, ..RetentionRules::default() };
    sign_up(&f, "keep@example.com", &["offers"]).await.unwrap(); // no lifetime: valid until withdrawn
    sign_up(&f, "gone@example.com", &["news"]).await.unwrap(); // 30-day lifetime
    f.ledger.may_send(&f.site, "gone@example.com", "news").await.unwrap();
    assert_eq!(f.ledger.retention(&rules, true).await.unwrap().iter().map(|r| r.1).sum::<u64>(), 0);

    // 61 days on: news expired after 30 days, then 30 more days without valid consent.
    f.clock.set(1_700_000_000 + 61 * 86_400);
    f.ledger.expire_lapsed().await.unwrap();
    f.clock.set(1_700_000_000 + 92 * 86_400);
    let dry = f.ledger.retention(&RetentionRules { send_log_days: 30, ..rules }, true).await.unwrap();
    assert_eq!(dry.iter().map(|r| r.1).collect::<Vec<_>>(), [0, 1, 1, 0], "{dry:?}");
    assert!(f.ledger.lookup(&f.site, "gone@example.com").await.unwrap().is_some(), "a dry run changes nothing");
    let done = f.ledger.retention(&RetentionRules { send_log_days: 30, ..rules }, false).await.unwrap();
    assert_eq!(done, dry);
    assert!(f.ledger.lookup(&f.site, "gone@example.com").await.unwrap().is_none());
    assert!(f.ledger.lookup(&f.site, "keep@example.com").await.unwrap().is_some(), "valid consent stays");
    // Retired is not erased: the address may sign up again.
    sign_up(&f, "gone@example.com", &["news"]).await.unwrap();
    assert_eq!(f.ledger.verify().await.unwrap().first_broken, None);
}

#[tokio::test]
async fn audit_rows_past_retention_go_behind_a_signed_checkpoint() {
    use crate::accounts::{Accounts, AuditCheck};
    let f = fixture().await;
    let app = f.ledger.app().clone();
    let day = 86_400;
    for (i, at) in
        [1_700_000_000 - 400 * day, 1_700_000_000 - 300 * day, 1_700_000_000 - 10 * day].into_iter().enumerate()
    {
        app.append_audit(at, "operator", "site.add", &format!("site:{i}"), "{}").await.unwrap();
    }
    let rules = RetentionRules { audit_days: 365, ..RetentionRules::default() };
    let audit_rule = |r: &[(String, u64)]| r.iter().find(|(rule, _)| rule.starts_with("audit log")).map(|(_, n)| *n);
    assert_eq!(audit_rule(&f.ledger.retention(&rules, true).await.unwrap()), Some(1), "one row is older than a year");
    assert_eq!(app.audit_entries(0, 10).await.unwrap().len(), 3, "a dry run removes nothing");
    assert_eq!(audit_rule(&f.ledger.retention(&rules, false).await.unwrap()), Some(1));
    let left = app.audit_entries(0, 10).await.unwrap();
    assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);

    let accounts = Accounts::new(app.clone(), f.clock.clone());
    let check = accounts.verify_audit(|c| f.ledger.audit_checkpoint_holds(c)).await.unwrap();
    assert!(matches!(check, AuditCheck::Intact { rows: 2, .. }), "{check:?}");
    let untrusted = accounts.verify_audit(|_| false).await.unwrap();
    assert!(matches!(untrusted, AuditCheck::Broken { seq: 1, .. }), "{untrusted:?}");

    // Another key's checkpoint (or none) does not let anyone cut rows out unnoticed.
    let other = LedgerKeys::parse(&LedgerKeys::generate_file().unwrap()).unwrap();
    let left_hash = left[0].hash.clone();
    let forged = tillit_store::app::accounts::AuditCheckpoint {
        seq: 2,
        hash: left_hash.clone(),
        at: 0,
        jws: other.sign_jws(&json!({"type": "audit-checkpoint", "seq": 2, "hash": left_hash})),
    };
    assert_eq!(app.cut_audit(&forged).await.unwrap(), 1);
    let check = accounts.verify_audit(|c| f.ledger.audit_checkpoint_holds(c)).await.unwrap();
    assert!(matches!(check, AuditCheck::Broken { seq: 2, .. }), "{check:?}");
}
