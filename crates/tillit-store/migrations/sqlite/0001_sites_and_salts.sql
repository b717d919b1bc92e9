-- Sites whose analytics Tillit collects. Ids are never reused (AUTOINCREMENT), so events of a
-- removed site can never be attributed to a new one.
CREATE TABLE sites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    domain TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL,
    retention_days INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Sites removed whose events the event store has not deleted yet (it may be held by a running
-- server, so the deletion is carried out by whoever next owns it).
CREATE TABLE site_deletions (
    site_id INTEGER PRIMARY KEY,
    requested_at INTEGER NOT NULL
);

-- Daily salts for visitor ids. Rows older than 48 hours are deleted: after that no one can link a
-- visitor id to an IP address and user agent, not even the operator.
CREATE TABLE salts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    salt BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- Evidence of deletions done by retention jobs: what rule, how many rows, when. No personal data.
CREATE TABLE retention_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    site_id INTEGER,
    deleted INTEGER NOT NULL,
    ran_at INTEGER NOT NULL
);
