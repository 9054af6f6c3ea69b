"""Running a published event: who may run it (and see whom), editing a field (a new date told
to everyone who answered, more places promoting the waitlist, added regions announced to),
cancelling it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.events.announce import announce_to, coordinated_regions, too_long_by
from bot.events.cards import _esc, when_text
from bot.events.copies import (
    edit_copies,
    rerender_pending,
)
from bot.events.parse import (
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    PLACE_MAX,
    TITLE_MAX,
    is_blank_title,
    is_url,
    parse_when,
    split_program,
)
from bot.events.rsvp import tell_promoted
from bot.i18n import t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.refusals import NotAllowed, WrongInput
from bot.regions import Regions, Topic
from bot.roles.access import Caller, is_number, require_coordinator
from storage.db import Storage
from storage.events import Audience, Event, Participant


async def managed_event(
    storage: Storage, caller: Caller, event_id: int, *, whole: bool = False
) -> Event:
    """An event the caller may run: its creator, admins, federal coordinators and the
    coordinators of its regions. Changing or cancelling it (`whole`) needs the creator, an
    admin, a federal coordinator, or a coordinator of every one of its regions."""
    require_coordinator(caller)
    event = await storage.events.get(event_id)
    if event is None:
        raise NotAllowed("events.not_found")
    if runs_whole(caller, event):
        return event
    if whole:
        raise NotAllowed("events.not_whole")
    if not any(caller.coordinates(code) for code in event.regions):
        raise NotAllowed("events.not_yours")
    return event


def is_creator(caller: Caller, event: Event) -> bool:
    """The event's creator, while they still coordinate one of its regions: a creator whose
    region was taken away keeps no more than any coordinator (access follows the role)."""
    return (
        caller.member is not None
        and event.created_by == caller.member.id
        and any(caller.coordinates(code) for code in event.regions)
    )


def runs_whole(caller: Caller, event: Event) -> bool:
    return is_creator(caller, event) or all(caller.coordinates(code) for code in event.regions)


async def visible_participants(
    storage: Storage, caller: Caller, event: Event
) -> tuple[list[Participant], int]:
    """Who answered, by name, and how many more there are that the caller may only count.

    The event's creator, federal coordinators and admins see everyone; a regional coordinator
    sees the participants of the regions they coordinate (even of an event they run whole,
    people from elsewhere come through its link): other regions only in aggregate."""
    people = await storage.events.participants(event.id)
    if is_creator(caller, event) or caller.is_admin or caller.is_federal:
        return people, 0
    shown = [p for p in people if caller.coordinates(p.region_code)]
    return shown, len(people) - len(shown)


async def managed_events(
    storage: Storage, caller: Caller, regions: Regions, now: datetime
) -> list[Event]:
    require_coordinator(caller)
    scope = None if (caller.is_admin or caller.is_federal) else sorted(caller.regions)
    return await storage.events.upcoming(scope, now)


async def cancel_event(
    storage: Storage,
    caller: Caller,
    event_id: int,
    regions: Regions,
    topics: list[Topic],
    now: datetime,
) -> tuple[Event, int]:
    """Cancel: tell everyone who said 'Пойду', 'Возможно' or waits, and mark every copy of
    the announcement as cancelled. Returns the event and how many people were told."""
    event = await managed_event(storage, caller, event_id, whole=True)
    async with storage.db.transaction():  # the cancellation and its notices, together
        if not await storage.events.cancel(event.id, now):
            raise WrongInput("events.cancelled")
        cancelled = await storage.events.get(event.id)
        assert cancelled is not None
        # what has not gone out yet never will: announcements, reminders, earlier edits, and
        # "a place has freed up" for someone promoted from the waiting list
        e = event.id
        for pattern in (f"ev{e}:%", f"rem%:{e}:%", f"edit{e}:%", f"promoted{e}:%"):
            await storage.outbox.cancel_pending(pattern)
        told = await _tell_attendees(
            storage, event, regions, now, "events.cancel_notice", key=f"cancel{event.id}"
        )
        await edit_copies(storage, cancelled, regions, topics, now, cancelled=True)
        return cancelled, told


EDITABLE = ("title", "description", "place", "when", "program", "capacity", "regions")


@dataclass(frozen=True)
class Edited:
    event: Event
    copies: int  # delivered announcements being edited
    told: int = 0  # people told the event moved
    added: int = 0  # new recipients in added regions
    promoted: int = 0  # moved from the waitlist by more places


async def edit_event(
    storage: Storage,
    caller: Caller,
    event_id: int,
    field: str,
    value: str,
    regions: Regions,
    topics: list[Topic],
    now: datetime,
) -> Edited:
    """Change one field of a published event and edit every delivered copy of its
    announcement. A new date is told to everyone who answered and re-plans the reminders;
    more places promote the waitlist; added regions receive the announcement. An empty
    `value` clears the program or the capacity limit. Problems raise WrongInput with a hint."""
    event = await managed_event(storage, caller, event_id, whole=True)
    if event.status != "published":
        raise WrongInput("events.cancelled")
    if field not in EDITABLE:
        raise WrongInput("dialog.stale")
    value = value.strip()
    added: tuple[str, ...] = ()
    changes: dict[str, Any] = {}
    if field == "regions":
        added = _added_regions(event, value, caller, regions)
        prospective = dataclasses.replace(event, regions=tuple(sorted({*event.regions, *added})))
    else:
        changes = _changes(event, field, value, now)
        prospective = dataclasses.replace(event, **changes)
    if too_long_by(prospective, regions, topics):
        raise WrongInput("events.hint.too_long_short")
    async with storage.db.transaction():  # the change and every message it causes, together
        return await _apply(storage, caller, event, field, added, changes, regions, topics, now)


async def _apply(
    storage: Storage,
    caller: Caller,
    event: Event,
    field: str,
    added: tuple[str, ...],
    changes: dict[str, Any],
    regions: Regions,
    topics: list[Topic],
    now: datetime,
) -> Edited:
    """Store a checked edit and queue what it causes: the edited copies, the promotion
    notices, the moved notice, the announcement to added regions."""
    if field == "regions":
        updated = await storage.events.add_regions(event.id, added, now)
    else:
        updated = await storage.events.update(event.id, now, **changes)
    if updated is None:
        raise WrongInput("events.cancelled")
    promoted: list[Audience] = []
    if field == "capacity":  # before the copies are edited: they show each one's new answer
        promoted = await storage.events.promote_waiting(event.id, updated.capacity, now)
    await storage.outbox.cancel_pending(f"edit{event.id}:%")  # superseded by this edit
    await rerender_pending(storage, updated, regions, topics)
    copies = await edit_copies(storage, updated, regions, topics, now)
    result = Edited(updated, copies, promoted=len(promoted))
    for person in promoted:
        await tell_promoted(storage, updated, person, now)
    if field == "when":
        await storage.outbox.cancel_pending(f"rem%:{event.id}:%")  # reminders of the old time
        told = await _tell_moved(storage, updated, regions, now)
        result = dataclasses.replace(result, told=told)
    elif field == "regions":
        before = {a.telegram_id for a in await storage.events.audience(event)}
        await announce_to(storage, caller, updated, regions, topics, now, only_regions=added)
        after = await storage.events.audience(updated)
        result = dataclasses.replace(
            result, added=len([a for a in after if a.telegram_id not in before])
        )
    return result


def _changes(event: Event, field: str, value: str, now: datetime) -> dict[str, Any]:
    """The new column values for one edited field (validated)."""
    lengths = {
        "title": (3, TITLE_MAX),
        "description": (10, DESCRIPTION_MAX),
        "place": (2, PLACE_MAX),
    }
    if field in lengths:
        low, high = lengths[field]
        if field == "title" and is_blank_title(value):
            raise WrongInput("events.hint.title_blank")
        if not low <= len(value) <= high:
            raise WrongInput(f"events.hint.edit_{field}")
        if field != "place":
            return {field: value}
        if is_url(value):
            return {"place": event.place, "online_url": value}
        return {"place": value, "online_url": event.online_url}
    if field == "when":
        parsed = parse_when(value, ZoneInfo(event.tz), now)
        if parsed.value is None:
            raise WrongInput(parsed.problem or "events.hint.bad_format")
        return {
            "starts_at": parsed.value,
            "ends_at": parsed.value + (event.ends_at - event.starts_at),
        }
    if field == "program":
        if not value:
            return {"program": ()}
        program = split_program(value)
        if program is None:
            raise WrongInput("events.hint.program")
        return {"program": program}
    if field == "capacity":
        if not value:
            return {"capacity": None}
        if not is_number(value) or not 1 <= int(value) <= CAPACITY_MAX:
            raise WrongInput("events.hint.capacity")
        return {"capacity": int(value)}
    raise WrongInput("dialog.stale")


def _added_regions(event: Event, value: str, caller: Caller, regions: Regions) -> tuple[str, ...]:
    """Region names typed one per line or separated by commas, each one of the caller's."""
    allowed = set(coordinated_regions(caller, regions))
    added: list[str] = []
    for name in (n.strip() for n in re.split(r"[,;\n]+", value[:2000])):
        if not name:
            continue
        found = [r for r in regions.match(name[:100]) if r.code in allowed]
        if not found:
            raise WrongInput("events.hint.region_unknown", typed=name[:100])
        added.append(found[0].code)
    if not added:
        raise WrongInput("events.hint.pick_region")
    if set(added) <= set(event.regions):
        raise WrongInput("events.hint.regions_already")
    return tuple(sorted(set(added) - set(event.regions)))


