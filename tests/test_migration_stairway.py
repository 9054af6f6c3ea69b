"""The migration stairway: a database left at any earlier schema version, holding data, upgrades
to the newest and keeps that data.

Each step is built from the migration files themselves: migrations 1..v applied as the bot of
that time applied them, then one row in every table (parents before children, so foreign keys
point at real rows; a value every CHECK of the column accepts; timestamps in storage's format).
Then the bot of today opens the file. Every seeded value must still be there, in the same row of
the same table, unless a later migration is known (below, with its reason) to drop or rewrite it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.clock import to_db
from storage.db import Storage, load_migrations

MIGRATIONS = load_migrations()
NEWEST = len(MIGRATIONS)
SEEDED_AT = to_db(datetime(2026, 1, 15, 9, 30, tzinfo=UTC))

# (table, column) that a later migration drops or rewrites on purpose, with why. Empty today:
# every migration so far only adds. A migration that changes data adds its line here.
REWRITTEN: dict[tuple[str, str], str] = {}
# Tables that a later migration drops on purpose, with why.
DROPPED: dict[str, str] = {}


def build_at(path: Path, version: int) -> None:
    """A database as migrations 1..version left it (each with its version bump, as the bot does)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        for migration in MIGRATIONS[:version]:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{migration.sql}\n"
                f"PRAGMA user_version = {migration.version};\nCOMMIT;\n"
            )
    finally:
        conn.close()


def tables(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return dict(rows)


def parents_first(conn: sqlite3.Connection, names: list[str]) -> list[str]:
    ordered: list[str] = []

    def visit(name: str, seen: frozenset[str]) -> None:
        if name in ordered or name in seen:
            return
        for fk in conn.execute(f"PRAGMA foreign_key_list({name})").fetchall():
            visit(fk[2], seen | {name})
        ordered.append(name)

    for name in names:
        visit(name, frozenset())
    return ordered


def allowed_value(create_sql: str, column: str, declared: str) -> Any:
    """A value the column's CHECK accepts, of the column's type."""
    listed = re.search(
        rf"CHECK\s*\(\s*{re.escape(column)}\s+IN\s*\(([^)]*)\)", create_sql, re.IGNORECASE
    )
    if listed:
        first = listed[1].split(",")[0].strip()
        return first.strip("'") if first.startswith("'") else int(first)
    kind = declared.upper()
    if column.endswith("_at") or column in {"due", "since", "until"}:
        return SEEDED_AT
    if "INT" in kind:
        return 7
    if "REAL" in kind:
        return 1.5
    if "BLOB" in kind:
        return b"\x01\x02"
    return f"{column} seeded"


def seed(path: Path) -> dict[str, dict[str, Any]]:
    """One row in every table; returns what was written, table -> column -> value."""
    conn = sqlite3.connect(path, isolation_level=None)
    written: dict[str, dict[str, Any]] = {}
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        schema = tables(conn)
        for name in parents_first(conn, list(schema)):
            if name not in schema:
                continue  # a foreign key to a table that does not exist (yet)
            columns = conn.execute(f"PRAGMA table_info({name})").fetchall()
            fks = {fk[3]: (fk[2], fk[4]) for fk in conn.execute(f"PRAGMA foreign_key_list({name})")}
            row: dict[str, Any] = {}
            for _cid, column, declared, _notnull, _default, _pk in columns:
                if column in fks:
                    parent, parent_column = fks[column]
                    if parent not in written:
                        continue  # self-reference or a cycle: left to its default
                    row[column] = written[parent].get(parent_column or "rowid")
                    if row[column] is None:
                        row[column] = conn.execute(f"SELECT rowid FROM {parent}").fetchone()[0]
                else:
                    row[column] = allowed_value(schema[name], column, declared or "")
            placeholders = ", ".join("?" for _ in row)
            conn.execute(
                f"INSERT INTO {name} ({', '.join(row)}) VALUES ({placeholders})",
                tuple(row.values()),
            )
            written[name] = row
    finally:
        conn.close()
    return written


@pytest.mark.parametrize("version", range(NEWEST))
async def test_a_database_at_every_earlier_version_upgrades_and_keeps_its_data(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "bot.sqlite3"
    build_at(path, version)
    written = seed(path) if version else {}

    storage = await Storage.open(path)
    try:
        assert await storage.db.user_version() == NEWEST
    finally:
        await storage.close()

    conn = sqlite3.connect(path)
    try:
        now_tables = tables(conn)
        problems = conn.execute("PRAGMA foreign_key_check").fetchall()
        assert problems == [], f"foreign keys broken by the upgrade from {version}: {problems}"
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for name, row in written.items():
            if name not in now_tables:
                assert name in DROPPED, f"table {name} (seeded at {version}) is gone"
                continue
            present = {c[1] for c in conn.execute(f"PRAGMA table_info({name})")}
            kept = [c for c in row if c in present and (name, c) not in REWRITTEN]
            gone = [c for c in row if c not in present and (name, c) not in REWRITTEN]
            assert gone == [], f"{name}: columns {gone} (seeded at {version}) are gone"
            where = " AND ".join(f"{c} IS ?" for c in kept)
            found = conn.execute(
                f"SELECT count(*) FROM {name} WHERE {where}", tuple(row[c] for c in kept)
            ).fetchone()[0]
            assert found == 1, f"{name}: the row seeded at version {version} did not survive"
    finally:
        conn.close()


def test_the_seeder_reaches_every_table_of_the_newest_schema(tmp_path: Path) -> None:
    """So that no step of the stairway upgrades an empty table without anyone noticing."""
    path = tmp_path / "bot.sqlite3"
    build_at(path, NEWEST)
    written = seed(path)
    conn = sqlite3.connect(path)
    try:
        assert set(written) == set(tables(conn))
        for name in written:
            assert conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 1, name
    finally:
        conn.close()
