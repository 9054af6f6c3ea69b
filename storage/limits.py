"""Counters that survive a restart: per window and name (no person behind the name, or a named
reporter's member id), and the reporting penalties of named reporters marked for abuse."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from storage.clock import from_db, to_db

if TYPE_CHECKING:
    from storage.db import Database


class LimitRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def count(self, name: str, window_start: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT count FROM guard_counters WHERE name = ? AND window_start = ?",
            (name, to_db(window_start)),
        )
        return int(row[0]) if row else 0

    async def add(self, name: str, window_start: datetime) -> int:
        """One more in this window; the new count."""
        row = await self._db.fetchone(
            "INSERT INTO guard_counters (name, window_start, count) VALUES (?, ?, 1)"
            " ON CONFLICT (name, window_start) DO UPDATE SET count = count + 1 RETURNING count",
            (name, to_db(window_start)),
        )
        return int(row[0]) if row else 0

    async def purge(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM guard_counters WHERE window_start < ?", (to_db(before),)
        )

    async def penalise(self, member_id: int, until: datetime) -> None:
        await self._db.execute(
            "INSERT INTO report_penalties (member_id, until) VALUES (?, ?)"
            " ON CONFLICT (member_id) DO UPDATE SET until = max(until, excluded.until)",
            (member_id, to_db(until)),
        )

    async def penalised_until(self, member_id: int, now: datetime) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT until FROM report_penalties WHERE member_id = ? AND until > ?",
            (member_id, to_db(now)),
        )
        return from_db(row[0]) if row else None

    async def purge_penalties(self, now: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM report_penalties WHERE until <= ?", (to_db(now),)
        )
