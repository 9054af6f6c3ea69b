"""Opening the database, pragmas, migrations and the Storage facade.

One aiosqlite connection in autocommit mode; every statement and every transaction holds one
asyncio lock, so coroutines never interleave inside a transaction. SQLite has a single writer
anyway, and the bot is one process.

Transactions are re-entrant (the unit of work): inside `async with db.transaction()`, every
statement of the same task through this Database (`db.execute`, a repository method, a nested
`db.transaction()`) joins the open transaction instead of waiting for the lock, so an action
reads and writes in one transaction and commits together with everything it causes. A nested
transaction is a SAVEPOINT: its failure undoes its own part only. A task started inside a
transaction does not join it (it waits for the lock like any other).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.approvals import ApprovalRepo
from storage.dialogs import DialogRepo
from storage.evaluations import EvaluationRepo
from storage.events import EventRepo
from storage.groups import GroupRepo
from storage.incidents import IncidentRepo
from storage.limits import LimitRepo
from storage.members import MemberRepo
from storage.outbox import OutboxRepo
from storage.revocation import RevocationRepo
from storage.roles import RoleRepo
from storage.updates import UpdateRepo

Params = Sequence[Any] | dict[str, Any]
BUSY_TIMEOUT_MS = 5000
# FULL: a commit is on the disk before it returns, so a confirmed report survives a power cut
# (NORMAL in WAL mode may lose the last commits). bench/durability.py measures the cost.
SYNCHRONOUS = "FULL"
# After a checkpoint the -wal file is cut back to this size (bytes): old page images, such as
# a handled update's text or a deleted row, do not stay readable in it.
JOURNAL_SIZE_LIMIT = 0


class DatabaseTooNew(Exception):
    """The database was migrated by a newer version of the bot than this one."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(f"database schema version {found} is newer than this code ({known})")
        self.found = found
        self.known = known


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Migrations shipped in storage/migrations, numbered 001_*.sql, 002_*.sql ..."""
    found: list[Migration] = []
    for entry in resources.files("storage.migrations").iterdir():
        match = re.fullmatch(r"(\d{3})_([a-z0-9_]+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration numbers have a gap at {expected}")
    return found


class Tx:
    """Statements inside one transaction (the lock is held by the caller)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        rowcount = cursor.rowcount
        await cursor.close()
        return rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        async with self._conn.execute(sql, params) as cursor:
            row: aiosqlite.Row | None = await cursor.fetchone()
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())


# The transaction the current task holds: (database, its Tx, the task that opened it).
_CURRENT: contextvars.ContextVar[tuple[Database, Tx, asyncio.Task[Any] | None] | None] = (
    contextvars.ContextVar("storage_transaction", default=None)
)


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._savepoints = 0
        self.path = path

    def joined(self) -> Tx | None:
        """The transaction this task has open on this database, if any."""
        current = _CURRENT.get()
        if current is None or current[0] is not self or current[2] is not _task():
            return None
        return current[1]

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating it readable by its owner only) and set the pragmas."""
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                # SQLite gives the -wal and -shm files the same permissions as the database.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
            await conn.execute("PRAGMA foreign_keys = ON")
            # deleted rows (an erased member, a finished report dialogue) are overwritten,
            # not left readable in free pages of the file
            await conn.execute("PRAGMA secure_delete = ON")
            await conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            await conn.execute("SELECT count(*) FROM sqlite_master")  # fails if not a database
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def checkpoint(self) -> bool:
        """Copy everything from the -wal file into the database and truncate it to nothing, so
        that earlier versions of pages (a handled update's JSON, a deleted draft) are gone from
        it. False if a reader kept it from finishing (the next one catches up)."""
        row = await self.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
        return row is not None and int(row[0]) == 0

    async def user_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> list[int]:
        """Apply pending migrations, each with its version bump in one transaction.

        Returns the versions applied; raises DatabaseTooNew for a database from newer code.
        """
        migrations = load_migrations()
        applied: list[int] = []
        async with self._lock:
            async with self._conn.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            current = int(row[0]) if row else 0
            if current > len(migrations):
                raise DatabaseTooNew(current, len(migrations))
            for migration in migrations[current:]:
                script = (
                    "BEGIN IMMEDIATE;\n"
                    f"{migration.sql}\n"
                    f"PRAGMA user_version = {migration.version};\n"
                    "COMMIT;\n"
                )
                try:
                    await self._conn.executescript(script)
                except BaseException:
                    if self._conn.in_transaction:
                        await self._conn.rollback()
                    raise
                applied.append(migration.version)
        return applied

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement in its own transaction (or in the one this task has open); returns
        the number of changed rows."""
        if (tx := self.joined()) is not None:
            return await tx.execute(sql, params)
        async with self._lock:
            cursor = await self._conn.execute(sql, params)
            rowcount = cursor.rowcount
            await cursor.close()
            return rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        if (tx := self.joined()) is not None:
            return await tx.fetchone(sql, params)
        async with self._lock, self._conn.execute(sql, params) as cursor:
            row: aiosqlite.Row | None = await cursor.fetchone()
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        if (tx := self.joined()) is not None:
            return await tx.fetchall(sql, params)
        async with self._lock, self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Tx]:
        """The unit of work a repository method runs in: the transaction this task has open
        (joined as it is, no savepoint), else a new `transaction()`. What a repository method
        uses so that its statements commit together with the caller's, and on their own when
        the caller has no transaction open."""
        if (outer := self.joined()) is not None:
            yield outer
            return
        async with self.transaction() as tx:
            yield tx

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; inside a transaction of this
        task, a SAVEPOINT of it (rolled back alone on an error, released otherwise)."""
        if (outer := self.joined()) is not None:
            self._savepoints += 1
            name = f"sp{self._savepoints}"
            await outer.execute(f"SAVEPOINT {name}")
            try:
                yield outer
            except BaseException:
                await outer.execute(f"ROLLBACK TO {name}")
                await outer.execute(f"RELEASE {name}")
                raise
            await outer.execute(f"RELEASE {name}")
            return
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            tx = Tx(self._conn)
            token = _CURRENT.set((self, tx, _task()))
            try:
                yield tx
            except BaseException:
                await self._conn.rollback()
                raise
            finally:
                _CURRENT.reset(token)
            await self._conn.commit()


def _task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


class Storage:
    """The facade the bot uses: one repository per kind of row."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.members = MemberRepo(db)
        self.roles = RoleRepo(db)
        self.dialogs = DialogRepo(db)
        self.outbox = OutboxRepo(db)
        self.events = EventRepo(db)
        self.groups = GroupRepo(db)
        self.incidents = IncidentRepo(db)
        self.evaluations = EvaluationRepo(db)
        self.updates = UpdateRepo(db)
        self.limits = LimitRepo(db)
        self.approvals = ApprovalRepo(db)
        self.revocation = RevocationRepo(db)

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Storage:
        db = await Database.open(path)
        try:
            if migrate:
                await db.migrate()
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def close(self) -> None:
        await self.db.close()
