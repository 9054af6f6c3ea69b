"""The database: migrations, pragmas, file permissions, idempotent business facts."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from storage.db import Database, DatabaseTooNew, Storage, load_migrations
from storage.members import Profile
from tests.conftest import START

PROFILE = Profile("Анна", "Диалог", "RU-SAM", "ru", ("education",))


async def test_migrations_from_empty_set_the_version(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new" / "bot.sqlite3")
    applied = await db.migrate()
    assert applied == [m.version for m in load_migrations()]
    assert await db.user_version() == len(load_migrations())
    tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"members", "member_topics", "roles", "invites", "audit_log", "dialogs"} <= tables
    await db.close()


async def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await Storage.open(path)
    await store.members.upsert(1, PROFILE, consent_version="v", consent_at=START, now=START)
    await store.close()
    db = await Database.open(path)
    assert await db.migrate() == []
    assert len(await db.fetchall("SELECT * FROM members")) == 1
    await db.close()


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    await db.migrate()
    await db.execute("PRAGMA user_version = 999")
    await db.close()
    with pytest.raises(DatabaseTooNew) as caught:
        await Storage.open(path)
    assert caught.value.found == 999


async def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    await db.migrate()
    version = await db.user_version()
    with pytest.raises(Exception, match="no such table"):
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (x)")
            await tx.execute("INSERT INTO missing VALUES (1)")
    tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
    assert "t" not in tables
    assert await db.user_version() == version
    await db.close()


async def test_pragmas_and_owner_only_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "bot.sqlite3"
    store = await Storage.open(path)
    assert (await store.db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
    assert (await store.db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
    assert (await store.db.fetchone("PRAGMA busy_timeout"))[0] >= 1000  # type: ignore[index]
    # a commit is on the disk before it returns (a confirmed report survives a power cut)
    assert (await store.db.fetchone("PRAGMA synchronous"))[0] == 2  # type: ignore[index]
    await store.members.upsert(1, PROFILE, consent_version="v", consent_at=START, now=START)
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600
    wal = path.with_name(path.name + "-wal")
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    await store.close()


async def test_one_member_per_telegram_user(storage: Storage) -> None:
    first, created = await storage.members.upsert(
        7, PROFILE, consent_version="v", consent_at=START, now=START
    )
    second, created_again = await storage.members.upsert(
        7,
        Profile("Анна И.", "Диалог", "RU-TA", "en", ()),
        consent_version="v",
        consent_at=START,
        now=START,
    )
    assert created and not created_again
    assert first.id == second.id
    assert (second.name, second.region_code, second.topics) == ("Анна И.", "RU-TA", ())


async def test_no_ethnicity_or_nationality_columns(storage: Storage) -> None:
    columns = {
        r["name"].lower()
        for table in ("members", "member_topics", "roles")
        for r in await storage.db.fetchall(f"PRAGMA table_info({table})")
    }
    assert not {c for c in columns if "ethn" in c or "nation" in c}
