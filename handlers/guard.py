"""Before and after every update: a repeated update is dropped, and one person sending more than
FLOOD_PER_MINUTE updates a minute is asked once to slow down while the rest is dropped.

An update that was being handled when the process died comes again from Telegram. It is handled
again, except an answer typed or tapped into an open dialogue: the dialogue may or may not have
taken it before the crash, so taking it again could put it into the next question. Instead the
open question is shown again, and the person answers it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot import dialogs
from bot.access import identify
from bot.context import BotContext
from bot.i18n import t
from handlers.common import answer, is_command, lang_of
from handlers.dialog import is_current_question

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=1)


async def before_update(update: Update, context: BotContext) -> None:
    """Runs first (group -1): stop a repeated update or a flood before any handler sees it."""
    now = context.now()
    state = await context.storage.updates.begin(update.update_id, now)
    if state == "done":
        log.info("update %s was handled already; dropped", update.update_id)
        raise ApplicationHandlerStop
    if state == "interrupted" and await _show_open_question(update, context, now):
        await context.storage.updates.finish(update.update_id)
        raise ApplicationHandlerStop
    user = update.effective_user
    if user is None:
        return
    flood = context.bot_data.flood
    flood.spend(user.id, now)
    if flood.left(user.id, now) >= 0:
        return
    caller = await identify(context.storage, context.settings, user.id)
    if caller.is_admin or caller.is_coordinator:  # they run broadcasts and many buttons
        return
    await context.storage.updates.finish(update.update_id)
    if _first_warning(context, user.id, now):
        log.info("update %s: user sends too often; dropping for a minute", update.update_id)
        text = t(lang_of(update, context, caller), "guard.too_often")
        if update.callback_query is not None:
            await answer(update.callback_query, text, alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, text)
    raise ApplicationHandlerStop


async def _show_open_question(update: Update, context: BotContext, now: datetime) -> bool:
    """For an interrupted answer to an open dialogue: show its question again (True)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return False
    dialog, _expired = await dialogs.current(context.storage, user.id, now)
    if dialog is None:
        return False
    query, message = update.callback_query, update.message
    if query is not None:
        if not is_current_question(context, dialog, query.message):
            return False  # a button elsewhere (an RSVP, a card): doing it again is safe
        await answer(query)
    elif message is None or is_command(message):
        return False  # commands start afresh
    log.info(
        "update %s was cut off by a restart; the open question is shown again", update.update_id
    )
    await context.bot_data.show_again[dialog.flow](context, dialog)
    return True


def _first_warning(context: BotContext, user_id: int, now: datetime) -> bool:
    warned = context.bot_data.flood_warned
    last = warned.get(user_id)
    if last is not None and now - last < WINDOW:
        return False
    warned[user_id] = now
    return True


async def after_update(update: Update, context: BotContext) -> None:
    """Runs last: the update is handled (a crash before this means it is handled again)."""
    await context.storage.updates.finish(update.update_id)
