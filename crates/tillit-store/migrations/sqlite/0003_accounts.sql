-- People who sign in to Tillit. Passwords are Argon2id PHC strings; TOTP secrets are kept only
-- once confirmed (a pending one waits in `totp_pending`). A disabled user keeps the row (the audit
-- log names them) but no session of theirs is honoured.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    totp_secret BLOB,
    totp_pending BLOB,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
);

-- What a user may do: one role per site, or (site_id NULL) on every site.
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    site_id INTEGER REFERENCES sites(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'marketer', 'analyst', 'viewer'))
);
CREATE UNIQUE INDEX user_roles_scope ON user_roles (user_id, IFNULL(site_id, 0));

-- Signed-in sessions, by SHA-256 of the cookie value. `second_factor_due` marks a session that
-- passed the password but not yet the TOTP step; it grants nothing else.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    second_factor_due INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id);

-- TOTP recovery codes, hashed; each works once.
CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- Single-use, expiring tokens sent by email: password resets and invitations. Only hashes.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('reset', 'invite')),
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT,
    site_id INTEGER REFERENCES sites(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

-- Instance-wide settings set by owners.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- API keys gain scopes: what they may do on their sites.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read-analytics';

-- Links that let anyone holding them (and the password, when set) read one site's dashboard.
CREATE TABLE shared_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    allow_embed INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- The audit log: who did what, when. Each row's hash covers its fields and the previous row's
-- hash, so an edited, removed or inserted row breaks the chain (`tillit audit verify`).
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
