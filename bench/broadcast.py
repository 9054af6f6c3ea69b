"""An announcement to 10,000 members through the real delivery engine, against a local fake
Bot API over HTTP that enforces Telegram's limits (answers 429 with retry_after when exceeded).

Prints one line per mode: achieved messages/s (and as a fraction of the configured limit),
the number of 429 answers, lost and duplicated recipients, and the p95 time for a person's
reply (/help) while the broadcast runs. The second mode lifts the limits to show the engine's
own ceiling. The fake server runs in the same process and event loop as the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.outbox import Outgoing, Priority, send_to_many
from bot.runtime.app import build_application
from bot.settings import load_settings
from storage.db import Storage
from tests import factories
from tests.fake_server import FakeBotApiServer
from tests.fake_telegram import TOKEN, FakeTelegram, Limits

MEMBERS = 10_000
FIRST_ID = 5_000_000


async def seed(storage: Storage, count: int) -> None:
    async with storage.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO members (telegram_id, name, organisation, region_code, language,"
            " status, created_at, updated_at) VALUES (?, 'Участник', 'НКО', 'RU-SAM', 'ru',"
            " 'active', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
            [(FIRST_ID + i,) for i in range(count)],
        )


async def run(members: int, limited: bool, per_second: float, allowed: float | None = None) -> str:
    """`allowed`: what the fake Telegram lets through per second (default: the bot's limit)."""
    allowed = allowed or per_second
    telegram = FakeTelegram(limits=Limits(per_second=int(allowed)) if limited else None)
    server = FakeBotApiServer(telegram, TOKEN)
    base_url = await server.start()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        settings = load_settings(
            None,
            bot_token=TOKEN,
            database_path=path,
            bot_api_base_url=base_url,
            bot_api_base_file_url=server.file_url,
            max_messages_per_second=per_second if limited else 1000,
            _env_file=None,
        )
        storage = await Storage.open(path)
        await seed(storage, members)
        app = build_application(settings, storage=storage)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)  # starts the delivery engine
        people = await storage.db.fetchall("SELECT telegram_id, id FROM members")
        await send_to_many(
            storage,
            [(r[0], r[1]) for r in people],
            Outgoing(text="📣 Семинар: права детей — 25 ноября, 14:00"),
            priority=Priority.BULK,
            now=app.bot_data.clock(),
            kind="announcement",
        )
        engine = app.bot_data.delivery
        assert engine is not None
        engine.wake()
        started = time.perf_counter()
        replies: list[float] = []
        person = factories.user_dict(42, "Тот, кто пишет боту")
        while True:
            row = await storage.db.fetchone(
                "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
            )
            if row is None or row[0] == 0:
                break
            asked = time.perf_counter()
            await app.process_update(factories.message_update(app.bot, person, "/help"))
            replies.append(time.perf_counter() - asked)
            await asyncio.sleep(1.5)  # a person writes now and then (Telegram: ~1 msg/s per chat)
        elapsed = time.perf_counter() - started
        await engine.stop()
        await app.shutdown()
        rows = await storage.db.fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY 1")
        statuses = {r[0]: r[1] for r in rows}
        await storage.close()
    await server.stop()
    delivered = Counter(chat for (chat, _mid) in telegram.messages if chat >= FIRST_ID)
    lost = members - len(delivered)
    duplicated = sum(1 for n in delivered.values() if n > 1)
    rate = sum(delivered.values()) / elapsed
    rejected = telegram.limits.rejected if telegram.limits else 0
    p95 = (
        statistics.quantiles(replies, n=20)[18] * 1000
        if len(replies) >= 20
        else max(replies, default=0) * 1000
    )
    mode = f"limit {per_second:.0f}/s" if limited else "no limits"
    if limited and allowed != per_second:
        mode += f", Telegram allows {allowed:.0f}/s"
    share = f" ({rate / allowed:.0%} of what Telegram allows)" if limited else ""
    return (
        f"broadcast [{mode}]: {members} members in {elapsed:.1f} s, {rate:.1f} msg/s{share}, "
        f"429s: {rejected}, lost: {lost}, duplicated: {duplicated}, "
        f"reply p95 {p95:.0f} ms ({len(replies)} replies), outbox {statuses}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--limit", type=float, default=30)
    parser.add_argument("--allowed", type=float, default=None, help="the fake's limit per second")
    parser.add_argument("--mode", choices=["both", "limited", "ceiling"], default="both")
    args = parser.parse_args()
    if args.mode in ("both", "limited"):
        print(await run(args.members, True, args.limit, args.allowed), flush=True)
    if args.mode in ("both", "ceiling"):
        print(await run(args.members, False, args.limit), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
