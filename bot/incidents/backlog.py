"""After an outage: one summary per person owed many reports, then their cards, most urgent first.

Telegram lets one private chat receive about one message a second, so when the bot comes back
after hours and the sweep fires hundreds of overdue steps, an admin owed 700 cards would learn
what waits for them card by card over many minutes. Instead, a catch-up sweep (one that finds
steps overdue by more than CATCH_UP) runs in one transaction, and before it commits everyone
owed at least SUMMARY_FROM reports gets one message first: how many reports reached their level,
the most urgent listed, with buttons that open them. Their queued cards and reminders are then
lined up behind it, most urgent first. Everything commits together, so no card can leave before
its summary, and a crash in between leaves neither.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from bot.i18n import t, tn
from bot.incidents.cards import OPEN_CARD, esc
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions
from bot.settings import URGENCIES
from storage.db import Storage
from storage.incidents import Incident
from storage.outbox import OutboxRow

CATCH_UP = timedelta(minutes=5)  # a sweep that finds a step this late is catching up
SUMMARY_FROM = 3  # reports owed at once that earn a summary first
LISTED = 10  # reports named in the summary, most urgent first
BUTTONS = 6  # of them with a button that opens the card
# queued rows about one incident: its card, a reminder, a file, the stale reminder, setup alerts
_ABOUT = re.compile(r"^inc(card|rem|file|stale|broken)(\d+)[:]")
_OWED = ("card", "rem", "stale")  # the rows that mean "this report waits for you"


def is_catch_up(oldest_due: datetime, now: datetime) -> bool:
    return now - oldest_due > CATCH_UP


async def summarise(storage: Storage, regions: Regions, now: datetime) -> int:
    """Queue a summary for each person owed SUMMARY_FROM reports or more in what is due now,
    and line their rows up behind it, most urgent first. Returns the number of summaries.
    Runs inside the catch-up sweep's transaction."""
    owed: dict[int, list[tuple[OutboxRow, int]]] = defaultdict(list)
    for row, incident_id in await _incident_rows(storage, now):
        owed[row.chat_id].append((row, incident_id))
    summaries = 0
    async with storage.db.unit():
        for chat_id, rows in owed.items():
            waiting = {i for row, i in rows if _kind(row) in _OWED}
            if len(waiting) < SUMMARY_FROM:
                continue
            incidents = [await storage.incidents.get(i) for i in sorted({i for _, i in rows})]
            urgency = {i.id: _rank(i) for i in incidents if i is not None}
            lang = await _language(storage, rows)
            listed = [i for i in incidents if i is not None and i.id in waiting]
            listed.sort(key=lambda i: (_rank(i), i.id))
            await send_to_many(
                storage,
                [(chat_id, rows[0][0].member_id)],
                _summary(listed, len(waiting), lang, regions),
                priority=Priority.REPLY,  # before every card of the outbox
                now=now,
                key=f"incbacklog{now:%Y%m%d%H%M%S}",
            )
            line = sorted(
                rows, key=lambda ri: (urgency.get(ri[1], len(URGENCIES)), ri[1], ri[0].id)
            )
            await storage.outbox.line_up([row.id for row, _ in line], now)
            summaries += 1
    return summaries


async def _incident_rows(storage: Storage, now: datetime) -> list[tuple[OutboxRow, int]]:
    found = []
    for row in await storage.outbox.due_with_key("inc", now):
        match = _ABOUT.match(row.key or "")
        if match and row.chat_id > 0:  # people, not group chats
            found.append((row, int(match.group(2))))
    return found


def _kind(row: OutboxRow) -> str:
    match = _ABOUT.match(row.key or "")
    return match.group(1) if match else ""


def _rank(incident: Incident) -> int:
    return URGENCIES.index(incident.urgency) if incident.urgency in URGENCIES else len(URGENCIES)


async def _language(storage: Storage, rows: list[tuple[OutboxRow, int]]) -> str:
    for row, _ in rows:
        lang = (row.payload.get("meta") or {}).get("lang")
        if isinstance(lang, str):
            return lang
    member = await storage.members.by_telegram_id(rows[0][0].chat_id)
    return member.language if member else "ru"


def _summary(incidents: list[Incident], count: int, lang: str, regions: Regions) -> Outgoing:
    lines = [tn(lang, "incidents.backlog.title", count)]
    for incident in incidents[:LISTED]:
        region = regions.get(incident.region_code)
        lines.append(
            t(
                lang,
                "incidents.backlog.line",
                id=incident.id,
                urgency=t(lang, f"incidents.urgency.{incident.urgency}"),
                category=t(lang, f"incidents.category.{incident.category}"),
                region=esc(region.name(lang) if region else incident.region_code),
            )
        )
    if count > LISTED:
        lines.append(tn(lang, "incidents.backlog.more", count - LISTED))
    lines.append(t(lang, "incidents.backlog.after"))
    buttons: list[dict[str, Any]] = [
        {
            "text": t(lang, "incidents.backlog.open", id=incident.id),
            "callback_data": OPEN_CARD.pack("card", incident.id),
        }
        for incident in incidents[:BUTTONS]
    ]
    rows = [buttons[n : n + 3] for n in range(0, len(buttons), 3)]
    return Outgoing(text="\n".join(lines), markup={"inline_keyboard": rows} if rows else None)
