"""The delivery engine: outbox rows, Telegram's errors, priorities, restarts, progress."""

from __future__ import annotations

from datetime import timedelta

from bot.outbox import Outgoing, Priority, send_to_many
from bot.runtime.delivery import DeliveryEngine
from storage.members import Profile
from tests.conftest import ADMIN_ID, START, Harness

PROFILE = Profile("Анна", "Диалог", "RU-SAM", "ru", ("education",))


async def members(h: Harness, *ids: int) -> list[tuple[int, int | None]]:
    out: list[tuple[int, int | None]] = []
    for telegram_id in ids:
        member, _ = await h.storage.members.upsert(
            telegram_id, PROFILE, consent_version="v", consent_at=START, now=START
        )
        out.append((telegram_id, member.id))
    return out


def texts_to(h: Harness, chat_id: int) -> list[str]:
    return [str(c.params.get("text")) for c in h.telegram.sent(chat_id=chat_id)]


async def test_every_recipient_gets_the_message_once(harness: Harness) -> None:
    recipients = await members(harness, 501, 502, 503)
    message = Outgoing(text="Семинар в Самаре")
    for _ in range(2):  # queued twice with the same key: sent once
        await send_to_many(
            harness.storage, recipients, message, priority=Priority.BULK, now=START, key="ev:1"
        )
    assert await harness.deliver() == 3
    for chat_id, _ in recipients:
        assert texts_to(harness, chat_id) == ["Семинар в Самаре"]
    rows = await harness.storage.db.fetchall("SELECT status, message_id FROM outbox")
    assert [r["status"] for r in rows] == ["sent"] * 3
    assert all(r["message_id"] for r in rows)


async def test_messages_per_recipient_language(harness: Harness) -> None:
    recipients = await members(harness, 504, 505)
    await send_to_many(
        harness.storage,
        recipients,
        lambda chat_id, _member: Outgoing(text="Hello" if chat_id == 505 else "Привет"),
        priority=Priority.BULK,
        now=START,
    )
    await harness.deliver()
    assert texts_to(harness, 504) == ["Привет"] and texts_to(harness, 505) == ["Hello"]


async def test_blocked_person_is_marked_unreachable_and_skipped(harness: Harness) -> None:
    recipients = await members(harness, 506, 507)
    harness.telegram.fail("sendMessage", chat_id=506)
    await send_to_many(
        harness.storage, recipients, Outgoing(text="A"), priority=Priority.BULK, now=START
    )
    await send_to_many(
        harness.storage, recipients, Outgoing(text="B"), priority=Priority.BULK, now=START
    )
    await harness.deliver()
    assert texts_to(harness, 507) == ["A", "B"]
    assert len(harness.telegram.sent(chat_id=506)) == 1  # tried once, then skipped
    member = await harness.storage.members.by_telegram_id(506)
    assert member is not None and member.status == "unreachable"
    statuses = await harness.storage.db.fetchall(
        "SELECT status, error FROM outbox WHERE chat_id = 506"
    )
    assert [r["status"] for r in statuses] == ["blocked", "blocked"]
    assert "blocked" in statuses[0]["error"]


async def test_bad_request_fails_with_the_reason(harness: Harness) -> None:
    recipients = await members(harness, 508)
    harness.telegram.fail("sendMessage", code=400, description="Bad Request: can't parse entities")
    await send_to_many(
        harness.storage, recipients, Outgoing(text="<b>"), priority=Priority.BULK, now=START
    )
    await harness.deliver()
    row = await harness.storage.db.fetchone("SELECT status, error, attempts FROM outbox")
    assert row is not None and row["status"] == "failed"
    assert "can't parse entities" in row["error"].lower() and row["attempts"] == 1


