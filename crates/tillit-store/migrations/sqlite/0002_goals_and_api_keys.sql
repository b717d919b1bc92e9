-- Conversion goals: a custom event by name, or pageviews of a path pattern (Plausible wildcards).
CREATE TABLE goals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    event_name TEXT,
    page_path TEXT,
    display_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((event_name IS NULL) <> (page_path IS NULL)),
    UNIQUE (site_id, display_name)
);

-- Funnels: 2 to 8 goals completed in order within one visit.
CREATE TABLE funnels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (site_id, name)
);

CREATE TABLE funnel_steps (
    funnel_id INTEGER NOT NULL REFERENCES funnels(id) ON DELETE CASCADE,
    step_order INTEGER NOT NULL,
    goal_id INTEGER NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    PRIMARY KEY (funnel_id, step_order)
);

-- Stats API keys. Only a SHA-256 hash of the key is kept; the prefix lets an operator tell keys
-- apart in listings. A key reads only the sites linked to it.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    hourly_limit INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE api_key_sites (
    key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, site_id)
);
