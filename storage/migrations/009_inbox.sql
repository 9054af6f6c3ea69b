-- The inbox: updates are stored as they arrive (body = the update's JSON, attempts = 0), before
-- Telegram is told they were received, so that a crash between receiving and handling loses
-- nothing. attempts counts how often handling began (an update that keeps killing the process
-- is given up after a few). The body is removed as soon as the update is handled (it may hold
-- the text of an incident report); rows without a body are the record of handled update ids.
ALTER TABLE processed_updates ADD COLUMN body TEXT;
ALTER TABLE processed_updates ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1
    CHECK (attempts >= 0);
CREATE INDEX processed_updates_waiting ON processed_updates (update_id) WHERE done = 0;