async def test_transient_errors_are_retried_with_backoff(harness: Harness) -> None:
    recipients = await members(harness, 509)
    harness.telegram.fail("sendMessage", code=502, description="Bad Gateway", times=2)
    await send_to_many(
        harness.storage, recipients, Outgoing(text="Привет"), priority=Priority.BULK, now=START
    )
    await harness.deliver()
    row = await harness.storage.db.fetchone("SELECT status, due_at, attempts FROM outbox")
    assert row is not None and row["status"] == "pending" and row["attempts"] == 1
    harness.clock.advance(seconds=5)
    await harness.deliver()
    row = await harness.storage.db.fetchone("SELECT status, attempts FROM outbox")
    assert row is not None and row["status"] == "pending" and row["attempts"] == 2
    harness.clock.advance(seconds=15)
    await harness.deliver()
    row = await harness.storage.db.fetchone("SELECT status, attempts FROM outbox")
    assert row is not None and row["status"] == "sent" and row["attempts"] == 3
    assert texts_to(harness, 509) == ["Привет", "Привет", "Привет"]  # two refused, one delivered


async def test_retry_after_reschedules_without_counting_an_attempt(harness: Harness) -> None:
    recipients = await members(harness, 510)
    harness.telegram.retry_after("sendMessage", 1)
    await send_to_many(
        harness.storage, recipients, Outgoing(text="Привет"), priority=Priority.BULK, now=START
    )
    await harness.deliver()
    row = await harness.storage.db.fetchone("SELECT status, attempts, due_at FROM outbox")
    assert row is not None and row["status"] == "pending" and row["attempts"] == 0
    harness.clock.advance(seconds=1)
    await harness.deliver()
    row = await harness.storage.db.fetchone("SELECT status FROM outbox")
    assert row is not None and row["status"] == "sent"


async def test_alerts_go_before_reminders_before_bulk(harness: Harness) -> None:
    bulk = await members(harness, *range(511, 531))
    reminder = await members(harness, 531)
    alert = await members(harness, 532)
    await send_to_many(
        harness.storage, bulk, Outgoing(text="bulk"), priority=Priority.BULK, now=START
    )
    await send_to_many(
        harness.storage, reminder, Outgoing(text="reminder"), priority=Priority.REMINDER, now=START
    )
    await send_to_many(
        harness.storage, alert, Outgoing(text="alert"), priority=Priority.ALERT, now=START
    )
    await harness.deliver()
    order = [c.params["text"] for c in harness.telegram.sent()]
    assert order[:2] == ["alert", "reminder"]
    assert order.count("bulk") == 20


async def test_one_message_per_second_per_person(harness: Harness) -> None:
    recipients = await members(harness, 533)
    for text in ("one", "two"):
        await send_to_many(
            harness.storage, recipients, Outgoing(text=text), priority=Priority.BULK, now=START
        )
    sent = await harness.delivery.run_once()
    assert sent == 1
    row = await harness.storage.db.fetchone(
        "SELECT status, due_at FROM outbox WHERE payload LIKE '%two%'"
    )
    assert row is not None and row["status"] == "pending"


async def test_a_restart_in_the_middle_delivers_the_rest_and_nothing_twice(
    harness: Harness,
) -> None:
    recipients = await members(harness, *range(600, 650))
    await send_to_many(
        harness.storage,
        recipients,
        Outgoing(text="Конференция"),
        priority=Priority.BULK,
        now=START,
        kind="announcement",
    )
    first = harness.delivery
    await first.run_once()
    await first.run_once()
    # the process dies right after claiming the next rows, before sending them
    await harness.storage.outbox.claim(harness.clock(), 8)
    harness.clock.advance(seconds=2)
    second = DeliveryEngine(harness.storage, harness.app.bot, harness.clock, workers=8)
    await second.start()
    await second.stop()
    await second.run_until_idle()
    for chat_id, _ in recipients:
        assert texts_to(harness, chat_id) == ["Конференция"], chat_id
    left = await harness.storage.db.fetchone("SELECT COUNT(*) FROM outbox WHERE status != 'sent'")
    assert left is not None and left[0] == 0


