"""Group chats: /link_region, /unlink_region, the bot added or removed, supergroup migration."""

from __future__ import annotations

import logging

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.groups import GroupAdmin, bot_membership, link_region, migrated, unlink_region
from bot.i18n import t
from bot.members.profile import mark_reachable
from bot.refusals import NotAllowed, Refused
from bot.runtime.context import BotContext
from handlers.common import caller_of, chat_of, esc, is_private, lang_of, send

GONE = (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
ADMINS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
log = logging.getLogger(__name__)


def group_admin(context: BotContext, chat_id: int, user_id: int) -> GroupAdmin:
    """Asks Telegram (getChatMember) whether the person administers the group."""

    async def ask() -> bool:
        try:
            member = await context.bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.warning("could not check a group's administrators (%s)", type(exc).__name__)
            raise NotAllowed("groups.admin_unknown") from None
        return member.status in ADMINS

    return ask


def _anonymous(update: Update) -> bool:
    """Sent by an anonymous administrator: on behalf of the group itself, nobody to check."""
    message = update.effective_message
    return message is not None and message.sender_chat is not None


async def link_group(update: Update, context: BotContext) -> None:
    """/link_region <code> in a group: post that region's announcements here."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if is_private(update):
        await send(update, context, t(lang, "groups.group_only"))
        return
    if _anonymous(update):
        await send(update, context, t(lang, "groups.anonymous_admin"))
        return
    chat = chat_of(update)
    if not context.args:
        await send(update, context, t(lang, "groups.usage"))
        return
    try:
        region = await link_region(
            context.storage,
            caller,
            context.regions,
            chat.id,
            chat.title,
            context.args[0],
            context.now(),
            group_admin=group_admin(context, chat.id, caller.telegram_id),
        )
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    await send(update, context, t(lang, "groups.linked", region=esc(region.name(lang))))


async def unlink_group(update: Update, context: BotContext) -> None:
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if is_private(update):
        await send(update, context, t(lang, "groups.group_only"))
        return
    if _anonymous(update):
        await send(update, context, t(lang, "groups.anonymous_admin"))
        return
    chat = chat_of(update)
    try:
        code = await unlink_region(
            context.storage,
            caller,
            chat.id,
            group_admin=group_admin(context, chat.id, caller.telegram_id),
        )
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    region = context.regions.get(code)
    await send(
        update,
        context,
        t(lang, "groups.unlinked", region=esc(region.name(lang) if region else code)),
    )


async def track_membership(update: Update, context: BotContext) -> None:
    """my_chat_member: a person blocked/unblocked the bot, or the bot joined/left a group."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None:
        return
    present = change.new_chat_member.status not in GONE
    if change.chat.type == ChatType.PRIVATE:
        await mark_reachable(context.storage, change.chat.id, present, context.now())
        return
    if change.chat.type == ChatType.CHANNEL:
        return
    await bot_membership(context.storage, change.chat.id, present)
    was_present = change.old_chat_member.status not in GONE
    if present and not was_present:
        lang = lang_of(update, context)
        await context.bot.send_message(change.chat.id, t(lang, "groups.hello"))


async def group_migrated(update: Update, context: BotContext) -> None:
    """The group became a supergroup: follow it to its new id."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id is not None:
        await migrated(context.storage, message.chat.id, message.migrate_to_chat_id)
