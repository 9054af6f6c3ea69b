"""Telegram errors while answering: logged, the person told when possible, admins told briefly."""

from __future__ import annotations

import logging

import pytest

from bot.app import build_application
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
    await p.press("reg:lang:en", message_id=message_id)
    assert "Consent to data processing" in p.last
    dialog = await harness.storage.dialogs.get(402)
    assert dialog is not None and dialog.message_id != message_id


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
