"""Before and after every update: a repeated update is dropped, and one person sending more than
FLOOD_PER_MINUTE updates a minute is asked once to slow down while the rest is dropped."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.access import identify
from bot.context import BotContext
from bot.i18n import t
from handlers.common import answer, lang_of

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=1)


async def before_update(update: Update, context: BotContext) -> None:
    """Runs first (group -1): stop a repeated update or a flood before any handler sees it."""
    now = context.now()
    if not await context.storage.updates.begin(update.update_id, now):
        log.info("update %s was handled already; dropped", update.update_id)
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
