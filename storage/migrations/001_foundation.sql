-- Members, their topics, roles, invites, the audit log and persisted dialogue state.
-- Times are UTC text 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (sortable). No ethnicity or nationality fields.

CREATE TABLE members (
    id              INTEGER PRIMARY KEY,
    telegram_id     INTEGER UNIQUE,            -- NULL once the member erased their data
    name            TEXT,
    organisation    TEXT,
    region_code     TEXT NOT NULL,             -- kept after erasure: anonymous statistics
    language        TEXT NOT NULL DEFAULT 'ru',
    consent_version TEXT,
    consent_at      TEXT,
    status          TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'unreachable', 'erased')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    erased_at       TEXT
);
CREATE INDEX members_region_status ON members (region_code, status);

CREATE TABLE member_topics (
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    topic     TEXT NOT NULL,
    PRIMARY KEY (member_id, topic)
) WITHOUT ROWID;
CREATE INDEX member_topics_topic ON member_topics (topic, member_id);

-- A coordinator role for one region, or for all regions ('*' = federal coordinator).
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('coordinator')),
    region_code TEXT NOT NULL,
    granted_by  INTEGER,                       -- Telegram id of the admin who made the invite
    granted_at  TEXT NOT NULL,
    UNIQUE (member_id, role, region_code)
);

-- One-time invite links; only a hash of the secret is stored.
CREATE TABLE invites (
    id                INTEGER PRIMARY KEY,
    token_hash        TEXT NOT NULL UNIQUE,
    role              TEXT NOT NULL CHECK (role IN ('coordinator')),
    region_code       TEXT NOT NULL,
    created_by        INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    used_by_member_id INTEGER REFERENCES members (id) ON DELETE SET NULL,
    used_at           TEXT
);

-- Every role change: who did it, to whom (member id, never names), when.
CREATE TABLE audit_log (
    id                INTEGER PRIMARY KEY,
    at                TEXT NOT NULL,
    actor_telegram_id INTEGER,
    action            TEXT NOT NULL,
    member_id         INTEGER,
    role              TEXT,
    region_code       TEXT,
    details           TEXT
);
CREATE INDEX audit_log_member ON audit_log (member_id);

-- A dialogue in progress (registration, settings ...): survives restarts, expires when idle.
CREATE TABLE dialogs (
    telegram_id INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    flow        TEXT NOT NULL,
    step        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    message_id  INTEGER,
    updated_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX dialogs_expires ON dialogs (expires_at);
