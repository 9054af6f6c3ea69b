"""Anonymity without side channels (#12): nothing on disk links an anonymous reporter's Telegram
id to their report, their draft or their receipt code: not the database, not its -wal file."""

from __future__ import annotations

import json
from pathlib import Path

from bot.inbox import keep
from tests import factories
from tests.conftest import Harness
from tests.test_incidents import DESCRIPTION, REGIONAL, cards, network

SECRET_ID = 987654321  # easy to find as text in the files
FIRST_DRAFT = "Первый вариант: соседка Зульфия Ахмедовна видела всё из окна"


async def through_inbox(h: Harness, update_json: dict[str, object]) -> None:
    """As in production: the update's JSON is stored in the inbox first, then handled."""
    await keep(h.app.bot_data, [update_json])
    await h.app.process_update(factories.Update.de_json(update_json, h.app.bot))


def files_of(db: Path) -> bytes:
    found = b""
    for suffix in ("", "-wal", "-journal"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            found += path.read_bytes()
    return found


async def test_after_an_anonymous_report_neither_the_database_nor_the_wal_holds_the_id_or_draft(
    harness: Harness,
) -> None:
    from tests.test_registration import register

    await network(harness)
    await register(harness, SECRET_ID, name="Тайный Заявитель")
    p = harness.person(SECRET_ID)
    user = p.user

    async def say(text: str) -> None:
        payload = {
            "update_id": next(factories._update_ids),
            "message": factories.message_dict(user, text),
        }
        await through_inbox(harness, json.loads(json.dumps(payload)))

    await say("/report")
    await p.tap("Нет")
    await p.tap("Угрозы")
    await p.tap("📍")
    await say("Самара, ул. Победы, 5")
    await p.tap("Сегодня")
    await say(FIRST_DRAFT)
    await p.tap("Назад")  # the first draft of the description is replaced
    await say(DESCRIPTION)
    await p.tap("Вложений нет")
    await p.tap("В ближайшие дни")
    await p.tap("Анонимно")
    await p.tap("Отправить")
    assert "Сохраните код" in p.last
    settings = harness.app.bot_data.settings
    assert settings is not None
    wal = settings.database_path.with_name(settings.database_path.name + "-wal")
    assert wal.stat().st_size == 0  # checkpointed and cut once the report's update was handled
    await harness.deliver()
    assert "разбили окна" in cards(harness, REGIONAL)[-1]
    on_disk = files_of(settings.database_path)
    assert str(SECRET_ID).encode() not in on_disk
    assert FIRST_DRAFT.encode() not in on_disk
    assert "Ахмедовна".encode() not in on_disk


async def test_forget_and_the_hourly_sweep_empty_the_wal(harness: Harness) -> None:
    from tests.test_registration import register

    await register(harness, SECRET_ID, name="Тайный Заявитель")
    settings = harness.app.bot_data.settings
    assert settings is not None
    wal = settings.database_path.with_name(settings.database_path.name + "-wal")
    assert wal.stat().st_size > 0
    p = harness.person(SECRET_ID)
    await p.send("/forget")
    await p.tap("Да")
    assert wal.stat().st_size == 0
    assert "Тайный".encode() not in files_of(settings.database_path)
    await p.send("/start")
    assert wal.stat().st_size > 0
    assert await harness.storage.db.checkpoint()  # what the hourly sweep runs
    assert wal.stat().st_size == 0
