-- A site's domain before its last change, and when it changed: the old name keeps working for the
-- Events API and the Stats API for a grace period, so trackers and clients can move without a gap.
ALTER TABLE sites ADD COLUMN previous_domain TEXT;
ALTER TABLE sites ADD COLUMN domain_changed_at INTEGER;
