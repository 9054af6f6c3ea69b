"""Vetting new members: the "Принять" / "Отклонить" buttons of an approval card (apv:...), and
/signup_link, a coordinator's own sign-up link that approves those who register through it."""

from __future__ import annotations

from telegram import Update

from bot.i18n import t
from bot.members.approvals import CARD, create_link, decide, decided_text, decider, revoke_links
from bot.refusals import Refused, WrongInput
from bot.runtime.context import BotContext
from handlers.common import (
    answer,
    caller_of,
    edit_or_send,
    esc,
    lang_of,
    private_only,
    send,
)

CALLBACK_PATTERN = CARD.pattern
REVOKE_WORDS = frozenset({"revoke", "отозвать", "off"})


async def press_approval(update: Update, context: BotContext) -> None:
    """apv:<member>:yes|no on a card. Permission is checked in the service (forged data is
    untrusted); a card someone else already decided says so."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    try:
        member_id, verdict = CARD.parse(query.data)
    except WrongInput as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    message = query.message
    chat_id = message.chat.id if message is not None else caller.telegram_id
    try:
        decision = await decide(
            context.storage,
            context.regions,
            caller,
            member_id,
            verdict == "yes",
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
