"""End to end: the real `python -m bot run` process against the fake Bot API over HTTP.

A person's messages and button taps are pushed as Telegram updates; after each step the test
waits (event-driven, with a deadline) for the bot's answer to show up in the chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import string
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from tests import factories
from tests.fake_server import FakeBotApiServer
from tests.fake_telegram import TOKEN, FakeTelegram

ADMIN_ID = 900001
USER_ID = 424242
STOP_SECONDS = 15.0
WRONG_TOKEN = "123456:" + (string.ascii_letters * 2)[:35]


# ---------------------------------------------------------------- the bot process


def bot_env(db_path: Path, server: FakeBotApiServer | None, **overrides: str) -> dict[str, str]:
    """The environment of the bot: ours only, whatever the developer's shell has set."""
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in ours}
    env.update(
        BOT_TOKEN=TOKEN,
        ADMIN_IDS=str(ADMIN_ID),
        DATABASE_PATH=str(db_path),
        LOG_LEVEL="DEBUG",
        POLLING_TIMEOUT_SECONDS="1",
        STARTUP_RETRIES="1",
        PYTHONUNBUFFERED="1",
        # the hour must not matter: no quiet hours (a normal report is not held for the
        # morning) and no morning digest (no extra message at 09:00 somewhere); see
        # tests/test_any_hour.py, which runs this file with the clock at night
        QUIET_HOURS="0-0",
        DIGEST_HOUR="off",
        MEMBER_APPROVAL="false",  # the flows here are not about vetting (tests/test_approval.py)
    )
    if server is not None:
        env.update(BOT_API_BASE_URL=server.base_url, BOT_API_BASE_FILE_URL=server.file_url)
    else:  # nothing listens here: the bot must not get that far
        env.update(
            BOT_API_BASE_URL="http://127.0.0.1:9/bot",
            BOT_API_BASE_FILE_URL="http://127.0.0.1:9/file/bot",
        )
    env.update(overrides)
    return env


class BotProcess:
    """One run of `python -m bot run`; stdout and stderr go to files in the work dir."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "bot") -> None:
        self.workdir = workdir
        self.env = env
        self.stdout_path = workdir / f"{name}.stdout.log"
        self.stderr_path = workdir / f"{name}.stderr.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def wait(self, within: float = STOP_SECONDS) -> int:
        """The exit code, once the process exits by itself within `within` seconds."""
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            raise AssertionError(
                f"the bot did not exit within {within:.0f} s; its log:\n{self.log()[-3000:]}"
            ) from None

    async def terminate(self, within: float = STOP_SECONDS) -> int:
        """SIGTERM, as systemd or docker stop would; the exit code."""
        assert self.proc is not None
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
        return await self.wait(within)

    async def kill(self) -> None:
        """SIGKILL (no clean-up in the bot) and reap; safe to call twice."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        await self.proc.wait()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", errors="replace")

    def log(self) -> str:
        out = self.stdout_path.read_text("utf-8", errors="replace")
        return out + self.stderr


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    srv = FakeBotApiServer(FakeTelegram(), TOKEN)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def processes() -> AsyncIterator[list[BotProcess]]:
    """Every bot process a test starts; whatever is still running at the end gets SIGKILL."""
    started: list[BotProcess] = []
    try:
        yield started
    finally:
        for process in started:
            await process.kill()


async def start_bot(
    processes: list[BotProcess], workdir: Path, env: dict[str, str], name: str = "bot"
) -> BotProcess:
    process = BotProcess(workdir, env, name)
    processes.append(process)
    await process.start()
    return process


# ---------------------------------------------------------------- a person in a private chat


