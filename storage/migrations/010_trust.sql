-- Access follows the role: the admins listed in ADMIN_IDS at the last start, so that an admin
-- taken off the list is noticed at the next start and loses what came with the role.
CREATE TABLE listed_admins (
    telegram_id INTEGER PRIMARY KEY,
    listed_at   TEXT NOT NULL
);

-- Retention of events: RETENTION_DAYS after an event ended, who answered, came or waited is
-- removed; the numbers stay here (JSON: going, maybe, no, waitlist, checked_in).
ALTER TABLE events ADD COLUMN purged_at TEXT;
ALTER TABLE events ADD COLUMN kept_counts TEXT;
CREATE INDEX events_ends ON events (ends_at) WHERE purged_at IS NULL;
