"""Registration dialogues per second through the real application (fake Bot API, real SQLite)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.runtime.app import build_application
from bot.settings import load_settings
from storage.db import Storage
from tests import factories
from tests.fake_telegram import TOKEN, FakeRequest, FakeTelegram

PEOPLE = 300


async def run(per_second: float) -> str:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # on disk, not a tmpfs
        path = Path(tmp) / "bench.sqlite3"
        settings = load_settings(
            None,
            bot_token=TOKEN,
            database_path=path,
            max_messages_per_second=per_second,
            _env_file=None,
        )
        storage = await Storage.open(path)
        telegram = FakeTelegram()
        app = build_application(settings, storage=storage, request=FakeRequest(telegram))
        await app.initialize()
        latencies: list[float] = []

        async def feed(update: object) -> None:
            started = time.perf_counter()
            await app.process_update(update)
            latencies.append(time.perf_counter() - started)

        def button(user_id: int, label: str) -> tuple[str, dict[str, object]]:
            for (chat_id, _), message in sorted(telegram.messages.items(), reverse=True):
                if chat_id != user_id:
                    continue
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                    for b in row:
                        if label in b["text"]:
                            return b["callback_data"], message
            raise RuntimeError(label)

        started = time.perf_counter()
        for i in range(PEOPLE):
            user = factories.user_dict(10_000 + i)
            bot = app.bot
            await feed(factories.message_update(bot, user, "/start"))
            for step in (
                "Даю согласие",
                None,
                None,
                "Приволжский",
                "Самарская область",
                "Образование",
                "Молодёжь",
                "Готово",
                "Всё верно",
            ):
                if step is None:
                    text = "Анна Иванова" if len(latencies) % 11 == 2 else "НКО Диалог"
                    await feed(factories.message_update(bot, user, text))
                else:
                    data, message = button(user["id"], step)
                    await feed(factories.callback_update(bot, user, data, message))
        elapsed = time.perf_counter() - started
        members = (await storage.members.totals()).get("active", 0)
        await app.shutdown()
        await storage.close()
    assert members == PEOPLE, members
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return (
        f"{PEOPLE / elapsed:.1f} dialogues/s, {len(latencies) / elapsed:.0f} updates/s, "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms per update"
    )


async def main() -> None:
    own = await run(per_second=1000)
    limited = await run(per_second=30)
    print(f"registration ({PEOPLE} people): {own}; with the 30 msg/s limit: {limited}")


if __name__ == "__main__":
    asyncio.run(main())
