"""Regional group chats: linking a group to a region, the bot leaving, supergroup migration.

Linking and unlinking are for a coordinator of the region who is also an administrator of the
group (Telegram is asked through `group_admin`, and only after the role allows it): a group's
ordinary member cannot point announcements of a region at it, and a coordinator cannot take
over a group they do not run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.refusals import NotAllowed, WrongInput
from bot.regions import Region, Regions
from bot.roles.access import Caller, require_coordinator
from storage.db import Storage

# Asks Telegram whether the caller administers the group: True / False; raises NotAllowed when
# Telegram cannot tell (the handler turns its error into a polite answer).
GroupAdmin = Callable[[], Awaitable[bool]]


async def link_region(
    storage: Storage,
    caller: Caller,
    regions: Regions,
    chat_id: int,
    title: str | None,
    code_text: str,
    now: datetime,
    *,
    group_admin: GroupAdmin,
) -> Region:
    """A coordinator of the region who administers this group links it: the region's
    announcements are posted here too."""
    require_coordinator(caller)
    region = regions.parse_code(code_text)
    if region is None:
        raise WrongInput("groups.bad_region")
    if not caller.coordinates(region.code):
        raise NotAllowed("groups.not_your_region")
    linked = await storage.groups.get(chat_id)
    if linked is not None and not caller.coordinates(linked.region_code):
        # linked to another region: only that region's coordinators may change it
        raise NotAllowed("groups.not_your_region")
    if not await group_admin():
        raise NotAllowed("groups.not_group_admin")
    await storage.groups.link(
        chat_id, region.code, title, caller.member.id if caller.member else None, now
    )
    return region


async def unlink_region(
    storage: Storage, caller: Caller, chat_id: int, *, group_admin: GroupAdmin
) -> str:
    """The same people (a coordinator of the group's region who administers it) unlink it."""
    require_coordinator(caller)
    group = await storage.groups.get(chat_id)
    if group is None:
        raise WrongInput("groups.not_linked")
    if not caller.coordinates(group.region_code):
        raise NotAllowed("groups.not_your_region")
    if not await group_admin():
        raise NotAllowed("groups.not_group_admin")
    await storage.groups.unlink(chat_id)
    return group.region_code


async def bot_membership(storage: Storage, chat_id: int, present: bool) -> None:
    """The bot was added to or removed from a group."""
    await storage.groups.set_active(chat_id, present)


async def migrated(storage: Storage, old_chat_id: int, new_chat_id: int) -> None:
    await storage.groups.migrate(old_chat_id, new_chat_id)
