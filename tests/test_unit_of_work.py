"""The unit of work: a transaction joined by every statement of the same task, savepoints for
nested parts, and nothing shared with other tasks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database
from tests.conftest import Harness


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


async def test_an_incident_action_and_its_messages_commit_together(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'Беру в работу' is one unit of work with everything it causes (the state, the timeline,
    the steps, the edits of the delivered cards, the reporter's notice): joined by a caller's
    transaction that then fails, none of it remains; alone, all of it commits at once, and what
    it reads to tell everyone (the delivered cards) is read inside that transaction, not
    before it (where a card delivered meanwhile would be missed)."""
    from bot.incidents.coordinators import acknowledge
    from bot.roles.access import identify
    from tests.test_incidents import REGIONAL, REPORTER, network, report

    await network(harness)
    code = await report(harness, REPORTER)
    await harness.deliver()
    storage, data = harness.storage, harness.app.bot_data
    incident = await storage.incidents.by_code(code)
    assert incident is not None
    caller = await identify(storage, data.settings, REGIONAL)

    async def queued() -> int:
        row = await storage.db.fetchone("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        return int(row[0]) if row else 0

    async def timeline() -> list[str]:
        return [e.action for e in await storage.incidents.timeline(incident.id)]

    before, noted = await queued(), await timeline()
    with pytest.raises(RuntimeError):
        async with storage.db.transaction():
            taken = await acknowledge(
                storage, data.settings, data.regions, caller, incident.id, harness.clock()
            )
            assert taken.state == "acknowledged" and await queued() > before  # seen inside
            raise RuntimeError("the caller's unit of work fails after the action")
    still = await storage.incidents.get(incident.id)
    assert still is not None and still.state == "new" and still.assignee_telegram_id is None
    assert await queued() == before and await timeline() == noted
    assert [s.kind for s in await storage.incidents.pending_steps(incident.id)] != ["stale"]

    inside: list[bool] = []
    delivered = storage.outbox.delivered_with_key

    async def spied(pattern: str) -> Any:
        inside.append(storage.db.joined() is not None)
        return await delivered(pattern)

    monkeypatch.setattr(storage.outbox, "delivered_with_key", spied)
    taken = await acknowledge(
        storage, data.settings, data.regions, caller, incident.id, harness.clock()
    )
    assert taken.state == "acknowledged"
    assert inside and all(inside)
    assert await queued() >= before + 2  # the card's edit and the reporter's notice
    assert (await timeline())[-1] == "acknowledged"
    assert [s.kind for s in await storage.incidents.pending_steps(incident.id)] == ["stale"]
