"""What people stumbled on in incident reports (#13): waiting times in hours, cards that say
where a report went after a timeout, a timeline that names the level, bootstrap admins by
name, a category list that fits a phone screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.timefmt import duration
from tests.conftest import ADMIN_ID, Harness, flow_settings
from tests.test_incidents import FEDERAL, REGIONAL, REPORTER, cards, later, network, report


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return flow_settings(db_path, network_contact="@ngo_help  или +7 900 000-00-00")


def test_durations_read_as_hours_and_minutes() -> None:
    assert duration(timedelta(minutes=153), "ru") == "2 ч 33 мин"
    assert duration(timedelta(minutes=45), "ru") == "45 мин"
    assert duration(timedelta(hours=3), "ru") == "3 ч"
    assert duration(timedelta(hours=30, minutes=5), "ru") == "30 ч 5 мин"
    assert duration(timedelta(days=3, hours=4, minutes=9), "ru") == "3 дн. 4 ч"
    assert duration(timedelta(seconds=20), "ru") == "0 мин"
    assert duration(timedelta(minutes=153), "en") == "2 h 33 min"


async def test_a_reminder_says_how_long_in_hours_and_minutes(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    await later(harness, minutes=33)
    await harness.person(REGIONAL).tap("Отложить на 1 ч")
    await later(harness, minutes=60)
    reminder = harness.telegram.sent("sendMessage", chat_id=REGIONAL)[-1].params["text"]
    assert "ждёт ответа уже 1 ч 33 мин" in reminder, reminder
    harness.clock.now = datetime(2026, 11, 23, 5, 33, tzinfo=UTC)  # 09:33 in Samara
    await later(harness)
    digest = [t for t in harness.person(REGIONAL).texts if "на утро" in t]
    assert len(digest) == 1 and "ждёт координатора, 20 ч 33 мин" in digest[0], digest


async def test_after_a_timeout_every_card_says_where_the_report_is(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    assert "Сейчас у: координаторы региона" in cards(harness, REGIONAL)[-1]
    await later(harness, hours=4)  # nobody took it: federal coordinators
    assert len(cards(harness, FEDERAL)) == 1
    assert "Сейчас у: федеральные координаторы" in cards(harness, REGIONAL)[-1]
    assert "✋ Беру в работу" in harness.person(REGIONAL).buttons()  # still theirs to take
    await later(harness, hours=4)  # and then admins
    for chat_id in (REGIONAL, FEDERAL):
        assert "Сейчас у: администраторы" in cards(harness, chat_id)[-1], chat_id
    federal = harness.person(FEDERAL)
    await federal.send("/incident 1")
    history = federal.texts[-1]
    assert "отправлено: координаторы региона" in history, history
    assert "никто не взял в работу вовремя, передано: федеральные координаторы" in history
    assert "никто не взял в работу вовремя, передано: администраторы" in history
    assert "напоминание: координаторы региона" in history


async def test_a_bootstrap_admin_appears_by_their_telegram_name(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER, danger=True)
    await harness.deliver()
    admin = harness.person(ADMIN_ID, first_name="Анна")
    await admin.send("/incident 1")
    await admin.tap("Беру в работу")
    await harness.deliver()
    card = cards(harness, REGIONAL)[-1]
    assert "В работе: Анна" in card and f"id {ADMIN_ID}" not in card
    await admin.send("/incident 1")
    assert "Анна взял(а) в работу" in admin.texts[-1]
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.assignee_name == "Анна"


async def test_the_category_list_fits_a_phone_screen(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await p.send("/report")
    await p.tap("Нет")
    assert "Что произошло?" in p.last and "дискриминация" in p.last
    rows = p.last_message_with_buttons()["reply_markup"]["inline_keyboard"]
    categories = [row for row in rows if row[0]["callback_data"].startswith("rep:cat:")]
    assert len(categories) == 6 and all(len(row) <= 2 for row in categories)
    assert all(len(b["text"]) <= 16 for row in categories for b in row)
    await p.tap("Учёба")
    assert "В каком регионе" in p.last
    await p.tap("Назад")
    await p.tap("Работа")
    await p.tap("📍")
    await p.tap("Пропустить")
    assert "Когда это произошло" in p.last


async def test_at_the_reporting_limit_there_is_a_way_to_write_to_someone(
    harness: Harness,
) -> None:
    await network(harness)
    for _ in range(5):
        await report(harness, REPORTER)
    p = harness.person(REPORTER)
    await p.send("/report")
    assert "это предел" in p.last and "напишите координатору напрямую" not in p.last
    assert "/status" in p.last and "Добавить подробности" in p.last  # the way to a coordinator
    assert "Написать сети напрямую: @ngo_help или +7 900 000-00-00" in p.last
    assert "звоните 112" in p.last
    assert len(await harness.storage.db.fetchall("SELECT id FROM incidents")) == 5


async def test_a_report_at_night_gets_a_receipt_that_tells_the_truth(harness: Harness) -> None:
    await network(harness)
    harness.clock.now = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)  # 23:30 in Samara
    code = await report(harness, REPORTER)
    p = harness.person(REPORTER)
    receipt = p.last
    assert "уже получили" not in receipt and "увидят его утром" in receipt
    assert "08:00 по Самаре" in receipt and "звоните 112" in receipt
    await harness.deliver()
    assert cards(harness, REGIONAL) == []  # it waits for the morning indeed
    await p.tap("Срочно, не ждать утра")
    assert f"Обращение {code} теперь срочное" in p.last
    await harness.deliver()
    card = cards(harness, REGIONAL)[-1]
    assert "срочно, сегодня" in card
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.urgency == "high"
    await p.press(f"ist:{code}:urgent", message_id=1)
    assert "ничего менять не нужно" in p.alerts()[-1]
    await later(harness, minutes=60)  # a high report goes up after an hour, night or not
    assert len(cards(harness, FEDERAL)) == 1
    await harness.person(FEDERAL).send("/incident 1")
    assert "заявитель отметил: срочно, не ждать утра" in harness.person(FEDERAL).texts[-1]
    await report(harness, REPORTER, urgency="Нужна реакция сегодня")  # does not wait
    assert "Координаторы региона уже получили его" in p.last


async def test_an_anonymous_report_at_night_is_told_the_same(harness: Harness) -> None:
    await network(harness)
    harness.clock.now = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)  # 23:30 in Samara
    code = await report(harness, REPORTER, anonymous=True)
    p = harness.person(REPORTER)
    assert "увидят его утром" in p.last and "Сохраните код" in p.last
    await p.tap("Срочно")
    await harness.deliver()
    assert "срочно, сегодня" in cards(harness, REGIONAL)[-1]
    outbox = await harness.storage.db.fetchall("SELECT chat_id FROM outbox")
    assert REPORTER not in [r[0] for r in outbox]
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.reporter_member_id is None


async def test_urgent_before_the_morning_restarts_the_ladder_after_it_only_marks_it(
    harness: Harness,
) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    harness.clock.now = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)  # 23:30 in Samara
    night = await report(harness, REPORTER)
    morning = await report(harness, REPORTER)
    first = await harness.storage.incidents.by_code(night)
    second = await harness.storage.incidents.by_code(morning)
    assert first is not None and second is not None
    await p.press(f"ist:{night}:urgent", message_id=1)  # before the morning: goes out now
    assert "не дожидаясь утра" in p.last
    steps = {s.kind: s.due_at for s in await harness.storage.incidents.pending_steps(first.id)}
    assert steps["escalate"] == datetime(2026, 11, 22, 20, 30, tzinfo=UTC)  # an hour from now

    harness.clock.now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 08:00 in Samara
    await later(harness)
    assert any("разбили окна" in c and "№2" in c for c in cards(harness, REGIONAL))
    ladder = [(s.kind, s.due_at) for s in await harness.storage.incidents.pending_steps(second.id)]
    assert ("escalate", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)) in ladder  # 12:00 in Samara
    harness.clock.now = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # 11:30: nobody took it yet
    await p.press(f"ist:{morning}:urgent", message_id=2)
    told = p.last
    assert "уже отправлено координаторам" in told and "не дожидаясь утра" not in told, told
    changed = await harness.storage.incidents.by_code(morning)
    assert changed is not None and changed.urgency == "high"
    ladder_now = {
        s.kind: s.due_at for s in await harness.storage.incidents.pending_steps(second.id)
    }
    # the escalation keeps its time (nothing is pushed back); the reminder comes no later
    assert ladder_now["escalate"] == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert ladder_now["remind"] <= dict(ladder)["remind"]
    await harness.deliver()
    card = next(c for c in reversed(cards(harness, REGIONAL)) if "№2" in c)
    assert "срочно, сегодня" in card
    await p.press(f"ist:{morning}:urgent", message_id=2)
    assert "ничего менять не нужно" in p.alerts()[-1]
    before = len(cards(harness, FEDERAL))
    harness.clock.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # the escalation, on time
    await later(harness)
    assert len(cards(harness, FEDERAL)) > before
    federal = harness.person(FEDERAL)
    await federal.send(f"/incident {second.id}")
    history = federal.texts[-1]
    assert "срочно (обращение уже было у координаторов)" in history, history


async def test_urgent_when_the_morning_came_but_the_cards_are_still_queued(
    harness: Harness,
) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    harness.clock.now = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)  # 23:30 in Samara
    code = await report(harness, REPORTER)
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None
    ladder = await harness.storage.incidents.pending_steps(incident.id)
    harness.clock.now = datetime(2026, 11, 23, 4, 10, tzinfo=UTC)  # the hold is over
    await p.press(f"ist:{code}:urgent", message_id=1)
    assert "уже отправлено координаторам" in p.last and "не дожидаясь утра" not in p.last
    steps = {s.kind: s.due_at for s in await harness.storage.incidents.pending_steps(incident.id)}
    before = {s.kind: s.due_at for s in ladder}
    # a high report's hour from now comes sooner than the normal report's 12:00: it is taken
    assert steps["escalate"] == datetime(2026, 11, 23, 5, 10, tzinfo=UTC) < before["escalate"]
    await harness.deliver()
    assert "срочно, сегодня" in cards(harness, REGIONAL)[-1]


async def test_a_low_report_made_urgent_after_the_morning_can_go_up_now(harness: Harness) -> None:
    """A 'для сведения' report goes no higher than the region; marked urgent after its cards
    went out, it goes up like a high one, as the reporter is told."""
    await network(harness)
    p = harness.person(REPORTER)
    harness.clock.now = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)  # 23:30 in Samara
    code = await report(harness, REPORTER, urgency="Для сведения")
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.urgency == "low"
    assert "escalate" not in {
        s.kind for s in await harness.storage.incidents.pending_steps(incident.id)
    }
    harness.clock.now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 08:00 in Samara
    await later(harness)
    harness.clock.now = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
    await p.press(f"ist:{code}:urgent", message_id=1)
    assert "уйдёт выше — к федеральным координаторам" in p.last
    steps = {s.kind: s.due_at for s in await harness.storage.incidents.pending_steps(incident.id)}
    assert steps["escalate"] == datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
    before = len(cards(harness, FEDERAL))
    harness.clock.now = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
    await later(harness)
    assert len(cards(harness, FEDERAL)) > before
