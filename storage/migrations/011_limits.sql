-- Limits that survive a restart and link nobody to an anonymous report (#12).
-- guard_counters: counts per window that belong to no person, e.g. the wrong receipt codes
-- typed in the whole network in an hour ('wrong_code'), or to a named reporter only
-- ('report:<member id>': their named reports in the hour). Old windows are purged.
CREATE TABLE guard_counters (
    name         TEXT NOT NULL,
    window_start TEXT NOT NULL,
    count        INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (name, window_start)
) WITHOUT ROWID;

-- A named reporter whose report a coordinator marked as abuse reports less until `until`.
-- (The reporter of an anonymous report marked as abuse is known only to the running process:
-- nothing on disk says who it was.)
CREATE TABLE report_penalties (
    member_id INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    until     TEXT NOT NULL
);

-- Reports a coordinator marked as abuse (false, spam, insults): the mark, when and by whom
-- stays in the timeline.
ALTER TABLE incidents ADD COLUMN abuse INTEGER NOT NULL DEFAULT 0 CHECK (abuse IN (0, 1));
