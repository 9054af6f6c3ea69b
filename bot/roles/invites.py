"""Coordinator roles: one-time invites made by admins, redemption, revocation, listing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from bot.refusals import WrongInput
from bot.regions import Regions
from bot.roles.access import Caller, require_admin
from bot.roles.revocation import follow_role
from bot.settings import Settings
from storage.db import Storage
from storage.members import Member
from storage.roles import ALL_REGIONS, CoordinatorEntry, Invite, Role

INVITE_PREFIX = "inv_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewInvite:
    token: str
    invite: Invite

    @property
    def payload(self) -> str:
        return f"{INVITE_PREFIX}{self.token}"


def parse_scope(regions: Regions, text: str) -> str | None:
    """'all' -> ALL_REGIONS; a region code ('RU-SAM', 'sam', 'KZ') -> its code; else None."""
    value = text.strip()
    if value.lower() in ("all", "все", "*"):
        return ALL_REGIONS
    region = regions.parse_code(value)
    return region.code if region else None


async def create_invite(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    scope_text: str,
    now: datetime,
) -> NewInvite:
    require_admin(caller)
    scope = parse_scope(regions, scope_text)
    if scope is None:
        raise WrongInput("invite.bad_scope")
    token = secrets.token_urlsafe(18)
    invite = await storage.roles.create_invite(
        token_hash=token_hash(token),
        region_code=scope,
        created_by=caller.telegram_id,
        now=now,
        expires_at=now + timedelta(hours=settings.invite_ttl_hours),
    )
    return NewInvite(token, invite)


class InviteOutcome(Enum):
    GRANTED = "granted"
    ALREADY = "already"
    REVOKED = "revoked"
    USED = "used"
    EXPIRED = "expired"
    INVALID = "invalid"


async def redeem_invite(
    storage: Storage, settings: Settings, member_id: int, hashed: str, now: datetime
) -> tuple[InviteOutcome, Role | None]:
    """Use the invite (by the hash of its secret) once; a second use, an expired or a forged
    one, or one made by someone who is no longer an admin, grants nothing."""
    invite = await storage.roles.invite_by_hash(hashed)
    if invite is None:
        return InviteOutcome.INVALID, None
    if invite.created_by not in settings.admin_ids:
        return InviteOutcome.REVOKED, None
    if invite.used_at is None and await storage.roles.holds(member_id, invite.region_code):
        return InviteOutcome.ALREADY, None
    redeemed = await storage.roles.redeem_invite(hashed, member_id=member_id, now=now)
    if redeemed is not None:
        return InviteOutcome.GRANTED, redeemed[1]
    invite = await storage.roles.invite_by_hash(hashed)
    if invite is None:
        return InviteOutcome.INVALID, None
    if invite.used_at is not None:
        return InviteOutcome.USED, None
    return InviteOutcome.EXPIRED, None


async def invite_problem(
    storage: Storage, settings: Settings, hashed: str, now: datetime
) -> InviteOutcome | None:
    """Why the invite cannot be used, or None if it can: checked (nothing used, nothing
    stored) when someone not yet registered opens it, so that they learn it before the form."""
    invite = await storage.roles.invite_by_hash(hashed)
    if invite is None:
        return InviteOutcome.INVALID
    if invite.created_by not in settings.admin_ids:
        return InviteOutcome.REVOKED
    if invite.used_at is not None:
        return InviteOutcome.USED
    if invite.expires_at <= now:
        return InviteOutcome.EXPIRED
    return None


async def coordinators(storage: Storage, caller: Caller) -> list[CoordinatorEntry]:
    require_admin(caller)
    return await storage.roles.coordinators()


async def role_to_revoke(storage: Storage, caller: Caller, role_id: int) -> CoordinatorEntry:
    """The role an admin asked to revoke, for the confirmation question."""
    require_admin(caller)
    for entry in await storage.roles.coordinators():
        if entry.role.id == role_id:
            return entry
    raise WrongInput("revoke.not_found")


async def revoke(
    storage: Storage, settings: Settings, caller: Caller, role_id: int, now: datetime
) -> tuple[Role, Member | None]:
    """Remove the role (the whole role or one region of several); in the same transaction,
    what the person was still to receive because of it is cancelled and their cards of
    reports they may no longer see get the stub. Returns the role and the member who held
    it (to tell them)."""
    require_admin(caller)
    async with storage.db.transaction() as tx:
        role = await storage.roles.revoke(role_id, actor=caller.telegram_id, now=now)
        if role is None:
            raise WrongInput("revoke.not_found")
        holder = await tx.fetchone(
            "SELECT telegram_id, language FROM members WHERE id = ?", (role.member_id,)
        )
        if holder is not None and holder["telegram_id"] is not None:
            await follow_role(
                storage,
                int(holder["telegram_id"]),
                is_admin=int(holder["telegram_id"]) in settings.admin_ids,
                language=str(holder["language"]),
                now=now,
            )
    return role, await storage.members.by_id(role.member_id)
