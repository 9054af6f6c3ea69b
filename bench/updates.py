"""Inbound updates per second: the real application against a bare PTB echo bot.

Both run in this process against a local fake Bot API over HTTP, without Telegram's limits (so
Telegram's pace does not set theirs). Each bot fetches its updates with long polling
(getUpdates) and sends its replies over HTTP. Updates come one after another, each pushed to
the fake Bot API once the previous one is handled; the latency of one update runs from the push
to the end of its handling (its replies sent), so it includes the getUpdates round trip.

The workload of the real application, per person: a whole registration (9 updates), /events and
"Пойду", a whole incident report (11 updates), and, after the event, the 7 answers of its
questionnaire: 29 updates, through every layer (dialogues in SQLite, the outbox, permissions).
The echo bot answers each text with the same text and each button with an empty answer.

Also: peak memory (RSS) of this process with 100,000 members in the database, and the time to
select a broadcast audience by region and topic among them.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.evaluations import run_evaluations
from bot.runtime.app import build_application
from bot.settings import load_settings
from storage.db import Storage
from storage.events import NewEvent
from tests import factories
from tests.fake_server import FakeBotApiServer
from tests.fake_telegram import TOKEN, FakeTelegram

PEOPLE = 150
PER_PERSON = 29
MEMBERS = 100_000
FIRST = 20_000_000


class Feeder:
    """Pushes an update to the fake Bot API and waits until the bot has handled it (a handler
    in the last group marks it); records the latency."""

    def __init__(self, app: Application, server: FakeBotApiServer) -> None:  # type: ignore[type-arg]
        self.server = server
        self.latencies: list[float] = []
        self._waiting: dict[int, asyncio.Future[None]] = {}
        app.add_handler(TypeHandler(Update, self._handled), group=1_000)

    async def _handled(self, update: Update, context: Any) -> None:
        waiting = self._waiting.pop(update.update_id, None)
        if waiting is not None:
            waiting.set_result(None)

    async def __call__(self, update: Update) -> None:
        waiting = asyncio.get_running_loop().create_future()
        self._waiting[update.update_id] = waiting
        started = time.perf_counter()
        self.server.push_update(update.to_dict())
        await asyncio.wait_for(waiting, 30)
        self.latencies.append(time.perf_counter() - started)


async def start(app: Application) -> None:  # type: ignore[type-arg]
    assert app.updater is not None
    await app.updater.start_polling(timeout=10, poll_interval=0)
    await app.start()


async def stop(app: Application) -> None:  # type: ignore[type-arg]
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


def summary(name: str, latencies: list[float], elapsed: float) -> tuple[float, str]:
    rate = len(latencies) / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return (
        rate,
        f"{name}: {len(latencies)} updates, {rate:.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms",
    )


async def our_bot(server: FakeBotApiServer, telegram: FakeTelegram, tmp: Path) -> tuple[float, str]:
    settings = load_settings(
        None,
        bot_token=TOKEN,
        database_path=tmp / "ours.sqlite3",
        bot_api_base_url=server.base_url,
        bot_api_base_file_url=server.file_url,
        max_messages_per_second=1000,
        flood_per_minute=1000,
        admin_ids="1",  # someone to escalate to
        member_approval=False,  # the people of the run are not vetted one by one
        _env_file=None,
    )
    storage = await Storage.open(settings.database_path)
    app = build_application(settings, storage=storage, start_delivery=False)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    now = datetime.now(UTC)
    event = await storage.events.create(
        NewEvent(
            title="Тренинг: медиация",
            description="Практический тренинг",
            program=("Теория", "Практика"),
            starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=1, hours=3),
            tz="Europe/Samara",
            place="Самара",
            online_url=None,
            capacity=None,
            regions=("RU-SAM",),
            topics=(),
            created_by=None,
            checkin_secret="bench-checkin",  # noqa: S106 (not a password)
        ),
        now,
    )
    feed = Feeder(app, server)
    await start(app)

    def button(user_id: int, label: str) -> tuple[str, dict[str, Any]]:
        for (chat_id, _), message in sorted(telegram.messages.items(), reverse=True):
            if chat_id != user_id:
                continue
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for b in row:
                    if label in b["text"] and "callback_data" in b:
                        return b["callback_data"], message
        raise RuntimeError(f"no button {label!r} for {user_id}")

    async def step(user: dict[str, Any], action: str) -> None:
        if action.startswith("data:"):
            last = max(k for k in telegram.messages if k[0] == user["id"])
            message = telegram.messages[last]
            await feed(factories.callback_update(app.bot, user, action[5:], message))
        elif action.startswith("tap:"):
            data, message = button(user["id"], action[4:])
            await feed(factories.callback_update(app.bot, user, data, message))
        else:
            await feed(factories.message_update(app.bot, user, action))

    registration = [
        "/start", "tap:Даю согласие", "Анна Иванова", "НКО «Диалог»", "tap:Приволжский",
        "tap:Самарская область", "tap:Образование", "tap:Готово", "tap:Всё верно",
    ]  # fmt: skip
    rsvp = ["/events", f"data:ev:{event.id}:going"]
    incident = [
        "/report", "tap:Нет", "tap:Угрозы", "tap:📍", "Самара, ул. Победы, 5", "tap:Сегодня",
        "У входа в центр разбили окна и оставили надпись с угрозами.", "tap:Вложений нет",
        "tap:В ближайшие дни", "tap:От своего имени", "tap:Отправить",
    ]  # fmt: skip
    started = time.perf_counter()
    users = [factories.user_dict(FIRST + i) for i in range(PEOPLE)]
    for user in users:
        for action in [*registration, *rsvp, *incident]:
            await step(user, action)
    # the training ends: everyone who said "Пойду" is asked, and answers (time not counted)
    paused = time.perf_counter()
    await storage.db.execute(
        "UPDATE events SET ends_at = ? WHERE id = ?",
        ((now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"), event.id),
    )
    regions = app.bot_data.regions
    assert regions is not None
    await run_evaluations(storage, settings, regions, now)
    started += time.perf_counter() - paused
    fake_message = {"message_id": 1, "date": 0, "chat": {"id": 0, "type": "private"}, "text": "?"}
    for user in users:
        message = {**fake_message, "chat": factories.chat_dict(user["id"])}
        for n, value in enumerate(("5", "4", "5", "1", "b0", "s", "0")):
            data = f"eva:{event.id}:m:{n}:{value}"
            await feed(factories.callback_update(app.bot, user, data, message))
    elapsed = time.perf_counter() - started
    answered = await storage.db.fetchone("SELECT COUNT(*) FROM evaluation_responses")
    reports = await storage.db.fetchone("SELECT COUNT(*) FROM incidents")
    assert answered is not None and answered[0] == PEOPLE, answered
    assert reports is not None and reports[0] == PEOPLE, reports
    await stop(app)
    await storage.close()
    return summary("updates [this bot]", feed.latencies, elapsed)


async def echo_bot(server: FakeBotApiServer, count: int) -> tuple[float, str]:
    """The smallest PTB bot, on the same fake Bot API: the ceiling PTB itself sets."""
    request = HTTPXRequest(connection_pool_size=8)
    app = Application.builder().token(TOKEN).base_url(server.base_url).request(request).build()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None and update.effective_message.text:
            await update.effective_message.reply_text(update.effective_message.text)

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()

    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(press))
    feed = Feeder(app, server)
    await app.initialize()
    await start(app)
    user = factories.user_dict(FIRST - 1)
    message = {"message_id": 1, "date": 0, "chat": factories.chat_dict(user["id"]), "text": "?"}
    started = time.perf_counter()
    for n in range(count):
        if n % 2:
            update = factories.callback_update(app.bot, user, "x", message)
        else:
            update = factories.message_update(app.bot, user, f"Привет {n}")
        await feed(update)
    elapsed = time.perf_counter() - started
    await stop(app)
    return summary("updates [bare PTB echo bot]", feed.latencies, elapsed)


async def memory_and_audience(tmp: Path) -> str:
    storage = await Storage.open(tmp / "big.sqlite3")
    regions = ["RU-SAM", "RU-MOW", "RU-IRK", "RU-KGD", "RU-TA", "KZ"]
    topics = ["education", "youth", "culture", "ecology"]
    async with storage.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO members (telegram_id, name, organisation, region_code, language,"
            " status, created_at, updated_at) VALUES (?, 'Участник', 'НКО', ?, 'ru', 'active',"
            " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
            [(FIRST + 1_000_000 + i, regions[i % len(regions)]) for i in range(MEMBERS)],
        )
        await tx.execute(
            "INSERT INTO member_topics (member_id, topic) SELECT id, ? FROM members",
            (topics[0],),
        )
        await tx.execute(
            "INSERT INTO member_topics (member_id, topic) SELECT id, ? FROM members"
            " WHERE id % 3 = 0",
            (topics[1],),
        )
    times = []
    for _ in range(5):
        started = time.perf_counter()
        audience = await storage.members.audience(["RU-SAM", "RU-IRK"], ["youth"])
        times.append(time.perf_counter() - started)
    everyone = await storage.members.audience(regions, [])
    await storage.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"members [{MEMBERS:,}]: peak memory {peak:.0f} MB (this whole process); audience by "
        f"region and topic: {len(audience)} of them in {statistics.median(times) * 1000:.0f} ms "
        f"(median of 5); all {len(everyone):,} in the six regions listed"
    )


async def main() -> None:
    telegram = FakeTelegram()
    server = FakeBotApiServer(telegram, TOKEN)
    await server.start()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours, line = await our_bot(server, telegram, tmp)
        print(line, flush=True)
        echo, line = await echo_bot(server, PEOPLE * PER_PERSON)
        print(line, flush=True)
        print(f"updates [ratio]: this bot handles {ours / echo:.0%} of the echo bot's rate")
        print(await memory_and_audience(tmp), flush=True)
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
