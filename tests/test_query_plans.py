"""The outbox lookups that run on every claim and every escalation step use an index, read from
SQLite's own plan (EXPLAIN QUERY PLAN), and the key patterns match what they should."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from storage.clock import to_db
from storage.db import Storage, load_migrations
from storage.outbox import key_glob

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def plan(sql: str, params: tuple[object, ...]) -> str:
    conn = sqlite3.connect(":memory:")
    for migration in load_migrations():
        conn.executescript(migration.sql)
    return " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_the_claim_finds_its_rows_by_id_not_by_walking_the_pending_ones() -> None:
    claim = (
        "UPDATE outbox SET status = 'sending' WHERE rowid IN (SELECT id FROM outbox"
        " WHERE status = 'pending' AND due_at <= ? ORDER BY priority, due_at, id LIMIT ?)"
        " AND +status = 'pending' RETURNING *"
    )
    found = plan(claim, (to_db(NOW), 50))
    assert found.startswith("SEARCH outbox USING INTEGER PRIMARY KEY (rowid=?)"), found


def test_key_prefix_lookups_use_the_key_index() -> None:
    for sql in (
        "SELECT * FROM outbox WHERE dedupe_key GLOB ? AND +status = 'pending' ORDER BY id",
        "UPDATE outbox SET status = 'cancelled' WHERE dedupe_key GLOB ? AND +status = 'pending'",
        "DELETE FROM outbox WHERE dedupe_key GLOB ? AND +status <> 'sending'",
        "SELECT o.chat_id FROM outbox o LEFT JOIN members m ON m.id = o.member_id"
        " WHERE o.dedupe_key GLOB ? AND +o.status = 'sent' AND o.message_id IS NOT NULL",
    ):
        found = plan(sql, (key_glob("inccard12:%"),))
        assert "USING INDEX sqlite_autoindex_outbox_1 (dedupe_key>? AND dedupe_key<?)" in found


async def test_key_patterns_match_exactly_what_they_name(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "bot.sqlite3")
    try:
        for key in ("rem1:5:77", "rem24:5:78", "rem1:15:77", "REM1:5:79", "rem_1:5:80", "ev5:1"):
            await storage.db.execute(
                "INSERT INTO outbox (chat_id, method, payload, dedupe_key, priority, due_at)"
                " VALUES (77, 'sendMessage', '{}', ?, 3, ?)",
                (key, to_db(NOW)),
            )
        assert await storage.outbox.cancel_pending("rem%:5:%") == 3  # rem1, rem24, rem_1
        rows = await storage.db.fetchall("SELECT dedupe_key FROM outbox WHERE status = 'pending'")
        assert {r[0] for r in rows} == {"rem1:15:77", "REM1:5:79", "ev5:1"}  # case counts
        assert len(await storage.outbox.pending_with_key("ev5:")) == 1
        assert await storage.outbox.pending_with_key("ev5:1*") == []  # * is no wildcard
    finally:
        await storage.close()
