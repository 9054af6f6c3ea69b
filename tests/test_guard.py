"""Repeated updates and floods are stopped before any handler sees them."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from telegram import Update

from bot.incidents.report import Quota
from tests import factories
from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_registration import register


@pytest.fixture(autouse=True)
def flood_limit_of_production(harness: Harness) -> None:
    """The default FLOOD_PER_MINUTE (the other flow tests lift it)."""
    harness.app.bot_data.flood = Quota(20, timedelta(minutes=1))


async def test_a_repeated_update_is_handled_once(harness: Harness) -> None:
    await register(harness, 4001)
    p = harness.person(4001)
    update = factories.message_update(harness.app.bot, p.user, "/me")
    await harness.app.process_update(update)
    await harness.app.process_update(update)  # Telegram sends it again (a lost confirmation)
    assert sum("Ваш профиль" in text for text in p.texts) == 1
    # a tap delivered twice: one answer, the state changed once
    await p.send("/forget")
    message = p.last_message_with_buttons()
    tap = factories.callback_update(harness.app.bot, p.user, "fgt:no", message)
    await harness.app.process_update(tap)
    await harness.app.process_update(tap)
    assert tap.callback_query is not None
    query_id = tap.callback_query.id
    answers = harness.telegram.sent("answerCallbackQuery")
    assert len([c for c in answers if c.params["callback_query_id"] == query_id]) == 1


async def test_an_update_interrupted_by_a_crash_is_handled_again(harness: Harness) -> None:
    await register(harness, 4002)
    p = harness.person(4002)
    update = factories.message_update(harness.app.bot, p.user, "/me")
    # the process died while handling it: begun, never finished
    assert await harness.storage.updates.begin(update.update_id, harness.clock()) == "new"
    await harness.app.process_update(update)
    assert "Ваш профиль" in p.last
    await harness.app.process_update(update)
    assert sum("Ваш профиль" in text for text in p.texts) == 1


async def _cut_off(harness: Harness, update_id: int) -> None:
    """As if the process died before the update was marked handled."""
    await harness.storage.db.execute(
        "UPDATE processed_updates SET done = 0 WHERE update_id = ?", (update_id,)
    )


async def test_an_answer_cut_off_after_it_was_taken_is_not_taken_twice(harness: Harness) -> None:
    """The name was saved and the next question asked, then the process died before the update
    was marked handled; Telegram sends the name again. It must not become the organisation:
    the open question is shown again instead."""
    p = harness.person(4005)
    await p.send("/start")
    await p.tap("Даю согласие")
    update = factories.message_update(harness.app.bot, p.user, "Анна Иванова")
    await harness.app.process_update(update)
    assert "организация" in p.last
    await _cut_off(harness, update.update_id)
    before = len(p.texts)
    await harness.app.process_update(update)
    assert len(p.texts) == before + 1 and "организация" in p.last  # the same question, anew
    dialog = await harness.storage.dialogs.get(4005)
    assert dialog is not None and dialog.step == "org"
    assert "org" not in dialog.data and dialog.data["name"] == "Анна Иванова"
    await p.send("НКО Диалог")
    dialog = await harness.storage.dialogs.get(4005)
    assert dialog is not None and dialog.data["org"] == "НКО Диалог"


async def test_an_answer_cut_off_before_it_was_taken_asks_again(harness: Harness) -> None:
    p = harness.person(4006)
    await p.send("/start")
    await p.tap("Даю согласие")
    update = factories.message_update(harness.app.bot, p.user, "Анна Иванова")
    # the process died as soon as the update arrived
    assert await harness.storage.updates.begin(update.update_id, harness.clock()) == "new"
    await harness.app.process_update(update)
    assert "Как вас зовут" in p.last
    dialog = await harness.storage.dialogs.get(4006)
    assert dialog is not None and dialog.step == "name" and "name" not in dialog.data
    await p.send("Анна Иванова")
    assert "организация" in p.last


async def test_a_button_press_cut_off_shows_the_question_again(harness: Harness) -> None:
    p = harness.person(4007)
    await p.send("/start")
    await p.tap("Даю согласие")
    await p.send("Анна Иванова")
    await p.send("НКО Диалог")
    message = p.last_message_with_buttons()
    district = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    tap = factories.callback_update(harness.app.bot, p.user, district, message)
    assert await harness.storage.updates.begin(tap.update_id, harness.clock()) == "new"
    await harness.app.process_update(tap)
    assert tap.callback_query is not None
    answers = harness.telegram.sent("answerCallbackQuery")
    assert [c.params["callback_query_id"] for c in answers][-1] == tap.callback_query.id
    assert "Выберите федеральный округ" in p.last  # asked again; the person taps again
    await p.press(district)
    assert "Выберите ваш регион" in p.last


async def test_a_flood_is_asked_to_slow_down_once_and_dropped(harness: Harness) -> None:
    await register(harness, 4003)
    p = harness.person(4003)
    harness.clock.advance(minutes=5)  # registration's own updates are long past
    before = len(p.texts)
    for _ in range(25):
        await p.send("/help")
    texts = p.texts[before:]
    assert sum("Что умеет бот" in text for text in texts) == 20
    assert sum("слишком часто" in text for text in texts) == 1
    assert len(texts) == 21
    harness.clock.advance(seconds=61)
    await p.send("/help")
    assert "Что умеет бот" in p.last
    # taps count too, and get the notice as an alert
    for _ in range(25):
        await p.press("dlg:cancel", message_id=1)
    assert sum("слишком часто" in alert for alert in p.alerts()) == 1


async def test_coordinators_and_admins_are_not_throttled(harness: Harness) -> None:
    await register(harness, 4004)
    await make_coordinator(harness, 4004, "RU-SAM")
    c = harness.person(4004)
    harness.clock.advance(minutes=5)
    before = len(c.texts)
    for _ in range(30):
        await c.send("/help")
    assert sum("Что умеет бот" in text for text in c.texts[before:]) == 30


async def test_old_update_ids_are_forgotten(harness: Harness) -> None:
    update = factories.message_update(harness.app.bot, harness.person(4005).user, "/help")
    await harness.app.process_update(update)
    assert await harness.storage.db.fetchall("SELECT * FROM processed_updates")
    harness.clock.advance(days=3)
    await harness.run_jobs()
    assert await harness.storage.db.fetchall("SELECT * FROM processed_updates") == []


async def test_updates_are_stored_on_arrival_and_handled_after_a_crash(
    harness: Harness,
) -> None:
    """getUpdates' answer is stored before PTB sees it. The process dies before handling the
    update (Telegram already counts it as received): the next start handles it first, once,
    and the stored text is gone as soon as it is handled."""
    from bot.runtime.inbox import replay

    p = harness.person(4010)
    update = {
        "update_id": harness.telegram.next_update_id(),
        "message": factories.message_dict(p.user, "/start"),
    }
    harness.telegram.push_update(update)
    received = await harness.app.bot.get_updates()
    assert [u.update_id for u in received] == [update["update_id"]]
    stored = await harness.storage.db.fetchall(
        "SELECT body IS NOT NULL, done FROM processed_updates WHERE update_id = ?",
        (update["update_id"],),
    )
    assert [tuple(row) for row in stored] == [(1, 0)]
    # ... the process is killed here; the next start:
    assert await replay(harness.app) == 1
    await harness.app.process_update(await harness.app.update_queue.get())
    assert "Согласие на обработку данных" in p.last
    handled = await harness.storage.db.fetchall(
        "SELECT body, done FROM processed_updates WHERE update_id = ?", (update["update_id"],)
    )
    assert [tuple(row) for row in handled] == [(None, 1)]
    assert await replay(harness.app) == 0
    # Telegram sends it again all the same: nothing twice
    before = len(p.texts)
    await harness.app.process_update(Update.de_json(update, harness.app.bot))
    assert len(p.texts) == before


async def test_an_update_stored_but_never_started_is_new_not_interrupted(
    harness: Harness,
) -> None:
    """An answer to an open question that arrived just before a crash is taken as an answer
    (it was never begun), not shown the question again."""
    p = harness.person(4011)
    await p.send("/start")
    await p.tap("Даю согласие")
    update = {
        "update_id": harness.telegram.next_update_id(),
        "message": factories.message_dict(p.user, "Анна Иванова"),
    }
    harness.telegram.push_update(update)
    await harness.app.bot.get_updates()
    await harness.app.process_update(Update.de_json(update, harness.app.bot))
    assert "организация" in p.last


async def test_an_update_cut_off_three_times_is_dropped(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """An update whose handling killed the process three times (it may be the cause) is not
    handled a fourth time at every start: one error line, and it is dropped."""
    p = harness.person(4012)
    update = factories.message_update(harness.app.bot, p.user, "/help")
    for _ in range(3):  # begun, and the process died each time
        await harness.storage.updates.begin(update.update_id, harness.clock())
    with caplog.at_level(logging.ERROR):
        await harness.app.process_update(update)
    assert p.texts == []
    assert "cut off by a crash three times" in caplog.text
    row = await harness.storage.db.fetchone(
        "SELECT done, body FROM processed_updates WHERE update_id = ?", (update.update_id,)
    )
    assert row is not None and tuple(row) == (1, None)


async def test_updates_that_cannot_be_stored_are_not_taken(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only or full disk while polling: one error line, and getUpdates fails, so the
    updates stay with Telegram (not confirmed); once the disk is back they are taken."""
    from telegram.error import NetworkError

    p = harness.person(4013)
    update = {
        "update_id": harness.telegram.next_update_id(),
        "message": factories.message_dict(p.user, "/start"),
    }
    harness.telegram.push_update(update)
    await harness.storage.db.execute("PRAGMA query_only = ON")
    with caplog.at_level(logging.ERROR), pytest.raises(NetworkError):
        await harness.app.bot.get_updates()
    assert "received updates cannot be stored" in caplog.text
    await harness.storage.db.execute("PRAGMA query_only = OFF")
    received = await harness.app.bot.get_updates()
    assert [u.update_id for u in received] == [update["update_id"]]
