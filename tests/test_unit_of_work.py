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


async def test_a_unit_joins_the_open_transaction_as_it_is_or_opens_its_own(db: Database) -> None:
    async with db.unit() as own:  # nothing open: a transaction of its own, committed
        assert db.joined() is own
        await own.execute("INSERT INTO facts VALUES ('alone')")
    assert db.joined() is None
    assert await names(db) == ["alone"]
    async with db.transaction() as outer:
        with pytest.raises(ValueError):
            async with db.unit() as joined:
                assert joined is outer
                await joined.execute("INSERT INTO facts VALUES ('joined')")
                raise ValueError("no savepoint: undone only with the caller's whole unit")
    assert await names(db) == ["alone", "joined"]
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
