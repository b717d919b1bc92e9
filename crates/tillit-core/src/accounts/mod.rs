//! Accounts: users and their roles, sign-in with password and optional TOTP, sessions, password
//! resets and invitations by single-use email tokens, and the audit log of it all.
//!
//! Everything secret is random and stored hashed (see [`crate::secret`]); sign-in answers the same
//! way, after the same work, whether or not the account exists.

pub mod keys;
pub mod password;
pub mod throttle;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use totp_rs::{Algorithm, Totp};

use tillit_store::app::accounts::{
    AUDIT_GENESIS, AuditCheckpoint, AuditEntry, NewEmailToken, RoleRow, SessionUser, TokenPurpose, User,
};
use tillit_store::app::{AppStore, AppStoreError};

use crate::access::{Actor, Principal, Role};
use crate::secret::{random_hex, token_hash};
use crate::time::Clock;

use self::throttle::Throttle;

/// How long a signed-in session lasts.
pub const SESSION_TTL: i64 = 14 * 24 * 3600;
/// How long a session that passed the password may wait for the TOTP code.
pub const SECOND_FACTOR_TTL: i64 = 10 * 60;
/// How long a password-reset link works.
pub const RESET_TTL: i64 = 3600;
/// How long an invitation works.
pub const INVITE_TTL: i64 = 7 * 24 * 3600;
/// Recovery codes issued with two-factor authentication.
pub const RECOVERY_CODES: usize = 10;

const REQUIRE_2FA: &str = "require_two_factor";

/// Why an account operation failed. Messages are safe to show to the person asking.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The same answer for an unknown email, a disabled account and a wrong password.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("invalid or expired code")]
    InvalidCode,
    #[error("this link is invalid, used or expired")]
    InvalidToken,
    #[error("too many attempts; try again in {retry_after} s")]
    Throttled { retry_after: i64 },
    #[error("{0}")]
    Invalid(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("application store: {0}")]
    Store(String),
}

impl From<AppStoreError> for AuthError {
    fn from(e: AppStoreError) -> AuthError {
        match e {
            AppStoreError::Conflict(what) => AuthError::Conflict(what),
            AppStoreError::NotFound(what) => AuthError::NotFound(what),
            AppStoreError::Backend(e) => AuthError::Store(e),
        }
    }
}

/// The result of a correct password: a session, possibly still waiting for the second factor.
#[derive(Debug)]
pub struct SignIn {
    /// The cookie value; shown once, stored hashed.
    pub token: String,
    pub second_factor_due: bool,
    pub user: User,
}

/// A TOTP secret being set up: shown to the user once, to enter into an authenticator app.
#[derive(Debug)]
pub struct TotpSetup {
    pub secret_base32: String,
    pub otpauth_uri: String,
}

/// What `verify_audit` found.
#[derive(Debug, PartialEq, Eq)]
pub enum AuditCheck {
    Intact {
        rows: u64,
        head: String,
    },
    /// The first row that does not chain, and why.
    Broken {
        seq: i64,
        reason: String,
    },
}

/// The accounts service. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    app: AppStore,
    clock: Clock,
    throttle: Arc<Throttle>,
    /// Reset requests, counted apart from sign-in failures: they bound the email anyone can make
    /// Tillit send to an address, and must not lock the account's sign-in.
    reset_throttle: Arc<Throttle>,
    /// The last TOTP time step accepted per user, so a code cannot be replayed.
    totp_steps: Arc<Mutex<HashMap<i64, u64>>>,
}

impl Accounts {
    pub fn new(app: AppStore, clock: Clock) -> Accounts {
        Accounts { app, clock, throttle: Arc::default(), reset_throttle: Arc::default(), totp_steps: Arc::default() }
    }

    pub fn store(&self) -> &AppStore {
        &self.app
    }

    /// Whether no user exists yet (the first-run setup is open).
    pub async fn needs_setup(&self) -> Result<bool, AuthError> {
        Ok(self.app.count_users().await? == 0)
    }

