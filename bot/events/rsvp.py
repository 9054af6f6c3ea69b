"""Members' answers to an event: 'Пойду' / 'Возможно' / 'Не пойду', the waiting list and its
promotion notice, and the events a member sees.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from bot.events.cards import Mark, _esc
from bot.events.copies import marks_of, personal, places_left, refresh_marks
from bot.i18n import t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.refusals import NotAllowed, WrongInput
from bot.regions import Regions, Topic
from bot.roles.access import Caller, require_approved
from storage.db import Storage
from storage.events import Audience, Event, RsvpChange

ANSWERS = ("going", "maybe", "no")


async def upcoming_for(storage: Storage, caller: Caller, now: datetime) -> list[Event]:
    """Upcoming events a member sees: their region's and those of the regions they coordinate
    (all of them for federal coordinators and admins)."""
    member = require_approved(caller)
    if caller.is_admin or caller.is_federal:
        return await storage.events.upcoming(None, now)
    return await storage.events.upcoming(sorted({member.region_code, *caller.regions}), now)


@dataclass(frozen=True)
class Answered:
    event: Event
    change: RsvpChange
    waitlist_position: int | None
    card: Outgoing  # the member's copy as it reads now: their answer in the text and buttons


async def visible_event(storage: Storage, caller: Caller, event_id: int) -> Event:
    """An event the caller may see and answer: published, for their region (or theirs to run)."""
    member = require_approved(caller)
    event = await storage.events.get(event_id)
    if event is None:
        raise NotAllowed("events.not_found")
    if member.region_code not in event.regions and not any(
        caller.coordinates(code) for code in event.regions
    ):
        raise NotAllowed("events.not_for_you")
    return event


async def answer(
    storage: Storage,
    caller: Caller,
    event_id: int,
    wanted: str,
    now: datetime,
    regions: Regions,
    topics: list[Topic],
    *,
    shown_in: tuple[int, int] | None = None,
) -> Answered:
    """'Пойду' / 'Возможно' / 'Не пойду': once per member; 'Пойду' over capacity waits.
    The member's other copies of the announcement (not `shown_in`, the (chat, message) they
    pressed in, which the caller edits at once) are edited to show the answer; when the
    waitlist moves, so are the copies of everyone on it."""
    if wanted not in ANSWERS:
        raise WrongInput("dialog.stale")
    event = await visible_event(storage, caller, event_id)
    if event.status == "cancelled":
        raise WrongInput("events.cancelled")
    if event.ends_at <= now:
        raise WrongInput("events.over")
    member = require_approved(caller)
    async with storage.db.transaction():  # the answer and the notices it causes, together
        change = await storage.events.answer(event.id, member.id, wanted, event.capacity, now)
        if change.promoted is not None:
            await tell_promoted(storage, event, change.promoted, now)
        mark = await _refresh(storage, event, member.id, change, now, regions, topics, shown_in)
    left = await places_left(storage, event)
    card = personal(event, caller.language or "ru", member.region_code, regions, topics, mark, left)
    return Answered(event, change, mark.position, card)


async def _refresh(
    storage: Storage,
    event: Event,
    member_id: int,
    change: RsvpChange,
    now: datetime,
    regions: Regions,
    topics: list[Topic],
    shown_in: tuple[int, int] | None,
) -> Mark:
    """Edit the copies an answer changes: the member's own (but `shown_in`), and when the
    waitlist moves, those of everyone on it. Returns the member's mark as it is now."""
    marks = await marks_of(storage, event.id)
    mark = marks.get(member_id, Mark(change.answer))
    if change.answer != change.previous:
        await refresh_marks(
            storage, event, regions, topics, now, [member_id], skip_message=shown_in
        )
    if "waitlist" in (change.answer, change.previous) or change.promoted is not None:
        moved = [m for m, other in marks.items() if other.answer == "waitlist" and m != member_id]
        if change.promoted is not None:
            moved.append(change.promoted.member_id)
        await refresh_marks(storage, event, regions, topics, now, moved)
    return mark


async def tell_promoted(storage: Storage, event: Event, person: Audience, now: datetime) -> None:
    """'A place is free: you are going'. Queued in the transaction of the promotion itself (so
    it is never queued twice, and never lost), under a key of its own: the same person may
    be promoted again at the same instant (a frozen clock, two taps in one tick), and a key
    made of the event and the time would take the second notice for the first."""
    text = t(person.language, "events.promoted", title=_esc(event.title))
    await send_to_many(
        storage,
        [(person.telegram_id, person.member_id)],
        Outgoing(text=text),
        priority=Priority.REPLY,
        now=now,
        key=f"promoted{event.id}:m{person.member_id}:{secrets.token_hex(8)}",
    )
