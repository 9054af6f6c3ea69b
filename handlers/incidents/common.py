"""What the incident dialogues share: the draft's language, the reporting limit and its
message, the reporter's home zone, an attachment of a message, waking the outbox."""

from __future__ import annotations

from typing import Any

from telegram import Message

from bot.i18n import t, tn
from bot.limits import reports_left
from bot.roles.access import Caller
from bot.runtime.context import BotContext
from bot.timefmt import MOSCOW
from handlers.common import esc
from storage.dialogs import Dialog


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


def _home_zone(context: BotContext, dialog: Dialog) -> Any:
    region = context.regions.get(str(dialog.data.get("region") or dialog.data.get("home") or ""))
    return region.tz if region else MOSCOW


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
