"""Bounds against one person stalling the bot (#12): at most 10 attachments per report in all,
a limit on details per hour, /incident sends attachments through the outbox; what identifies
an anonymous reporter is said plainly and documents stay out of an anonymous report."""

from __future__ import annotations

from typing import Any

from bot.incidents.report import MAX_ATTACHMENTS
from bot.incidents.reporters import DETAILS_PER_HOUR
from tests.conftest import Harness
from tests.test_incidents import DOCUMENT, PHOTO, REGIONAL, REPORTER, network, report


def photo(n: int) -> dict[str, Any]:
    return {
        "photo": [{"file_id": f"photo-{n}", "file_unique_id": f"u{n}", "width": 9, "height": 9}]
    }


async def details(h: Harness, code: str, **message: Any) -> str:
    reporter = h.person(REPORTER)
    await reporter.send(f"/status {code}")
    await reporter.tap("Добавить подробности")
    await reporter.send(message.pop("text", None), **message)
    return reporter.last


async def test_at_most_ten_attachments_per_report_with_details_added_later(
    harness: Harness,
) -> None:
    await network(harness)
    code = await report(
        harness, REPORTER, files=tuple(photo(n) for n in range(MAX_ATTACHMENTS - 1))
    )
    await harness.deliver()
    assert "переданы координаторам" in await details(harness, code, **photo(100))
    assert len(await harness.storage.incidents.attachments(1)) == MAX_ATTACHMENTS
    said = await details(harness, code, **photo(101))
    assert "больше нельзя" in said
    assert len(await harness.storage.incidents.attachments(1)) == MAX_ATTACHMENTS
    assert "переданы координаторам" in await details(harness, code, text="Ещё один свидетель")


async def test_details_per_hour_are_limited(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER)
    for n in range(DETAILS_PER_HOUR):
        assert "переданы" in await details(harness, code, text=f"Подробность номер {n}")
    assert "это предел" in await details(harness, code, text="Ещё одна подробность")
    timeline = [e.action for e in await harness.storage.incidents.timeline(1)]
    assert timeline.count("details") == DETAILS_PER_HOUR
    harness.clock.advance(hours=1)
    assert "переданы" in await details(harness, code, text="Через час можно снова")


async def test_incident_sends_attachments_through_the_outbox(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER, files=tuple(photo(n) for n in range(MAX_ATTACHMENTS)))
    await harness.deliver()
    photos_before = len(harness.telegram.sent("sendPhoto", chat_id=REGIONAL))
    regional = harness.person(REGIONAL)
    await regional.send("/incident 1")
    assert "История обращения" in regional.last
    assert len(harness.telegram.sent("sendPhoto", chat_id=REGIONAL)) == photos_before
    queued = await harness.storage.db.fetchall(
        "SELECT method FROM outbox WHERE chat_id = ? AND status = 'pending'", (REGIONAL,)
    )
    assert [r[0] for r in queued] == ["sendPhoto"] * MAX_ATTACHMENTS
    await harness.deliver()
    assert len(harness.telegram.sent("sendPhoto", chat_id=REGIONAL)) == photos_before + 10


async def test_the_anonymity_step_says_what_identifies_and_drops_documents(
    harness: Harness,
) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await p.send("/report")
    await p.tap("Нет")
    await p.tap("Угрозы")
    await p.tap("📍")
    await p.send("Самара")
    await p.tap("Сегодня")
    await p.send("У входа разбили окна и написали угрозы на двери.")
    await p.send(None, **PHOTO)
    await p.send(None, **DOCUMENT)
    await p.tap("Готово")
    await p.tap("В ближайшие дни")
    question = p.last
    assert "голос" in question and "документ" in question and "GPS" in question
    assert "Фото, присланные как фото" in question
    await p.tap("Анонимно")
    assert "Убран 1 документ" in p.last and "Вложений: 1" in p.last
    await p.tap("Отправить")
    attachments = await harness.storage.incidents.attachments(1)
    assert [(a.kind, a.file_id) for a in attachments] == [("photo", "photo-1")]


async def test_an_anonymous_reporter_cannot_add_a_document_later(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER, anonymous=True)
    said = await details(harness, code, **DOCUMENT)
    assert "как фото" in said
    assert await harness.storage.incidents.attachments(1) == []
    reporter = harness.person(REPORTER)
    await reporter.send(None, **PHOTO)  # the prompt is still open
    assert "переданы координаторам" in reporter.last
    assert len(await harness.storage.incidents.attachments(1)) == 1


def test_in_memory_counters_are_bounded() -> None:
    from datetime import UTC, datetime, timedelta

    from bot.incidents.report import Quota

    quota = Quota(5)
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    for _ in range(1000):
        quota.spend(1, now)
    assert quota.left(1, now) < 0  # still refused, with a handful of entries kept
    assert len(quota._uses[1]) <= 6
    assert quota.left(1, now + timedelta(hours=1)) == 5 and len(quota) == 0  # forgotten
    Quota.PEOPLE, people = 100, Quota.PEOPLE
    try:
        for person in range(1000):
            quota.spend(person, now)
        assert len(quota) == 100 and quota.left(999, now) == 4
    finally:
        Quota.PEOPLE = people


async def test_a_report_takes_a_bounded_number_of_details(
    harness: Harness, monkeypatch: Any
) -> None:
    monkeypatch.setattr("bot.incidents.reporters.DETAILS_MAX", 3)
    await network(harness)
    code = await report(harness, REPORTER)
    for n in range(3):
        harness.clock.advance(minutes=1)
        assert "переданы" in await details(harness, code, text=f"Подробность номер {n}")
    harness.clock.advance(hours=2)
    assert "больше нельзя" in await details(harness, code, text="Ещё одна подробность")
