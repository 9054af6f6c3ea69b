"""Retention of events: RETENTION_DAYS after an event ended its answers, check-ins, waitlist
and evaluation invitations no longer name anyone; the numbers stay for the reports."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Harness
from tests.test_evaluations import ENDS, IRKUTSK_ID, MOSCOW_ID, answer_all, at, make_event
from tests.test_evaluations import people_going as going
from tests.test_events import join


async def personal(h: Harness, event_id: int) -> list[tuple[str, int]]:
    found = []
    for table in ("rsvps", "evaluation_participants"):
        rows = await h.storage.db.fetchall(
            f"SELECT member_id FROM {table} WHERE event_id = ?", (event_id,)
        )
        found += [(table, int(r[0])) for r in rows]
    rows = await h.storage.db.fetchall(
        "SELECT member_id FROM evaluation_responses WHERE event_id = ? AND member_id IS NOT NULL",
        (event_id,),
    )
    return found + [("evaluation_responses", int(r[0])) for r in rows]


async def test_past_events_lose_their_participants_but_keep_the_counts(harness: Harness) -> None:
    event_id = await make_event(harness)
    await going(harness, event_id, (MOSCOW_ID, IRKUTSK_ID))
    await join(harness, 4401, "Приволжский", "Самарская область", "Образование")
    maybe = harness.person(4401)
    await maybe.send("/events")
    await maybe.press(f"ev:{event_id}:maybe")
    harness.clock.now = ENDS - timedelta(hours=1)
    await harness.person(MOSCOW_ID).send(f"/start ci_{event_id}_secret")
    await at(harness, ENDS + timedelta(minutes=1))
    await at(harness, ENDS + timedelta(hours=12))
    await answer_all(harness, MOSCOW_ID)
    later = await make_event(harness)  # an event of a year later keeps everything
    await harness.storage.db.execute(
        "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
        ("2027-12-01T10:00:00.000000Z", "2027-12-01T12:00:00.000000Z", later),
    )
    await harness.person(IRKUTSK_ID).press(f"ev:{later}:going")
    counts = await harness.storage.events.counts(event_id)
    asked = await harness.storage.evaluations.counts(event_id, "main")
    assert (counts.going, counts.maybe, asked) == (2, 1, (1, 1))
    assert await personal(harness, event_id)
    # a day short of the retention nothing changes; then the personal links go
    settings = harness.app.bot_data.settings
    assert settings is not None
    harness.clock.now = ENDS + timedelta(days=settings.retention_days - 1)
    await harness.run_jobs()
    assert await personal(harness, event_id)
    harness.clock.now = ENDS + timedelta(days=settings.retention_days + 1)
    await harness.run_jobs()
    assert await personal(harness, event_id) == []
    assert await harness.storage.events.counts(event_id) == counts
    assert await harness.storage.evaluations.counts(event_id, "main") == asked
    responses = await harness.storage.evaluations.responses(event_id, "main")
    assert len(responses) == 1 and responses[0].member_id is None  # the figures stay
    kept = await harness.storage.db.fetchone(
        "SELECT kept_counts FROM events WHERE id = ?", (event_id,)
    )
    assert kept is not None and '"checked_in": 1' in kept[0]
    assert (
        await personal(harness, later) == [("rsvps", 2)] or len(await personal(harness, later)) == 1
    )
    # a second sweep changes nothing
    await harness.run_jobs()
    assert await harness.storage.events.counts(event_id) == counts
