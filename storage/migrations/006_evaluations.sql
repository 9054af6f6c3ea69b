-- Post-event evaluations: the questionnaire chosen for each event, who is asked (one row per
-- participant per round: 'main' after the event, 'followup' some days later), and the answers.
-- An anonymous evaluation keeps the link between a person and their answers only while they
-- are answering (the draft); the finished answer set is stored with no member, a random id and
-- the day only, so it cannot be matched to the person who was asked.

CREATE TABLE event_evaluations (
    event_id      INTEGER PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    template      TEXT NOT NULL DEFAULT 'standard',  -- 'standard', 'short', 'conference', 'none'
    custom        TEXT NOT NULL DEFAULT '[]',        -- JSON: the coordinator's own questions
    anonymous     INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
    followup      INTEGER NOT NULL DEFAULT 0 CHECK (followup IN (0, 1)),
    requested_at  TEXT,      -- when the requests were queued (the round is open from then)
    closes_at     TEXT,      -- answers after this are refused
    followup_requested_at TEXT,
    followup_closes_at    TEXT
);

-- Every event published before evaluations existed gets the standard questionnaire.
INSERT INTO event_evaluations (event_id) SELECT id FROM events;

CREATE TABLE evaluation_participants (
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    round       TEXT NOT NULL CHECK (round IN ('main', 'followup')),
    asked_at    TEXT NOT NULL,          -- when the request is (or was) due in their chat
    remind_at   TEXT,                   -- NULL: no reminder (any more)
    draft       TEXT,                   -- JSON answers so far while answering; NULL otherwise
    answered    INTEGER NOT NULL DEFAULT 0 CHECK (answered IN (0, 1)),
    PRIMARY KEY (event_id, member_id, round)
) WITHOUT ROWID;
CREATE INDEX evaluation_participants_remind ON evaluation_participants (answered, remind_at);

CREATE TABLE evaluation_responses (
    id           INTEGER PRIMARY KEY,   -- random for anonymous evaluations
    event_id     INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    round        TEXT NOT NULL CHECK (round IN ('main', 'followup')),
    member_id    INTEGER REFERENCES members (id) ON DELETE SET NULL,  -- NULL when anonymous
    region_code  TEXT,                  -- the respondent's region, for per-region figures
    submitted_on TEXT NOT NULL          -- a day (anonymous) or a moment (named)
);
CREATE UNIQUE INDEX evaluation_responses_member
    ON evaluation_responses (event_id, round, member_id) WHERE member_id IS NOT NULL;
CREATE INDEX evaluation_responses_event ON evaluation_responses (event_id, round);

CREATE TABLE evaluation_answers (
    response_id INTEGER NOT NULL REFERENCES evaluation_responses (id) ON DELETE CASCADE,
    question    TEXT NOT NULL,          -- the question's key, e.g. 'relevance' or 'custom1'
    number      INTEGER,                -- a scale value 1-5
    choice      TEXT,                   -- a choice's key, or 'block:<n>' for a program block
    text        TEXT,                   -- free text
    voice       TEXT,                   -- a Telegram file id of a voice message
    PRIMARY KEY (response_id, question)
) WITHOUT ROWID;
