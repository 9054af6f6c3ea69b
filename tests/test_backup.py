"""Backups: a consistent copy while the bot writes, retention, the daily one, restore."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.backup import backups, make_backup, prune, running_lock
from storage.db import Storage
from tests.conftest import Harness
from tests.fake_telegram import TOKEN

NOW = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)


async def add_member(storage: Storage, telegram_id: int) -> None:
    await storage.db.execute(
        "INSERT INTO members (telegram_id, name, organisation, region_code, language, status,"
        " created_at, updated_at) VALUES (?, 'Анна', 'НКО', 'RU-SAM', 'ru', 'active',"
        " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
        (telegram_id,),
    )


def add_member_now(path: Path, telegram_id: int) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(
            "INSERT INTO members (telegram_id, name, organisation, region_code, language,"
            " status, created_at, updated_at) VALUES (?, 'Анна', 'НКО', 'RU-SAM', 'ru',"
            " 'active', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
            (telegram_id,),
        )
        conn.commit()
    finally:
        conn.close()


def names(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT telegram_id FROM members ORDER BY 1")]
    finally:
        conn.close()


async def test_a_backup_while_the_bot_writes_is_complete_and_sound(
    storage: Storage, db_path: Path, tmp_path: Path
) -> None:
    await add_member(storage, 1)
    async with storage.db.transaction() as tx:  # a write in progress is not in the copy
        await tx.execute(
            "INSERT INTO members (telegram_id, region_code, language, status, created_at,"
            " updated_at) VALUES (2, 'RU-SAM', 'ru', 'active', '2026', '2026')"
        )
        made = make_backup(db_path, tmp_path / "backups", NOW)
    assert made.name == "ngo-bot-20261122-033000.sqlite3"
    assert made.stat().st_mode & 0o777 == 0o600
    assert names(made) == [1]
    assert not list((tmp_path / "backups").glob("*.partial"))


def test_old_backups_are_pruned_but_the_newest_is_kept(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    for days in (30, 20, 10, 1):
        (folder / f"ngo-bot-{NOW - timedelta(days=days):%Y%m%d-%H%M%S}.sqlite3").touch()
    (folder / "notes.txt").touch()  # not ours: never touched
    assert prune(folder, 14, NOW) == 2
    assert [made.day for made, _ in backups(folder)] == [12, 21]
    assert (folder / "notes.txt").exists()
    assert prune(folder, 1, NOW + timedelta(days=100)) == 1  # the newest always stays
    assert len(backups(folder)) == 1


def write_config(tmp_path: Path, db_path: Path) -> Path:
    config = tmp_path / "config.env"
    config.write_text(f"BOT_TOKEN={TOKEN}\nDATABASE_PATH={db_path}\n", "utf-8")
    return config


def test_backup_and_restore_from_the_command_line(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, db_path)
    assert main(["--config", str(config), "migrate"]) == 0
    add_member_now(db_path, 1)
    assert main(["--config", str(config), "backup"]) == 0
    made = Path(capsys.readouterr().out.split("Резервная копия: ")[1].strip())
    add_member_now(db_path, 2)
    assert main(["--config", str(config), "restore", str(made)]) == 0
    out = capsys.readouterr().out
    assert "База восстановлена" in out
    assert names(db_path) == [1]
    kept = next(db_path.parent.glob("*.before-restore-*"))
    assert names(kept) == [1, 2]  # the replaced database is kept


def test_restore_refuses_a_broken_file_and_a_running_bot(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, db_path)
    assert main(["--config", str(config), "migrate"]) == 0
    add_member_now(db_path, 1)
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x07" * 5000)
    assert main(["--config", str(config), "restore", str(broken)]) == 1
    assert "повреждён" in capsys.readouterr().err
    assert main(["--config", str(config), "restore", str(tmp_path / "nope.sqlite3")]) == 1
    assert "не найден" in capsys.readouterr().err
    good = make_backup(db_path, tmp_path / "b", NOW)
    with running_lock(db_path):  # as `ngo-bot run` holds it
        assert main(["--config", str(config), "restore", str(good)]) == 1
        assert "уже работает" in capsys.readouterr().err
    assert names(db_path) == [1]
    assert not list(db_path.parent.glob("*.before-restore-*"))


async def test_the_daily_backup_once_a_day_from_the_set_hour(harness: Harness) -> None:
    settings = harness.app.bot_data.settings
    assert settings is not None
    folder = settings.backups_folder
    harness.clock.now = datetime(2026, 11, 22, 2, 59, tzinfo=UTC)
    await harness.run_jobs()
    assert backups(folder) == []
    harness.clock.now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    await harness.run_jobs()
    harness.clock.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    await harness.run_jobs()
    assert len(backups(folder)) == 1
    harness.clock.now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # the bot was down at 03:00
    await harness.run_jobs()
    assert len(backups(folder)) == 2
    harness.clock.now = datetime(2026, 12, 10, 4, 0, tzinfo=UTC)
    await harness.run_jobs()
    assert [made.day for made, _ in backups(folder)] == [10]  # 14 days kept
