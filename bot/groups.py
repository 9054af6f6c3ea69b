"""Regional group chats: linking a group to a region, the bot leaving, supergroup migration."""

from __future__ import annotations

from datetime import datetime

from bot.access import Caller, Denied, require_coordinator
from bot.regions import Region, Regions
from storage.db import Storage


async def link_region(
    storage: Storage,
    caller: Caller,
    regions: Regions,
    chat_id: int,
    title: str | None,
    code_text: str,
    now: datetime,
) -> Region:
    """A coordinator of the region links this group: its announcements are posted here too."""
    require_coordinator(caller)
    region = regions.parse_code(code_text)
    if region is None:
        raise Denied("groups.bad_region")
    if not caller.coordinates(region.code):
        raise Denied("groups.not_your_region")
    await storage.groups.link(
        chat_id, region.code, title, caller.member.id if caller.member else None, now
    )
    return region


async def unlink_region(storage: Storage, caller: Caller, chat_id: int) -> str:
    require_coordinator(caller)
    group = await storage.groups.get(chat_id)
    if group is None:
        raise Denied("groups.not_linked")
    if not caller.coordinates(group.region_code):
        raise Denied("groups.not_your_region")
    await storage.groups.unlink(chat_id)
    return group.region_code


async def bot_membership(storage: Storage, chat_id: int, present: bool) -> None:
    """The bot was added to or removed from a group."""
    await storage.groups.set_active(chat_id, present)


async def migrated(storage: Storage, old_chat_id: int, new_chat_id: int) -> None:
    await storage.groups.migrate(old_chat_id, new_chat_id)
