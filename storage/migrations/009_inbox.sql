-- The inbox: updates are stored as they arrive (body = the update's JSON, started = 0), before
-- Telegram is told they were received, so that a crash between receiving and handling loses
-- nothing. The body is removed as soon as the update is handled (it may hold the text of an
-- incident report); rows without a body are the record of handled update ids, as before.
ALTER TABLE processed_updates ADD COLUMN body TEXT;
ALTER TABLE processed_updates ADD COLUMN started INTEGER NOT NULL DEFAULT 1
    CHECK (started IN (0, 1));
CREATE INDEX processed_updates_waiting ON processed_updates (update_id) WHERE done = 0;