async def test_progress_message_and_final_report(harness: Harness) -> None:
    recipients = await members(harness, *range(700, 720))
    harness.telegram.fail("sendMessage", chat_id=705)
    status = await harness.app.bot.send_message(ADMIN_ID, "📤 …")
    broadcast_id = await send_to_many(
        harness.storage,
        recipients,
        Outgoing(text="Новости сети"),
        priority=Priority.BULK,
        now=START,
        kind="broadcast",
        created_by=ADMIN_ID,
    )
    assert broadcast_id is not None
    await harness.storage.outbox.set_status_message(broadcast_id, ADMIN_ID, status.message_id)
    await harness.deliver()
    admin = harness.person(ADMIN_ID)
    assert "Отправлено 19 из 20" in admin.texts[0]
    assert "доставлено 19 из 20" in admin.last
    assert "Не получили: 1 — заблокировали бота" in admin.last
    await harness.deliver()
    assert sum("Рассылка завершена" in text for text in admin.texts) == 1


async def test_later_due_rows_wait(harness: Harness) -> None:
    recipients = await members(harness, 721)
    await send_to_many(
        harness.storage,
        recipients,
        Outgoing(text="Напоминание"),
        priority=Priority.REMINDER,
        now=START,
        due_at=START + timedelta(hours=1),
    )
    assert await harness.deliver() == 0
    harness.clock.advance(hours=1)
    assert await harness.deliver() == 1


async def test_timeouts_are_retried(harness: Harness) -> None:
    recipients = await members(harness, 722)
    harness.telegram.time_out("sendMessage", chat_id=722)
    await send_to_many(
        harness.storage, recipients, Outgoing(text="Привет"), priority=Priority.BULK, now=START
    )
    await harness.deliver()
    row = await harness.storage.db.fetchone("SELECT status, error FROM outbox")
    assert row is not None and row["status"] == "pending" and "Timed out" in row["error"]
    harness.clock.advance(seconds=5)
    await harness.deliver()
    row = await harness.storage.db.fetchone("SELECT status FROM outbox")
    assert row is not None and row["status"] == "sent"


async def test_rows_left_claimed_by_a_failed_round_are_sent_later(harness: Harness) -> None:
    recipients = await members(harness, 730, 731)
    await send_to_many(
        harness.storage, recipients, Outgoing(text="Привет"), priority=Priority.BULK, now=START
    )
    await harness.storage.outbox.claim(harness.clock(), 10)  # a round that died half-way
    assert await harness.deliver() == 0
    harness.clock.advance(minutes=6)
    await harness.delivery.housekeeping()
    assert await harness.deliver() == 2
    assert texts_to(harness, 730) == ["Привет"] and texts_to(harness, 731) == ["Привет"]


async def test_every_finished_broadcast_gets_its_report(harness: Harness) -> None:
    recipients = await members(harness, 740, 741)
    harness.telegram.fail("sendMessage", chat_id=741)
    ids = []
    for text in ("Первое", "Второе"):
        broadcast_id = await send_to_many(
            harness.storage,
            recipients,
            Outgoing(text=text),
            priority=Priority.BULK,
            now=START,
            kind="broadcast",
            created_by=ADMIN_ID,
        )
        assert broadcast_id is not None
        status = await harness.app.bot.send_message(ADMIN_ID, "📤 …")
        await harness.storage.outbox.set_status_message(broadcast_id, ADMIN_ID, status.message_id)
        ids.append(broadcast_id)
    await harness.deliver()
    reports = [t for t in harness.person(ADMIN_ID).texts if "Рассылка завершена" in t]
    assert len(reports) == 2


async def test_one_slow_chat_does_not_hold_the_others_back(harness: Harness) -> None:
    recipients = await members(harness, *range(761, 767))
    gate = harness.telegram.hold(761)  # this person's send hangs (a slow network)
    await send_to_many(
        harness.storage, recipients, Outgoing(text="Семинар"), priority=Priority.BULK, now=START
    )
    engine = DeliveryEngine(harness.storage, harness.app.bot, harness.clock, workers=4)
    await engine.start()
    try:
        others = [chat_id for chat_id, _ in recipients if chat_id != 761]
        await harness.telegram.until(lambda: all(texts_to(harness, c) for c in others))
        assert texts_to(harness, 761) == []  # still on its way, and nobody waited for it
        gate.set()
        await harness.telegram.until(lambda: bool(texts_to(harness, 761)))
    finally:
        await engine.stop()
    rows = await harness.storage.db.fetchall("SELECT status FROM outbox")
    assert [r["status"] for r in rows] == ["sent"] * 6
