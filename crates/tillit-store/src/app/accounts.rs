//! Rows of the accounts part of the application store: users and their roles, sessions, email
//! tokens, shared links and the audit log. Access rules live in `tillit_core::access`; this module
//! only stores and returns what they need.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// A role on one site (`site_id` set) or on every site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleRow {
    pub site_id: Option<u32>,
    pub role: String,
}

/// A user as listed: never the password hash or TOTP secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub two_factor: bool,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    /// The UI language the user chose (`None`: follow the browser).
    pub locale: Option<String>,
    pub roles: Vec<RoleRow>,
}

/// A user with what proves who they are, for sign-in.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_pending: Option<Vec<u8>>,
}

/// The user behind a live session.
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub user: User,
    pub second_factor_due: bool,
    pub created_at: i64,
}

/// What an email token was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    Reset,
    Invite,
}

impl TokenPurpose {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Reset => "reset",
            TokenPurpose::Invite => "invite",
        }
    }
}

/// A single-use token to store (by its hash) before it is mailed.
#[derive(Clone, Debug)]
pub struct NewEmailToken<'a> {
    pub token_hash: &'a str,
    pub purpose: TokenPurpose,
    /// The account a reset is for.
    pub user_id: Option<i64>,
    pub email: &'a str,
    /// The role an invitation grants.
    pub role: Option<&'a RoleRow>,
    pub expires_at: i64,
}

/// A single-use token sent by email, once taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailToken {
    pub user_id: Option<i64>,
    pub email: String,
    pub role: Option<String>,
    pub site_id: Option<u32>,
}

/// A shared dashboard link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SharedLink {
    pub id: i64,
    pub site_id: u32,
    pub slug: String,
    pub name: String,
    pub has_password: bool,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub allow_embed: bool,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// A JSON object with the details of the action.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Where the audit log starts after retention removed older rows: the last removed row's seq and
/// hash, and the signed statement of both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditCheckpoint {
    pub seq: i64,
    pub hash: String,
    pub at: i64,
    pub jws: String,
}

/// The `prev_hash` of the first audit row.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an audit row: SHA-256 over the previous hash and every field, each prefixed with
/// its length so that no two different rows can encode to the same bytes.
pub fn audit_hash(prev_hash: &str, seq: i64, at: i64, actor: &str, action: &str, target: &str, detail: &str) -> String {
    let mut h = Sha256::new();
    for field in [
        prev_hash.as_bytes(),
        &seq.to_le_bytes(),
        &at.to_le_bytes(),
        actor.as_bytes(),
        action.as_bytes(),
        target.as_bytes(),
        detail.as_bytes(),
    ] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl AuditEntry {
    /// Whether the row's hash matches its fields and `prev_hash`.
    pub fn is_sealed(&self) -> bool {
        self.hash
            == audit_hash(&self.prev_hash, self.seq, self.at, &self.actor, &self.action, &self.target, &self.detail)
    }
}
