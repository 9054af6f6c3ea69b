"""Vetting new members: the "Принять" / "Отклонить" buttons of an approval card (apv:...), and
/signup_link, a coordinator's own sign-up link that approves those who register through it."""

from __future__ import annotations

from telegram import Update

from bot.i18n import t
from bot.members.approvals import create_link, decide, decided_text, decider, revoke_links
from bot.refusals import Refused
from bot.roles.access import is_number
from bot.runtime.context import BotContext
from handlers.common import (
    answer,
    caller_of,
    edit_or_send,
    esc,
    lang_of,
    private_only,
    send,
    split_data,
)

CALLBACK_PATTERN = r"^apv:"
REVOKE_WORDS = frozenset({"revoke", "отозвать", "off"})


async def press_approval(update: Update, context: BotContext) -> None:
    """apv:<member>:yes|no on a card. Permission is checked in the service (forged data is
    untrusted); a card someone else already decided says so."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    parts = split_data(query)
    if len(parts) != 3 or not is_number(parts[1]) or parts[2] not in ("yes", "no"):
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    message = query.message
    chat_id = message.chat.id if message is not None else caller.telegram_id
    try:
        decision = await decide(
            context.storage,
            context.regions,
            caller,
            int(parts[1]),
            parts[2] == "yes",
            context.now(),
            except_chat=chat_id,
            admins=context.settings.admin_ids,
        )
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    member = decision.member
    if not decision.decided:
        await answer(query, t(lang, f"approval.already_{member.approval}"), alert=True)
        return
    by = decider(caller)
    await answer(query, t(lang, f"approval.done_{member.approval}"))
    if message is not None:
        text = decided_text(member, context.regions, lang, member.approval, by)
        await edit_or_send(context, chat_id, message.message_id, text)
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()


async def signup_link(update: Update, context: BotContext) -> None:
    """/signup_link [region]: a new sign-up link of one's own (the previous one stops working);
    /signup_link revoke: every such link stops working."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    argument = context.args[0] if context.args else ""
    now = context.now()
    try:
        if argument.casefold() in REVOKE_WORDS:
            count = await revoke_links(context.storage, caller, now)
            await send(update, context, t(lang, "signup.revoked" if count else "signup.none"))
            return
        new = await create_link(context.storage, context.regions, caller, argument, now)
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    region = context.regions.get(new.region_code)
    link = f"https://t.me/{context.bot_data.bot_username}?start={new.payload}"
    name = region.name(lang) if region else new.region_code
    await send(update, context, t(lang, "signup.made", link=esc(link), region=esc(name)))
