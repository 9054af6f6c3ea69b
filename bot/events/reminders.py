"""Reminders before an event to those who said 'Пойду' or 'Возможно', each queued once."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from bot.events.cards import _esc, when_text
from bot.i18n import t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions
from storage.db import Storage
from storage.events import Audience, Event


async def queue_reminders(
    storage: Storage, regions: Regions, hours: list[int], now: datetime
) -> int:
    """Reminders to those who said 'Пойду' or 'Возможно', `hours` before the start.

    Each (event, hours, person) is queued once (dedupe key), so the sweep may run as often as
    it likes and after any outage; only the nearest reminder is sent to someone who answered
    late. Returns how many were queued this time (at most)."""
    queued = 0
    bounds = sorted(set(hours))
    lower = now
    for h in bounds:
        upper = now + timedelta(hours=h)
        for event in await storage.events.starting_between(lower, upper):
            # someone who answered when less than `h` hours were left needs no "h hours" reminder
            people = await storage.events.attendees(
                event.id, ["going", "maybe"], answered_before=event.starts_at - timedelta(hours=h)
            )

            by_chat = {p.telegram_id: p for p in people}
            await send_to_many(
                storage,
                [(p.telegram_id, p.member_id) for p in people],
                functools.partial(_reminder, event, by_chat, regions),
                priority=Priority.REMINDER,
                now=now,
                key=f"rem{h}:{event.id}:{int(event.starts_at.timestamp())}",  # moved: anew
            )
            queued += len(people)
        lower = upper
    return queued


def _reminder(
    event: Event,
    people: dict[int, Audience],
    regions: Regions,
    chat_id: int,
    _member_id: int | None,
) -> Outgoing:
    person = people[chat_id]
    zone = regions.zone(person.region_code)
    lang = person.language
    when = when_text(event.starts_at, event.ends_at, lang, zone)
    lines = [t(lang, "events.reminder", title=_esc(event.title), when=when)]
    if event.place:
        lines.append(t(lang, "events.card_place", place=_esc(event.place)))
    if event.online_url:
        lines.append(t(lang, "events.card_online", url=_esc(event.online_url)))
    return Outgoing(text="\n".join(lines))
