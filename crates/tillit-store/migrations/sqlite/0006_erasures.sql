-- Erasures (Art. 17): when a person's data was erased, by whom, and the signed receipt they were
-- given. Nothing personal: the contact's public id and the keyed hash of their email, which the
-- suppression list also keeps so that the address is not silently added again.
CREATE TABLE erasures (
    receipt_id TEXT PRIMARY KEY,
    site_id INTEGER NOT NULL,
    email_hmac TEXT NOT NULL,
    public_id TEXT,
    erased_at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    jws TEXT NOT NULL
);
CREATE TRIGGER erasures_no_update BEFORE UPDATE ON erasures
BEGIN SELECT RAISE(ABORT, 'erasure records are immutable'); END;
