"""JobQueue callbacks: read the clock, call a service. Business deadlines are rows in SQLite."""

from __future__ import annotations

import logging

from telegram.error import TelegramError

from bot import dialogs
from bot.context import BotContext
from bot.events import queue_reminders
from bot.i18n import t

log = logging.getLogger(__name__)


async def sweep_reminders(context: BotContext) -> None:
    """Queue the event reminders that are due (each once), then let the engine send them."""
    hours = list(context.settings.reminder_hours)
    queued = await queue_reminders(context.storage, context.regions, hours, context.now())
    if queued and context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()


async def sweep_dialogs(context: BotContext) -> None:
    """Close dialogues idle too long and tell each person once."""
    for dialog in await dialogs.take_expired(context.storage, context.now()):
        lang = str(dialog.data.get("lang", context.settings.default_language))
        try:
            await context.bot.send_message(dialog.chat_id, t(lang, f"dialog.timeout.{dialog.flow}"))
        except TelegramError as exc:
            log.info("could not tell a person that their dialogue expired: %s", exc)
