"""Telegram updates: stored as they arrive (the inbox), and which were handled, so that a crash
loses none and a repeated update changes nothing twice."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from storage.clock import to_db

if TYPE_CHECKING:
    from storage.db import Database


class UpdateRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def receive(self, updates: Iterable[tuple[int, str]], now: datetime) -> None:
        """Store updates as they arrive (id, JSON), in one transaction; known ids are kept."""
        at = to_db(now)
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO processed_updates (update_id, at, body, started)"
                " VALUES (?, ?, ?, 0) ON CONFLICT (update_id) DO NOTHING",
                [(update_id, at, body) for update_id, body in updates],
            )

    async def waiting(self) -> list[str]:
        """The JSON of stored updates not handled yet, oldest first (after a crash)."""
        rows = await self._db.fetchall(
            "SELECT body FROM processed_updates WHERE done = 0 AND body IS NOT NULL"
            " ORDER BY update_id"
        )
        return [row[0] for row in rows]

    async def begin(self, update_id: int, now: datetime) -> Literal["new", "interrupted", "done"]:
        """Whether this update is new, was being handled when the process died, or is done."""
        inserted = await self._db.execute(
            "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (update_id, to_db(now)),
        )
        if inserted:
            return "new"
        started = await self._db.execute(  # stored on arrival, handled for the first time now
            "UPDATE processed_updates SET started = 1 WHERE update_id = ? AND started = 0",
            (update_id,),
        )
        if started:
            return "new"
        row = await self._db.fetchone(
            "SELECT done FROM processed_updates WHERE update_id = ?", (update_id,)
        )
        return "done" if row is None or row[0] else "interrupted"

    async def finish(self, update_id: int) -> None:
        await self._db.execute(
            "UPDATE processed_updates SET done = 1, body = NULL WHERE update_id = ?", (update_id,)
        )

    async def purge(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM processed_updates WHERE at < ?", (to_db(before),)
        )
