"""Who is told about an incident and when: the policy's windows, the people at each level of
the ladder (1 = the coordinators of the incident's region, 2 = federal coordinators, 3 =
admins) and the quiet hours they keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.outbox import Priority
from bot.regions import Regions
from bot.settings import Settings
from bot.timefmt import quiet_until
from storage.db import Storage
from storage.incidents import Incident
from storage.roles import ALL_REGIONS

LEVELS = (1, 2, 3)
TOP = 3
QUIET_URGENCIES = ("normal", "low")  # critical and high ignore quiet hours
PRIORITY = Priority.ALERT
RETRY_FAILED = timedelta(minutes=5)  # a step that raised is tried again after this
RETRY_NOBODY = timedelta(minutes=30)  # nobody at all could be reached: look again this often


def policy_from(settings: Settings) -> dict[str, Any]:
    """The policy in force, copied onto each incident when it is reported."""
    return {
        "ack_minutes": dict(settings.incident_ack_minutes),
        "remind_minutes": dict(settings.incident_remind_minutes),
        "stale_hours": dict(settings.incident_stale_hours),
        "low_max_level": settings.incident_low_max_level,
        "quiet_hours": list(settings.quiet_hours),
    }


def ack_window(incident: Incident) -> timedelta:
    return timedelta(minutes=int(incident.policy["ack_minutes"][incident.urgency]))


def remind_every(incident: Incident) -> timedelta:
    return timedelta(minutes=int(incident.policy["remind_minutes"][incident.urgency]))


def stale_after(incident: Incident) -> timedelta:
    return timedelta(hours=int(incident.policy["stale_hours"][incident.urgency]))


def max_level(incident: Incident) -> int:
    return int(incident.policy["low_max_level"]) if incident.urgency == "low" else TOP


# ---------------------------------------------------------------- people and their time


@dataclass(frozen=True)
class Viewer:
    """Someone who receives incident cards: their chat, language and time zone."""

    chat_id: int
    member_id: int | None
    language: str
    zone: ZoneInfo
    name: str
    admin: bool = False  # at level 3: from ADMIN_IDS (fixed while the process runs)


Ladder = dict[int, list[Viewer]]
Unreachable = dict[int, list[str]]  # level -> names of those there who cannot be reached


async def ladder(
    storage: Storage, settings: Settings, regions: Regions, region_code: str
) -> tuple[Ladder, Unreachable]:
    """Reachable people at each level, and who at each level cannot be reached."""
    people: Ladder = {}
    unreachable: Unreachable = {}
    for level, code in ((1, region_code), (2, ALL_REGIONS)):
        holders = await storage.roles.holders(code)
        people[level] = [
            Viewer(h.telegram_id, h.member_id, h.language, _zone(regions, h.member_region), h.name)
            for h in holders
            if h.reachable
        ]
        unreachable[level] = [h.name or str(h.member_id) for h in holders if not h.reachable]
    admins: list[Viewer] = []
    unreachable[3] = []
    for admin_id in sorted(settings.admin_ids):
        member = await storage.members.by_telegram_id(admin_id)
        if member is not None and member.status == "unreachable":
            unreachable[3].append(member.name or str(admin_id))
            continue
        admins.append(
            Viewer(
                admin_id,
                member.id if member else None,
                member.language if member else settings.default_language,
                _zone(regions, member.region_code if member else None),
                (member.name or "") if member else "",
                admin=True,
            )
        )
    people[3] = admins
    return people, unreachable


def _zone(regions: Regions, code: str | None) -> ZoneInfo:
    return regions.zone(code)


def deliver_at(incident: Incident, viewer: Viewer, now: datetime) -> datetime:
    if incident.urgency not in QUIET_URGENCIES:
        return now
    return quiet_until(now, viewer.zone, incident.policy["quiet_hours"])


# ---------------------------------------------------------------- what people see


async def still_entitled(
    storage: Storage, incident: Incident, viewers: list[Viewer]
) -> list[Viewer]:
    """Those of `viewers` (read before) who still hold a role that lets them see this report,
    checked inside the transaction: a role revoked meanwhile sends them nothing."""
    allowed = await storage.revocation.holders(incident.region_code)
    return [v for v in viewers if v.admin or v.chat_id in allowed]
