"""The unit of work: a transaction joined by every statement of the same task, savepoints for
nested parts, and nothing shared with other tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.events.rsvp import answer
from bot.roles.access import identify
from bot.settings import Settings
from storage.db import Database
from storage.outbox import Recipient
from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_events import create_event, join
from tests.test_registration import register


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


async def _full_event(harness: Harness) -> int:
    """An event with one place: 1402 has it, 1403 waits for it."""
    await register(harness, 1401)
    await make_coordinator(harness, 1401, "RU-SAM")
    for user_id in (1402, 1403):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1401, capacity="1")
    await harness.deliver()
    await harness.person(1402).tap("Пойду")
    await harness.person(1403).tap("Пойду")  # the waitlist
    return event_id


async def test_an_rsvp_and_its_promotion_notice_commit_together(
    harness: Harness, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = await _full_event(harness)
    outbox = harness.storage.outbox
    enqueue = outbox.enqueue

    async def failing(recipients: Sequence[Recipient], **kw: Any) -> int | None:
        if any((r.key or "").startswith(f"promoted{event_id}:") for r in recipients):
            raise RuntimeError("crash while queueing the promotion notice")
        return await enqueue(recipients, **kw)

    monkeypatch.setattr(outbox, "enqueue", failing)
    caller = await identify(harness.storage, settings, 1402)
    data = harness.app.bot_data
    assert data.regions is not None
    now, regions, topics = harness.clock(), data.regions, data.topics
    with pytest.raises(RuntimeError):
        await answer(harness.storage, caller, event_id, "no", now, regions, topics)
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist) == (1, 1)  # the 'no' went with the notice
    monkeypatch.setattr(outbox, "enqueue", enqueue)
    await answer(harness.storage, caller, event_id, "no", now, regions, topics)
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist) == (1, 0)
    assert await outbox.pending_with_key(f"promoted{event_id}:")


async def test_every_promotion_has_its_own_notice_even_in_the_same_instant(
    harness: Harness,
) -> None:
    event_id = await _full_event(harness)
    first, second = harness.person(1402), harness.person(1403)
    await first.tap("Не пойду")  # 1403 gets the place
    await first.tap("Пойду")  # and 1402 waits
    await second.tap("Не пойду")  # 1402 gets it back
    await second.tap("Пойду")
    await first.tap("Не пойду")  # 1403 is promoted a second time, the clock has not moved
    await harness.deliver()
    assert len([t for t in second.texts if "Освободилось место" in t]) == 2
    assert len([t for t in first.texts if "Освободилось место" in t]) == 1
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist) == (1, 0)
