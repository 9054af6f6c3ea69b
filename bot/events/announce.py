"""Publishing an event: who may announce where, the draft as it will read, the announcement
queued to every member of the target regions (and topics) and their linked groups, and the
check that the longest rendering fits Telegram's limit.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.events.cards import LONGEST, announcement, rsvp_markup
from bot.outbox import Outgoing, Priority, send_to_many
from bot.refusals import NotAllowed, WrongInput
from bot.regions import Regions, Topic
from bot.roles.access import Caller, require_coordinator
from bot.timefmt import MOSCOW
from storage.db import Storage
from storage.events import Audience, Event, NewEvent
from storage.roles import ALL_REGIONS


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


async def audience_size(storage: Storage, draft: NewEvent) -> tuple[int, int]:
    """Who will receive the announcement, and who of the same audience will not (blocked
    the bot or deleted their account)."""
    event = preview_event(draft)
    reached = await storage.events.audience(event)
    return len(reached), len(await storage.events.unreachable(event))


def organiser_zone(caller: Caller, regions: Regions) -> ZoneInfo:
    return regions.zone(caller.member.region_code if caller.member else None)


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
        raise NotAllowed("events.denied_region")
    if draft.starts_at <= now or draft.ends_at <= draft.starts_at:
        raise WrongInput("events.hint.past")
    if too_long_by(preview_event(draft), regions, topics):
        raise WrongInput("events.hint.too_long_short")
    async with storage.db.transaction():  # the event and its announcement, together
        event = await storage.events.create(draft, now)
        broadcast_id, count = await announce_to(storage, caller, event, regions, topics, now)
    return event, broadcast_id, count


async def announce_to(
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
        zone = regions.zone(person.region_code)
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