    /// Creates the first owner; refused once any user exists.
    pub async fn setup_owner(&self, email: &str, password: &str) -> Result<User, AuthError> {
        let email = check_email(email)?;
        password::check_new(password)?;
        let hash = hash_blocking(password).await?;
        let roles = [RoleRow { site_id: None, role: Role::Owner.as_str().to_owned() }];
        let user = self.app.add_user(&email, &hash, &roles, true, self.clock.now()).await.map_err(|e| match e {
            AppStoreError::Conflict(_) => AuthError::Invalid("Tillit is already set up; sign in instead".into()),
            e => e.into(),
        })?;
        self.audit(&actor_of(&user), "user.setup", &target_user(&user), json!({ "roles": user.roles })).await?;
        Ok(user)
    }

    /// Adds a user with a password and roles.
    pub async fn add_user(
        &self,
        by: &Actor,
        email: &str,
        password: &str,
        roles: &[(Option<u32>, Role)],
    ) -> Result<User, AuthError> {
        let email = check_email(email)?;
        password::check_new(password)?;
        let rows = role_rows(roles)?;
        let hash = hash_blocking(password).await?;
        let user = self.app.add_user(&email, &hash, &rows, false, self.clock.now()).await?;
        self.audit(by, "user.create", &target_user(&user), json!({ "roles": user.roles })).await?;
        Ok(user)
    }

    /// Checks email and password (throttled per account and per `client`). On success returns a
    /// session, which still needs the TOTP code when the user has two-factor authentication.
    pub async fn sign_in(&self, email: &str, password: &str, client: &str) -> Result<SignIn, AuthError> {
        let now = self.clock.now();
        if let Err(retry_after) = self.throttle.check(email, client, now) {
            return Err(AuthError::Throttled { retry_after });
        }
        let found = self.app.credentials_by_email(email.trim()).await?;
        let pw = password.to_owned();
        let ok = match &found {
            Some(c) if c.user.disabled_at.is_none() => {
                let phc = c.password_hash.clone();
                blocking(move || password::verify(&pw, &phc)).await?
            }
            _ => {
                blocking(move || password::verify_dummy(&pw)).await?;
                false
            }
        };
        let Some(creds) = found.filter(|_| ok) else {
            self.throttle.failed(email, client, now);
            // Only existing accounts are named: an unknown email is not someone to record.
            let target = match self.app.credentials_by_email(email.trim()).await? {
                Some(c) => target_user(&c.user),
                None => "unknown account".to_owned(),
            };
            self.audit(&Actor::Anonymous, "signin.failed", &target, json!({})).await?;
            return Err(AuthError::InvalidCredentials);
        };
        self.throttle.succeeded(email);
        let second_factor_due = creds.totp_secret.is_some();
        let ttl = if second_factor_due { SECOND_FACTOR_TTL } else { SESSION_TTL };
        let token = random_hex(32);
        self.app.create_session(&token_hash(&token), creds.user.id, now, now + ttl, second_factor_due).await?;
        if !second_factor_due {
            self.audit(&actor_of(&creds.user), "signin", &target_user(&creds.user), json!({})).await?;
        }
        Ok(SignIn { token, second_factor_due, user: creds.user })
    }

    /// Completes a sign-in with a TOTP code or a recovery code. The half-signed session ends and a
    /// new one begins (a fresh token, so the first one is worth nothing once seen).
    pub async fn second_factor(&self, pending_token: &str, code: &str, client: &str) -> Result<SignIn, AuthError> {
        let now = self.clock.now();
        let Some(session) = self.app.session_user(&token_hash(pending_token), now).await? else {
            return Err(AuthError::InvalidToken);
        };
        if !session.second_factor_due {
            return Err(AuthError::Invalid("this session is already signed in".into()));
        }
        let user = session.user;
        if let Err(retry_after) = self.throttle.check(&user.email, client, now) {
            return Err(AuthError::Throttled { retry_after });
        }
        let Some(creds) = self.app.credentials(user.id).await? else { return Err(AuthError::InvalidToken) };
        let code = code.trim().replace([' ', '-'], "");
        let ok = match &creds.totp_secret {
            Some(secret) if code.len() == 6 => self.totp_accepts(user.id, &user.email, secret, &code, now)?,
            Some(_) => self.app.use_recovery_code(user.id, &token_hash(&code.to_lowercase()), now).await?,
            None => false,
        };
        if !ok {
            self.throttle.failed(&user.email, client, now);
            self.audit(&Actor::Anonymous, "signin.failed", &target_user(&user), json!({ "step": "second factor" }))
                .await?;
            return Err(AuthError::InvalidCode);
        }
        self.throttle.succeeded(&user.email);
        self.app.end_session(&token_hash(pending_token)).await?;
        let token = random_hex(32);
        self.app.create_session(&token_hash(&token), user.id, now, now + SESSION_TTL, false).await?;
        let method = if code.len() == 6 { "totp" } else { "recovery code" };
        self.audit(&actor_of(&user), "signin", &target_user(&user), json!({ "second_factor": method })).await?;
        Ok(SignIn { token, second_factor_due: false, user })
    }

