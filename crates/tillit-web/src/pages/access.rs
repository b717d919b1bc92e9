//! The access bundle (Art. 15 and 20): one zip with a readable cover (`README.html`, the
//! Art. 15(1)(a)–(h) information and a summary), the whole report as `data.json`, and one CSV per
//! table. Used by the preference centre's download and by `tillit contact export`.

use askama::Template;
use tillit_core::i18n::Lang;
use tillit_core::ledger::access::{AccessReport, authority};

use super::dashboard::export::{line, zip};
use crate::i18n::Texts;

/// A UTC time as `2026-11-26 08:15 UTC`.
fn utc(t: i64) -> String {
    jiff::Timestamp::from_second(t).map(|ts| ts.strftime("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

fn opt(t: Option<i64>) -> String {
    t.map(utc).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "access_cover.html")]
struct Cover<'a> {
    r: &'a AccessReport,
    t: &'static Texts,
    lang: &'static str,
    title: String,
    intro: String,
    fields: Vec<(String, String)>,
    /// (title, key, version, description, basis, article, how long)
    purposes: Vec<[String; 7]>,
    retention: Vec<String>,
    categories: Vec<String>,
    recipients: Vec<String>,
    complaint: String,
    source: String,
    wording_note: String,
    history: Vec<[String; 5]>,
    messages: Vec<[String; 4]>,
    requests: Vec<[String; 4]>,
}

/// Replaces `{name}` placeholders.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
}

