-- Regional group chats: announcements for a region are also posted in its linked groups.

CREATE TABLE region_groups (
    chat_id     INTEGER PRIMARY KEY,
    region_code TEXT NOT NULL,
    title       TEXT,
    linked_by   INTEGER REFERENCES members (id) ON DELETE SET NULL,
    linked_at   TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1    -- 0 once the bot was removed from the group
);
CREATE INDEX region_groups_region ON region_groups (region_code, active);
