"""Backups of the SQLite database: consistent copies while the bot runs, kept for a while, and
a restore that checks the copy and refuses while the bot is running.

A running bot holds an exclusive lock on `<database>.lock`; `ngo-bot restore` (and a second
`ngo-bot run` on the same database) cannot take it and stop with a clear message.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

NAME = re.compile(r"^ngo-bot-(\d{8})-(\d{6})\.sqlite3$")


class BackupError(Exception):
    """A backup or restore cannot be done; `key` names the catalog text, `params` its values."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def running_lock(database: Path) -> Iterator[None]:
    """Held for as long as the bot runs on `database` (and while a restore replaces it)."""
    database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(lock_path(database), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError("cli.running", path=database) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _check(path: Path) -> int:
    """The file is a sound SQLite database of this bot: returns its schema version."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute("SELECT 1 FROM members LIMIT 1").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError("cli.backup_broken", path=path, problem=str(exc)) from None
    if result is None or result[0] != "ok":
        problem = result[0] if result else "?"
        raise BackupError("cli.backup_broken", path=path, problem=problem)
    return version


def make_backup(database: Path, folder: Path, now: datetime) -> Path:
    """A consistent copy (SQLite's online backup, safe while the bot writes), checked."""
    if not database.exists():
        raise BackupError("cli.db_missing", path=database)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"ngo-bot-{now:%Y%m%d-%H%M%S}.sqlite3"
    partial = target.with_suffix(".partial")
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    source = sqlite3.connect(database)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            copy.close()
    finally:
        source.close()
    _check(partial)
    partial.replace(target)
    return target


def backups(folder: Path) -> list[tuple[datetime, Path]]:
    """Our backup files in `folder`, oldest first (other files are never touched)."""
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = NAME.match(path.name)
            if match:
                made = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
                found.append((made, path))
    return sorted(found)


def kept_before_restore(database: Path) -> list[tuple[datetime, Path]]:
    """The databases a restore moved aside (`<database>.before-restore-<time>`), oldest first."""
    found = []
    pattern = re.compile(re.escape(database.name) + r"\.before-restore-(\d{8})-(\d{6})$")
    if database.parent.is_dir():
        for path in database.parent.iterdir():
            match = pattern.match(path.name)
            if match:
                made = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
                found.append((made, path))
    return sorted(found)


def prune(folder: Path, keep_days: int, now: datetime, *, database: Path | None = None) -> int:
    """Delete backups older than `keep_days`; the newest one is always kept. With `database`,
    the copies a restore moved aside beside it go after the same time, the newest too (they
    hold personal data erased since, the erasure journal does not reach them, and the backups
    are what one goes back to)."""
    limit = now.replace(tzinfo=None) - timedelta(days=keep_days)
    old = [path for made, path in backups(folder)[:-1] if made < limit]
    if database is not None:
        old += [path for made, path in kept_before_restore(database) if made < limit]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)


def made_today(folder: Path, now: datetime) -> bool:
    return any(made.date() == now.date() for made, _ in backups(folder))


def restore(
    source: Path,
    database: Path,
    known_version: int,
    now: datetime,
    *,
    after: Callable[[], object] | None = None,
) -> Path:
    """Replace the database with a checked backup, keeping the current one beside it. Refuses
    while the bot runs. `after` runs once the backup is in place, still under the lock (the
    erasures made since are applied again there). Returns where the replaced database was
    kept."""
    if not source.is_file():
        raise BackupError("cli.backup_missing", path=source)
    version = _check(source)
    if version > known_version:
        raise BackupError("cli.db_too_new", found=version, known=known_version)
    with running_lock(database):
        kept = database.with_name(f"{database.name}.before-restore-{now:%Y%m%d-%H%M%S}")
        if database.exists():
            current = sqlite3.connect(database)  # fold the WAL in, then move the file aside
            try:
                current.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                current.close()
            database.replace(kept)
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        partial = database.with_name(database.name + ".restoring")
        os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
        shutil.copyfile(source, partial)
        partial.replace(database)
        if after is not None:
            after()
    log.info("database restored from %s (the previous one is kept as %s)", source, kept)
    return kept
