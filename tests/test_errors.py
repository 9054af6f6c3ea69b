"""Telegram errors while answering: logged, the person told when possible, admins told briefly."""

from __future__ import annotations

import logging

import pytest

from bot.runtime.app import build_application
from bot.settings import Settings
from storage.db import Storage
from tests.conftest import ADMIN_ID, Clock, Harness
from tests.fake_telegram import FakeRequest, FakeTelegram
from tests.test_registration import register


async def test_a_failed_reply_is_logged_and_admins_are_told(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await register(harness, 401)
    p = harness.person(401)
    harness.telegram.fail("sendMessage", chat_id=401, times=2)  # blocked the bot meanwhile
    with caplog.at_level(logging.ERROR):
        await p.send("/me")
    assert "error while handling update" in caplog.text
    assert "Анна" not in caplog.text  # no personal data in the log
    notices = harness.telegram.sent(chat_id=ADMIN_ID)
    assert notices and "Forbidden" in notices[-1].params["text"]
    # the next request works again
    await p.send("/me")
    assert "Ваш профиль" in p.last


async def test_an_edit_of_a_deleted_message_falls_back_to_a_new_message(
    harness: Harness,
) -> None:
    p = harness.person(402)
    await p.send("/start")
    message_id = p.last_message_with_buttons()["message_id"]
    harness.telegram.fail(
        "editMessageText", code=400, description="Bad Request: message to edit not found"
    )
    await p.tap("English")
    assert "Consent to data processing" in p.last
    assert p.last_message_with_buttons()["message_id"] != message_id
    await p.tap("I agree")
    dialog = await harness.storage.dialogs.get(402)
    assert dialog is not None and dialog.step == "name"


async def test_a_failing_command_menu_does_not_stop_the_start(
    settings: Settings, storage: Storage, clock: Clock
) -> None:
    telegram = FakeTelegram()
    telegram.fail("setMyCommands", code=502, description="Bad Gateway", times=10)
    app = build_application(settings, storage=storage, request=FakeRequest(telegram), clock=clock)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)  # no exception
    await app.shutdown()


async def test_a_read_only_or_full_disk_gets_a_clear_answer_and_changes_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await register(harness, 7001)
    p = harness.person(7001)
    await p.send("/settings")
    await p.tap("Имя")
    before = await harness.storage.db.fetchall("SELECT * FROM members")
    await harness.storage.db.execute("PRAGMA query_only = ON")  # as a read-only disk does
    with caplog.at_level(logging.ERROR):
        await p.send("Анна Петровна")
    assert "не могу ничего сохранить" in p.last
    assert "cannot be written" in caplog.text and "Traceback" not in caplog.text
    assert "Анна Петровна" not in caplog.text
    await harness.storage.db.execute("PRAGMA query_only = OFF")
    assert await harness.storage.db.fetchall("SELECT * FROM members") == before
    assert any("OperationalError" in text for text in harness.person(ADMIN_ID).texts)
    await p.send("/me")  # the disk is back: everything works again
    assert "Ваш профиль" in p.last


async def test_a_reply_refused_by_a_passing_telegram_fault_is_sent_again(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await register(harness, 403)
    p = harness.person(403)
    harness.telegram.fail("sendMessage", code=502, description="Bad Gateway", chat_id=403)
    harness.telegram.time_out("sendMessage", chat_id=403)
    with caplog.at_level(logging.WARNING):
        await p.send("/me")
    assert "Ваш профиль" in p.last
    assert sum("Ваш профиль" in text for text in p.texts) == 1
    assert "Traceback" not in caplog.text and "error while handling" not in caplog.text
    assert not harness.telegram.sent(chat_id=ADMIN_ID)  # nothing for the admins to do


async def test_a_button_answer_and_an_edit_that_timed_out_after_telegram_took_them(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram did what was asked but the answer was lost: the second attempt is refused
    as a repeat, and that counts as done; the dialogue goes on, nobody sees an error."""
    p = harness.person(404)
    await p.send("/start")
    harness.telegram.time_out("answerCallbackQuery", applied=True)
    harness.telegram.time_out("editMessageText", chat_id=404, applied=True)
    with caplog.at_level(logging.WARNING):
        await p.tap("Даю согласие")
    assert "Как вас зовут" in p.last
    assert not p.alerts() and "Что-то пошло не так" not in p.screen()
    answers = harness.telegram.sent("answerCallbackQuery")
    edits = harness.telegram.sent("editMessageText", chat_id=404)
    assert len(answers) == 2 and len(edits) == 2  # each tried again once
    assert "error while handling" not in caplog.text
    dialog = await harness.storage.dialogs.get(404)
    assert dialog is not None and dialog.step == "name"


async def test_telegram_down_for_a_reply_is_logged_without_a_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram refuses a reply three times: warning lines (no traceback, no admin notice).
    The person's next answer shows the question again rather than being taken for it."""
    p = harness.person(405)
    await p.send("/start")
    harness.telegram.fail(
        "editMessageText", code=503, description="Service Unavailable", chat_id=405, times=3
    )
    with caplog.at_level(logging.WARNING):
        await p.tap("Даю согласие")
    assert "Telegram did not take the answer" in caplog.text
    assert "Traceback" not in caplog.text and "error while handling" not in caplog.text
    assert not harness.telegram.sent(chat_id=ADMIN_ID)
    assert await harness.storage.dialogs.get(405) is None  # nothing kept before consent
    await p.tap("Даю согласие")  # on the question the person still sees: taken afresh
    assert "Как вас зовут" in p.last


async def test_an_answer_to_a_question_that_never_arrived_is_not_taken_for_it(
    harness: Harness,
) -> None:
    """The name was saved, but Telegram refused the next question three times: the person never
    saw it. What they send next (their name again) is not taken for the organisation; the
    question is shown, and then answered."""
    p = harness.person(407)
    await p.send("/start")
    await p.tap("Даю согласие")
    harness.telegram.fail("sendMessage", code=502, description="Bad Gateway", chat_id=407, times=3)
    await p.send("Анна Иванова")
    assert "организация" not in p.last
    await p.send("Анна Иванова")
    assert "организация" in p.last
    dialog = await harness.storage.dialogs.get(407)
    assert dialog is not None and dialog.step == "org" and "org" not in dialog.data
    await p.send("НКО Диалог")
    dialog = await harness.storage.dialogs.get(407)
    assert dialog is not None and dialog.data["org"] == "НКО Диалог"
    assert "_unseen" not in dialog.data


async def test_a_question_sent_twice_after_a_timeout_works_from_either_copy(
    harness: Harness,
) -> None:
    """The consent question times out although Telegram delivered it, and the bot sends it
    again: the person sees two copies, and the buttons of the first work all the same."""
    p = harness.person(406)
    harness.telegram.time_out("sendMessage", chat_id=406, applied=True, after=1)  # not the hello
    await p.send("/start")
    copies = [
        mid
        for (chat, mid), m in sorted(harness.telegram.messages.items())
        if chat == 406 and "Согласие на обработку данных" in str(m.get("text"))
    ]
    assert len(copies) == 2
    agree = harness.telegram.messages[(406, copies[0])]["reply_markup"]["inline_keyboard"][0][0]
    await p.press(agree["callback_data"], message_id=copies[0])
    assert not p.alerts()
    dialog = await harness.storage.dialogs.get(406)
    assert dialog is not None and dialog.step == "name"
    # once the dialogue has moved on, the copy's buttons are old like any other
    await p.press(agree["callback_data"], message_id=copies[1])
    assert "уже не действует" in p.alerts()[-1]
