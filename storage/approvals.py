"""Members waiting for approval, their requests (rows with a reminder due time) and the
coordinators' own sign-up links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from storage.clock import from_db, from_db_opt, to_db

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database

WAITING, APPROVED, DECLINED = "waiting", "approved", "declined"


@dataclass(frozen=True)
class ApprovalRequest:
    member_id: int
    region_code: str
    level: int  # 1: the region's coordinators, 2: admins
    remind_at: datetime | None
    reminders: int
    created_at: datetime


@dataclass(frozen=True)
class SignupLink:
    id: int
    member_id: int
    region_code: str
    created_at: datetime
    revoked_at: datetime | None


def _request(row: aiosqlite.Row) -> ApprovalRequest:
    return ApprovalRequest(
        member_id=row["member_id"],
        region_code=row["region_code"],
        level=row["level"],
        remind_at=from_db_opt(row["remind_at"]),
        reminders=row["reminders"],
        created_at=from_db(row["created_at"]),
    )


def _link(row: aiosqlite.Row) -> SignupLink:
    return SignupLink(
        id=row["id"],
        member_id=row["member_id"],
        region_code=row["region_code"],
        created_at=from_db(row["created_at"]),
        revoked_at=from_db_opt(row["revoked_at"]),
    )


class ApprovalRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_request(
        self,
        member_id: int,
        region_code: str,
        level: int,
        remind_at: datetime,
        now: datetime,
    ) -> bool:
        """A request for a waiting member (once: False if one is open already)."""
        changed = await self._db.execute(
            "INSERT INTO approval_requests (member_id, region_code, level, remind_at, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id) DO NOTHING",
            (member_id, region_code, level, to_db(remind_at), to_db(now)),
        )
        return changed > 0

    async def unasked(self, limit: int = 200) -> list[int]:
        """Waiting members without a request: a crash came between their registration and
        its request (two transactions). The sweep asks for them."""
        rows = await self._db.fetchall(
            "SELECT m.id FROM members m LEFT JOIN approval_requests r ON r.member_id = m.id"
            " WHERE m.approval = 'waiting' AND m.status = 'active'"
            " AND m.telegram_id IS NOT NULL AND r.member_id IS NULL ORDER BY m.id LIMIT ?",
            (limit,),
        )
        return [int(r[0]) for r in rows]

    async def request(self, member_id: int) -> ApprovalRequest | None:
        row = await self._db.fetchone(
            "SELECT * FROM approval_requests WHERE member_id = ?", (member_id,)
        )
        return _request(row) if row else None

    async def close_request(self, member_id: int) -> bool:
        """Drop a request whose member no longer waits (decided or erased elsewhere)."""
        changed = await self._db.execute(
            "DELETE FROM approval_requests WHERE member_id = ?", (member_id,)
        )
        return changed > 0

    async def due(self, now: datetime, limit: int = 200) -> list[ApprovalRequest]:
        rows = await self._db.fetchall(
            "SELECT * FROM approval_requests WHERE remind_at IS NOT NULL AND remind_at <= ?"
            " ORDER BY remind_at LIMIT ?",
            (to_db(now), limit),
        )
        return [_request(r) for r in rows]

    async def take_reminder(
        self, request: ApprovalRequest, *, level: int, next_at: datetime | None
    ) -> bool:
        """Claim the due reminder of this request (once: the row must still be as read)."""
        changed = await self._db.execute(
            "UPDATE approval_requests SET reminders = reminders + 1, level = ?, remind_at = ?"
            " WHERE member_id = ? AND reminders = ? AND remind_at IS NOT NULL",
            (level, to_db(next_at) if next_at else None, request.member_id, request.reminders),
        )
        return changed > 0

    async def decide(
        self, member_id: int, approval: str, *, actor: int | None, now: datetime, how: str
    ) -> bool:
        """Approve or decline a waiting member (once), close the request, write the audit log."""
        async with self._db.unit() as tx:
            changed = await tx.execute(
                "UPDATE members SET approval = ?, updated_at = ?"
                " WHERE id = ? AND approval = 'waiting' AND telegram_id IS NOT NULL",
                (approval, to_db(now), member_id),
            )
            if not changed:
                return False
            await tx.execute("DELETE FROM approval_requests WHERE member_id = ?", (member_id,))
            await tx.execute(
                "INSERT INTO audit_log (at, actor_telegram_id, action, member_id, details)"
                " VALUES (?, ?, ?, ?, ?)",
                (to_db(now), actor, f"member_{approval}", member_id, how),
            )
            return True

    async def waiting_count(self, region_code: str) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM members WHERE approval = 'waiting' AND region_code = ?"
            " AND telegram_id IS NOT NULL",
            (region_code,),
        )
        return int(row[0]) if row else 0

    # ------------------------------------------------------------ sign-up links

    async def create_link(
        self, secret_hash: str, member_id: int, region_code: str, now: datetime
    ) -> SignupLink:
        """A new link for this coordinator and region; the previous one stops working."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE signup_links SET revoked_at = ?"
                " WHERE member_id = ? AND region_code = ? AND revoked_at IS NULL",
                (to_db(now), member_id, region_code),
            )
            row = await tx.fetchone(
                "INSERT INTO signup_links (secret_hash, member_id, region_code, created_at)"
                " VALUES (?, ?, ?, ?) RETURNING *",
                (secret_hash, member_id, region_code, to_db(now)),
            )
            assert row is not None
            return _link(row)

    async def revoke_links(self, member_id: int, now: datetime) -> int:
        return await self._db.execute(
            "UPDATE signup_links SET revoked_at = ? WHERE member_id = ? AND revoked_at IS NULL",
            (to_db(now), member_id),
        )

    async def live_link(self, secret_hash: str) -> SignupLink | None:
        row = await self._db.fetchone(
            "SELECT * FROM signup_links WHERE secret_hash = ? AND revoked_at IS NULL",
            (secret_hash,),
        )
        return _link(row) if row else None
