-- The outbox: one row per recipient per message. The delivery engine claims due rows with a
-- conditional UPDATE (status pending -> sending), sends, and records the outcome.

CREATE TABLE broadcasts (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL,        -- announcement, reminder, broadcast, alert ...
    priority          INTEGER NOT NULL,
    created_by        INTEGER,              -- Telegram id of the person who started it
    status_chat_id    INTEGER,              -- where the progress message lives
    status_message_id INTEGER,
    status_language   TEXT NOT NULL DEFAULT 'ru',
    total             INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    progress_at       TEXT,                 -- last time the progress message was edited
    reported_at       TEXT                  -- when the final report was sent (once)
);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    broadcast_id INTEGER REFERENCES broadcasts (id) ON DELETE CASCADE,
    dedupe_key   TEXT UNIQUE,               -- the same message to the same person is queued once
    chat_id      INTEGER NOT NULL,
    member_id    INTEGER REFERENCES members (id) ON DELETE SET NULL,
    priority     INTEGER NOT NULL,
    method       TEXT NOT NULL,             -- sendMessage, sendDocument, sendPhoto, editMessageText
    payload      TEXT NOT NULL,             -- JSON: the arguments of the call
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sending', 'sent', 'blocked', 'failed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       TEXT NOT NULL,
    claimed_at   TEXT,
    sent_at      TEXT,
    message_id   INTEGER,                   -- Telegram's id of the delivered message
    error        TEXT
);
CREATE INDEX outbox_due ON outbox (status, priority, due_at);
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status);
CREATE INDEX outbox_member ON outbox (member_id);
