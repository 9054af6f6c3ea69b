"""Which Telegram updates were handled, so that a repeated update changes nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from storage.clock import to_db

if TYPE_CHECKING:
    from storage.db import Database


class UpdateRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(self, update_id: int, now: datetime) -> Literal["new", "interrupted", "done"]:
        """Whether this update is new, was being handled when the process died, or is done."""
        inserted = await self._db.execute(
            "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (update_id, to_db(now)),
        )
        if inserted:
            return "new"
        row = await self._db.fetchone(
            "SELECT done FROM processed_updates WHERE update_id = ?", (update_id,)
        )
        return "done" if row is None or row[0] else "interrupted"

    async def finish(self, update_id: int) -> None:
        await self._db.execute(
            "UPDATE processed_updates SET done = 1 WHERE update_id = ?", (update_id,)
        )

    async def purge(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM processed_updates WHERE at < ?", (to_db(before),)
        )
