-- Outreach: where a contact came from (Art. 14), the mail queue (every marketing message, with
-- the consent it went out under), and re-permission campaigns.

-- Where the contact's data came from ('form', 'api', 'admin' or 'import:<source>') and, for
-- existing customers, since when (the soft opt-in of ePrivacy Art. 13(2)). An imported contact
-- without evidence of consent `needs_permission` until they give it.
ALTER TABLE contacts ADD COLUMN source TEXT NOT NULL DEFAULT 'form';
ALTER TABLE contacts ADD COLUMN customer_since INTEGER;
ALTER TABLE contacts ADD COLUMN needs_permission INTEGER NOT NULL DEFAULT 0;

-- The mail queue. A row is written before anything is sent; the worker re-asks the send gate
-- for each attempt, so a withdrawal stops mail still waiting. `basis` is the gate's answer for
-- the attempt that went out (which consent, which version). Erasing the contact deletes their rows.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    purpose_key TEXT NOT NULL,
    kind TEXT NOT NULL,               -- 'marketing' or 'permission'
    campaign_id TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,             -- 'queued', 'sent', 'cancelled' or 'failed'
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    basis TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_contact ON outbox (contact_id);

-- A re-permission campaign: ask people who may lawfully be asked for consent to one purpose,
-- once, with at most one reminder; at the deadline those who did not answer are erased or
-- restricted (`action`). `outcome` is the JSON evidence of what the deadline did (counts only).
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    site_id INTEGER NOT NULL,
    purpose_key TEXT NOT NULL,
    audience TEXT NOT NULL,           -- 'customers' or 'expiring'
    message TEXT NOT NULL,
    action TEXT NOT NULL,             -- 'erase' or 'restrict'
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    reminder_at INTEGER,
    reminded_at INTEGER,
    deadline_at INTEGER NOT NULL,
    closed_at INTEGER,
    outcome TEXT
);

-- Who a campaign asked, and what became of them.
CREATE TABLE campaign_members (
    campaign_id TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    asked_at INTEGER,
    reminded_at INTEGER,
    answered_at INTEGER,
    answer TEXT,                      -- 'given' or 'declined'
    outcome TEXT,                     -- at the deadline: 'erased', 'restricted' or 'kept: <why>'
    PRIMARY KEY (campaign_id, contact_id)
);
CREATE INDEX campaign_members_contact ON campaign_members (contact_id);