class Chat:
    """A person talking to the bot in a private chat, through pushed updates."""

    def __init__(
        self, server: FakeBotApiServer, user_id: int = USER_ID, patience: float = 20.0
    ) -> None:
        self.server = server
        self.patience = patience  # how long to wait for each answer
        self.telegram = server.telegram
        self.user = factories.user_dict(user_id, "Анна", "ru")
        self.id = user_id
        self._query_ids = iter(range(1, 10_000))

    def messages(self) -> list[dict[str, Any]]:
        """The bot's messages in this chat as they look now, oldest first."""
        return [m for (chat, _), m in sorted(self.telegram.messages.items()) if chat == self.id]

    @property
    def texts(self) -> list[str]:
        return [str(m.get("text") or m.get("caption") or "") for m in self.messages()]

    def _snapshot(self) -> dict[int, str]:
        return {m["message_id"]: _dump(m) for m in self.messages()}

    def _shown_since(self, before: dict[int, str]) -> list[dict[str, Any]]:
        """The messages the bot sent or changed since `before`, except those that only lost
        their buttons: an old question retired is nothing new to read (the question that
        follows it, sent a moment later, is what the person waits for)."""
        shown = []
        for message in self.messages():
            old = before.get(message["message_id"])
            if old == _dump(message):
                continue
            if old is not None and "reply_markup" not in message:
                was = json.loads(old)
                was.pop("reply_markup", None)
                if _dump(was) == _dump(message):
                    continue  # only its buttons went
            shown.append(message)
        return shown

    def shows_since(self, before: dict[int, str], expect: str) -> bool:
        """A message sent or changed since `before` (not only stripped of buttons) has
        `expect`."""
        return any(expect in _dump(m) for m in self._shown_since(before))

    async def _push_and_wait(
        self, update: dict[str, Any], expect: str, query_id: str | None = None
    ) -> None:
        before = self._snapshot()

        def answered() -> bool:
            shown = self.shows_since(before, expect)
            if query_id is None:
                return shown
            return shown and any(
                c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id
                for c in self.telegram.calls
            )

        self.server.push_update(update)
        await self.server.wait_for(answered, self.patience, what=f"the bot to show {expect!r}")

    def text_update(self, text: str) -> dict[str, Any]:
        """A message typed by the person (not pushed yet)."""
        update_id = self.telegram.next_update_id()
        return {"update_id": update_id, "message": factories.message_dict(self.user, text)}

    def tap_update(self, label: str) -> dict[str, Any]:
        """A tap on the newest button whose label contains `label` (not pushed yet)."""
        message, data = self._button(label)
        return {
            "update_id": self.telegram.next_update_id(),
            "callback_query": {
                "id": str(next(self._query_ids)),
                "from": self.user,
                "chat_instance": f"ci-{self.id}",
                "data": data,
                "message": json.loads(json.dumps(message)),
            },
        }

    async def send(self, text: str, *, expect: str) -> int:
        """Type a message; wait until a new or edited message of the bot contains `expect`."""
        update = self.text_update(text)
        await self._push_and_wait(update, expect)
        return int(update["update_id"])

    async def tap(self, label: str, *, expect: str) -> int:
        """Tap the newest button whose label contains `label`; wait for the answer."""
        update = self.tap_update(label)
        await self._push_and_wait(update, expect, update["callback_query"]["id"])
        return int(update["update_id"])

    async def take(self, step: Step) -> int:
        kind, text, expect = step
        return await (self.send if kind == "send" else self.tap)(text, expect=expect)

    async def follow(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            await self.take(step)

    def _button(self, label: str) -> tuple[dict[str, Any], str]:
        for message in reversed(self.messages()):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if label in button["text"] and "callback_data" in button:
                        return message, button["callback_data"]
        screen = "\n---\n".join(self.texts[-3:])
        raise AssertionError(f"no button {label!r} in the chat; the chat ends with:\n{screen}")


Step = tuple[str, str, str]  # ("send" or "tap", the text or button label, what to expect)
REGISTRATION_STEPS: tuple[Step, ...] = (
    ("send", "/start", "Согласие на обработку данных"),
    ("tap", "Даю согласие", "Как вас зовут"),
    ("send", "Анна Иванова", "организация"),
    ("send", "НКО Диалог", "федеральный округ"),
    ("tap", "Приволжский", "Самарская область"),
    ("tap", "Самарская область", "темы"),
    ("tap", "Образование", "✅ Образование"),
    ("tap", "Готово", "Анна Иванова"),
    ("tap", "Всё верно", "вы зарегистрированы"),
)


def report_steps(place: str, description: str) -> tuple[Step, ...]:
    """A named report of threats in the person's own region, for the next days."""
    return (
        ("send", "/report", "угрожает опасность"),
        ("tap", "Нет", "Что произошло"),
        ("tap", "Угрозы", "В каком регионе"),
        ("tap", "📍", "Где именно"),
        ("send", place, "Когда это произошло"),
        ("tap", "Сегодня", "Опишите"),
        ("send", description, "Есть фото"),
        ("tap", "Вложений нет", "Насколько срочно"),
        ("tap", "В ближайшие дни", "От чьего имени"),
        ("tap", "От своего имени", "Проверьте обращение"),
        ("tap", "Отправить", "Обращение принято"),
    )


def _buttons(message: dict[str, Any]) -> list[str]:
    """The labels of a message's inline buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [str(button["text"]) for row in rows for button in row]


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, sort_keys=True)


def query_db(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def wait_until_running(server: FakeBotApiServer, bot: BotProcess) -> None:
    """The bot polls for updates: it is initialised and listening (or fail if it exits)."""
    assert bot.proc is not None
    polls = len(server.telegram.sent("getUpdates"))
    polled = asyncio.ensure_future(
        server.wait_for(
            lambda: len(server.telegram.sent("getUpdates")) > polls, what="the bot to poll"
        )
    )
    exited = asyncio.ensure_future(bot.proc.wait())
    await asyncio.wait({polled, exited}, return_when=asyncio.FIRST_COMPLETED)
    exited.cancel()
    if not polled.done():
        polled.cancel()
        raise AssertionError(
            f"the bot exited with {bot.proc.returncode} before polling; "
            f"its log:\n{bot.log()[-3000:]}"
        )
    polled.result()


async def wait_until_confirmed(server: FakeBotApiServer, update_id: int) -> None:
    """The bot asked for updates after `update_id`: Telegram will not send that one again."""
    await server.wait_for(
        lambda: server.confirmed_offset > update_id, what=f"update {update_id} to be confirmed"
    )


# ---------------------------------------------------------------- the tests


async def test_registration_end_to_end_then_clean_stop(
    server: FakeBotApiServer, processes: list[BotProcess], tmp_path: Path
) -> None:
    db_path = tmp_path / "data" / "bot.sqlite3"
    bot = await start_bot(processes, tmp_path / "run", bot_env(db_path, server))
    await wait_until_running(server, bot)

    anna = Chat(server)
    await anna.follow(REGISTRATION_STEPS[:-1])
    assert any("Здравствуйте" in text for text in anna.texts)
    assert "Самарская область" in anna.texts[-1]  # the summary
    await anna.take(REGISTRATION_STEPS[-1])

    assert await bot.terminate() == 0, bot.log()[-3000:]

    rows = query_db(db_path, "SELECT name, organisation, region_code FROM members")
    assert rows == [("Анна Иванова", "НКО Диалог", "RU-SAM")]
    assert query_db(db_path, "SELECT COUNT(*) FROM dialogs") == [(0,)]

    log = bot.log()
    assert log.strip(), "the bot wrote no log at all"
    assert TOKEN not in log
    assert TOKEN.split(":", 1)[1] not in log
    assert "Traceback" not in log, log[-3000:]
    # Personal data stays out of the log, even at DEBUG (SQL parameters, message texts).
    assert "Анна Иванова" not in log and "НКО Диалог" not in log


async def test_dialogue_survives_a_crash(
    server: FakeBotApiServer, processes: list[BotProcess], tmp_path: Path
) -> None:
    db_path = tmp_path / "data" / "bot.sqlite3"
    env = bot_env(db_path, server)
    first = await start_bot(processes, tmp_path / "run", env, "first")
    await wait_until_running(server, first)

    anna = Chat(server)
    await anna.send("/start", expect="Согласие на обработку данных")
    await anna.tap("Даю согласие", expect="Как вас зовут")
    name_update = await anna.send("Анна Иванова", expect="организация")
    # Crash only once the answer is saved, handled and Telegram knows it was received (a crash
    # sooner is test_dialogues_killed_at_random_points_resume).
    await wait_until_confirmed(server, name_update)
    question_id = anna.messages()[-1]["message_id"]
    await server.wait_for(
        lambda: (
            query_db(
                db_path, "SELECT step, message_id FROM dialogs WHERE telegram_id = ?", (anna.id,)
            )
            == [("org", question_id)]
            and query_db(
                db_path, "SELECT done FROM processed_updates WHERE update_id = ?", (name_update,)
            )
            == [(1,)]
        ),
        what="the dialogue to be saved at the 'org' step and the update marked handled",
    )

    await first.kill()
    assert first.proc is not None and first.proc.returncode == -signal.SIGKILL

    second = await start_bot(processes, tmp_path / "run", env, "second")
    await wait_until_running(server, second)
    await anna.send("НКО Диалог", expect="федеральный округ")
    assert "Приволжский" in _dump(anna.messages()[-1])
    # Nothing from before the crash was answered twice.
    assert sum("организация" in text for text in anna.texts) == 1

    assert await second.terminate() == 0, second.log()[-3000:]
    row = query_db(db_path, "SELECT step, data FROM dialogs WHERE telegram_id = ?", (anna.id,))
    assert len(row) == 1 and row[0][0] == "district"
    data = json.loads(row[0][1])
    assert data["name"] == "Анна Иванова" and data["org"] == "НКО Диалог"


async def test_rejected_token_stops_with_one_line(
    server: FakeBotApiServer, processes: list[BotProcess], tmp_path: Path
) -> None:
    env = bot_env(tmp_path / "data" / "bot.sqlite3", server, BOT_TOKEN=WRONG_TOKEN)
    bot = await start_bot(processes, tmp_path / "run", env)
    assert await bot.wait() == 2, bot.log()[-3000:]
    assert server.rejected >= 1
    stderr = bot.stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    mentioning = [line for line in lines if "BOT_TOKEN" in line]
    assert len(mentioning) == 1, stderr
    assert lines[-1] == mentioning[0], stderr
    assert WRONG_TOKEN.split(":", 1)[1] not in bot.log()


async def test_rejected_token_quiet_log_has_only_the_message(
    server: FakeBotApiServer, processes: list[BotProcess], tmp_path: Path
) -> None:
    env = bot_env(
        tmp_path / "data" / "bot.sqlite3", server, BOT_TOKEN=WRONG_TOKEN, LOG_LEVEL="WARNING"
    )
    bot = await start_bot(processes, tmp_path / "run", env)
    assert await bot.wait() == 2, bot.log()[-3000:]
    lines = [line for line in bot.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "BOT_TOKEN" in lines[0], bot.stderr


async def test_malformed_setting_stops_with_one_line(
    processes: list[BotProcess], tmp_path: Path
) -> None:
    env = bot_env(tmp_path / "data" / "bot.sqlite3", None, ADMIN_IDS="abc")
    bot = await start_bot(processes, tmp_path / "run", env)
    assert await bot.wait() == 2, bot.log()[-3000:]
    stderr = bot.stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "ADMIN_IDS" in lines[0]
    assert not (tmp_path / "data" / "bot.sqlite3").exists()


def delivered_to(telegram: FakeTelegram, first: int) -> Counter[int]:
    """How many messages each member queued by `queued_broadcast(first, …)` has received."""
    return Counter(chat for (chat, _mid) in telegram.messages if chat >= first)


async def queued_broadcast(db_path: Path, first: int, count: int) -> None:
    """`count` members (Telegram ids from `first`) and an announcement queued to all of them."""
    from datetime import UTC, datetime

    from bot.outbox import Outgoing, Priority, send_to_many
    from storage.db import Storage

    storage = await Storage.open(db_path)
    async with storage.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO members (telegram_id, name, organisation, region_code, language, status,"
            " created_at, updated_at) VALUES (?, 'У', 'НКО', 'RU-SAM', 'ru', 'active',"
            " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
            [(first + i,) for i in range(count)],
        )
    people = await storage.db.fetchall("SELECT telegram_id, id FROM members")
    await send_to_many(
        storage,
        [(r[0], r[1]) for r in people],
        Outgoing(text="Объявление"),
        priority=Priority.BULK,
        now=datetime.now(UTC),
        kind="announcement",
    )
    await storage.close()


async def test_a_broadcast_survives_kill_9_and_nobody_is_lost(
    tmp_path: Path, processes: list[BotProcess]
) -> None:
    """A broadcast to 300 members; the process is killed with SIGKILL at random points, three
    times; a new process on the same database delivers the rest each time. Nobody is lost; at
    most the messages in flight at each kill (DELIVERY_WORKERS) arrive twice."""

    from tests.fake_telegram import Limits

    db_path = tmp_path / "data" / "bot.sqlite3"
    first = 7_000_000
    await queued_broadcast(db_path, first, 300)

    telegram = FakeTelegram(limits=Limits(per_second=100))
    srv = FakeBotApiServer(telegram, TOKEN)
    await srv.start()
    try:
        env = bot_env(db_path, srv, MAX_MESSAGES_PER_SECOND="100", DELIVERY_WORKERS="8")

        def delivered() -> Counter[int]:
            return delivered_to(telegram, first)

        # killed three times at random points of the broadcast, restarted each time
        rng = random.Random()
        kills = 0
        for n, mark in enumerate(sorted(rng.sample(range(30, 280), 3))):
            bot = await start_bot(processes, tmp_path, env, f"run{n}")

            def reached(m: int = mark) -> bool:
                return len(delivered()) >= m

            await srv.wait_for(reached, what=f"{mark} delivered")
            if len(delivered()) >= 300:
                break
            await bot.kill()
            kills += 1
        bot = await start_bot(processes, tmp_path, env, "last")
        await srv.wait_for(lambda: len(delivered()) == 300, timeout=60, what="the rest")
        assert await bot.terminate() == 0
    finally:
        await srv.stop()
    counts = delivered()
    duplicated = sum(n - 1 for n in counts.values())
    assert len(counts) == 300
    assert duplicated <= 8 * max(kills, 1)  # at most the in-flight ones at each kill
    statuses = query_db(db_path, "SELECT status, COUNT(*) FROM outbox GROUP BY status")
    assert statuses == [("sent", 300)]


INCIDENTS = 12  # Telegram allows a private chat about one message a second
REGIONAL_ID, FEDERAL_ID = 610_001, 610_002


async def _seed_overdue_incidents(db_path: Path, reporter_id: int) -> None:
    """A coordinator of Samara, a federal coordinator, a reporter, and INCIDENTS critical reports
    made 30 minutes ago that nobody took: every level's time has run out (10 minutes each)."""
    from datetime import UTC, datetime, timedelta

    from bot.incidents.report import Report, submit
    from bot.regions import load_regions
    from bot.roles.access import identify
    from bot.settings import load_settings
    from storage.clock import to_db
    from storage.db import Storage
    from storage.members import Profile

    settings = load_settings(
        None, bot_token=TOKEN, database_path=db_path, admin_ids=str(ADMIN_ID), _env_file=None
    )
    regions = load_regions()
    then = datetime.now(UTC) - timedelta(minutes=30)
    storage = await Storage.open(db_path)
    try:
        for telegram_id, role in ((REGIONAL_ID, "RU-SAM"), (FEDERAL_ID, "*"), (reporter_id, "")):
            member, _ = await storage.members.upsert(
                telegram_id,
                Profile(f"Человек {telegram_id}", "НКО", "RU-SAM", "ru", ()),
                consent_version="v",
                consent_at=then,
                now=then,
            )
            if role:
                await storage.db.execute(
                    "INSERT INTO roles (member_id, role, region_code, granted_at)"
                    " VALUES (?, 'coordinator', ?, ?)",
                    (member.id, role, to_db(then)),
                )
        caller = await identify(storage, settings, reporter_id)
        for n in range(INCIDENTS):
            report = Report(
                danger=True,
                category="threats",
                urgency="critical",
                region_code="RU-SAM",
                place=None,
                latitude=None,
                longitude=None,
                happened_on=then.date(),
                description=f"Случай номер {n}",
                attachments=(),
                anonymous=n % 2 == 1,
            )
            await submit(storage, settings, regions, caller, report, then + timedelta(seconds=n))
    finally:
        await storage.close()


async def test_incident_escalation_survives_kill_9_each_step_once(
    tmp_path: Path, processes: list[BotProcess]
) -> None:
    """Critical reports whose escalation is overdue (as after an outage): the first sweep of the
    real process passes each to the federal coordinators and then the admins; the process is
    killed with SIGKILL at three random points while the cards go out, and restarted each time.
    Every level has been told about every report exactly once (the timeline), every card
    arrives (at most the in-flight ones twice per kill), and a new report typed in the real
    process never shows up in the log."""

    from tests.fake_telegram import Limits

    db_path = tmp_path / "data" / "bot.sqlite3"
    await _seed_overdue_incidents(db_path, USER_ID)
    telegram = FakeTelegram(limits=Limits(per_second=100))
    srv = FakeBotApiServer(telegram, TOKEN)
    await srv.start()
    cards_wanted = 3 * INCIDENTS  # the region, the federal coordinator, the admin

    def cards() -> Counter[tuple[int, str]]:
        return Counter(
            (chat, str(m.get("text", "")).split("\n", 1)[0])
            for (chat, _mid), m in telegram.messages.items()
            if str(m.get("text", "")).startswith("🆘")
        )

    try:
        env = bot_env(db_path, srv, MAX_MESSAGES_PER_SECOND="100", DELIVERY_WORKERS="8")
        # killed three times at random points while the cards go out, restarted each time
        marks = sorted(random.sample(range(1, cards_wanted - 2), 3))
        print(f"killed after {marks} cards")  # shown if the test fails
        kills = 0
        for n, mark in enumerate(marks):
            bot = await start_bot(processes, tmp_path, env, f"run{n}")

            def reached(m: int = mark) -> bool:
                return len(cards()) >= m

            await srv.wait_for(reached, what=f"{mark} cards")
            if len(cards()) == cards_wanted:
                break
            await bot.kill()
            kills += 1
        bot = await start_bot(processes, tmp_path, env, "last")
        await srv.wait_for(lambda: len(cards()) == cards_wanted, timeout=60, what="every card")

        # a report typed in the real process: its text reaches the coordinator, not the log
        anna = Chat(srv)
        description = "Соседу Фариду угрожали расправой за его национальность"
        await anna.follow(report_steps("Тольятти, улица Секретная, 7", description))
        await srv.wait_for(
            lambda: any(
                chat == REGIONAL_ID and description in str(m.get("text", ""))
                for (chat, _mid), m in telegram.messages.items()
            ),
            what="the new report's card",
        )
        assert await bot.terminate() == 0, bot.log()[-3000:]
    finally:
        await srv.stop()

    counts = cards()
    for chat in (REGIONAL_ID, FEDERAL_ID, ADMIN_ID):
        assert sum(1 for c, _ in counts if c == chat) == INCIDENTS + (chat == REGIONAL_ID)
    assert sum(n - 1 for n in counts.values()) <= 8 * max(kills, 1)  # the in-flight ones
    told = query_db(
        db_path,
        "SELECT incident_id, detail FROM incident_timeline WHERE action = 'notified'"
        " AND incident_id <= ?",
        (INCIDENTS,),
    )
    levels = Counter((incident, detail.split(";")[1].strip()) for incident, detail in told)
    assert len(levels) == 3 * INCIDENTS and set(levels.values()) == {1}
    pending = query_db(
        db_path,
        "SELECT COUNT(*) FROM incident_steps WHERE status IN ('pending', 'running')"
        " AND kind = 'escalate' AND incident_id <= ?",
        (INCIDENTS,),
    )
    assert pending == [(0,)]
    log = "".join(p.log() for p in processes)
    assert "Traceback" not in log, log[-3000:]
    for secret in (description, "Секретная", "Случай номер", "Фарид"):
        assert secret not in log


async def test_webhook_mode_takes_updates_only_with_the_secret(
    server: FakeBotApiServer, processes: list[BotProcess], tmp_path: Path
) -> None:
    import socket

    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "s3cret-" + "x" * 25
    env = bot_env(
        tmp_path / "data" / "bot.sqlite3",
        server,
        WEBHOOK_URL="https://bot.example.org/telegram/hook",
        WEBHOOK_SECRET=secret,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    bot = await start_bot(processes, tmp_path / "run", env)
    await server.wait_for(lambda: server.telegram.webhook is not None, what="setWebhook")
    hook = server.telegram.webhook
    assert hook is not None
    assert hook["url"] == "https://bot.example.org/telegram/hook"
    assert hook["secret_token"] == secret
    url = f"http://127.0.0.1:{port}/telegram/hook"
    anna = Chat(server)
    update = {
        "update_id": server.telegram.next_update_id(),
        "message": factories.message_dict(anna.user, "/start"),
    }
    async with aiohttp.ClientSession() as http:
        wrong = {"X-Telegram-Bot-Api-Secret-Token": secret[:-1] + "y"}
        for headers in [{}] + [wrong] * 40:  # a flood of refused requests
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 403
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        for _ in range(20):  # elsewhere on the server
            async with http.post(url + "/x", json=update, headers=headers) as response:
                assert response.status == 404
        async with http.post(url, data=b"not json", headers=headers) as response:
            assert response.status == 400
        assert not anna.messages()  # nothing was handled
        async with http.post(url, json=update, headers=headers) as response:
            assert response.status == 200
    await server.wait_for(
        lambda: any("Согласие на обработку данных" in text for text in anna.texts),
        what="the answer to /start",
    )
    assert not server.telegram.sent("getUpdates")  # no polling in webhook mode
    assert await bot.terminate() == 0, bot.log()[-3000:]
    log = bot.log()
    assert secret not in log and "Traceback" not in log
    # one line a minute for all the refused requests, not one each (nor tornado's own)
    assert log.count("webhook request") == 1 and "tornado.access" not in log, log[-3000:]


OUTAGE_SECONDS = 60


async def test_telegram_unreachable_for_a_minute_loses_nothing(
    tmp_path: Path, processes: list[BotProcess]
) -> None:
    """The Bot API refuses connections for a minute in the middle of a broadcast (as when the
    server's network is down); a person writes meanwhile. When it is back, the bot catches up:
    everyone has the message (at most the in-flight ones twice) and the person gets the answer."""

    from tests.fake_telegram import Limits

    db_path = tmp_path / "data" / "bot.sqlite3"
    first = 8_000_000
    await queued_broadcast(db_path, first, 40)

    telegram = FakeTelegram(limits=Limits(per_second=100))
    srv = FakeBotApiServer(telegram, TOKEN)
    await srv.start()
    try:
        env = bot_env(db_path, srv, MAX_MESSAGES_PER_SECOND="10", DELIVERY_WORKERS="4")

        def delivered() -> Counter[int]:
            return delivered_to(telegram, first)

        bot = await start_bot(processes, tmp_path, env)
        await srv.wait_for(lambda: len(delivered()) >= 8, what="the broadcast to start")
        port = srv.port
        await srv.stop()  # connection refused from now on
        anna = Chat(srv)
        telegram.updates.append(
            {
                "update_id": telegram.next_update_id(),
                "message": factories.message_dict(anna.user, "/help"),
            }
        )
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself (the bot retries meanwhile)
        assert bot.proc is not None and bot.proc.returncode is None, "the bot gave up"
        await srv.start(port)
        await srv.wait_for(lambda: len(delivered()) == 40, timeout=150, what="the rest")
        await srv.wait_for(
            lambda: any("зарегистрируйтесь" in text or "/start" in text for text in anna.texts),
            timeout=60,
            what="the answer written during the outage",
        )
        assert await bot.terminate() == 0, bot.log()[-3000:]
    finally:
        await srv.stop()
    counts = delivered()
    assert len(counts) == 40 and sum(n - 1 for n in counts.values()) <= 4
    assert query_db(db_path, "SELECT status, COUNT(*) FROM outbox GROUP BY status") == [
        ("sent", 40)
    ]
    assert "Traceback" not in bot.log()


async def test_an_evaluation_in_the_real_process_keeps_answers_out_of_the_log(
    server: FakeBotApiServer, processes: list[BotProcess], tmp_path: Path
) -> None:
    """A training that has just ended: the real process asks its participant, who answers by
    buttons and in their own words; the answers are stored, and none of them is in the log."""
    from datetime import UTC, datetime, timedelta

    from storage.clock import to_db
    from storage.db import Storage
    from storage.events import NewEvent
    from storage.members import Profile

    db_path = tmp_path / "data" / "bot.sqlite3"
    now = datetime.now(UTC)
    storage = await Storage.open(db_path)
    member, _ = await storage.members.upsert(
        USER_ID,
        Profile("Анна Иванова", "НКО Диалог", "RU-MOW", "ru", ()),
        consent_version="v",
        consent_at=now,
        now=now,
    )
    event = await storage.events.create(
        NewEvent(
            title="Тренинг: медиация",
            description="Практический тренинг",
            program=("Теория", "Практика"),
            starts_at=now - timedelta(hours=3),
            ends_at=now - timedelta(minutes=1),
            tz="Europe/Moscow",
            place="Москва",
            online_url=None,
            capacity=None,
            regions=("RU-MOW",),
            topics=(),
            created_by=None,
            checkin_secret="e2e-checkin",
            evaluation={"template": "short"},
        ),
        now - timedelta(days=1),
    )
    await storage.db.execute(
        "INSERT INTO rsvps (event_id, member_id, answer, answered_at) VALUES (?, ?, 'going', ?)",
        (event.id, member.id, to_db(now - timedelta(days=1))),
    )
    await storage.close()
    bot = await start_bot(processes, tmp_path / "run", bot_env(db_path, server))
    anna = Chat(server)
    await server.wait_for(
        lambda: any("вопрос 1 из 3" in text for text in anna.texts), what="the questionnaire"
    )
    await anna.tap("5 — отлично", expect="вопрос 2 из 3")
    await anna.tap("🙂 4", expect="вопрос 3 из 3")
    secret = "Тренер Фарид говорил слишком быстро"
    await anna.send(secret, expect="Спасибо! Ваши ответы сохранены")
    assert await bot.terminate() == 0, bot.log()[-3000:]
    rows = query_db(db_path, "SELECT question, number, text FROM evaluation_answers ORDER BY 1")
    assert rows == [("improve", None, secret), ("relevance", 5, None), ("usefulness", 4, None)]
    log = bot.log()
    assert secret not in log and "Фарид" not in log and "Анна Иванова" not in log
    assert "Traceback" not in log


async def test_a_storm_of_telegram_faults_loses_nothing(
    tmp_path: Path, processes: list[BotProcess]
) -> None:
    """A fifth of the calls get a 429, a 5xx or no answer in time (half of those timeouts after
    Telegram did the call) while a broadcast goes out and a person registers. Every answer
    reaches the person, every member gets the announcement (twice only where a timed-out send
    had in fact arrived), the outbox ends all sent, and the log has no traceback."""

    from tests.fake_telegram import SENDING, Limits, Storm

    db_path = tmp_path / "data" / "bot.sqlite3"
    first = 9_000_000
    await queued_broadcast(db_path, first, 60)
    telegram = FakeTelegram(limits=Limits(per_second=100))
    srv = FakeBotApiServer(telegram, TOKEN)
    srv.timeout_delay = 6.0  # just past the bot's read timeout (5 s)
    storm = Storm(
        seed=int(os.environ.get("STORM_SEED") or random.randrange(1 << 32)),
        rate=0.2,
        methods=SENDING | {"answerCallbackQuery", "getUpdates"},
        # one fault at a time per call: two in a row plus Telegram's 429 waits can outlast a
        # reply's retry budget now and then (see bot/runtime/ratelimit.py RETRY_BUDGET)
        max_in_a_row=1,
    )
    print(f"storm seed {storm.seed}")  # shown when the test fails, to run it again

    def delivered() -> Counter[int]:
        return delivered_to(telegram, first)

    await srv.start()
    try:
        env = bot_env(db_path, srv, MAX_MESSAGES_PER_SECOND="10", DELIVERY_WORKERS="4")
        bot = await start_bot(processes, tmp_path, env)
        await wait_until_running(srv, bot)
        telegram.storm = storm
        anna = Chat(srv, patience=60)
        await anna.follow(REGISTRATION_STEPS)
        await anna.send("/me", expect="Ваш профиль")
        await srv.wait_for(lambda: len(delivered()) == 60, timeout=120, what="the broadcast")
        telegram.storm = None
        await srv.wait_for(
            lambda: query_db(db_path, "SELECT DISTINCT status FROM outbox") == [("sent",)],
            timeout=60,
            what="the outbox to end all sent",
        )
        assert await bot.terminate() == 0, bot.log()[-3000:]
    finally:
        await srv.stop()
    faults = f"seed {storm.seed}, faults {dict(storm.faults)}"
    assert sum(storm.faults.values()) >= 10, faults  # it was a storm
    for chat, count in delivered().items():
        assert count <= 1 + storm.applied[chat], faults
    rows = query_db(
        db_path, "SELECT name, organisation, region_code FROM members WHERE name LIKE 'Анна%'"
    )
    assert rows == [("Анна Иванова", "НКО Диалог", "RU-SAM")], faults
    assert query_db(db_path, "SELECT COUNT(*) FROM dialogs") == [(0,)]
    log = bot.log()
    assert "Traceback" not in log, log[-3000:]
    assert "Анна Иванова" not in log


FINAL_STEPS = {"Всё верно", "Отправить"}  # see the test's docstring


def kill_plan(candidates: list[int]) -> tuple[list[tuple[int, int]], int | None]:
    """Where to kill: five steps out of `candidates`, each with how many Bot API calls after the
    push. Drawn at random from a seed (KILL_SEED, or a new one each run), or given as
    KILL_PLAN="3,0;9,1;15,2" (step,calls pairs) to run a plan seen failing again."""
    given = os.environ.get("KILL_PLAN", "").strip()
    if given:
        plan = []
        for pair in given.split(";"):
            step, calls = (int(x) for x in pair.split(","))
            assert step in candidates and calls >= 0, f"KILL_PLAN: no kill at {pair!r}"
            plan.append((step, calls))
        return sorted(plan), None
    seed = int(os.environ.get("KILL_SEED") or random.randrange(1 << 32))
    rng = random.Random(seed)
    kill_steps = set(rng.sample(candidates, 5))
    return [(i, rng.randrange(4)) for i in sorted(kill_steps)], seed


async def test_dialogues_killed_at_random_points_resume(
    server: FakeBotApiServer, processes: list[BotProcess], tmp_path: Path
) -> None:
    """A registration and then an incident report; at random steps the process is killed with
    SIGKILL at a random moment after the person's answer is sent: before the bot has it, while
    it is handled, or after the answer is shown. After each restart the answer is either taken
    (the person sees the next question) or the open question is shown again and the person
    answers it again: every answer is kept exactly once, none is lost or taken for the next
    question, and the report is made once. A report's draft is kept in memory only (it may
    become anonymous, #12): after a kill during the report the person starts it again, and
    the report is still made once. Not killed: the last step of each dialogue, whose
    confirmation can be lost in the instant between the commit and the message (noted in the
    README)."""
    db_path = tmp_path / "data" / "bot.sqlite3"
    env = bot_env(db_path, server)
    bot = await start_bot(processes, tmp_path / "run", env, "run0")
    await wait_until_running(server, bot)
    anna = Chat(server)
    description = "Во дворе угрожали соседке Гульнаре из-за её платка"
    steps = REGISTRATION_STEPS + report_steps("Сызрань, улица Тайная, 3", description)
    candidates = [i for i, step in enumerate(steps) if step[1] not in FINAL_STEPS]
    plan, seed = kill_plan(candidates)
    # shown if the test fails: KILL_SEED=seed or KILL_PLAN runs it again the same way
    drawn = "from KILL_PLAN" if seed is None else f"drawn with KILL_SEED={seed}"
    print(f"kill plan (step, calls after the push) {drawn}: {plan}")
    kill_after = dict(plan)

    def handled(update_id: int) -> bool:
        rows = query_db(
            db_path, "SELECT done FROM processed_updates WHERE update_id = ?", (update_id,)
        )
        return rows == [(1,)]

    for n, (kind, label, expect) in enumerate(steps):
        if n not in kill_after:
            await anna.take(steps[n])
            continue
        before = anna._snapshot()
        update = anna.text_update(label) if kind == "send" else anna.tap_update(label)
        kill_at = len(server.telegram.calls) + kill_after[n]

        def kill_point(at: int = kill_at) -> bool:
            return len(server.telegram.calls) >= at

        server.push_update(update)
        await server.wait_for(kill_point, what="the kill point")
        await bot.kill()
        bot = await start_bot(processes, tmp_path / "run", env, f"run{n + 1}")
        await wait_until_running(server, bot)

        def done(update_id: int = int(update["update_id"])) -> bool:
            return handled(update_id)

        await server.wait_for(done, what=f"step {n} to be handled")
        if n >= len(REGISTRATION_STEPS):
            # the draft was in memory: the person starts the report again (a question shown
            # by the new process, when /report itself was cut off, is replaced: its buttons
            # go, and the next question comes a moment later)
            await anna.follow(steps[len(REGISTRATION_STEPS) : n + 1])
        elif not anna.shows_since(before, expect):
            # the question was shown again (or the answer never reached the bot): answer again
            await anna.take(steps[n])
        if n + 1 < len(steps) and steps[n + 1][0] == "tap":
            # what the person answers next is the question at the end of the chat, buttons on
            last = anna.messages()[-1]
            assert any(steps[n + 1][1] in b for b in _buttons(last)), (plan, anna.texts[-3:])

    assert await bot.terminate() == 0, bot.log()[-3000:]
    members = query_db(db_path, "SELECT name, organisation, region_code FROM members")
    assert members == [("Анна Иванова", "НКО Диалог", "RU-SAM")]
    reports = query_db(db_path, "SELECT place, description, reporter_member_id FROM incidents")
    assert len(reports) == 1, plan
    assert reports[0][:2] == ("Сызрань, улица Тайная, 3", description)
    assert reports[0][2] is not None
    assert query_db(db_path, "SELECT COUNT(*) FROM dialogs") == [(0,)]
    left = query_db(db_path, "SELECT COUNT(*) FROM processed_updates WHERE body IS NOT NULL")
    assert left == [(0,)]  # no stored update text is left behind
    log = "".join(p.log() for p in processes)
    assert "Traceback" not in log, log[-3000:]
    for secret in (description, "Гульнар", "Тайная", "Анна Иванова", "НКО Диалог"):
        assert secret not in log
