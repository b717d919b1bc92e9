-- Audit-log retention: rows past the retention period may be deleted, but only behind a
-- checkpoint naming the last deleted row's seq and hash, signed with the ledger's Ed25519 key
-- (a JWS). `tillit audit verify` starts the chain at the newest checkpoint it can verify, so a
-- row removed any other way is still noticed.
CREATE TABLE audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    at INTEGER NOT NULL,
    jws TEXT NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are immutable'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are immutable'); END;

-- Rows stay append-only, except those a checkpoint covers.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE seq >= OLD.seq)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