async def _tell_moved(storage: Storage, event: Event, regions: Regions, now: datetime) -> int:
    """Everyone who said 'Пойду', 'Возможно' or waits learns the new date, in their own time."""
    key = f"moved{event.id}:{int(event.starts_at.timestamp())}"
    return await _tell_attendees(storage, event, regions, now, "events.moved_notice", key=key)


async def _tell_attendees(
    storage: Storage, event: Event, regions: Regions, now: datetime, text_key: str, *, key: str
) -> int:
    """A notice (`text_key`: its title and time, in each person's language and zone) to
    everyone who said 'Пойду', 'Возможно' or waits. Returns how many were told."""
    people = await storage.events.attendees(event.id, ["going", "maybe", "waitlist"])
    by_chat = {p.telegram_id: p for p in people}

    def notice(chat_id: int, _member_id: int | None) -> Outgoing:
        person = by_chat[chat_id]
        zone = regions.zone(person.region_code)
        when = when_text(event.starts_at, event.ends_at, person.language, zone)
        return Outgoing(text=t(person.language, text_key, title=_esc(event.title), when=when))

    await send_to_many(
        storage,
        [(p.telegram_id, p.member_id) for p in people],
        notice,
        priority=Priority.ALERT,
        now=now,
        key=key,
    )
    return len(people)
