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
                "INSERT INTO processed_updates (update_id, at, body, attempts)"
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

    async def begin(
        self, update_id: int, now: datetime, give_up_after: int = 3
    ) -> Literal["new", "interrupted", "done", "given up"]:
        """Whether this update is new, was being handled when the process died, is done, or
        was cut off `give_up_after` times already (then it is marked done and dropped)."""
        inserted = await self._db.execute(
            "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (update_id, to_db(now)),
        )
        if inserted:
            return "new"
        row = await self._db.fetchone(
            "SELECT done, attempts FROM processed_updates WHERE update_id = ?", (update_id,)
        )
        if row is None or row["done"]:
            return "done"
        if row["attempts"] >= give_up_after:
            await self.finish(update_id)
            return "given up"
        await self._db.execute(
            "UPDATE processed_updates SET attempts = attempts + 1 WHERE update_id = ?",
            (update_id,),
        )
        return "new" if row["attempts"] == 0 else "interrupted"

    async def finish(self, update_id: int) -> None:
        await self._db.execute(
            "UPDATE processed_updates SET done = 1, body = NULL WHERE update_id = ?", (update_id,)
        )

    async def purge(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM processed_updates WHERE at < ?", (to_db(before),)
        )