/// The report's facts in the person's words.
fn cover<'a>(r: &'a AccessReport, fields: Vec<(String, String)>) -> Cover<'a> {
    let lang = Lang::parse(&r.contact.locale).unwrap_or_default();
    let t = Texts::of(lang);
    let days = |template: &str, d: u32| fill(template, &[("days", &d.to_string())]);
    let purposes = r
        .purposes
        .iter()
        .map(|p| {
            let how_long = match (p.legal_basis == "consent", p.lifetime_days) {
                (true, Some(d)) => days(t.life_days, d),
                (true, None) => t.life_withdrawn.to_owned(),
                (false, _) => t.life_other.to_owned(),
            };
            [
                p.title.clone(),
                p.key.clone(),
                p.version.to_string(),
                p.description.clone(),
                p.legal_basis.clone(),
                p.article.clone(),
                how_long,
            ]
        })
        .collect();
    let k = r.retention;
    let retention = vec![
        days(t.ret_contacts, k.contact_days),
        days(t.ret_customers, k.customer_days),
        days(t.ret_sends, k.send_log_days),
        t.ret_unconfirmed.to_owned(),
        t.ret_proof.to_owned(),
    ];
    let categories = r
        .categories
        .iter()
        .map(|c| match c.kind.as_str() {
            "email" => t.cat_email.to_owned(),
            "name" => t.cat_name.to_owned(),
            "consent-records" => t.cat_consent.to_owned(),
            "communications" => t.cat_comms.to_owned(),
            _ => format!(
                "{} ({})",
                c.field.as_deref().unwrap_or_default(),
                c.data_category.as_deref().unwrap_or("other")
            ),
        })
        .collect();
    let recipients = if r.recipients.is_empty() {
        vec![fill(t.no_recipients, &[("controller", &r.controller)])]
    } else {
        r.recipients.clone()
    };
    let complaint = match authority(&r.jurisdiction) {
        Some(a) => fill(t.complain_named, &[("authority", a)]),
        None => t.complain_any.to_owned(),
    };
    let mut source = match r.source.as_str() {
        "form" | "widget" => t.src_form.to_owned(),
        "api" => fill(t.src_api, &[("site", &r.site)]),
        "admin" => t.src_admin.to_owned(),
        other => fill(t.src_import, &[("source", other.strip_prefix("import:").unwrap_or(other))]),
    };
    if let Some(since) = r.customer_since {
        source.push(' ');
        source.push_str(&fill(t.customer_since_text, &[("date", &opt(Some(since)))]));
    }
    Cover {
        r,
        t,
        lang: lang.code(),
        title: fill(t.cover_title, &[("controller", &r.controller)]),
        intro: fill(
            t.cover_intro,
            &[
                ("controller", &r.controller),
                ("email", &r.contact.data.email),
                ("site", &r.site),
                ("when", &utc(r.generated_at)),
                ("contact", &r.controller_email),
            ],
        ),
        fields,
        purposes,
        retention,
        categories,
        recipients,
        complaint,
        source,
        wording_note: fill(t.cover_wording_note, &[("n", &r.receipts.len().to_string()), ("url", &r.receipt_keys_url)]),
        history: r
            .contact
            .history
            .iter()
            .map(|e| {
                [
                    utc(e.occurred_at),
                    format!("{} v{}", e.purpose_key, e.purpose_version),
                    e.state.clone(),
                    e.method.clone(),
                    e.collection_point.clone(),
                ]
            })
            .collect(),
        messages: r
            .messages
            .iter()
            .map(|m| {
                [
                    opt(m.sent_at.or(Some(m.created_at))),
                    m.subject.clone(),
                    m.status.clone(),
                    m.basis.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        requests: r
            .requests
            .iter()
            .map(|q| [utc(q.received_at), q.kind.clone(), q.status.clone(), q.outcome.clone().unwrap_or_default()])
            .collect(),
    }
}

fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = String::new();
    line(&mut out, &header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    for row in rows {
        line(&mut out, &row);
    }
    out
}

/// The zip for one report.
pub fn access_bundle(r: &AccessReport) -> Result<Vec<u8>, String> {
    let c = &r.contact;
    let mut fields = vec![("email".to_owned(), c.data.email.clone())];
    if !c.data.name.is_empty() {
        fields.push(("name".to_owned(), c.data.name.clone()));
    }
    fields.extend(c.data.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    let cover = cover(r, fields.clone()).render().map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(r).map_err(|e| e.to_string())?;
    let files = vec![
        ("README.html".to_owned(), cover),
        ("data.json".to_owned(), json),
        ("contact.csv".to_owned(), csv(&["field", "value"], fields.into_iter().map(|(k, v)| vec![k, v]))),
        (
            "consents.csv".to_owned(),
            csv(
                &[
                    "occurred_at",
                    "recorded_at",
                    "purpose",
                    "version",
                    "state",
                    "method",
                    "collection_point",
                    "notice_sha256",
                    "wording",
                    "page_url",
                    "language",
                    "ip_truncated",
                    "evidence",
                    "event_id",
                ],
                c.history.iter().map(|e| {
                    vec![
                        utc(e.occurred_at),
                        utc(e.recorded_at),
                        e.purpose_key.clone(),
                        e.purpose_version.to_string(),
                        e.state.clone(),
                        e.method.clone(),
                        e.collection_point.clone(),
                        e.notice_sha256.clone(),
                        r.notices.get(&e.notice_sha256).cloned().unwrap_or_default(),
                        e.page_url.clone(),
                        e.language.clone(),
                        e.ip_trunc.clone(),
                        e.evidence.clone(),
                        e.event_id.clone(),
                    ]
                }),
            ),
        ),
        (
            "receipts.csv".to_owned(),
            csv(&["receipt_id", "jws"], r.receipts.iter().map(|x| vec![x.id.clone(), x.jws.clone()])),
        ),
        (
            "messages.csv".to_owned(),
            csv(
                &["queued_at", "sent_at", "purpose", "kind", "subject", "status", "basis"],
                r.messages.iter().map(|m| {
                    vec![
                        utc(m.created_at),
                        opt(m.sent_at),
                        m.purpose_key.clone(),
                        m.kind.clone(),
                        m.subject.clone(),
                        m.status.clone(),
                        m.basis.clone().unwrap_or_default(),
                    ]
                }),
            ),
        ),
        (
            "requests.csv".to_owned(),
            csv(
                &["id", "kind", "channel", "received_at", "due_at", "status", "closed_at", "outcome"],
                r.requests.iter().map(|q| {
                    vec![
                        q.id.clone(),
                        q.kind.clone(),
                        q.channel.clone(),
                        utc(q.received_at),
                        utc(q.due_at),
                        q.status.clone(),
                        opt(q.closed_at),
                        q.outcome.clone().unwrap_or_default(),
                    ]
                }),
            ),
        ),
    ];
    zip(&files).map_err(|e| e.to_string())
}
