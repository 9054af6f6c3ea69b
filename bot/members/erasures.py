"""The erasure journal: every /forget appends a line with the moment and an HMAC of the
person's Telegram id, in a file outside the database (so a backup restored later still knows
every erasure made after it). The HMAC's secret is a key file kept outside the backups, made on
first use; without it the journal names nobody. After `ngo-bot restore`, every erasure in the
journal is applied again to the registration it erased (one that existed at that moment): a
person erased after the backup was made is gone again, and someone who registered anew after
their erasure keeps the new registration.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.settings import Settings
from storage.clock import from_db, to_db
from storage.db import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    at: datetime
    person: str  # HMAC-SHA256 of the Telegram id, hex


KEY_BYTES = 32


class BadKeyFile(OSError):
    """The key file is there but unusable (empty after a crash, damaged): never replaced by a
    new key silently, which would make every entry of the journal name nobody."""


def _read_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text("ascii").strip())
    except (ValueError, UnicodeDecodeError):
        raise BadKeyFile(f"{path}: not a key made by the bot") from None
    if len(key) < KEY_BYTES // 2:
        raise BadKeyFile(f"{path}: too short to be a key made by the bot")
    return key


def load_key(path: Path, *, create: bool = True) -> bytes:
    """The secret, made on first use (readable by its owner only). With `create` false, a
    missing key raises FileNotFoundError (a restore must not go on without it)."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        if not create:
            raise
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(path.name + ".new")
    fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(KEY_BYTES) + "\n")
        out.flush()
        os.fsync(out.fileno())
    try:  # whole or not at all: a crash cannot leave an empty key behind
        os.link(partial, path)
    except FileExistsError:  # made meanwhile by another process: theirs counts
        pass
    finally:
        partial.unlink(missing_ok=True)
    return _read_key(path)


def key_for_restore(settings: Settings) -> None:
    """Before a restore: with erasures in the journal, their key must be there and usable,
    or they could not be applied again (raises FileNotFoundError or BadKeyFile)."""
    if entries(settings.erasure_journal_path):
        load_key(settings.erasure_key_path, create=False)


def person_hash(key: bytes, telegram_id: int) -> str:
    return hmac.new(key, f"telegram:{telegram_id}".encode(), hashlib.sha256).hexdigest()


def record(settings: Settings, telegram_id: int, now: datetime) -> None:
    """Append one erasure, on disk before returning (the caller commits the erasure after)."""
    line = json.dumps(
        {"at": to_db(now), "person": person_hash(load_key(settings.erasure_key_path), telegram_id)}
    )
    path = settings.erasure_journal_path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def entries(path: Path) -> list[Entry]:
    """The journal's entries, oldest first; a line cut off by a crash is skipped."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text("ascii", errors="replace").splitlines():
        try:
            data = json.loads(line)
            found.append(Entry(from_db(str(data["at"])), str(data["person"])))
        except (ValueError, KeyError, TypeError):
            log.warning("erasure journal: a damaged line skipped")
    return sorted(found, key=lambda e: e.at)


async def reapply(storage: Storage, settings: Settings) -> int:
    """Erase again everyone the journal says was erased while registered: a member whose
    Telegram id hashes to an entry and who registered before that entry. Returns how many."""
    journal = entries(settings.erasure_journal_path)
    if not journal:
        return 0
    key = load_key(settings.erasure_key_path)
    latest: dict[str, datetime] = {}
    for entry in journal:
        latest[entry.person] = entry.at
    rows = await storage.db.fetchall(
        "SELECT id, telegram_id, created_at FROM members WHERE telegram_id IS NOT NULL"
    )
    erased = 0
    for row in rows:
        at = latest.get(person_hash(key, int(row["telegram_id"])))
        if at is None or from_db(row["created_at"]) > at:
            continue  # never erased, or registered anew after the erasure
        if await storage.members.erase(int(row["id"]), at):
            erased += 1
    if erased:
        log.warning("restore: %d erasures made after the backup were applied again", erased)
    return erased
