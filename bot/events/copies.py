"""Every copy of an event's announcement: those the outbox delivered and the cards a member
opened (an ev_ link, /events). A card sent directly is kept as a delivered row of the outbox,
so that edits, the cancellation and the member's own answer reach every copy alike (and the
rows are purged and erased with the others)."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import datetime

from bot.events.cards import Mark, announcement, rsvp_markup
from bot.i18n import t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions, Topic
from storage.db import Storage
from storage.events import DeliveredCopy, Event


async def marks_of(storage: Storage, event_id: int) -> dict[int, Mark]:
    """Each member's answer as their copies show it (with the place on the waitlist)."""
    marks = await storage.events.marks(event_id)
    return {member: Mark(answer, position) for member, (answer, position) in marks.items()}


async def places_left(storage: Storage, event: Event) -> int | None:
    if event.capacity is None:
        return None
    return event.capacity - (await storage.events.counts(event.id)).going


def personal(
    event: Event,
    lang: str,
    zone_code: str | None,
    regions: Regions,
    topics: list[Topic],
    mark: Mark | None,
    left: int | None,
) -> Outgoing:
    """One reader's copy: in their language and zone, with their answer."""
    zone = regions.zone(zone_code)
    text = announcement(event, lang, zone, regions, topics, places_left=left, mark=mark)
    return Outgoing(text=text, markup=rsvp_markup(event.id, lang, mark))


async def card_shown(
    storage: Storage,
    event_id: int,
    chat_id: int,
    member_id: int | None,
    message_id: int,
    now: datetime,
) -> None:
    """A card of the event sent straight to a member: tracked like a delivered announcement."""
    await storage.outbox.record_sent(
        chat_id=chat_id,
        member_id=member_id,
        method="sendMessage",
        key=f"ev{event_id}:card:{message_id}:{chat_id}",
        message_id=message_id,
        now=now,
    )


async def edit_copies(
    storage: Storage,
    event: Event,
    regions: Regions,
    topics: list[Topic],
    now: datetime,
    *,
    cancelled: bool = False,
    members: Collection[int] | None = None,
    skip_message: tuple[int, int] | None = None,
    priority: Priority = Priority.BULK,
    key: str | None = None,
) -> int:
    """Queue an edit of every delivered copy (of these members' only, if given; not the one
    already edited directly), each in its reader's language and zone and with their own
    answer. Returns the number of copies."""
    copies = [
        c
        for c in await storage.events.delivered_copies(event.id)
        if (members is None or c.member_id in members) and (c.chat_id, c.message_id) != skip_message
    ]
    if not copies:
        return 0
    marks = await marks_of(storage, event.id)
    left = await places_left(storage, event)
    # a chat may hold several copies (the announcement, cards opened later): one round each
    rounds: list[dict[int, DeliveredCopy]] = []
    for copy in copies:
        free = next((r for r in rounds if copy.chat_id not in r), None)
        if free is None:
            free = {}
            rounds.append(free)
        free[copy.chat_id] = copy
    base = key or f"edit{event.id}:{secrets.token_hex(4)}"
    for n, by_chat in enumerate(rounds):

        def render(
            chat_id: int, _member_id: int | None, by_chat: dict[int, DeliveredCopy] = by_chat
        ) -> Outgoing:
            copy = by_chat[chat_id]
            if cancelled:
                zone = regions.zone(copy.region_code)
                text = announcement(event, copy.language, zone, regions, topics)
                text = f"{t(copy.language, 'events.cancelled_banner')}\n\n{text}"
                return Outgoing(text=text, edit_message_id=copy.message_id)
            mark = marks.get(copy.member_id) if copy.member_id else None
            card = personal(event, copy.language, copy.region_code, regions, topics, mark, left)
            return Outgoing(text=card.text, markup=card.markup, edit_message_id=copy.message_id)

        await send_to_many(
            storage,
            [(c.chat_id, c.member_id) for c in by_chat.values()],
            render,
            priority=priority,
            now=now,
            key=f"{base}:{n}",
        )
    return len(copies)


async def refresh_marks(
    storage: Storage,
    event: Event,
    regions: Regions,
    topics: list[Topic],
    now: datetime,
    member_ids: Collection[int],
    *,
    skip_message: tuple[int, int] | None = None,
) -> None:
    """These members' copies show their answer as it is now (an earlier refresh still queued
    is superseded)."""
    for member_id in sorted(set(member_ids)):
        await storage.outbox.cancel_pending(f"edit{event.id}:m{member_id}:%")
        await edit_copies(
            storage,
            event,
            regions,
            topics,
            now,
            members={member_id},
            skip_message=skip_message,
            priority=Priority.REMINDER,
            key=f"edit{event.id}:m{member_id}:{secrets.token_hex(4)}",
        )


async def rerender_pending(
    storage: Storage, event: Event, regions: Regions, topics: list[Topic]
) -> None:
    """Announcements still queued go out with the new text (and the reader's answer, if they
    answered through a card meanwhile)."""
    marks = await marks_of(storage, event.id)
    for row in await storage.outbox.pending_with_key(f"ev{event.id}:"):
        member = await storage.members.by_id(row.member_id) if row.member_id else None
        lang = member.language if member else str(row.payload.get("lang", "ru"))
        mark = marks.get(member.id) if member else None
        card = personal(
            event, lang, member.region_code if member else None, regions, topics, mark, None
        )
        await storage.outbox.replace_payload(row.id, card.payload())


async def member_card(
    storage: Storage,
    event: Event,
    member_id: int | None,
    lang: str,
    region_code: str | None,
    regions: Regions,
    topics: list[Topic],
) -> Outgoing:
    """The card a member opens (an ev_ link, /events): places left now and their answer; a
    cancelled event with its notice and no buttons."""
    if event.status == "cancelled":
        zone = regions.zone(region_code)
        text = announcement(event, lang, zone, regions, topics)
        return Outgoing(text=f"{t(lang, 'events.cancelled')}\n\n{text}")
    mark = (await marks_of(storage, event.id)).get(member_id) if member_id else None
    left = await places_left(storage, event)
    return personal(event, lang, region_code, regions, topics, mark, left)
