-- Updates being handled or handled: the same update_id delivered again (Telegram does so after
-- a crash, or when a webhook answer is lost) is not handled twice. Rows older than two days are
-- purged; an update that was being handled when the process died (done = 0) is handled again.

CREATE TABLE processed_updates (
    update_id INTEGER PRIMARY KEY,
    done      INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    at        TEXT NOT NULL
);
CREATE INDEX processed_updates_at ON processed_updates (at);
