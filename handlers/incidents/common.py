"""What the incident handlers share: the draft's language, the reporting limit and its
message, the reporter's home zone, an attachment of a message, waking the outbox, a notice to
an anonymous reporter, a dialogue whose only button is 'Отмена'."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from telegram import Message, Update
from telegram.error import TelegramError

from bot import dialogs
from bot.buttons import CANCEL
from bot.i18n import t, tn
from bot.incidents.report import STATUS_REPLY
from bot.limits import reports_left
from bot.roles.access import Caller
from bot.runtime.context import BotContext
from handlers.common import answer, edit_or_send, esc, keyboard, user_of
from handlers.dialog import button_not_current
from storage.dialogs import Dialog
from storage.incidents import Incident

log = logging.getLogger(__name__)


def _lang(dialog: Dialog) -> str:
    return str(dialog.data.get("lang", "ru"))


async def _reports_left(context: BotContext, caller: Caller) -> tuple[int, int]:
    data = context.bot_data
    return await reports_left(
        context.storage, context.settings, data.report_quota, data.reporters, caller, context.now()
    )


def _too_many(context: BotContext, limit: int, lang: str) -> str:
    if limit < context.settings.reports_per_hour:  # after an abuse mark
        return t(lang, "incidents.too_many_marked")
    lines = [tn(lang, "incidents.too_many", limit)]
    if context.settings.network_contact:  # a way to write to someone directly
        lines.append(t(lang, "incidents.contact", contact=esc(context.settings.network_contact)))
    lines.append(t(lang, "incidents.emergency_call"))
    return "\n\n".join(lines)


def _home_zone(context: BotContext, dialog: Dialog) -> ZoneInfo:
    return context.regions.zone(str(dialog.data.get("region") or dialog.data.get("home") or ""))


def _zone_of(context: BotContext, caller: Caller) -> ZoneInfo:
    return context.regions.zone(caller.member.region_code if caller.member else None)


def _wake(context: BotContext) -> None:
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()


def _attachment(message: Message) -> tuple[str, str] | None:
    if message.photo:
        return ("photo", message.photo[-1].file_id)
    if message.document is not None:
        return ("document", message.document.file_id)
    if message.voice is not None:
        return ("voice", message.voice.file_id)
    return None


async def _tell_anonymous(
    context: BotContext, incident: Incident, key: str, **params: object
) -> bool:
    """A notice to the reporter of an anonymous report, if they opened its /status within the
    hour (their chat is known to the running process only): sent directly, never queued in
    the outbox. Otherwise they read it at their next /status. True if sent."""
    if not incident.anonymous:
        return False
    found = context.bot_data.watchers.chat_of(incident.id, context.now())
    if found is None:
        return False
    chat_id, lang = found
    text = t(lang, f"incidents.to_reporter.{key}", code=incident.code, **params)
    markup = None
    if key == "question":
        questions = await context.storage.incidents.questions(incident.id)
        if questions:
            data = STATUS_REPLY.pack(incident.code, "reply", questions[-1].id)
            markup = keyboard([[(t(lang, "incidents.button.reply"), data)]])
    try:
        await context.bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramError as exc:
        log.info("a notice to an anonymous reporter failed: %s", type(exc).__name__)
        return False
    return True


async def _cancel_only(update: Update, context: BotContext, flow: str, done_key: str) -> None:
    """A button of a dialogue that only asks for typed text: 'Отмена' ends it."""
    query = update.callback_query
    assert query is not None
    dialog, _ = await dialogs.current(context.storage, user_of(update).id, context.now())
    if dialog is None or dialog.flow != flow or query.data != CANCEL:
        await button_not_current(update, context, dialog)
        return
    await answer(query)
    await dialogs.end(context.storage, dialog.telegram_id)
    await edit_or_send(context, dialog.chat_id, dialog.message_id, t(_lang(dialog), done_key))
