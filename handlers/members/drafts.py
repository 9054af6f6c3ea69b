"""Coming back to a half-done registration (bot/members/drafts.py): the reminder's button, or any
message after a pause, shows the question where the person stopped, with their answers kept. (/start
does the same: handlers/members/registration/entry.py.)"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot import dialogs
from bot.i18n import t
from bot.members.drafts import RESUME
from bot.runtime.context import BotContext
from handlers.common import answer, caller_of, lang_of, user_of
from handlers.dialog import show
from handlers.members.registration.steps import REG
from handlers.members.registration.typed import answer_text as answer_step
from handlers.members.registration.typed import typed_button
from storage.dialogs import Dialog

RESUME_PATTERN = r"^rgd:"  # the reminder's button: rgd:resume


async def resume_registration(update: Update, context: BotContext) -> None:
    """'Продолжить регистрацию' under the reminder."""
    query = update.callback_query
    assert query is not None
    if query.data != RESUME:
        lang = lang_of(update, context, await caller_of(update, context))
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    dialog, expired = await dialogs.current(context.storage, user_of(update).id, context.now())
    if dialog is not None and dialog.flow == REG:
        await answer(query)
        await _continue(context, dialog)
        return
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if expired:
        key = "dialog.expired"
    elif caller.member is not None:
        key = "reg.draft_registered"
    else:
        key = "reg.draft_gone"
    await answer(query, t(lang, key), alert=True)


async def answer_text(update: Update, context: BotContext, dialog: Dialog) -> None:
    """A message to a registration: after a pause (DIALOG_TIMEOUT_MINUTES or more; the question
    is far up the chat, the reminder may be below it) it is not taken as the answer, which
    might be a greeting: the question is shown again where they stopped. 'Отмена', 'Назад'
    and the like act at once."""
    message = update.effective_message
    text = message.text if message is not None else None
    pause = timedelta(minutes=context.settings.dialog_timeout_minutes)
    away = dialog.updated_at is not None and context.now() - dialog.updated_at >= pause
    if away and not (text and typed_button(dialog, text)):
        await _continue(context, dialog)
        return
    await answer_step(update, context, dialog)


async def _continue(context: BotContext, dialog: Dialog) -> None:
    hint = t(str(dialog.data.get("lang", "ru")), "reg.continue")
    await show(context, dialog, new_message=True, hint=hint)
