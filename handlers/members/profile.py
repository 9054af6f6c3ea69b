"""A member's own commands: /me, /mydata, /forget, /help, /cancel; unknown commands and buttons."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from telegram import Update

from bot import dialogs
from bot.buttons import Codec, Word
from bot.i18n import t
from bot.members import drafts
from bot.members.mydata import MESSAGE_LIMIT, as_file
from bot.members.profile import erase, export, readable
from bot.refusals import Refused
from bot.runtime.context import BotContext
from handlers.common import (
    answer,
    caller_of,
    edit_or_send,
    esc,
    is_private,
    keyboard,
    lang_of,
    private_only,
    registered,
    send,
)
from handlers.dialog import button_not_current, strip_keyboard
from handlers.guide import TOC
from handlers.members.registration import cancel_dialog, member_data, profile_text
from handlers.menus import refresh_menu

FORGET = Codec("fgt", Word("yes", "no"))  # /forget's question: erase everything, or not
FORGET_PATTERN = FORGET.pattern


async def show_profile(update: Update, context: BotContext) -> None:
    """/me"""
    asking = await registered(update, context)
    if asking is None:
        return
    caller, member, lang = asking
    lines = [t(lang, "profile.title"), profile_text(context, lang, member_data(member))]
    if not member.approved and not (caller.is_admin or caller.is_coordinator):
        lines.append(t(lang, f"approval.me_{member.approval}"))
    if caller.is_admin:
        lines.append(t(lang, "profile.role_admin"))
    for code in sorted(caller.regions):
        if code == "*":
            lines.append(t(lang, "profile.role_federal"))
        else:
            region = context.regions.get(code)
            name = region.name(lang) if region else code
            lines.append(t(lang, "profile.role_regional", region=esc(name)))
    lines.append(t(lang, "profile.hint"))
    await send(update, context, "\n\n".join(lines))


async def send_my_data(update: Update, context: BotContext) -> None:
    """/mydata: everything stored about the person, as a JSON file."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        content = await export(context.storage, caller, context.regions)
        card = profile_text(context, lang, member_data(caller.member)) if caller.member else ""
        text = await readable(context.storage, caller, context.regions, card)
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    if len(text) <= MESSAGE_LIMIT:
        await send(update, context, text)
    else:  # too long for one message: the same list as a file
        await context.bot.send_document(
            caller.telegram_id,
            document=as_file(text),
            filename="my-data.txt",
            caption=t(lang, "mydata.long_caption"),
        )
    await context.bot.send_document(
        caller.telegram_id,
        document=content,
        filename="my-data.json",
        caption=t(lang, "mydata.caption"),
    )


async def ask_forget(update: Update, context: BotContext) -> None:
    """/forget: erase personal data, after a confirmation. Someone who is not a member yet
    but has a registration draft: the draft goes at once, no question asked (as /cancel
    does; the answers are a minute's typing, and an extra tap is one more step to miss)."""
    caller = await caller_of(update, context)
    if caller.member is None and is_private(update):
        draft = await drafts.erase(context.storage, caller.telegram_id)
        if draft is not None:
            context.bot_data.checkpoint_wanted = True  # the deleted rows leave the -wal file
            await strip_keyboard(context, draft.chat_id, draft.message_id)
            lang = str(draft.data.get("lang") or lang_of(update, context, caller))
            await send(update, context, t(lang, "forget.draft_done"))
            return
    asking = await registered(update, context)
    if asking is None:
        return
    _caller, _member, lang = asking
    markup = keyboard(
        [[(t(lang, "forget.yes"), FORGET.pack("yes"))], [(t(lang, "forget.no"), FORGET.pack("no"))]]
    )
    await send(update, context, t(lang, "forget.confirm"), markup)


async def confirm_forget(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    message = query.message
    if not FORGET.matches(query.data) or message is None:
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    if FORGET.parse(query.data) == ("no",):
        await answer(query)
        await edit_or_send(context, message.chat.id, message.message_id, t(lang, "forget.kept"))
        return
    try:
        erased = await erase(context.storage, context.settings, caller, context.now())
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    context.bot_data.checkpoint_wanted = erased  # the erased rows leave the -wal file too
    context.bot_data.reporters.forget(caller.telegram_id)  # what the process still knew
    await dialogs.end(context.storage, caller.telegram_id)  # a report draft kept in memory
    context.bot_data.watchers.forget(caller.telegram_id)
    await answer(query)
    await edit_or_send(
        context,
        message.chat.id,
        message.message_id,
        t(lang, "forget.done" if erased else "denied.not_registered"),
    )
    gone = await caller_of(update, context)
    await refresh_menu(context.bot, gone, context.settings.default_language)


async def show_help(update: Update, context: BotContext) -> None:
    """/help: what this person can do, by role."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not is_private(update):
        await private_only(update, context, lang)
        return
    markup = None
    if caller.is_admin or caller.is_coordinator:  # their guide, a section per message
        markup = keyboard([[(t(lang, "guide.button"), TOC.pack("toc"))]])
    await send(update, context, t(lang, f"help.{caller.level}"), markup)


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel: leave whatever dialogue is open."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    dialog, _expired = await dialogs.current(context.storage, caller.telegram_id, context.now())
    if dialog is None:
        await send(update, context, t(lang, "cancel.nothing"))
        return
    pause = timedelta(minutes=context.settings.dialog_timeout_minutes)
    idle = context.now() - (dialog.updated_at or context.now())
    if dialog.flow == drafts.REGISTRATION and idle >= pause:
        # a draft left for hours (as its reminder suggests): the question is far up the
        # chat, so the answer comes below the person's /cancel, not as an edit up there
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        dialog = replace(dialog, message_id=None)
    await cancel_dialog(context, dialog)


async def unknown_command(update: Update, context: BotContext) -> None:
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    await send(update, context, t(lang, "fallback.unknown_command"))


async def unknown_button(update: Update, context: BotContext) -> None:
    """A button no handler knows (forged, or of an older version): with a dialogue open, its
    question comes back; else the button no longer works."""
    user, chat = update.effective_user, update.effective_chat
    dialog, expired = (None, False)
    if user is not None and chat is not None and chat.type == "private":
        dialog, expired = await dialogs.current(context.storage, user.id, context.now())
    await button_not_current(update, context, dialog, expired)
