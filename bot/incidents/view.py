"""How an incident's timeline reads: one line per entry, in the reader's language and time.
The entries where the report went to a level name that level and why (#13)."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

from bot.i18n import catalog, t
from bot.timefmt import moment
from storage.incidents import TimelineEntry

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
