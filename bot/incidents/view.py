"""How an incident's timeline reads: one line per entry, in the reader's language and time.
The entries where the report went to a level name that level and why (#13)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import catalog, t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.roles.access import Caller
from bot.timefmt import moment
from storage.db import Storage
from storage.incidents import Incident, TimelineEntry

DETAIL_SHOWN = 300  # characters of a note, a question, an answer shown in the timeline
_WITH_DETAIL = ("resolved", "progress", "question", "answer", "details")
_CLARIFIED = ("category", "place", "description", "attachment")
_NOTIFIED = re.compile(r"^(\w+); level (\d); \d+$")  # 'timeout; level 2; 3'
_LEVEL = re.compile(r"^level (\d)$")


def _level(lang: str, number: str) -> str:
    return t(lang, f"incidents.level.{number}")


def timeline_line(entry: TimelineEntry, lang: str, zone: ZoneInfo) -> str:
    at = moment(entry.at, lang, zone)
    who = (
        html.escape(entry.actor_name, quote=False)
        if entry.actor_name
        else t(lang, "incidents.timeline_system")
    )
    detail = entry.detail or ""
    notified = _NOTIFIED.match(detail) if entry.action == "notified" else None
    level = _LEVEL.match(detail) if entry.action in ("reminded", "nobody_reachable") else None
    if notified is not None and f"incidents.timeline_to.{notified[1]}" in catalog("ru"):
        return t(
            lang, f"incidents.timeline_to.{notified[1]}", at=at, level=_level(lang, notified[2])
        )
    if level is not None:
        key = f"incidents.timeline_to.{entry.action}"
        return t(lang, key, at=at, level=_level(lang, level[1]))
    if entry.action == "clarified" and detail in _CLARIFIED:
        return t(lang, f"incidents.timeline_clarified.{detail}", at=at)
    line = t(lang, f"incidents.timeline.{entry.action}", at=at, who=who)
    if detail and entry.action in _WITH_DETAIL:
        line += f"\n   <i>{html.escape(detail[:DETAIL_SHOWN], quote=False)}</i>"
    return line


async def queue_view(
    storage: Storage,
    caller: Caller,
    incident: Incident,
    pages: list[str],
    caption: str,
    now: datetime,
) -> int:
    """/incident: the timeline's further pages and the attachments go out through the outbox,
    one by one at the pace Telegram allows, not as a burst inside the handler. Returns how many
    messages were queued."""
    member_id = caller.member.id if caller.member else None
    stamp = int(now.timestamp() * 1000)
    async with storage.db.transaction():
        messages = [Outgoing(text=page) for page in pages]
        messages += [
            Outgoing(text=caption, file_id=a.file_id, file_kind=a.kind)
            for a in await storage.incidents.attachments(incident.id)
        ]
        for n, message in enumerate(messages):
            await send_to_many(
                storage,
                [(caller.telegram_id, member_id)],
                message,
                priority=Priority.REPLY,
                now=now,
                key=f"incview{incident.id}:{stamp}:{n}",
            )
    return len(messages)
