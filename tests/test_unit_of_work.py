"""The unit of work: a transaction joined by every statement of the same task, savepoints for
nested parts, and nothing shared with other tasks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "uow.sqlite3")
    await database.execute("CREATE TABLE facts (name TEXT PRIMARY KEY)")
    return database


async def names(db: Database) -> list[str]:
    return [row[0] for row in await db.fetchall("SELECT name FROM facts ORDER BY name")]


async def test_statements_inside_a_transaction_join_it_and_commit_together(db: Database) -> None:
    async with db.transaction():
        await db.execute("INSERT INTO facts VALUES ('rsvp')")  # would wait for the lock forever
        assert await names(db) == ["rsvp"]  # a read inside sees the transaction's own write
        async with db.transaction() as inner:
            await inner.execute("INSERT INTO facts VALUES ('promotion notice')")
    assert await names(db) == ["promotion notice", "rsvp"]
    await db.close()


async def test_an_error_undoes_the_whole_unit_of_work(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.execute("INSERT INTO facts VALUES ('rsvp')")
            async with db.transaction():
                await db.execute("INSERT INTO facts VALUES ('promotion notice')")
            raise RuntimeError("crash before the commit")
    assert await names(db) == []
    await db.close()


async def test_a_failed_nested_part_is_undone_alone(db: Database) -> None:
    async with db.transaction():
        await db.execute("INSERT INTO facts VALUES ('kept')")
        with pytest.raises(ValueError):
            async with db.transaction():
                await db.execute("INSERT INTO facts VALUES ('undone')")
                raise ValueError("this part fails")
        await db.execute("INSERT INTO facts VALUES ('after')")
    assert await names(db) == ["after", "kept"]
    await db.close()


async def test_another_task_waits_for_the_commit_and_never_sees_half_of_it(db: Database) -> None:
    seen: list[list[str]] = []

    async def reader() -> None:
        seen.append(await names(db))

    async with db.transaction():
        await db.execute("INSERT INTO facts VALUES ('first')")
        task = asyncio.create_task(reader())  # inherits the context, must not join
        await asyncio.sleep(0)
        assert not task.done()
        await db.execute("INSERT INTO facts VALUES ('second')")
    await task
    assert seen == [["first", "second"]]
    assert db.joined() is None
    await db.close()
