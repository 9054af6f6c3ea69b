"""Fixtures: a fresh migrated database, the real PTB application on a fake Bot API, people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.runtime.app import build_application
from bot.runtime.context import BotApp
from bot.runtime.delivery import DeliveryEngine
from bot.settings import Settings, load_settings
from storage.db import Storage
from tests import factories
from tests.fake_telegram import TOKEN, FakeRequest, FakeTelegram

ADMIN_ID = 900001
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def no_retry_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply refused by a passing fault is tried again at once (the pauses are for Telegram,
    not for the tests; the order and number of attempts stay the same)."""
    monkeypatch.setattr("bot.runtime.ratelimit.TRANSIENT_BACKOFF", (0.0, 0.0))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


def flow_settings(db_path: Path, **overrides: Any) -> Settings:
    """The settings of the flow tests, with `overrides`."""
    chosen: dict[str, Any] = {
        "flood_per_minute": 1000,  # flow tests act fast under a frozen clock; see test_guard
        "member_approval": False,  # flows not about vetting; tests/test_approval.py turns it on
        **overrides,
    }
    return load_settings(
        None,
        bot_token=TOKEN,
        admin_ids=str(ADMIN_ID),
        database_path=db_path,
        _env_file=None,
        **chosen,
    )


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return flow_settings(db_path)


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[Storage]:
    store = await Storage.open(db_path)
    yield store
    await store.close()


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


class Harness:
    """The application plus helpers to act as people in chats."""

    def __init__(self, app: BotApp, telegram: FakeTelegram, storage: Storage, clock: Clock):
        self.app = app
        self.telegram = telegram
        self.storage = storage
        self.clock = clock

    def person(
        self, user_id: int, first_name: str = "Person", language_code: str | None = "ru"
    ) -> Person:
        return Person(self, factories.user_dict(user_id, first_name, language_code))

    @property
    def delivery(self) -> DeliveryEngine:
        assert self.app.bot_data.delivery is not None
        return self.app.bot_data.delivery

    async def deliver(self) -> int:
        """Send everything due in the outbox now, as the engine would."""
        return await self.delivery.run_until_idle()

    async def run_jobs(self) -> None:
        """Run the repeating sweeps once, now (as the JobQueue would)."""
        assert self.app.job_queue is not None
        for job in self.app.job_queue.jobs():
            await job.run(self.app)


class Person:
    def __init__(self, harness: Harness, user: dict[str, Any]) -> None:
        self.h = harness
        self.user = user
        self.id: int = user["id"]

    async def send(self, text: str | None = None, **extra: Any) -> None:
        update = factories.message_update(self.h.app.bot, self.user, text, **extra)
        await self.h.app.process_update(update)

    async def send_in_group(self, text: str, group_id: int = -100123) -> None:
        chat = factories.chat_dict(group_id, "supergroup")
        update = factories.message_update(self.h.app.bot, self.user, text, chat=chat)
        await self.h.app.process_update(update)

    async def press(self, data: str, message_id: int | None = None) -> None:
        """Press a button with the given callback data (possibly forged) on a message."""
        if message_id is None:
            message_id = self.last_message_with_buttons()["message_id"]
        message = self.h.telegram.messages.get((self.id, message_id)) or {
            "message_id": message_id,
            "date": 0,
            "chat": factories.chat_dict(self.id),
            "text": "old",
        }
        update = factories.callback_update(self.h.app.bot, self.user, data, message)
        await self.h.app.process_update(update)

    async def tap(self, label: str) -> None:
        """Tap the button whose label contains `label` on the latest message that has it."""
        for (chat_id, message_id), message in sorted(
            self.h.telegram.messages.items(), reverse=True
        ):
            if chat_id != self.id:
                continue
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if label in button["text"] and "callback_data" in button:
                        await self.press(button["callback_data"], message_id)
                        return
        raise AssertionError(f"no button {label!r} in {self.id}'s chat:\n{self.screen()}")

    def last_message_with_buttons(self) -> dict[str, Any]:
        for (chat_id, _), message in sorted(self.h.telegram.messages.items(), reverse=True):
            if chat_id == self.id and message.get("reply_markup"):
                return message
        raise AssertionError("no message with buttons")

    @property
    def texts(self) -> list[str]:
        """Every text the person has in the chat now (edits applied), oldest first."""
        return [
            m.get("text") or m.get("caption") or ""
            for (chat_id, _), m in sorted(self.h.telegram.messages.items())
            if chat_id == self.id
        ]

    @property
    def last(self) -> str:
        return self.texts[-1] if self.texts else ""

    def buttons(self) -> list[str]:
        message = self.last_message_with_buttons()
        return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]

    def alerts(self) -> list[str]:
        return [
            str(c.params.get("text"))
            for c in self.h.telegram.calls
            if c.method == "answerCallbackQuery" and c.params.get("text")
        ]

    def screen(self) -> str:
        return "\n---\n".join(self.texts[-5:])


@pytest.fixture
async def harness(
    settings: Settings, storage: Storage, telegram: FakeTelegram, clock: Clock
) -> AsyncIterator[Harness]:
    app = build_application(
        settings,
        storage=storage,
        request=FakeRequest(telegram),
        clock=clock,
        start_delivery=False,
    )
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    yield Harness(app, telegram, storage, clock)
    await app.shutdown()
