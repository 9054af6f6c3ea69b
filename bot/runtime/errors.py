"""The error handler: log with traceback, tell the person politely, tell admins briefly."""

from __future__ import annotations

import logging
import sqlite3
import time

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot import dialogs
from bot.i18n import language_for, t
from bot.runtime.context import BotContext

log = logging.getLogger(__name__)
ADMIN_NOTICE_INTERVAL = 600.0  # seconds between two admin notices about the same error type


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    # Only the update id: texts may be private (incident reports, personal data).
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, RetryAfter | NetworkError) and not isinstance(error, BadRequest):
        # Telegram did not take a reply three times (5xx, timeouts, no connection, 429): not a
        # bug, and neither the person nor the admins can be told through it right now.
        log.warning(
            "Telegram did not take the answer to update %s (%s: %s)",
            update_id,
            type(error).__name__,
            error,
        )
        await _question_unseen(update, context)
        return
    storage_fault = _storage_fault(error)
    if storage_fault:  # not a bug: the disk. One clear line, no traceback
        log.error(
            "the database cannot be written (%s): is the disk full or read-only? update %s"
            " was not handled; nothing was half-written",
            storage_fault,
            update_id,
        )
    else:
        log.error("error while handling update %s", update_id, exc_info=error)
    settings = context.bot_data.settings
    default = settings.default_language if settings else "ru"
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = await _language(update, context, default)
        text = t(lang, "error.storage" if storage_fault else "error.generic")
        try:
            answered = False
            if update.callback_query is not None:
                try:
                    answered = await update.callback_query.answer(text, show_alert=True)
                except TelegramError:  # already answered: say it in the chat instead
                    answered = False
            if not answered:
                await context.bot.send_message(update.effective_chat.id, text)
        except TelegramError:
            log.warning("could not tell the person about the error")
    await _notify_admins(context, error, update_id)


async def _question_unseen(update: object, context: BotContext) -> None:
    """The person may not have the dialogue's latest question: their next answer shows it
    again instead of being taken for it (handlers/guard.py)."""
    if not isinstance(update, Update) or update.effective_user is None:
        return
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    dialog = await context.storage.dialogs.get(update.effective_user.id)
    if dialog is not None:
        await dialogs.mark_unseen(context.storage, dialog, True, context.now())


STORAGE_FAULTS = ("readonly", "read-only", "disk is full", "disk i/o", "unable to open")


def _storage_fault(error: BaseException | None) -> str | None:
    """The database refused to write because of the disk (full, read-only, failing)."""
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        if any(fault in text for fault in STORAGE_FAULTS):
            return str(error)
    return None


async def _language(update: Update, context: BotContext, default: str) -> str:
    """The member's chosen language if the database answers, else their Telegram language."""
    user = update.effective_user
    if user is None:
        return default
    try:
        member = await context.storage.members.by_telegram_id(user.id)
    except Exception:  # the error may be the database itself
        member = None
    return member.language if member else language_for(user.language_code, default)


async def _notify_admins(
    context: BotContext, error: BaseException | None, update_id: int | None
) -> None:
    settings = context.bot_data.settings
    if settings is None or error is None:
        return
    default = settings.default_language
    kind = type(error).__name__
    now = time.monotonic()
    last = context.bot_data.error_notices
    if kind in last and now - last[kind] < ADMIN_NOTICE_INTERVAL:
        return
    last[kind] = now
    for admin in settings.admin_ids:
        try:
            await context.bot.send_message(
                admin, t(default, "error.admin_notice", kind=kind, update_id=update_id or "—")
            )
        except TelegramError:
            log.warning("could not notify an admin about the error")
