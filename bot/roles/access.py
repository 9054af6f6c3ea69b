"""Who is asking: the caller's roles, resolved from the database and ADMIN_IDS."""

from __future__ import annotations

from dataclasses import dataclass

from bot.refusals import NotAllowed
from bot.settings import Settings
from storage.db import Storage
from storage.members import Member
from storage.roles import ALL_REGIONS


def is_number(text: str, digits: int = 9) -> bool:
    """Untrusted input (button data, command arguments, typed answers) that is a plain
    number: ASCII digits only (no "²" or "٣"), short enough for the database."""
    return text.isascii() and text.isdigit() and len(text) <= digits


@dataclass(frozen=True)
class Caller:
    telegram_id: int
    member: Member | None
    is_admin: bool
    regions: frozenset[str]  # regions this person coordinates; ALL_REGIONS for federal
    telegram_name: str = ""  # their name in Telegram, for someone without a member profile

    @property
    def is_member(self) -> bool:
        return self.member is not None

    @property
    def is_federal(self) -> bool:
        return ALL_REGIONS in self.regions

    @property
    def is_coordinator(self) -> bool:
        return bool(self.regions)

    @property
    def level(self) -> str:
        """The highest role, for menus and help: admin, federal, coordinator, member, guest."""
        if self.is_admin:
            return "admin"
        if self.is_federal:
            return "federal"
        if self.is_coordinator:
            return "coordinator"
        return "member" if self.is_member else "guest"

    def coordinates(self, region_code: str) -> bool:
        return self.is_admin or self.is_federal or region_code in self.regions

    @property
    def language(self) -> str | None:
        return self.member.language if self.member else None


async def identify(storage: Storage, settings: Settings, telegram_id: int) -> Caller:
    member = await storage.members.by_telegram_id(telegram_id)
    regions: frozenset[str] = frozenset()
    if member is not None:
        regions = frozenset(r.region_code for r in await storage.roles.for_member(member.id))
    return Caller(
        telegram_id=telegram_id,
        member=member,
        is_admin=telegram_id in settings.admin_ids,
        regions=regions,
    )


def require_member(caller: Caller) -> Member:
    if caller.member is None:
        raise NotAllowed("denied.not_registered")
    return caller.member


def require_approved(caller: Caller) -> Member:
    """A member whom a coordinator accepted (MEMBER_APPROVAL): only they see events, their
    places and links, and answer them. Coordinators and admins are never kept waiting."""
    member = require_member(caller)
    if member.approved or caller.is_admin or caller.is_coordinator:
        return member
    raise NotAllowed(
        "approval.declined_short" if member.approval == "declined" else "approval.wait"
    )


def require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise NotAllowed("denied.admin_only")


def require_coordinator(caller: Caller) -> None:
    if not (caller.is_admin or caller.is_coordinator):
        raise NotAllowed("denied.coordinator_only")
