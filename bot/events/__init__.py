"""Events: parsing dates typed by coordinators, publishing, answers, reminders, calendar files.

Times are stored in UTC and shown to each reader in their own region's time zone, with
Moscow time beside it when the zones differ.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import io
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import segno
from icalendar import Calendar
from icalendar import Event as IcsEvent
from openpyxl import Workbook

from bot.events.cards import LONGEST, Mark, _esc, announcement, rsvp_markup, when_text
from bot.events.copies import (
    edit_copies,
    marks_of,
    personal,
    places_left,
    refresh_marks,
    rerender_pending,
)
from bot.i18n import t, tn
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions, Topic
from bot.roles.access import (
    Caller,
    Denied,
    is_number,
    require_approved,
    require_coordinator,
)
from bot.timefmt import MOSCOW, moment
from storage.db import Storage
from storage.events import Audience, Event, NewEvent, Participant, RsvpChange
from storage.roles import ALL_REGIONS

TITLE_MAX = 200
DESCRIPTION_MAX = 2500  # the whole announcement must fit Telegram's 4096 characters
PLACE_MAX = 300
PROGRAM_MAX_BLOCKS = 15
BLOCK_MAX = 60
CAPACITY_MAX = 100_000
ANSWERS = ("going", "maybe", "no")
NEXT_YEAR_AFTER_DAYS = 60  # a date without a year this long past means next year; less: a typo

_DATE_TIME = re.compile(
    r"^\s*(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?(?:\s+|\s*[,в]\s*)(\d{1,2})(?:[:.](\d{2}))?\s*$"
)
_TIME = re.compile(r"^\s*(\d{1,2})(?:[:.](\d{2}))?\s*$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    value: datetime | None
    problem: str | None  # catalog key of the hint


def parse_time(text: str) -> tuple[int, int] | None:
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> Parsed:
    """'25.12 14:00', '25.12.2026 14:30', '5.1 9' in the organiser's zone -> UTC.

    Without a year: this year, or the next one if the date has passed."""
    match = _DATE_TIME.match(text)
    if not match:
        return Parsed(None, "events.hint.bad_format")
    day, month = int(match[1]), int(match[2])
    hour, minute = int(match[4]), int(match[5] or 0)
    local_now = now.astimezone(zone)
    year = int(match[3]) if match[3] else local_now.year
    if year < 100:
        year += 2000
    try:
        when = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        return Parsed(None, "events.hint.bad_date")
    if not match[3] and when < local_now - timedelta(days=NEXT_YEAR_AFTER_DAYS):
        try:  # "10.01" typed in December: next January
            when = when.replace(year=year + 1)
        except ValueError:
            return Parsed(None, "events.hint.bad_date")
    if when <= local_now:
        return Parsed(None, "events.hint.past")
    return Parsed(when.astimezone(UTC), None)


def at_time(day: datetime, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """That calendar day (in `zone`) at hour:minute, as an aware time."""
    local = day.astimezone(zone)
    return datetime(local.year, local.month, local.day, hour, minute, tzinfo=zone)


def split_program(text: str) -> tuple[str, ...] | None:
    """Program blocks, one per line (or separated by ';'); None if unusable."""
    blocks = [b.strip(" -•*\t") for b in re.split(r"[\n;]+", text)]
    blocks = [b for b in blocks if b]
    if not blocks or len(blocks) > PROGRAM_MAX_BLOCKS or any(len(b) > BLOCK_MAX for b in blocks):
        return None
    return tuple(blocks)


def is_blank_title(text: str) -> bool:
    """Nothing to read as a title: no letter or digit at all (empty, spaces, dots, emoji)."""
    return not any(ch.isalnum() for ch in text)


def is_url(text: str) -> bool:
    return bool(_URL.match(text.strip()))


def coordinated_regions(caller: Caller, regions: Regions) -> list[str]:
    """The regions a coordinator may announce to (all, for federal coordinators and admins)."""
    require_coordinator(caller)
    if caller.is_admin or caller.is_federal:
        return [r.code for r in regions.regions]
    return sorted(code for code in caller.regions if code != ALL_REGIONS)


def target_choice(caller: Caller, regions: Regions) -> dict[str, Any]:
    """Where a coordinator's announcement goes by default, and what they may pick: a federal
    coordinator picks districts or single regions (starting with their own), a regional one
    among their regions (all of them to start with, or their own if they live in one)."""
    allowed = coordinated_regions(caller, regions)
    federal = caller.is_admin or caller.is_federal
    own = caller.member.region_code if caller.member else None
    return {
        "federal": federal,
        "allowed": [] if federal else allowed,
        "regions": [own] if own in allowed else ([] if federal else allowed),
        "topics": [],
    }


async def upcoming_for(storage: Storage, caller: Caller, now: datetime) -> list[Event]:
    """Upcoming events a member sees: their region's and those of the regions they coordinate
    (all of them for federal coordinators and admins)."""
    member = require_approved(caller)
    if caller.is_admin or caller.is_federal:
        return await storage.events.upcoming(None, now)
    return await storage.events.upcoming(sorted({member.region_code, *caller.regions}), now)


async def audience_size(storage: Storage, draft: NewEvent) -> tuple[int, int]:
    """Who will receive the announcement, and who of the same audience will not (blocked
    the bot or deleted their account)."""
    event = preview_event(draft)
    reached = await storage.events.audience(event)
    return len(reached), len(await storage.events.unreachable(event))


def organiser_zone(caller: Caller, regions: Regions) -> ZoneInfo:
    region = regions.get(caller.member.region_code) if caller.member else None
    return region.tz if region else MOSCOW


# ---------------------------------------------------------------- showing an event

# ---------------------------------------------------------------- publishing


async def publish(
    storage: Storage,
    caller: Caller,
    regions: Regions,
    topics: list[Topic],
    draft: NewEvent,
    now: datetime,
) -> tuple[Event, int | None, int]:
    """Save the event and queue its announcement to every member of the target regions
    (and topics). Returns the event, the broadcast id and the number of recipients."""
    allowed = set(coordinated_regions(caller, regions))
    if not draft.regions or not set(draft.regions) <= allowed:
        raise Denied("events.denied_region")
    if draft.starts_at <= now or draft.ends_at <= draft.starts_at:
        raise Denied("events.hint.past")
    if too_long_by(preview_event(draft), regions, topics):
        raise Denied("events.hint.too_long_short")
    event = await storage.events.create(draft, now)
    broadcast_id, count = await _announce(storage, caller, event, regions, topics, now)
    return event, broadcast_id, count


async def _announce(
    storage: Storage,
    caller: Caller,
    event: Event,
    regions: Regions,
    topics: list[Topic],
    now: datetime,
    only_regions: Sequence[str] | None = None,
) -> tuple[int | None, int]:
    """Queue the announcement to the event's audience and linked groups. Whoever already has
    it (same key) is not queued again. Members who blocked the bot (of `only_regions`, the
    regions just added, if given) are counted in the report. Returns the broadcast id and
    the audience size."""
    audience = await storage.events.audience(event)
    lang = caller.language or "ru"
    groups = await storage.groups.for_regions(event.regions)
    # a linked group reads the announcement in the organiser's language and its region's time
    audience += [Audience(0, g.chat_id, lang, g.region_code) for g in groups]

    def render(chat_id: int, member_id: int | None) -> Outgoing:
        person = by_chat[chat_id]
        region = regions.get(person.region_code)
        zone = region.tz if region else MOSCOW
        text = announcement(event, person.language, zone, regions, topics)
        return Outgoing(text=text, markup=rsvp_markup(event.id, person.language))

    by_chat = {a.telegram_id: a for a in audience}
    gone = [
        (a.telegram_id, a.member_id)
        for a in await storage.events.unreachable(event)
        if only_regions is None or a.region_code in only_regions
    ]
    broadcast_id = await send_to_many(
        storage,
        [(a.telegram_id, a.member_id or None) for a in audience],
        render,
        unreachable=gone,
        priority=Priority.BULK,
        now=now,
        key=f"ev{event.id}",
        kind="announcement",
        created_by=caller.telegram_id,
        language=lang,
    )
    return broadcast_id, len(audience)


def preview_event(draft: NewEvent) -> Event:
    """The event as it will be once published (for previews and length checks)."""
    return Event(
        id=0,
        title=draft.title,
        description=draft.description,
        program=draft.program,
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        tz=draft.tz,
        place=draft.place,
        online_url=draft.online_url,
        capacity=draft.capacity,
        status="published",
        created_by=draft.created_by,
        checkin_secret=draft.checkin_secret,
        regions=draft.regions,
        topics=draft.topics,
    )


def new_checkin_secret() -> str:
    return secrets.token_urlsafe(9)


# ---------------------------------------------------------------- answers


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
        raise Denied("events.not_found")
    if member.region_code not in event.regions and not any(
        caller.coordinates(code) for code in event.regions
    ):
        raise Denied("events.not_for_you")
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
        raise Denied("dialog.stale")
    event = await visible_event(storage, caller, event_id)
    if event.status == "cancelled":
        raise Denied("events.cancelled")
    if event.ends_at <= now:
        raise Denied("events.over")
    member = require_approved(caller)
    change = await storage.events.answer(event.id, member.id, wanted, event.capacity, now)
    if change.promoted is not None:
        await _tell_promoted(storage, event, change.promoted, now)
    marks = await marks_of(storage, event.id)
    mark = marks.get(member.id, Mark(change.answer))
    if change.answer != change.previous:
        await refresh_marks(
            storage, event, regions, topics, now, [member.id], skip_message=shown_in
        )
    if "waitlist" in (change.answer, change.previous) or change.promoted is not None:
        moved = [m for m, other in marks.items() if other.answer == "waitlist" and m != member.id]
        if change.promoted is not None:
            moved.append(change.promoted.member_id)
        await refresh_marks(storage, event, regions, topics, now, moved)
    left = await places_left(storage, event)
    card = personal(event, caller.language or "ru", member.region_code, regions, topics, mark, left)
    return Answered(event, change, mark.position, card)


async def _tell_promoted(storage: Storage, event: Event, person: Audience, now: datetime) -> None:
    text = t(person.language, "events.promoted", title=_esc(event.title))
    await send_to_many(
        storage,
        [(person.telegram_id, person.member_id)],
        Outgoing(text=text),
        priority=Priority.REPLY,
        now=now,
        key=f"promoted{event.id}:{now.timestamp()}",
    )


# ---------------------------------------------------------------- reminders


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
    region = regions.get(person.region_code)
    zone = region.tz if region else MOSCOW
    lang = person.language
    when = when_text(event.starts_at, event.ends_at, lang, zone)
    lines = [t(lang, "events.reminder", title=_esc(event.title), when=when)]
    if event.place:
        lines.append(t(lang, "events.card_place", place=_esc(event.place)))
    if event.online_url:
        lines.append(t(lang, "events.card_online", url=_esc(event.online_url)))
    return Outgoing(text="\n".join(lines))


# ---------------------------------------------------------------- calendar file


def ics(event: Event, lang: str, now: datetime) -> bytes:
    """An .ics file with the event (UTC times; calendars show them in the reader's zone)."""
    calendar = Calendar()
    calendar.add("prodid", "-//NGO network bot//ngo-bot//RU")
    calendar.add("version", "2.0")
    item = IcsEvent()
    item.add("uid", f"event-{event.id}@ngo-bot")
    item.add("dtstamp", now)
    item.add("dtstart", event.starts_at)
    item.add("dtend", event.ends_at)
    item.add("summary", event.title)
    description = event.description
    if event.online_url:
        description += f"\n\n{event.online_url}"
        item.add("url", event.online_url)
    item.add("description", description)
    if event.place:
        item.add("location", event.place)
    calendar.add_component(item)
    return bytes(calendar.to_ical())


# ---------------------------------------------------------------- running an event


async def managed_event(
    storage: Storage, caller: Caller, event_id: int, *, whole: bool = False
) -> Event:
    """An event the caller may run: its creator, admins, federal coordinators and the
    coordinators of its regions. Changing or cancelling it (`whole`) needs the creator, an
    admin, a federal coordinator, or a coordinator of every one of its regions."""
    require_coordinator(caller)
    event = await storage.events.get(event_id)
    if event is None:
        raise Denied("events.not_found")
    if runs_whole(caller, event):
        return event
    if whole:
        raise Denied("events.not_whole")
    if not any(caller.coordinates(code) for code in event.regions):
        raise Denied("events.not_yours")
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


def participants_xlsx(
    event: Event, participants: list[Participant], regions: Regions, lang: str
) -> bytes:
    """The list of who answered, as a spreadsheet (headers in the reader's language)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t(lang, "events.xlsx.sheet")[:31]
    headers = [
        t(lang, f"events.xlsx.{c}")
        for c in ("name", "org", "region", "answer", "answered_at", "checked_in")
    ]
    sheet.append(headers)
    zone = ZoneInfo(event.tz)
    for p in participants:
        region = regions.get(p.region_code)
        sheet.append(
            [
                _cell(p.name),
                _cell(p.organisation),
                region.name(lang) if region else p.region_code,
                t(lang, f"events.status.{p.answer}"),
                p.answered_at.astimezone(zone).replace(tzinfo=None),
                p.checked_in_at.astimezone(zone).replace(tzinfo=None) if p.checked_in_at else None,
            ]
        )
    for column, width in zip("ABCDEF", (30, 35, 28, 16, 18, 18), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=5, max_col=6):
        for cell in row:
            cell.number_format = "DD.MM.YYYY HH:MM"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(text: str) -> str:
    """People's text in a spreadsheet cell: never a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def checkin_payload(event: Event) -> str:
    return f"ci_{event.id}_{event.checkin_secret}"


def checkin_qr(link: str) -> bytes:
    """A PNG QR code of the check-in link, big enough to print on a sheet at the entrance."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


class CheckIn(Enum):
    DONE = "done"
    AGAIN = "again"
    WRONG_CODE = "wrong_code"
    NOT_YET = "not_yet"  # opens CHECKIN_OPENS before the start
    CLOSED = "closed"  # closed CHECKIN_CLOSES after the end
    CANCELLED = "cancelled"


CHECKIN_OPENS = timedelta(hours=12)  # before the start
CHECKIN_CLOSES = timedelta(hours=12)  # after the end


async def check_in(
    storage: Storage, caller: Caller, event_id: int, secret: str, now: datetime
) -> tuple[CheckIn, Event | None]:
    """The venue's QR code: records that the member is here (once)."""
    member = require_approved(caller)
    event = await storage.events.get(event_id)
    if event is None or not secrets.compare_digest(event.checkin_secret, secret):
        return CheckIn.WRONG_CODE, event
    if event.status != "published":
        return CheckIn.CANCELLED, event
    if now < event.starts_at - CHECKIN_OPENS:
        return CheckIn.NOT_YET, event
    if now > event.ends_at + CHECKIN_CLOSES:
        return CheckIn.CLOSED, event
    first = await storage.events.check_in(event.id, member.id, now)
    return (CheckIn.DONE if first else CheckIn.AGAIN), event


def checkin_message(outcome: CheckIn, event: Event | None, lang: str, zone: ZoneInfo) -> str:
    """What the member reads after scanning the code; outside the window, when it opens or
    until when it was open, in their own time (the same window check_in applies)."""
    title = _esc(event.title) if event else ""
    if event is None or outcome not in (CheckIn.NOT_YET, CheckIn.CLOSED):
        return t(lang, f"events.checkin.{outcome.value}", title=title)
    opens, closes = event.starts_at - CHECKIN_OPENS, event.ends_at + CHECKIN_CLOSES
    return t(
        lang,
        f"events.checkin.{outcome.value}",
        title=title,
        opens=moment(opens, lang, zone),
        closes=moment(closes, lang, zone),
        hours=tn(lang, "events.hours", int(CHECKIN_OPENS.total_seconds() // 3600)),
    )


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
    if not await storage.events.cancel(event.id, now):
        raise Denied("events.cancelled")
    cancelled = await storage.events.get(event.id)
    assert cancelled is not None
    people = await storage.events.attendees(event.id, ["going", "maybe", "waitlist"])
    by_chat = {p.telegram_id: p for p in people}

    def notice(chat_id: int, _member_id: int | None) -> Outgoing:
        person = by_chat[chat_id]
        region = regions.get(person.region_code)
        zone = region.tz if region else MOSCOW
        when = when_text(event.starts_at, event.ends_at, person.language, zone)
        return Outgoing(
            text=t(person.language, "events.cancel_notice", title=_esc(event.title), when=when)
        )

    # what has not gone out yet never will: announcements, reminders, earlier edits
    for pattern in (f"ev{event.id}:%", f"rem%:{event.id}:%", f"edit{event.id}:%"):
        await storage.outbox.cancel_pending(pattern)
    await send_to_many(
        storage,
        [(p.telegram_id, p.member_id) for p in people],
        notice,
        priority=Priority.ALERT,
        now=now,
        key=f"cancel{event.id}",
    )
    await edit_copies(storage, cancelled, regions, topics, now, cancelled=True)
    return cancelled, len(people)


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
    `value` clears the program or the capacity limit. Problems raise Denied with a hint."""
    event = await managed_event(storage, caller, event_id, whole=True)
    if event.status != "published":
        raise Denied("events.cancelled")
    if field not in EDITABLE:
        raise Denied("dialog.stale")
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
        raise Denied("events.hint.too_long_short")
    if field == "regions":
        updated = await storage.events.add_regions(event.id, added, now)
    else:
        updated = await storage.events.update(event.id, now, **changes)
    if updated is None:
        raise Denied("events.cancelled")
    promoted: list[Audience] = []
    if field == "capacity":  # before the copies are edited: they show each one's new answer
        promoted = await storage.events.promote_waiting(event.id, updated.capacity, now)
    await storage.outbox.cancel_pending(f"edit{event.id}:%")  # superseded by this edit
    await rerender_pending(storage, updated, regions, topics)
    copies = await edit_copies(storage, updated, regions, topics, now)
    result = Edited(updated, copies, promoted=len(promoted))
    for person in promoted:
        await _tell_promoted(storage, updated, person, now)
    if field == "when":
        await storage.outbox.cancel_pending(f"rem%:{event.id}:%")  # reminders of the old time
        told = await _tell_moved(storage, updated, regions, now)
        result = dataclasses.replace(result, told=told)
    elif field == "regions":
        before = {a.telegram_id for a in await storage.events.audience(event)}
        await _announce(storage, caller, updated, regions, topics, now, only_regions=added)
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
            raise Denied("events.hint.title_blank")
        if not low <= len(value) <= high:
            raise Denied(f"events.hint.edit_{field}")
        if field != "place":
            return {field: value}
        if is_url(value):
            return {"place": event.place, "online_url": value}
        return {"place": value, "online_url": event.online_url}
    if field == "when":
        parsed = parse_when(value, ZoneInfo(event.tz), now)
        if parsed.value is None:
            raise Denied(parsed.problem or "events.hint.bad_format")
        return {
            "starts_at": parsed.value,
            "ends_at": parsed.value + (event.ends_at - event.starts_at),
        }
    if field == "program":
        if not value:
            return {"program": ()}
        program = split_program(value)
        if program is None:
            raise Denied("events.hint.program")
        return {"program": program}
    if field == "capacity":
        if not value:
            return {"capacity": None}
        if not is_number(value) or not 1 <= int(value) <= CAPACITY_MAX:
            raise Denied("events.hint.capacity")
        return {"capacity": int(value)}
    raise Denied("dialog.stale")


def _added_regions(event: Event, value: str, caller: Caller, regions: Regions) -> tuple[str, ...]:
    """Region names typed one per line or separated by commas, each one of the caller's."""
    allowed = set(coordinated_regions(caller, regions))
    added: list[str] = []
    for name in (n.strip() for n in re.split(r"[,;\n]+", value[:2000])):
        if not name:
            continue
        found = [r for r in regions.match(name[:100]) if r.code in allowed]
        if not found:
            raise Denied("events.hint.region_unknown", typed=name[:100])
        added.append(found[0].code)
    if not added:
        raise Denied("events.hint.pick_region")
    if set(added) <= set(event.regions):
        raise Denied("events.hint.regions_already")
    return tuple(sorted(set(added) - set(event.regions)))


async def _tell_moved(storage: Storage, event: Event, regions: Regions, now: datetime) -> int:
    """Everyone who said 'Пойду', 'Возможно' or waits learns the new date, in their own time."""
    people = await storage.events.attendees(event.id, ["going", "maybe", "waitlist"])
    by_chat = {p.telegram_id: p for p in people}

    def notice(chat_id: int, _member_id: int | None) -> Outgoing:
        person = by_chat[chat_id]
        region = regions.get(person.region_code)
        zone = region.tz if region else MOSCOW
        when = when_text(event.starts_at, event.ends_at, person.language, zone)
        return Outgoing(
            text=t(person.language, "events.moved_notice", title=_esc(event.title), when=when)
        )

    await send_to_many(
        storage,
        [(p.telegram_id, p.member_id) for p in people],
        notice,
        priority=Priority.ALERT,
        now=now,
        key=f"moved{event.id}:{int(event.starts_at.timestamp())}",
    )
    return len(people)


def plain_length(text: str) -> int:
    """What Telegram counts: the text without HTML tags, entities unescaped."""
    return len(html.unescape(re.sub(r"<[^>]+>", "", text)))


ANNOUNCEMENT_LIMIT = 4000  # of Telegram's 4096, leaving room for the cancellation banner


def too_long_by(event: Event, regions: Regions, topics: list[Topic]) -> int:
    """How many characters the longest rendering of the announcement is over the limit."""
    longest = max(
        plain_length(
            announcement(event, lang, MOSCOW, regions, topics, places_left=0, mark=LONGEST)
        )
        for lang in ("ru", "en")
    )
    return max(0, longest - ANNOUNCEMENT_LIMIT)
