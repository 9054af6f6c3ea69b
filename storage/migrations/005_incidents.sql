-- Incident reports, their attachments, escalation steps (rows with due times), the timeline
-- and questions relayed between coordinators and reporters.
-- An anonymous report stores no link to its reporter: reporter_member_id is NULL.

CREATE TABLE incidents (
    id                   INTEGER PRIMARY KEY,
    code                 TEXT NOT NULL UNIQUE,      -- the reporter's receipt code, e.g. K7-42QX
    reporter_member_id   INTEGER REFERENCES members (id) ON DELETE SET NULL,
    anonymous            INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    danger               INTEGER NOT NULL CHECK (danger IN (0, 1)),  -- someone in danger now
    category             TEXT NOT NULL,
    urgency              TEXT NOT NULL CHECK (urgency IN ('critical', 'high', 'normal', 'low')),
    region_code          TEXT NOT NULL,
    place                TEXT,
    latitude             REAL,
    longitude            REAL,
    happened_on          TEXT NOT NULL,             -- a date, YYYY-MM-DD
    description          TEXT NOT NULL,
    language             TEXT NOT NULL DEFAULT 'ru', -- the reporter's, for /status
    state                TEXT NOT NULL DEFAULT 'new'
                         CHECK (state IN ('new', 'acknowledged', 'resolved', 'withdrawn')),
    level                INTEGER NOT NULL DEFAULT 1, -- 1 region, 2 federal, 3 admins
    assignee_telegram_id INTEGER,
    assignee_name        TEXT,
    outcome              TEXT,
    policy               TEXT NOT NULL,             -- JSON: the escalation policy in force
    snoozed_until        TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    acknowledged_at      TEXT,
    progress_at          TEXT,
    closed_at            TEXT
);
CREATE INDEX incidents_state ON incidents (state, region_code);
CREATE INDEX incidents_reporter ON incidents (reporter_member_id);
CREATE INDEX incidents_created ON incidents (created_at);

CREATE TABLE incident_attachments (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('photo', 'document', 'voice')),
    file_id     TEXT NOT NULL,
    added_at    TEXT NOT NULL
);
CREATE INDEX incident_attachments_incident ON incident_attachments (incident_id);

-- Everything that must happen later: a reminder to a level, an escalation, the check of a
-- taken report without progress. The sweep claims due rows (pending -> running -> done).
CREATE TABLE incident_steps (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('remind', 'escalate', 'stale', 'unassign')),
    level       INTEGER NOT NULL,
    due_at      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'cancelled')),
    claimed_at  TEXT,
    done_at     TEXT
);
CREATE INDEX incident_steps_due ON incident_steps (status, due_at);
CREATE INDEX incident_steps_incident ON incident_steps (incident_id, status);

-- Every state change and notification, with who (a Telegram id, or NULL: the reporter of an
-- anonymous report or the bot itself) and when.
CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor       INTEGER,
    actor_name  TEXT,
    action      TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);

-- Questions from coordinators to the reporter and their answers, relayed by the bot.
CREATE TABLE incident_questions (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    asked_by    INTEGER NOT NULL,                  -- the coordinator's Telegram id
    question    TEXT NOT NULL,
    asked_at    TEXT NOT NULL,
    answer      TEXT,
    answered_at TEXT
);
CREATE INDEX incident_questions_incident ON incident_questions (incident_id);
