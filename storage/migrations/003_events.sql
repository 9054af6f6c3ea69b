-- Events announced to members of target regions (and topics), with RSVPs and a waitlist.

CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    program        TEXT NOT NULL DEFAULT '[]',  -- JSON list of program blocks
    starts_at      TEXT NOT NULL,
    ends_at        TEXT NOT NULL,
    tz             TEXT NOT NULL,               -- the zone the organiser entered the times in
    place          TEXT,
    online_url     TEXT,
    capacity       INTEGER CHECK (capacity IS NULL OR capacity > 0),
    status         TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'cancelled')),
    created_by     INTEGER REFERENCES members (id) ON DELETE SET NULL,
    checkin_secret TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX events_starts ON events (status, starts_at);

CREATE TABLE event_regions (
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    region_code TEXT NOT NULL,
    PRIMARY KEY (event_id, region_code)
) WITHOUT ROWID;
CREATE INDEX event_regions_region ON event_regions (region_code, event_id);

CREATE TABLE event_topics (
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    topic    TEXT NOT NULL,
    PRIMARY KEY (event_id, topic)
) WITHOUT ROWID;

-- One answer per member per event. 'waitlist' = said "Пойду" when the event was full.
CREATE TABLE rsvps (
    event_id      INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    answer        TEXT NOT NULL CHECK (answer IN ('going', 'maybe', 'no', 'waitlist')),
    answered_at   TEXT NOT NULL,
    checked_in_at TEXT,
    PRIMARY KEY (event_id, member_id)
) WITHOUT ROWID;
CREATE INDEX rsvps_event_answer ON rsvps (event_id, answer, answered_at);
