"""Coordinator roles, one-time invites and the audit log of role changes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from storage.clock import from_db, from_db_opt, to_db

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database, Tx

ALL_REGIONS = "*"


@dataclass(frozen=True)
class Role:
    id: int
    member_id: int
    role: str
    region_code: str  # ALL_REGIONS for a federal coordinator
    granted_by: int | None
    granted_at: datetime


@dataclass(frozen=True)
class CoordinatorEntry:
    role: Role
    name: str
    organisation: str
    member_region: str
    telegram_id: int


@dataclass(frozen=True)
class Holder:
    """Someone holding a role, as far as the bot needs to reach them."""

    telegram_id: int
    member_id: int
    name: str
    language: str
    member_region: str
    reachable: bool  # False: they blocked the bot or deleted their account


@dataclass(frozen=True)
class Invite:
    id: int
    role: str
    region_code: str
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_by_member_id: int | None
    used_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_telegram_id: int | None
    action: str
    member_id: int | None
    role: str | None
    region_code: str | None
    details: str | None


def _role(row: aiosqlite.Row) -> Role:
    return Role(
        id=row["id"],
        member_id=row["member_id"],
        role=row["role"],
        region_code=row["region_code"],
        granted_by=row["granted_by"],
        granted_at=from_db(row["granted_at"]),
    )


def _invite(row: aiosqlite.Row) -> Invite:
    return Invite(
        id=row["id"],
        role=row["role"],
        region_code=row["region_code"],
        created_by=row["created_by"],
        created_at=from_db(row["created_at"]),
        expires_at=from_db(row["expires_at"]),
        used_by_member_id=row["used_by_member_id"],
        used_at=from_db_opt(row["used_at"]),
    )


async def _audit(
    tx: Tx,
    now: datetime,
    action: str,
    *,
    actor: int | None,
    member_id: int | None = None,
    role: str | None = None,
    region_code: str | None = None,
    details: str | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO audit_log (at, actor_telegram_id, action, member_id, role, region_code,"
        " details) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (to_db(now), actor, action, member_id, role, region_code, details),
    )


class RoleRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def for_member(self, member_id: int) -> list[Role]:
        rows = await self._db.fetchall(
            "SELECT * FROM roles WHERE member_id = ? ORDER BY region_code", (member_id,)
        )
        return [_role(r) for r in rows]

    async def by_id(self, role_id: int) -> Role | None:
        row = await self._db.fetchone("SELECT * FROM roles WHERE id = ?", (role_id,))
        return _role(row) if row else None

    async def coordinators(self) -> list[CoordinatorEntry]:
        rows = await self._db.fetchall(
            "SELECT r.*, m.name, m.organisation, m.region_code AS member_region, m.telegram_id"
            " FROM roles r JOIN members m ON m.id = r.member_id"
            " WHERE m.telegram_id IS NOT NULL ORDER BY r.region_code, m.name"
        )
        return [
            CoordinatorEntry(
                role=_role(r),
                name=r["name"],
                organisation=r["organisation"],
                member_region=r["member_region"],
                telegram_id=r["telegram_id"],
            )
            for r in rows
        ]

    async def holders(self, region_code: str) -> list[Holder]:
        """Coordinators holding exactly this region (ALL_REGIONS: federal coordinators)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT m.telegram_id, m.id, m.name, m.language, m.region_code, m.status"
            " FROM roles r JOIN members m ON m.id = r.member_id"
            " WHERE r.region_code = ? AND m.telegram_id IS NOT NULL AND m.status != 'erased'"
            " ORDER BY m.id",
            (region_code,),
        )
        return [Holder(r[0], r[1], r[2] or "", r[3], r[4], r[5] == "active") for r in rows]

    async def revoke(self, role_id: int, *, actor: int, now: datetime) -> Role | None:
        """Remove a role (once: a second call returns None) and write it to the audit log, in
        the caller's transaction if one is open (with what the role brought, cancelled)."""
        async with self._db.unit() as tx:
            return await self._revoke(tx, role_id, actor, now)

    @staticmethod
    async def _revoke(tx: Tx, role_id: int, actor: int, now: datetime) -> Role | None:
        row = await tx.fetchone("DELETE FROM roles WHERE id = ? RETURNING *", (role_id,))
        if row is None:
            return None
        role = _role(row)
        await _audit(
            tx,
            now,
            "role_revoked",
            actor=actor,
            member_id=role.member_id,
            role=role.role,
            region_code=role.region_code,
        )
        return role

    async def create_invite(
        self,
        *,
        token_hash: str,
        region_code: str,
        created_by: int,
        now: datetime,
        expires_at: datetime,
    ) -> Invite:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO invites (token_hash, role, region_code, created_by, created_at,"
                " expires_at) VALUES (?, 'coordinator', ?, ?, ?, ?) RETURNING *",
                (token_hash, region_code, created_by, to_db(now), to_db(expires_at)),
            )
            assert row is not None
            invite = _invite(row)
            await _audit(
                tx,
                now,
                "invite_created",
                actor=created_by,
                role=invite.role,
                region_code=region_code,
                details=f"invite {invite.id}",
            )
            return invite

    async def invite_by_hash(self, token_hash: str) -> Invite | None:
        row = await self._db.fetchone("SELECT * FROM invites WHERE token_hash = ?", (token_hash,))
        return _invite(row) if row else None

    async def redeem_invite(
        self, token_hash: str, *, member_id: int, now: datetime
    ) -> tuple[Invite, Role] | None:
        """Use a valid invite once and grant its role, atomically. None if not usable."""
        async with self._db.transaction() as tx:
            already = await tx.fetchone(
                "SELECT 1 FROM roles r JOIN invites i ON i.token_hash = ?"
                " WHERE r.member_id = ? AND r.role = i.role AND r.region_code = i.region_code",
                (token_hash, member_id),
            )
            if already is not None:
                return None
            row = await tx.fetchone(
                "UPDATE invites SET used_by_member_id = ?, used_at = ?"
                " WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING *",
                (member_id, to_db(now), token_hash, to_db(now)),
            )
            if row is None:
                return None
            invite = _invite(row)
            await tx.execute(
                "INSERT INTO roles (member_id, role, region_code, granted_by, granted_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (member_id, invite.role, invite.region_code, invite.created_by, to_db(now)),
            )
            role_row = await tx.fetchone(
                "SELECT * FROM roles WHERE member_id = ? AND role = ? AND region_code = ?",
                (member_id, invite.role, invite.region_code),
            )
            assert role_row is not None
            await _audit(
                tx,
                now,
                "role_granted",
                actor=invite.created_by,
                member_id=member_id,
                role=invite.role,
                region_code=invite.region_code,
                details=f"invite {invite.id}",
            )
            return invite, _role(role_row)

    async def sync_admins(self, admin_ids: Collection[int], now: datetime) -> list[int]:
        """Record who is in ADMIN_IDS now; returns those listed before who no longer are (each
        once, written to the audit log)."""
        async with self._db.unit() as tx:
            return await self._sync_admins(tx, admin_ids, now)

    @staticmethod
    async def _sync_admins(tx: Tx, admin_ids: Collection[int], now: datetime) -> list[int]:
        rows = await tx.fetchall("SELECT telegram_id FROM listed_admins ORDER BY telegram_id")
        dropped = [int(r[0]) for r in rows if int(r[0]) not in admin_ids]
        for admin_id in dropped:
            member = await tx.fetchone("SELECT id FROM members WHERE telegram_id = ?", (admin_id,))
            await tx.execute("DELETE FROM listed_admins WHERE telegram_id = ?", (admin_id,))
            await _audit(
                tx, now, "admin_unlisted", actor=None, member_id=member[0] if member else None
            )
        await tx.executemany(
            "INSERT INTO listed_admins (telegram_id, listed_at) VALUES (?, ?)"
            " ON CONFLICT (telegram_id) DO NOTHING",
            [(admin_id, to_db(now)) for admin_id in sorted(admin_ids)],
        )
        return dropped

    async def holds(self, member_id: int, region_code: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM roles WHERE member_id = ? AND region_code = ?", (member_id, region_code)
        )
        return row is not None

    async def audit(
        self, member_id: int | None = None, *, actor: int | None = None
    ) -> list[AuditEntry]:
        if member_id is None and actor is None:
            rows = await self._db.fetchall("SELECT * FROM audit_log ORDER BY id")
        elif actor is not None:
            rows = await self._db.fetchall(
                "SELECT * FROM audit_log WHERE actor_telegram_id = ? ORDER BY id", (actor,)
            )
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM audit_log WHERE member_id = ? ORDER BY id", (member_id,)
            )
        return [
            AuditEntry(
                id=r["id"],
                at=from_db(r["at"]),
                actor_telegram_id=r["actor_telegram_id"],
                action=r["action"],
                member_id=r["member_id"],
                role=r["role"],
                region_code=r["region_code"],
                details=r["details"],
            )
            for r in rows
        ]