    fn totp_accepts(&self, user_id: i64, email: &str, secret: &[u8], code: &str, now: i64) -> Result<bool, AuthError> {
        let totp = totp(secret, email)?;
        let Some(step) = totp.check(code, now.max(0) as u64) else { return Ok(false) };
        let Ok(mut steps) = self.totp_steps.lock() else { return Ok(false) };
        if steps.get(&user_id).is_some_and(|last| *last >= step) {
            return Ok(false);
        }
        steps.insert(user_id, step);
        Ok(true)
    }

    /// The user of a live session (enabled, unexpired).
    pub async fn session(&self, token: &str) -> Result<Option<SessionUser>, AuthError> {
        Ok(self.app.session_user(&token_hash(token), self.clock.now()).await?)
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AuthError> {
        self.app.end_session(&token_hash(token)).await?;
        Ok(())
    }

    /// Ends every session of the user, on every device.
    pub async fn sign_out_everywhere(&self, user: &User) -> Result<u64, AuthError> {
        let n = self.app.end_user_sessions(user.id).await?;
        self.audit(&actor_of(user), "signout.everywhere", &target_user(user), json!({ "sessions": n })).await?;
        Ok(n)
    }

    /// Changes the password after checking the current one; every session ends and a new one is
    /// returned for the device that asked.
    pub async fn change_password(&self, user: &User, current: &str, new: &str) -> Result<String, AuthError> {
        let creds = self.app.credentials(user.id).await?.ok_or_else(|| AuthError::NotFound("user".into()))?;
        let (pw, phc) = (current.to_owned(), creds.password_hash);
        if !blocking(move || password::verify(&pw, &phc)).await? {
            return Err(AuthError::InvalidCredentials);
        }
        password::check_new(new)?;
        let hash = hash_blocking(new).await?;
        self.app.set_password(user.id, &hash).await?;
        self.audit(&actor_of(user), "password.change", &target_user(user), json!({})).await?;
        let now = self.clock.now();
        let token = random_hex(32);
        self.app.create_session(&token_hash(&token), user.id, now, now + SESSION_TTL, false).await?;
        Ok(token)
    }

    /// Starts a password reset: a token to mail to the account's address, or `None` when there is
    /// no enabled account (the caller answers the same either way). Throttled per address and
    /// client like sign-in.
    pub async fn request_reset(&self, email: &str, client: &str) -> Result<Option<(String, User)>, AuthError> {
        let now = self.clock.now();
        if let Err(retry_after) = self.reset_throttle.check(email, client, now) {
            return Err(AuthError::Throttled { retry_after });
        }
        self.reset_throttle.failed(email, client, now);
        let Some(creds) = self.app.credentials_by_email(email.trim()).await? else { return Ok(None) };
        if creds.user.disabled_at.is_some() {
            return Ok(None);
        }
        let token = random_hex(32);
        let user = creds.user;
        let hash = token_hash(&token);
        let t = NewEmailToken {
            token_hash: &hash,
            purpose: TokenPurpose::Reset,
            user_id: Some(user.id),
            email: &user.email,
            role: None,
            expires_at: now + RESET_TTL,
        };
        self.app.add_email_token(&t, now).await?;
        self.audit(&Actor::Anonymous, "password.reset.request", &target_user(&user), json!({})).await?;
        Ok(Some((token, user)))
    }

    /// Sets a new password with a reset token (single use); every session of the user ends.
    pub async fn reset_password(&self, token: &str, new: &str) -> Result<User, AuthError> {
        password::check_new(new)?;
        let hash = hash_blocking(new).await?;
        let taken = self.app.take_email_token(&token_hash(token), TokenPurpose::Reset, self.clock.now()).await?;
        let user_id = taken.and_then(|t| t.user_id).ok_or(AuthError::InvalidToken)?;
        let user = self.app.user(user_id).await?.ok_or(AuthError::InvalidToken)?;
        self.app.set_password(user.id, &hash).await?;
        self.audit(&Actor::Anonymous, "password.reset", &target_user(&user), json!({})).await?;
        Ok(user)
    }

    /// Invites someone by email with a role; returns the token to mail.
    pub async fn invite(&self, by: &Actor, email: &str, site: Option<u32>, role: Role) -> Result<String, AuthError> {
        let email = check_email(email)?;
        let row = &role_rows(&[(site, role)])?[0];
        let now = self.clock.now();
        let token = random_hex(32);
        let hash = token_hash(&token);
        let t = NewEmailToken {
            token_hash: &hash,
            purpose: TokenPurpose::Invite,
            user_id: None,
            email: &email,
            role: Some(row),
            expires_at: now + INVITE_TTL,
        };
        self.app.add_email_token(&t, now).await?;
        self.audit(by, "user.invite", &format!("email:{email}"), json!({ "role": row })).await?;
        Ok(token)
    }

    /// Accepts an invitation: creates the user with the invited role and the chosen password.
    pub async fn accept_invite(&self, token: &str, password: &str) -> Result<User, AuthError> {
        password::check_new(password)?;
        let hash = hash_blocking(password).await?;
        let Some(t) = self.app.take_email_token(&token_hash(token), TokenPurpose::Invite, self.clock.now()).await?
        else {
            return Err(AuthError::InvalidToken);
        };
        let role = RoleRow { site_id: t.site_id, role: t.role.unwrap_or_else(|| Role::Viewer.as_str().to_owned()) };
        let user = self.app.add_user(&t.email, &hash, &[role], false, self.clock.now()).await?;
        self.audit(&actor_of(&user), "user.invite.accept", &target_user(&user), json!({ "roles": user.roles })).await?;
        Ok(user)
    }

    pub async fn users(&self) -> Result<Vec<User>, AuthError> {
        Ok(self.app.users().await?)
    }

    pub async fn user(&self, id: i64) -> Result<User, AuthError> {
        self.app.user(id).await?.ok_or_else(|| AuthError::NotFound("user".into()))
    }

    pub async fn set_roles(&self, by: &Actor, user_id: i64, roles: &[(Option<u32>, Role)]) -> Result<User, AuthError> {
        let rows = role_rows(roles)?;
        let before = self.user(user_id).await?;
        self.guard_last_owner(&before, roles.iter().any(|(s, r)| s.is_none() && *r == Role::Owner)).await?;
        self.app.set_roles(user_id, &rows).await?;
        let after = self.user(user_id).await?;
        self.audit(by, "user.roles", &target_user(&after), json!({ "before": before.roles, "after": after.roles }))
            .await?;
        Ok(after)
    }

    /// Disables or re-enables a user; either way their sessions end at once.
    pub async fn set_disabled(&self, by: &Actor, user_id: i64, disabled: bool) -> Result<User, AuthError> {
        let user = self.user(user_id).await?;
        if disabled {
            self.guard_last_owner(&user, false).await?;
        }
        self.app.set_disabled(user_id, disabled.then(|| self.clock.now())).await?;
        let action = if disabled { "user.disable" } else { "user.enable" };
        self.audit(by, action, &target_user(&user), json!({})).await?;
        self.user(user_id).await
    }

    pub async fn remove_user(&self, by: &Actor, user_id: i64) -> Result<(), AuthError> {
        let user = self.user(user_id).await?;
        self.guard_last_owner(&user, false).await?;
        self.app.remove_user(user_id).await?;
        self.audit(by, "user.remove", &target_user(&user), json!({})).await
    }

    /// Refuses a change that would leave no enabled owner (nobody could manage users again).
    async fn guard_last_owner(&self, user: &User, stays_owner: bool) -> Result<(), AuthError> {
        if stays_owner || !is_owner(user) || user.disabled_at.is_some() {
            return Ok(());
        }
        let others =
            self.app.users().await?.into_iter().filter(|u| u.id != user.id && u.disabled_at.is_none() && is_owner(u));
        if others.count() == 0 {
            return Err(AuthError::Invalid("this is the last owner; make someone else owner first".into()));
        }
        Ok(())
    }

    /// Starts two-factor setup: a new secret, pending until confirmed with a code.
    pub async fn begin_totp(&self, user: &User) -> Result<TotpSetup, AuthError> {
        let secret: [u8; 20] = rand::random();
        let t = totp(&secret, &user.email)?;
        self.app.set_totp_pending(user.id, Some(&secret)).await?;
        Ok(TotpSetup {
            secret_base32: t.secret().to_base32(),
            otpauth_uri: t.to_url().map_err(|e| AuthError::Invalid(e.to_string()))?,
        })
    }

    /// Confirms two-factor setup with a current code; returns the recovery codes (shown once).
    pub async fn confirm_totp(&self, user: &User, code: &str) -> Result<Vec<String>, AuthError> {
        let creds = self.app.credentials(user.id).await?.ok_or_else(|| AuthError::NotFound("user".into()))?;
        let pending =
            creds.totp_pending.ok_or_else(|| AuthError::Invalid("start the two-factor setup first".into()))?;
        if !self.totp_accepts(user.id, &user.email, &pending, code.trim(), self.clock.now())? {
            return Err(AuthError::InvalidCode);
        }
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| random_hex(5)).collect();
        let hashes: Vec<String> = codes.iter().map(|c| token_hash(c)).collect();
        self.app.set_totp(user.id, Some(&hashes)).await?;
        self.audit(&actor_of(user), "2fa.enable", &target_user(user), json!({})).await?;
        Ok(codes)
    }

