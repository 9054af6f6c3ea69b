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
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import dialogs
from bot.i18n import t
from bot.roles.access import identify
from bot.runtime.context import BotContext
from handlers.common import answer, is_command, lang_of
from handlers.dialog import flow_of, is_current_question

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=1)


async def before_update(update: Update, context: BotContext) -> None:
    """Runs first (group -1): stop a repeated update, a flood, or an answer to a question the
    person may not have seen, before any handler sees it."""
    now = context.now()
    state = await context.storage.updates.begin(update.update_id, now)
    if state == "done":
        log.info("update %s was handled already; dropped", update.update_id)
        raise ApplicationHandlerStop
    if state == "given up":  # it may be what kills the process: not again and again
        log.error("update %s was cut off by a crash three times; dropped", update.update_id)
        raise ApplicationHandlerStop
    if await _flooding(update, context, now) or await _show_open_question(
        update, context, now, interrupted=state == "interrupted"
    ):
        await context.storage.updates.finish(update.update_id)
        raise ApplicationHandlerStop


async def _flooding(update: Update, context: BotContext, now: datetime) -> bool:
    """More than FLOOD_PER_MINUTE updates this minute: ask once to slow down (True: drop)."""
    user = update.effective_user
    if user is None:
        return False
    flood = context.bot_data.flood
    flood.spend(user.id, now)
    if flood.left(user.id, now) >= 0:
        return False
    caller = await identify(context.storage, context.settings, user.id)
    if caller.is_admin or caller.is_coordinator:  # they run broadcasts and many buttons
        return False
    if _first_warning(context, user.id, now):
        log.info("update %s: user sends too often; dropping for a minute", update.update_id)
        text = t(lang_of(update, context, caller), "guard.too_often")
        if update.callback_query is not None:
            await answer(update.callback_query, text, alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, text)
    return True


async def _show_open_question(
    update: Update, context: BotContext, now: datetime, *, interrupted: bool
) -> bool:
    """An answer to an open dialogue that may not fit where the dialogue is: the update was cut
    off by a crash (it may have been taken already), or Telegram did not deliver the last
    question (the dialogue is marked unseen). Show the open question again (True: drop)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return False
    dialog = await context.storage.dialogs.get(user.id)  # an expired one is the router's to tell
    if dialog is None or (dialog.expires_at is not None and dialog.expires_at <= now):
        return False
    if not (interrupted or dialog.data.get(dialogs.UNSEEN)):
        return False
    query, message = update.callback_query, update.message
    if query is not None:
        if not is_current_question(context, dialog, query.message):
            return False  # a button elsewhere (an RSVP, a card): doing it again is safe
    elif message is None or is_command(message):
        return False  # commands start afresh
    flow = flow_of(context, dialog.flow)
    again = flow.again() if flow else None
    if again is None:
        return False
    why = "was cut off by a restart" if interrupted else "answers a question not delivered"
    log.info("update %s %s; the open question is shown again", update.update_id, why)
    try:
        if query is not None:
            await answer(query)
        await again(context, await dialogs.mark_unseen(context.storage, dialog, False, now))
    except TelegramError as exc:  # Telegram is still in trouble: try again at the next answer
        log.warning("could not show the question again (%s: %s)", type(exc).__name__, exc)
        await dialogs.mark_unseen(context.storage, dialog, True, now)
    return True


def _first_warning(context: BotContext, user_id: int, now: datetime) -> bool:
    warned = context.bot_data.flood_warned
    last = warned.get(user_id)
    if last is not None and now - last < WINDOW:
        return False
    if len(warned) > 1000:  # bounded: warnings older than the window are no longer needed
        for old in [k for k, at in warned.items() if now - at >= WINDOW]:
            del warned[old]
    warned[user_id] = now
    return True


async def after_update(update: Update, context: BotContext) -> None:
    """Runs last: the update is handled (a crash before this means it is handled again). After
    an anonymous report or an erasure, the -wal file is emptied once the update's JSON is gone
    from the inbox, so the text and the sender's id do not linger in it."""
    await context.storage.updates.finish(update.update_id)
    if context.bot_data.checkpoint_wanted:
        context.bot_data.checkpoint_wanted = False
        if not await context.storage.db.checkpoint():
            log.info("the -wal file could not be emptied now; the hourly sweep does it")
