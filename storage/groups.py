"""Group chats linked to a region."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from storage.clock import to_db

if TYPE_CHECKING:
    from storage.db import Database


@dataclass(frozen=True)
class RegionGroup:
    chat_id: int
    region_code: str
    title: str | None
    active: bool


class GroupRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def link(
        self,
        chat_id: int,
        region_code: str,
        title: str | None,
        member_id: int | None,
        now: datetime,
    ) -> None:
        await self._db.execute(
            "INSERT INTO region_groups (chat_id, region_code, title, linked_by, linked_at, active)"
            " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (chat_id) DO UPDATE SET"
            " region_code = excluded.region_code, title = excluded.title,"
            " linked_by = excluded.linked_by, linked_at = excluded.linked_at, active = 1",
            (chat_id, region_code, title, member_id, to_db(now)),
        )

    async def get(self, chat_id: int) -> RegionGroup | None:
        row = await self._db.fetchone(
            "SELECT chat_id, region_code, title, active FROM region_groups WHERE chat_id = ?",
            (chat_id,),
        )
        return RegionGroup(row[0], row[1], row[2], bool(row[3])) if row else None

    async def unlink(self, chat_id: int) -> bool:
        return await self._db.execute("DELETE FROM region_groups WHERE chat_id = ?", (chat_id,)) > 0

    async def set_active(self, chat_id: int, active: bool) -> bool:
        return (
            await self._db.execute(
                "UPDATE region_groups SET active = ? WHERE chat_id = ?", (int(active), chat_id)
            )
            > 0
        )

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> bool:
        """A group became a supergroup: it has a new id."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM region_groups WHERE chat_id = ?", (new_chat_id,))
            changed = await tx.execute(
                "UPDATE region_groups SET chat_id = ? WHERE chat_id = ?",
                (new_chat_id, old_chat_id),
            )
            await tx.execute(
                "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND status = 'pending'",
                (new_chat_id, old_chat_id),
            )
            return changed > 0

    async def for_regions(self, regions: Sequence[str]) -> list[RegionGroup]:
        marks = ",".join("?" * len(regions)) or "NULL"
        rows = await self._db.fetchall(
            "SELECT chat_id, region_code, title, active FROM region_groups"
            f" WHERE active = 1 AND region_code IN ({marks}) ORDER BY chat_id",
            tuple(regions),
        )
        return [RegionGroup(r[0], r[1], r[2], bool(r[3])) for r in rows]
