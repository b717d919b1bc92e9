-- Data-subject requests (Art. 15–21): what was asked, through which channel, when it is due
-- (Art. 12(3)), how the person proved control of the address (a one-time code, stored hashed),
-- and how it ended. The address itself is sealed under the ledger key while the request is open,
-- and destroyed when it closes.
CREATE TABLE dsr_requests (
    id TEXT PRIMARY KEY,
    site_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    email_hmac TEXT NOT NULL,
    sealed_email BLOB,
    details TEXT NOT NULL,
    language TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    extended_months INTEGER NOT NULL DEFAULT 0,
    extension_reason TEXT,
    status TEXT NOT NULL,
    code_hash TEXT,
    code_expires_at INTEGER,
    code_attempts INTEGER NOT NULL DEFAULT 0,
    verified_at INTEGER,
    closed_at INTEGER,
    outcome TEXT
);
CREATE INDEX dsr_requests_due ON dsr_requests (site_id, status, due_at);
