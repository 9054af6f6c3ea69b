"""Ad-hoc messages from coordinators to the members of chosen regions (and topics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.events import coordinated_regions, plain_length
from bot.outbox import Outgoing, Priority, send_to_many
from bot.refusals import NotAllowed, WrongInput
from bot.regions import Regions
from bot.roles.access import Caller
from storage.db import Storage

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class Content:
    """What the coordinator sent: a text, or a photo/document (by Telegram file id) + caption."""

    text: str
    file_id: str | None = None
    kind: str | None = None  # "photo" | "document"

    def outgoing(self) -> Outgoing:
        return Outgoing(text=self.text or None, file_id=self.file_id, file_kind=self.kind)


def check_content(content: Content) -> str | None:
    """The catalog key of the problem, or None. Telegram's limits: 4096 / 1024 characters."""
    if content.kind is None and not content.text.strip():
        return "broadcast.hint.empty"
    limit = CAPTION_LIMIT if content.kind else TEXT_LIMIT
    if plain_length(content.text) > limit:  # Telegram counts the text without its markup
        return "broadcast.hint.caption_long" if content.kind else "broadcast.hint.text_long"
    return None


@dataclass(frozen=True)
class Recipients:
    """Who will get the message, and who of the same regions and topics will not: they
    blocked the bot or deleted their account (Telegram refuses messages to them)."""

    reachable: list[tuple[int, int | None]]
    unreachable: list[tuple[int, int | None]]


async def recipients(
    storage: Storage, caller: Caller, regions: Regions, chosen: list[str], topics: list[str]
) -> Recipients:
    allowed = set(coordinated_regions(caller, regions))
    if not chosen or not set(chosen) <= allowed:
        raise NotAllowed("events.denied_region")
    people = await storage.members.audience(chosen, topics)
    gone = await storage.members.unreachable(chosen, topics)
    return Recipients(
        [(p.telegram_id, p.member_id) for p in people],
        [(p.telegram_id, p.member_id) for p in gone],
    )


async def send_broadcast(
    storage: Storage,
    caller: Caller,
    regions: Regions,
    chosen: list[str],
    topics: list[str],
    content: Content,
    now: datetime,
) -> tuple[int | None, int]:
    """Queue the message for every member of the regions (and topics): (broadcast id, count
    of those it goes to). Those who blocked the bot are counted in its report, not sent to."""
    problem = check_content(content)
    if problem is not None:
        raise WrongInput(problem)
    people = await recipients(storage, caller, regions, chosen, topics)
    if not people.reachable:
        return None, 0
    broadcast_id = await send_to_many(
        storage,
        people.reachable,
        content.outgoing(),
        unreachable=people.unreachable,
        priority=Priority.BULK,
        now=now,
        kind="broadcast",
        created_by=caller.telegram_id,
        language=caller.language or "ru",
    )
    return broadcast_id, len(people.reachable)
