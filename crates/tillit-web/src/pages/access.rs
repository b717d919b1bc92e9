//! The access bundle (Art. 15 and 20): one zip with a readable cover (`README.html`, the
//! Art. 15(1)(a)–(h) information and a summary), the whole report as `data.json`, and one CSV per
//! table. Used by the preference centre's download and by `tillit contact export`.

use askama::Template;
use tillit_core::ledger::access::AccessReport;

use super::dashboard::export::{line, zip};

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
    generated: String,
    customer_since: String,
    fields: Vec<(String, String)>,
    history: Vec<[String; 5]>,
    messages: Vec<[String; 4]>,
    requests: Vec<[String; 4]>,
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
    let history: Vec<[String; 5]> = c
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
        .collect();
    let messages: Vec<[String; 4]> = r
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
        .collect();
    let requests: Vec<[String; 4]> = r
        .requests
        .iter()
        .map(|q| [utc(q.received_at), q.kind.clone(), q.status.clone(), q.outcome.clone().unwrap_or_default()])
        .collect();
    let cover = Cover {
        r,
        generated: utc(r.generated_at),
        customer_since: opt(r.customer_since),
        fields: fields.clone(),
        history,
        messages,
        requests,
    }
    .render()
    .map_err(|e| e.to_string())?;
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
