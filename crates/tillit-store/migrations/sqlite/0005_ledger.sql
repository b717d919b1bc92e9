-- The consent ledger of each site: what is asked (purposes, the exact wording shown, where it is
-- shown), who was asked (contacts, personal fields encrypted under a key per contact), and what
-- they answered (consent events, append-only and hash-chained, with signed receipts).

-- A purpose, one row per version. A published version never changes: the triggers refuse it. A
-- change is a new version; consent events point to the version they were given for.
CREATE TABLE purposes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    legal_basis TEXT NOT NULL,
    channel TEXT NOT NULL,
    data_categories TEXT NOT NULL,   -- JSON array
    lifetime_days INTEGER,           -- NULL: until withdrawn
    special_category INTEGER NOT NULL,
    texts TEXT NOT NULL,             -- JSON {"en": {"title": …, "description": …}, …}
    created_at INTEGER NOT NULL,
    published_at INTEGER,
    UNIQUE (site_id, key, version)
);
CREATE TRIGGER purposes_published_no_update BEFORE UPDATE ON purposes WHEN OLD.published_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a published purpose version is immutable'); END;
CREATE TRIGGER purposes_published_no_delete BEFORE DELETE ON purposes WHEN OLD.published_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a published purpose version is immutable'); END;

-- The exact wording a person was shown, by its SHA-256. Written once, never changed.
CREATE TABLE notices (
    sha256 TEXT PRIMARY KEY,
    site_id INTEGER NOT NULL,
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TRIGGER notices_no_update BEFORE UPDATE ON notices
BEGIN SELECT RAISE(ABORT, 'notices are immutable'); END;
CREATE TRIGGER notices_no_delete BEFORE DELETE ON notices
BEGIN SELECT RAISE(ABORT, 'notices are immutable'); END;

-- Where consent is collected (a signup form, an embedded widget, an API client, an import) and
-- what is asked there.
CREATE TABLE collection_points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    purposes TEXT NOT NULL,          -- JSON array of purpose keys
    intro TEXT NOT NULL,             -- JSON {"en": "…", …}
    double_opt_in INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (site_id, key)
);

-- Custom contact fields, each with its data category; special-category (Art. 9) fields need
-- explicit consent to a purpose flagged for them.
CREATE TABLE contact_fields (
    site_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    data_category TEXT NOT NULL,
    special_category INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, key)
);

-- A person. Everything personal is in `sealed` (AES-256-GCM under the contact's own key, which is
-- itself sealed under the ledger key): destroying `sealed_key` makes the row unreadable. Lookups
-- go through a keyed hash of the normalised email.
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    email_hmac TEXT NOT NULL,
    sealed_key BLOB,
    sealed BLOB,
    locale TEXT NOT NULL,
    restricted INTEGER NOT NULL DEFAULT 0,  -- Art. 18: kept, not used
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (site_id, email_hmac)
);

-- The ledger: one chain over every site. Each row's hash covers its fields and the previous
-- row's hash (`tillit ledger verify`).
CREATE TABLE consent_events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    site_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    purpose_id INTEGER NOT NULL,
    purpose_key TEXT NOT NULL,
    purpose_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    method TEXT NOT NULL,
    collection_point TEXT NOT NULL,
    notice_sha256 TEXT NOT NULL,
    page_url TEXT NOT NULL,
    language TEXT NOT NULL,
    ip_trunc TEXT NOT NULL,
    ua_hash TEXT NOT NULL,
    evidence TEXT NOT NULL,
    actor TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX consent_events_contact ON consent_events (contact_id, seq);
CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

-- Signed receipts (compact JWS, EdDSA) of given and withdrawn consents.
CREATE TABLE receipts (
    seq INTEGER PRIMARY KEY,
    receipt_id TEXT NOT NULL UNIQUE,
    jws TEXT NOT NULL
);
CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts are immutable'); END;
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts are immutable'); END;

-- The current state per contact and purpose, kept in the same transaction as the event.
CREATE TABLE consent_state (
    contact_id INTEGER NOT NULL,
    purpose_key TEXT NOT NULL,
    purpose_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    method TEXT NOT NULL,
    since INTEGER NOT NULL,
    expires_at INTEGER,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (contact_id, purpose_key)
);
CREATE INDEX consent_state_expiry ON consent_state (expires_at) WHERE expires_at IS NOT NULL;

-- Pending double opt-in requests: the token only as a hash; the evidence of the signup.
CREATE TABLE optin_requests (
    token_hash TEXT PRIMARY KEY,
    site_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    purpose_ids TEXT NOT NULL,       -- JSON array
    evidence TEXT NOT NULL,          -- JSON
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

-- Who must not be sent marketing: objections (Art. 21) are absolute.
CREATE TABLE suppressions (
    site_id INTEGER NOT NULL,
    email_hmac TEXT NOT NULL,
    scope TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, email_hmac, scope)
);

-- Every decision of the send gate.
CREATE TABLE send_decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    purpose_key TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
);