    /// Turns two-factor authentication off (the user's own password confirms it).
    pub async fn disable_totp(&self, user: &User, password: &str) -> Result<(), AuthError> {
        let creds = self.app.credentials(user.id).await?.ok_or_else(|| AuthError::NotFound("user".into()))?;
        let (pw, phc) = (password.to_owned(), creds.password_hash);
        if !blocking(move || password::verify(&pw, &phc)).await? {
            return Err(AuthError::InvalidCredentials);
        }
        self.app.set_totp(user.id, None).await?;
        self.audit(&actor_of(user), "2fa.disable", &target_user(user), json!({})).await
    }

    /// Checks the password of a protected shared link, throttled like sign-in (per link and
    /// client), so a link's password cannot be guessed at speed.
    pub async fn shared_link_password(
        &self,
        link_id: i64,
        phc: &str,
        password: &str,
        client: &str,
    ) -> Result<bool, AuthError> {
        let now = self.clock.now();
        let key = format!("shared-link:{link_id}");
        if let Err(retry_after) = self.throttle.check(&key, client, now) {
            return Err(AuthError::Throttled { retry_after });
        }
        let (pw, phc) = (password.to_owned(), phc.to_owned());
        let ok = blocking(move || password::verify(&pw, &phc)).await?;
        if !ok {
            self.throttle.failed(&key, client, now);
        }
        Ok(ok)
    }

