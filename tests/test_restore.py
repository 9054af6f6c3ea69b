"""The erasure journal: a restored backup erases again everyone who erased their data after it;
the journal names nobody without its key, which lives outside the data and the backups; the
copies a restore moves aside are pruned like backups."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.backup import kept_before_restore, prune
from bot.members.profile import erase
from bot.roles.access import identify
from bot.settings import Settings, load_settings
from storage.db import Storage
from storage.members import Profile
from tests.fake_telegram import TOKEN

KEPT, ERASED, AGAIN = 501, 502, 503
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def write_config(tmp_path: Path, db_path: Path) -> Path:
    config = tmp_path / "config.env"
    config.write_text(f"BOT_TOKEN={TOKEN}\nDATABASE_PATH={db_path}\n", "utf-8")
    return config


async def register(settings: Settings, telegram_id: int, now: datetime) -> None:
    storage = await Storage.open(settings.database_path)
    try:
        profile = Profile(f"Имя {telegram_id}", "НКО", "RU-SAM", "ru", ())
        await storage.members.upsert(
            telegram_id, profile, consent_version="1", consent_at=now, now=now
        )
    finally:
        await storage.close()


async def forget(settings: Settings, telegram_id: int, now: datetime) -> None:
    storage = await Storage.open(settings.database_path)
    try:
        caller = await identify(storage, settings, telegram_id)
        assert await erase(storage, settings, caller, now)
    finally:
        await storage.close()


async def registered(settings: Settings) -> dict[int, str | None]:
    storage = await Storage.open(settings.database_path)
    try:
        rows = await storage.db.fetchall(
            "SELECT telegram_id, name FROM members WHERE telegram_id IS NOT NULL"
        )
        return {int(r[0]): r[1] for r in rows}
    finally:
        await storage.close()


def backup(config: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["--config", str(config), "backup"]) == 0
    return Path(capsys.readouterr().out.split("Резервная копия: ")[1].strip())


def test_a_restored_backup_erases_again_who_erased_after_it(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, db_path)
    settings = load_settings(config)
    assert main(["--config", str(config), "migrate"]) == 0
    # AGAIN erased their data and registered anew before the backup: the new one stays
    for telegram_id in (KEPT, ERASED, AGAIN):
        asyncio.run(register(settings, telegram_id, T0))
    asyncio.run(forget(settings, AGAIN, T0 + timedelta(days=1)))
    asyncio.run(register(settings, AGAIN, T0 + timedelta(days=2)))
    made = backup(config, capsys)
    # after the backup, ERASED uses /forget
    asyncio.run(forget(settings, ERASED, T0 + timedelta(days=3)))
    assert set(asyncio.run(registered(settings))) == {KEPT, AGAIN}
    assert main(["--config", str(config), "restore", str(made)]) == 0
    out = capsys.readouterr().out
    assert "База восстановлена" in out and "Снова удалены данные 1 участника" in out
    assert asyncio.run(registered(settings)) == {KEPT: f"Имя {KEPT}", AGAIN: f"Имя {AGAIN}"}
    # a second restore of the same backup: the same outcome
    assert main(["--config", str(config), "restore", str(made)]) == 0
    assert set(asyncio.run(registered(settings))) == {KEPT, AGAIN}
    # the journal holds no Telegram id; its key is outside the data folder and its backups
    journal = settings.erasure_journal_path.read_text("ascii")
    assert len(journal.splitlines()) == 2
    for line in journal.splitlines():
        entry = json.loads(line)
        assert set(entry) == {"at", "person"}
        # a keyed hash (hex), never the id itself; checked by field, as a short id may well
        # appear among the hash's hex digits by chance
        assert re.fullmatch(r"[0-9a-f]{32,}", entry["person"])
        assert entry["person"] not in {str(i) for i in (KEPT, ERASED, AGAIN)}
        assert not any(str(i) in entry["at"] for i in (KEPT, ERASED, AGAIN))
    key = settings.erasure_key_path
    assert key.exists() and key.stat().st_mode & 0o777 == 0o600
    assert db_path.parent not in key.parents and settings.backups_folder not in key.parents
    assert key.read_text("ascii").strip() not in made.read_bytes().decode("latin-1")


def test_copies_moved_aside_by_a_restore_are_pruned_like_backups(tmp_path: Path) -> None:
    database = tmp_path / "data" / "ngo-bot.sqlite3"
    database.parent.mkdir()
    now = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)
    for days in (30, 20, 1):
        moment = now - timedelta(days=days)
        (database.parent / f"ngo-bot.sqlite3.before-restore-{moment:%Y%m%d-%H%M%S}").touch()
    (database.parent / "ngo-bot.sqlite3.before-restore-notes").touch()  # not ours
    assert prune(tmp_path / "backups", 14, now, database=database) == 2
    assert [made.day for made, _ in kept_before_restore(database)] == [21]
    assert (database.parent / "ngo-bot.sqlite3.before-restore-notes").exists()
    # the newest goes too once its time is up (unlike the newest backup)
    assert prune(tmp_path / "backups", 1, now + timedelta(days=100), database=database) == 1
    assert kept_before_restore(database) == []


def test_an_unwritable_journal_does_not_stop_the_erasure(
    db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", "utf-8")
    settings = load_settings(
        None,
        bot_token=TOKEN,
        database_path=db_path,
        erasure_journal=blocker / "journal",
        _env_file=None,
    )
    asyncio.run(register(settings, ERASED, T0))
    asyncio.run(forget(settings, ERASED, T0 + timedelta(days=1)))
    assert asyncio.run(registered(settings)) == {}
    assert "erasure journal" in caplog.text and str(ERASED) not in caplog.text


@pytest.mark.parametrize("damage", ["missing", "empty", "garbled"])
def test_a_restore_without_the_journals_key_changes_nothing(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """Restoring on a new server without the key (or with a key file cut off by a crash, or
    damaged) would silently bring back everyone who erased their data after the backup: the
    restore refuses before anything changes, and says what to do."""
    config = write_config(tmp_path, db_path)
    settings = load_settings(config)
    assert main(["--config", str(config), "migrate"]) == 0
    asyncio.run(register(settings, ERASED, T0))
    made = backup(config, capsys)
    asyncio.run(forget(settings, ERASED, T0 + timedelta(days=1)))
    key = settings.erasure_key_path
    if damage == "missing":
        key.unlink()
    else:
        key.write_text("" if damage == "empty" else "not a key\n", "ascii")
    before = db_path.read_bytes()
    assert main(["--config", str(config), "restore", str(made)]) == 2
    err = capsys.readouterr().err
    assert "Восстановление не начато" in err and "Ничего не изменено" in err
    assert db_path.read_bytes() == before
    assert ERASED not in asyncio.run(registered(settings))
    if damage != "missing":  # a damaged key is never replaced by a new one silently
        assert key.read_text("ascii") in ("", "not a key\n")


def test_forget_goes_through_with_a_damaged_key_file(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, db_path)
    settings = load_settings(config)
    assert main(["--config", str(config), "migrate"]) == 0
    asyncio.run(register(settings, ERASED, T0))
    settings.erasure_key_path.write_text("", "ascii")
    asyncio.run(forget(settings, ERASED, T0 + timedelta(days=1)))
    assert ERASED not in asyncio.run(registered(settings))
    err = capsys.readouterr().err  # one error line (the log of `main` goes to stderr)
    assert "erasure journal" in err and str(ERASED) not in err
