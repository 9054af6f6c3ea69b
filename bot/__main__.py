"""`ngo-bot` (= `python -m bot`): run, migrate, check, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.backup import BackupError, make_backup, prune, restore, running_lock
from bot.i18n import language_for, t, tn
from bot.logs import setup_logging, warn_if_exposed
from bot.members import erasures
from bot.members.erasures import reapply
from bot.regions import RegionsError, load_regions
from bot.runtime.runner import StartupError, run
from bot.settings import Settings, SettingsError, load_settings
from storage.db import Database, DatabaseTooNew, Storage, load_migrations

EXIT_CONFIG = 2


def _operator_language(config: Path) -> str:
    value = os.environ.get("DEFAULT_LANGUAGE")
    if value is None and config.is_file():
        match = re.search(r"^DEFAULT_LANGUAGE\s*=\s*(\w+)", config.read_text("utf-8"), re.M)
        value = match[1] if match else None
    return language_for(value)


def _fail(lang: str, key: str, **params: object) -> int:
    print(t(lang, key, **params), file=sys.stderr)
    return EXIT_CONFIG


def _settings(config: Path, lang: str) -> Settings | int:
    try:
        settings = load_settings(config if config.is_file() else None)
        load_regions(settings.regions_file)
    except SettingsError as exc:
        return _fail(lang, "cli.bad_setting", variable=exc.variable, problem=exc.problem)
    except RegionsError as exc:
        return _fail(lang, "cli.bad_setting", variable="REGIONS_FILE", problem=str(exc))
    return settings


async def _migrate(settings: Settings, lang: str) -> int:
    storage = await Storage.open(settings.database_path, migrate=False)
    try:
        applied = await storage.db.migrate()
        version = await storage.db.user_version()
    finally:
        await storage.close()
    print(t(lang, "cli.migrated", applied=len(applied), version=version))
    return 0


async def _check(settings: Settings, lang: str) -> int:
    problems: list[str] = []
    known = len(load_migrations())
    if settings.database_path.exists():
        db = await Database.open(settings.database_path)
        try:
            version = await db.user_version()
        finally:
            await db.close()
        if version > known:
            problems.append(t(lang, "cli.db_too_new", found=version, known=known))
        elif version < known:
            print(t(lang, "cli.db_pending", version=version, known=known))
        else:
            print(t(lang, "cli.db_ok", path=settings.database_path, version=version))
    else:
        print(t(lang, "cli.db_missing", path=settings.database_path))
    bot = Bot(
        settings.bot_token.get_secret_value(),
        base_url=settings.bot_api_base_url,
        base_file_url=settings.bot_api_base_file_url,
    )
    try:
        async with bot:
            print(t(lang, "cli.telegram_ok", username=bot.username))
    except InvalidToken:
        problems.append(t(lang, "cli.token_rejected"))
    except TelegramError as exc:
        problems.append(t(lang, "cli.telegram_unreachable", error=str(exc)))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


async def _backup(settings: Settings, lang: str) -> int:
    """A consistent copy now (safe while the bot runs), old ones pruned."""
    now = datetime.now(UTC)
    made = await asyncio.to_thread(
        make_backup, settings.database_path, settings.backups_folder, now
    )
    prune(settings.backups_folder, settings.backup_keep_days, now, database=settings.database_path)
    print(t(lang, "cli.backup_done", path=made))
    return 0


async def _erase_again(settings: Settings) -> int:
    storage = await Storage.open(settings.database_path)
    try:
        return await reapply(storage, settings)
    finally:
        await storage.close()


def _restore(settings: Settings, lang: str, source: Path) -> int:
    """Put the backup in place, erase again everyone erased since (the journal), prune the
    copies that restores moved aside like backups."""
    now = datetime.now(UTC)
    try:  # checked before anything changes: without the key the erasures cannot be re-applied
        erasures.key_for_restore(settings)
    except OSError as exc:
        return _fail(
            lang,
            "cli.erasure_key_missing",
            key_file=settings.erasure_key_path,
            journal=settings.erasure_journal_path,
            problem=str(exc) if isinstance(exc, erasures.BadKeyFile) else "missing",
        )
    erased: list[int] = []
    kept = restore(
        source,
        settings.database_path,
        len(load_migrations()),
        now,
        after=lambda: erased.append(asyncio.run(_erase_again(settings))),
    )
    prune(settings.backups_folder, settings.backup_keep_days, now, database=settings.database_path)
    print(t(lang, "cli.restored", source=source, kept=kept))
    if erased and erased[0]:
        print(tn(lang, "cli.erased_again", erased[0]))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ngo-bot", description="NGO network Telegram bot")
    parser.add_argument("--config", type=Path, default=Path("config.env"), help="settings file")
    parser.add_argument(
        "command",
        choices=["run", "migrate", "check", "backup", "restore"],
        nargs="?",
        default="run",
    )
    parser.add_argument("file", type=Path, nargs="?", help="for restore: the backup file")
    args = parser.parse_args(argv)
    if (args.command == "restore") != (args.file is not None):
        parser.error("restore takes one backup file; other commands take none")
    lang = _operator_language(args.config)
    settings = _settings(args.config, lang)
    if isinstance(settings, int):
        return settings
    setup_logging(settings.log_level, settings.bot_token.get_secret_value())
    commands = {"migrate": _migrate, "check": _check, "backup": _backup}
    try:
        if args.command in commands:
            return asyncio.run(commands[args.command](settings, lang))
        if args.command == "restore":
            return _restore(settings, lang, args.file)
        warn_if_exposed(args.config)
        for place in (settings.database_path, settings.database_path.parent):
            warn_if_exposed(place, "people's data")
        with running_lock(settings.database_path):
            asyncio.run(run(settings))
    except DatabaseTooNew as exc:
        return _fail(lang, "cli.db_too_new", found=exc.found, known=exc.known)
    except (sqlite3.DatabaseError, OSError) as exc:
        return _fail(
            lang,
            "cli.bad_setting",
            variable="DATABASE_PATH",
            problem=f"{settings.database_path}: {exc}",
        )
    except StartupError as exc:
        return _fail(lang, exc.key, **exc.params)
    except BackupError as exc:
        print(t(lang, exc.key, **exc.params), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