    /// Whether owners require every user to use two-factor authentication.
    pub async fn two_factor_required(&self) -> Result<bool, AuthError> {
        Ok(self.app.setting(REQUIRE_2FA).await?.as_deref() == Some("true"))
    }

    pub async fn require_two_factor(&self, by: &Actor, required: bool) -> Result<(), AuthError> {
        self.app.set_setting(REQUIRE_2FA, if required { "true" } else { "false" }).await?;
        self.audit(by, "settings.require_2fa", "instance", json!({ "required": required })).await
    }

    /// Appends to the audit log. Callers fail when this fails: an action that cannot be recorded
    /// is not done.
    pub async fn audit(&self, actor: &Actor, action: &str, target: &str, detail: Value) -> Result<(), AuthError> {
        self.app.append_audit(self.clock.now(), &actor.to_string(), action, target, &detail.to_string()).await?;
        Ok(())
    }

    /// Up to `limit` audit rows after `seq`.
    pub async fn audit_entries(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, AuthError> {
        Ok(self.app.audit_entries(after, limit).await?)
    }

    /// Walks the audit log and checks that every row is sealed and chained to the one before:
    /// from its start, or from its start, or from the newest retention checkpoint when
    /// older rows were removed; `trusted` says whether a checkpoint's signature holds.
    pub async fn verify_audit(&self, trusted: impl Fn(&AuditCheckpoint) -> bool) -> Result<AuditCheck, AuthError> {
        let (mut prev, mut expected_seq) = match self.app.audit_checkpoint().await? {
            None => (AUDIT_GENESIS.to_owned(), 1),
            Some(c) if trusted(&c) => (c.hash, c.seq + 1),
            Some(c) => {
                return Ok(AuditCheck::Broken {
                    seq: c.seq,
                    reason: "the retention checkpoint's signature does not verify".into(),
                });
            }
        };
        let mut rows = 0;
        loop {
            let batch = self.app.audit_entries(expected_seq - 1, 5_000).await?;
            if batch.is_empty() {
                return Ok(AuditCheck::Intact { rows, head: prev });
            }
            for e in batch {
                let broken = |reason: &str| Ok(AuditCheck::Broken { seq: e.seq, reason: reason.to_owned() });
                if e.seq != expected_seq {
                    return Ok(AuditCheck::Broken {
                        seq: expected_seq,
                        reason: format!("row {expected_seq} is missing (next is {})", e.seq),
                    });
                }
                if e.prev_hash != prev {
                    return broken("does not chain to the row before");
                }
                if !e.is_sealed() {
                    return broken("its content does not match its hash");
                }
                prev = e.hash;
                expected_seq += 1;
                rows += 1;
            }
        }
    }
}

/// A principal for a signed-in user.
pub fn principal(user: &User) -> Principal {
    let roles: Vec<(Option<u32>, Role)> =
        user.roles.iter().filter_map(|r| r.role.parse().ok().map(|role| (r.site_id, role))).collect();
    Principal::user(user.id, &user.email, &roles)
}

pub fn actor_of(user: &User) -> Actor {
    Actor::User { id: user.id, email: user.email.clone() }
}

fn target_user(user: &User) -> String {
    format!("user:{}:{}", user.id, user.email)
}

fn is_owner(user: &User) -> bool {
    user.roles.iter().any(|r| r.site_id.is_none() && r.role == Role::Owner.as_str())
}

fn role_rows(roles: &[(Option<u32>, Role)]) -> Result<Vec<RoleRow>, AuthError> {
    if roles.is_empty() {
        return Err(AuthError::Invalid("a user needs at least one role".into()));
    }
    roles
        .iter()
        .map(|(site, role)| {
            if *role == Role::Owner && site.is_some() {
                return Err(AuthError::Invalid("owner is a role on every site; leave out the site".into()));
            }
            Ok(RoleRow { site_id: *site, role: role.as_str().to_owned() })
        })
        .collect()
}

/// A plausible email address, trimmed and lower-cased.
pub fn check_email(email: &str) -> Result<String, AuthError> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    if valid { Ok(e) } else { Err(AuthError::Invalid("enter a valid email address".into())) }
}

