-- Members are vetted (MEMBER_APPROVAL): a new member waits until a coordinator of their region
-- (or an admin, when the region has none) accepts them on a card. Members registered before
-- this migration count as approved.
ALTER TABLE members ADD COLUMN approval TEXT NOT NULL DEFAULT 'approved'
    CHECK (approval IN ('waiting', 'approved', 'declined'));
CREATE INDEX members_waiting ON members (region_code) WHERE approval = 'waiting';

-- One request per waiting member: whom its cards went to (1 = the region's coordinators,
-- 2 = admins), when the next reminder is due (a row with a due time, claimed by the sweep), and
-- how many reminders went out. Removed with the member (ON DELETE CASCADE) or when decided.
CREATE TABLE approval_requests (
    member_id   INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    region_code TEXT NOT NULL,
    level       INTEGER NOT NULL DEFAULT 1 CHECK (level IN (1, 2)),
    remind_at   TEXT,
    reminders   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX approval_requests_due ON approval_requests (remind_at);

-- A coordinator's own sign-up link: whoever registers through it is approved at once. Only a
-- hash of the secret is stored; one live link per coordinator and region (revocable).
CREATE TABLE signup_links (
    id          INTEGER PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    region_code TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX signup_links_member ON signup_links (member_id, revoked_at);
