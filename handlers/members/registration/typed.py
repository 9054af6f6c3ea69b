"""Typed answers of the registration and settings dialogues, and typed words that stand for
their buttons."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update

from bot import dialogs
from bot.i18n import t
from bot.members.registration import check_name, check_organisation
from bot.runtime.context import BotContext
from handlers.common import esc
from handlers.dialog import go, show, strip_keyboard
from handlers.members.registration.buttons import on_button
from handlers.members.registration.moves import after_field
from handlers.members.registration.steps import REG, REGION_STEPS, TEXT_STEPS
from handlers.words import (
    AGREE_WORDS,
    DISAGREE_WORDS,
    DONE_WORDS,
    NO_WORDS,
    YES_WORDS,
    typed_words,
    yes_or_no,
)
from handlers.words import typed_button as typed_nav
from storage.dialogs import Dialog

# ---------------------------------------------------------------- typed answers


def typed_button(dialog: Dialog, text: str) -> list[str] | None:
    """The button a typed word stands for at this step, if it is one of the known words: Cancel
    and Back as in every dialogue (handlers/words.py), and the registration's own."""
    shared = typed_nav(dialog, text)
    if shared is not None:
        return shared
    word, step = typed_words(text), dialog.step
    if step == "consent" and (word in AGREE_WORDS or word in YES_WORDS):
        return ["reg", "consent", "yes"]
    if step == "consent" and (word in DISAGREE_WORDS or word in NO_WORDS):
        return ["reg", "consent", "no"]
    if step == "region_confirm" and word in YES_WORDS:
        return ["reg", "regok"]
    if step == "region_confirm" and word in NO_WORDS:
        return ["reg", "regother"]
    candidates = dialog.data.get("candidates") or []
    if step == "region_pick" and word in YES_WORDS and len(candidates) == 1:
        return ["reg", "region", str(candidates[0])]  # the one region the bot just found
    if step == "region_pick" and word in NO_WORDS:
        return ["reg", "regother"]
    if step == "topics" and (word in DONE_WORDS or word in YES_WORDS):
        return ["reg", "topics_done"]
    if step == "summary" and dialog.flow == REG and word in YES_WORDS:
        return ["reg", "confirm"]
    return None


async def answer_text(update: Update, context: BotContext, dialog: Dialog) -> None:
    """A typed message while a registration or settings dialogue waits for an answer."""
    message = update.effective_message
    assert message is not None
    lang = str(dialog.data.get("lang", "ru"))
    text = message.text
    if text is None:
        key = "reg.hint.text_please" if dialog.step in TEXT_STEPS else "reg.hint.use_buttons"
        await show(context, dialog, new_message=True, hint=t(lang, key))
        return
    said = typed_button(dialog, text)
    if said is not None:
        # "отмена", "назад", "да" ... typed instead of tapped: act as the button would,
        # answering with a new message below the person's words.
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        dialog = replace(dialog, message_id=None)
        alert = await on_button(context, dialog, said, lang)
        if alert:
            await show(context, dialog, new_message=True, hint=alert)
        elif alert is None:
            await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.use_buttons"))
        return
    if dialog.step == "name":
        value, problem = check_name(text)
        if value is None:
            await show(context, dialog, new_message=True, hint=t(lang, str(problem)))
            return
        dialog = await dialogs.advance(
            context.storage, context.settings, dialog, now=context.now(), name=value
        )
        await after_field(context, dialog, new_message=True)
    elif dialog.step == "org":
        value, problem = check_organisation(text)
        if value is None:
            await show(context, dialog, new_message=True, hint=t(lang, str(problem)))
            return
        dialog = await dialogs.advance(
            context.storage, context.settings, dialog, now=context.now(), org=value
        )
        await after_field(context, dialog, new_message=True)
    elif dialog.step in REGION_STEPS and yes_or_no(text):
        # "да" with several regions found, or with none to confirm: which one?
        key = "reg.hint.region_which" if dialog.step == "region_pick" else "reg.hint.region_type"
        await show(context, dialog, new_message=True, hint=t(lang, key))
    elif dialog.step in REGION_STEPS:
        found = context.regions.match(text[:100])
        if not found:
            hint = t(lang, "reg.hint.region_unknown", typed=esc(text[:100]))
            await go(context, dialog, "district", new_message=True, hint=hint)
            return
        await go(
            context,
            dialog,
            "region_pick",
            new_message=True,
            candidates=[r.code for r in found],
            typed=text[:100],
        )
    else:
        await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.use_buttons"))