fn totp(secret: &[u8], email: &str) -> Result<Totp, AuthError> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(secret.to_vec())
        .with_account_name(email)
        .with_issuer(Some("Tillit"))
        .build()
        .map_err(|e| AuthError::Invalid(e.to_string()))
}

/// The current TOTP code for a base32 secret (for tests and for the CLI's self-check).
pub fn totp_code(secret_base32: &str, email: &str, now: i64) -> Result<String, AuthError> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).map_err(|e| AuthError::Invalid(e.to_string()))?;
    Ok(totp(secret.as_bytes(), email)?.generate(now.max(0) as u64).to_string())
}

/// Checks a new password (or a shared link's) against the rules and hashes it off the async
/// workers.
pub async fn hash_new_password(password: &str) -> Result<String, AuthError> {
    password::check_new(password)?;
    hash_blocking(password).await
}

async fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let pw = password.to_owned();
    blocking(move || password::hash(&pw)).await?.map_err(AuthError::Store)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AuthError::Store(e.to_string()))
}

impl From<String> for AuthError {
    fn from(msg: String) -> AuthError {
        AuthError::Invalid(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn service() -> (tempfile::TempDir, Accounts, Clock) {
        let dir = tempfile::tempdir().unwrap();
        let app = AppStore::open_sqlite(&dir.path().join("app.db")).await.unwrap();
        let clock = Clock::fixed(1_780_000_000);
        (dir, Accounts::new(app, clock.clone()), clock)
    }

    #[tokio::test]
    async fn setup_sign_in_and_sessions() {
        let (_d, acc, clock) = service().await;
        assert!(acc.needs_setup().await.unwrap());
        let owner = acc.setup_owner("Owner@Example.test", "owner password 1").await.unwrap();
        assert_eq!(owner.email, "owner@example.test");
        assert!(matches!(acc.setup_owner("x@example.test", "another password").await, Err(AuthError::Invalid(_))));
        let s = acc.sign_in("OWNER@example.test", "owner password 1", "c1").await.unwrap();
        assert!(!s.second_factor_due);
        assert_eq!(acc.session(&s.token).await.unwrap().unwrap().user.id, owner.id);
        // Wrong password and unknown account look the same.
        let wrong = acc.sign_in("owner@example.test", "nope nope nope", "c1").await.unwrap_err();
        let unknown = acc.sign_in("who@example.test", "nope nope nope", "c1").await.unwrap_err();
        assert_eq!(wrong.to_string(), unknown.to_string());
        // Sessions expire.
        clock.set(clock.now() + SESSION_TTL + 1);
        assert!(acc.session(&s.token).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn disabling_ends_sessions_and_the_last_owner_stays() {
        let (_d, acc, _clock) = service().await;
        let owner = acc.setup_owner("o@example.test", "owner password 1").await.unwrap();
        let by = actor_of(&owner);
        let a = acc.add_user(&by, "a@example.test", "analyst password", &[(None, Role::Analyst)]).await.unwrap();
        let s = acc.sign_in("a@example.test", "analyst password", "c").await.unwrap();
        acc.set_disabled(&by, a.id, true).await.unwrap();
        assert!(acc.session(&s.token).await.unwrap().is_none());
        assert!(matches!(
            acc.sign_in("a@example.test", "analyst password", "c").await,
            Err(AuthError::InvalidCredentials)
        ));
        assert!(matches!(acc.set_disabled(&by, owner.id, true).await, Err(AuthError::Invalid(_))));
        assert!(matches!(acc.remove_user(&by, owner.id).await, Err(AuthError::Invalid(_))));
        assert!(matches!(acc.set_roles(&by, owner.id, &[(None, Role::Admin)]).await, Err(AuthError::Invalid(_))));
        assert!(matches!(
            acc.add_user(&by, "b@example.test", "some password", &[(Some(1), Role::Owner)]).await,
            Err(AuthError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn throttles_after_repeated_failures() {
        let (_d, acc, _clock) = service().await;
        acc.setup_owner("o@example.test", "owner password 1").await.unwrap();
        for _ in 0..throttle::PER_ACCOUNT {
            assert!(matches!(
                acc.sign_in("o@example.test", "wrong password", "c").await,
                Err(AuthError::InvalidCredentials)
            ));
        }
        // Even the right password waits now.
        assert!(matches!(
            acc.sign_in("o@example.test", "owner password 1", "c").await,
            Err(AuthError::Throttled { .. })
        ));
    }

    #[tokio::test]
    async fn two_factor_with_codes_and_recovery_codes() {
        let (_d, acc, clock) = service().await;
        let owner = acc.setup_owner("o@example.test", "owner password 1").await.unwrap();
        let setup = acc.begin_totp(&owner).await.unwrap();
        assert!(setup.otpauth_uri.starts_with("otpauth://totp/Tillit:o%40example.test?"));
        let code = totp_code(&setup.secret_base32, &owner.email, clock.now()).unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert!(matches!(acc.confirm_totp(&owner, wrong).await, Err(AuthError::InvalidCode)));
        let recovery = acc.confirm_totp(&owner, &code).await.unwrap();
        assert_eq!(recovery.len(), RECOVERY_CODES);

        let half = acc.sign_in("o@example.test", "owner password 1", "c").await.unwrap();
        assert!(half.second_factor_due);
        assert!(acc.session(&half.token).await.unwrap().unwrap().second_factor_due);
        // The code already used for the setup cannot be replayed.
        assert!(matches!(acc.second_factor(&half.token, &code, "c").await, Err(AuthError::InvalidCode)));
        clock.set(clock.now() + 30);
        let next = totp_code(&setup.secret_base32, &owner.email, clock.now()).unwrap();
        let full = acc.second_factor(&half.token, &next, "c").await.unwrap();
        assert!(acc.session(&half.token).await.unwrap().is_none(), "the half session ends");
        assert!(!acc.session(&full.token).await.unwrap().unwrap().second_factor_due);

        let half = acc.sign_in("o@example.test", "owner password 1", "c").await.unwrap();
        acc.second_factor(&half.token, &recovery[0], "c").await.unwrap();
        let half = acc.sign_in("o@example.test", "owner password 1", "c").await.unwrap();
        assert!(matches!(acc.second_factor(&half.token, &recovery[0], "c").await, Err(AuthError::InvalidCode)));
    }

    #[tokio::test]
    async fn reset_and_invite_tokens_work_once() {
        let (_d, acc, clock) = service().await;
        let owner = acc.setup_owner("o@example.test", "owner password 1").await.unwrap();
        let old = acc.sign_in("o@example.test", "owner password 1", "c").await.unwrap();
        assert!(acc.request_reset("nobody@example.test", "c").await.unwrap().is_none());
        let (token, _) = acc.request_reset("o@example.test", "c").await.unwrap().unwrap();
        acc.reset_password(&token, "brand new password").await.unwrap();
        assert!(acc.session(&old.token).await.unwrap().is_none(), "a reset ends every session");
        assert!(matches!(acc.reset_password(&token, "another new password").await, Err(AuthError::InvalidToken)));
        acc.sign_in("o@example.test", "brand new password", "c").await.unwrap();

        // Site 3 does not exist: no invitation to it can be made.
        assert!(acc.invite(&actor_of(&owner), "new@example.test", Some(3), Role::Analyst).await.is_err());
        let token = acc.invite(&actor_of(&owner), "new@example.test", None, Role::Viewer).await.unwrap();
        clock.set(clock.now() + INVITE_TTL + 1);
        assert!(matches!(acc.accept_invite(&token, "a good password").await, Err(AuthError::InvalidToken)));
        clock.set(clock.now() - INVITE_TTL);
        let token = acc.invite(&actor_of(&owner), "new@example.test", None, Role::Viewer).await.unwrap();
        let user = acc.accept_invite(&token, "a good password").await.unwrap();
        assert_eq!(user.roles[0].role, "viewer");
    }

    #[tokio::test]
    async fn the_audit_chain_verifies() {
        let (_d, acc, _clock) = service().await;
        acc.setup_owner("o@example.test", "owner password 1").await.unwrap();
        let _ = acc.sign_in("o@example.test", "wrong password", "c").await;
        acc.sign_in("o@example.test", "owner password 1", "c").await.unwrap();
        let entries = acc.audit_entries(0, 100).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["user.setup", "signin.failed", "signin"]);
        match acc.verify_audit(|_| false).await.unwrap() {
            AuditCheck::Intact { rows, head } => {
                assert_eq!(rows, 3);
                assert_eq!(head, entries[2].hash);
            }
            broken => panic!("{broken:?}"),
        }
    }
}
