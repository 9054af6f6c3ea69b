"""The morning digest: each coordinator and admin gets, once a day, the open incidents they
may see."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import t
from bot.incidents.cards import esc
from bot.incidents.people import TOP, Viewer, ladder
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions
from bot.settings import Settings
from bot.timefmt import duration
from storage.db import Storage
from storage.incidents import Incident
from storage.roles import ALL_REGIONS

DIGEST_WINDOW_HOURS = 3  # a digest missed by more than this (the bot was down) is skipped
DIGEST_LINES = 25


async def queue_digests(
    storage: Storage, settings: Settings, regions: Regions, now: datetime
) -> int:
    """Each coordinator and admin gets, once a day at DIGEST_HOUR their time, the list of open
    incidents they may see (nothing when there are none). Returns how many were queued."""
    hour = settings.digest_hour
    if hour is None:  # DIGEST_HOUR=off
        return 0
    readers: dict[int, tuple[Viewer, frozenset[str] | None]] = {}
    for entry in await storage.roles.coordinators():
        member = await storage.members.by_telegram_id(entry.telegram_id)
        if member is None or member.status != "active":
            continue
        viewer = Viewer(
            entry.telegram_id,
            member.id,
            member.language,
            regions.zone(member.region_code),
            member.name or "",
        )
        known = readers.get(entry.telegram_id)
        code = entry.role.region_code
        scope: frozenset[str] | None
        if code == ALL_REGIONS or (known is not None and known[1] is None):
            scope = None  # everything
        else:
            scope = (known[1] if known is not None and known[1] else frozenset()) | {code}
        readers[entry.telegram_id] = (viewer, scope)
    people, _ = await ladder(storage, settings, regions, "")
    for admin in people.get(TOP, []):
        readers[admin.chat_id] = (admin, None)
    queued = 0
    open_incidents = await storage.incidents.listing(None)
    for viewer, scope in readers.values():
        local = now.astimezone(viewer.zone)
        if not hour <= local.hour < hour + DIGEST_WINDOW_HOURS:
            continue
        key = f"digest:{local.date().isoformat()}"
        if await storage.outbox.key_exists(f"{key}:{viewer.chat_id}"):
            continue
        mine = [i for i in open_incidents if scope is None or i.region_code in scope]
        if not mine:
            continue
        await send_to_many(
            storage,
            [(viewer.chat_id, viewer.member_id)],
            Outgoing(text=digest_text(mine, viewer, regions, now)),
            priority=Priority.REMINDER,
            now=now,
            key=key,
        )
        queued += 1
    return queued


def digest_text(incidents: list[Incident], viewer: Viewer, regions: Regions, now: datetime) -> str:
    lang = viewer.language
    lines = [t(lang, "incidents.digest.title", n=len(incidents))]
    for incident in incidents[:DIGEST_LINES]:
        region = regions.get(incident.region_code)
        lines.append(
            t(
                lang,
                "incidents.digest.line",
                id=incident.id,
                urgency=t(lang, f"incidents.urgency.{incident.urgency}"),
                category=t(lang, f"incidents.category.{incident.category}"),
                region=esc(region.name(lang) if region else incident.region_code),
                state=t(lang, f"incidents.state.{incident.state}"),
                waited=duration(now - incident.created_at, lang),
            )
        )
    if len(incidents) > DIGEST_LINES:
        lines.append(t(lang, "incidents.digest.more", n=len(incidents) - DIGEST_LINES))
    lines.append(t(lang, "incidents.digest.footer"))
    return "\n".join(lines)
