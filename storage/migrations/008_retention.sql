-- Retention: when the personal details of a closed incident report were purged.
ALTER TABLE incidents ADD COLUMN purged_at TEXT;
CREATE INDEX incidents_closed ON incidents (state, closed_at);
