//! Outgoing email over SMTP (lettre): account links, consent confirmations and receipts, and
//! marketing messages (which only `ledger::Ledger::send_marketing` sends, past the send gate).
//! Configured with one URL, e.g. `smtp://127.0.0.1:2525`,
//! `smtp://user:pass@mail.example.com:587?tls=required` or `smtps://user:pass@mail.example.com`.

use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why a message was not sent, without the server's words (see [`describe`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    /// Trying again will not help: the server rejected the message or recipient (SMTP 5xx), or
    /// the message itself is malformed.
    pub permanent: bool,
    pub message: String,
}

impl MailError {
    fn permanent(message: impl Into<String>) -> MailError {
        MailError { permanent: true, message: message.into() }
    }
}

/// Sends plain-text email through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds credentials: never print it.
        f.debug_struct("Mailer").field("from", &self.from.email.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("invalid SMTP URL: {e}"))?
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| format!("invalid sender address {from:?}: {e}"))?;
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        self.send_with_headers(to, subject, body, &[]).await
    }

    /// Sends with extra headers (`List-Unsubscribe`, …), given as ASCII names and values.
    pub async fn send_with_headers(
        &self,
        to: &str,
        subject: &str,
        body: String,
        headers: &[(&str, String)],
    ) -> Result<(), MailError> {
        let to = to.parse::<Mailbox>().map_err(|e| MailError::permanent(format!("invalid recipient: {e}")))?;
        let mut builder = Message::builder().from(self.from.clone()).to(to).subject(subject);
        for (name, value) in headers {
            let name =
                HeaderName::new_from_ascii((*name).to_owned()).map_err(|e| MailError::permanent(e.to_string()))?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        let message =
            builder.header(ContentType::TEXT_PLAIN).body(body).map_err(|e| MailError::permanent(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError { permanent: e.is_permanent(), message: describe(&e) })
    }
}

/// What went wrong, without the server's words: SMTP replies often quote the recipient's address,
/// and these messages end up in logs.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let code = e.status().map(|c| format!(" (SMTP {c})")).unwrap_or_default();
    let kind = if e.is_permanent() {
        "rejected by the SMTP server"
    } else if e.is_transient() {
        "temporarily refused by the SMTP server"
    } else if e.is_timeout() {
        "the SMTP server timed out"
    } else if e.is_tls() {
        "TLS with the SMTP server failed"
    } else {
        "cannot talk to the SMTP server"
    };
    format!("{kind}{code}")
}
