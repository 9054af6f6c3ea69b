"""The buttons of the registration and settings dialogues."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import dialogs
from bot.buttons import STALE, Choices, parse_any
from bot.i18n import t
from bot.refusals import WrongInput
from bot.roles.access import identify
from bot.runtime.context import BotContext
from handlers.common import answer, caller_of, edit_or_send, lang_of, user_of
from handlers.dialog import button_not_current, closed_for, go, is_current_question
from handlers.members.registration.consent import agree, close_consent, show_consent, welcome
from handlers.members.registration.moves import (
    after_field,
    cancel_dialog,
    consent_given,
    finish,
    previous_step,
    region_chosen,
)
from handlers.members.registration.steps import (
    ALPHA_PAGE,
    CONSENT,
    CONSENT_END,
    DO,
    FLOWS,
    REG,
    SET,
    member_data,
)
from storage.dialogs import Dialog

# ---------------------------------------------------------------- buttons


async def press_button(update: Update, context: BotContext) -> None:
    """Every button of the registration and settings dialogues."""
    query = update.callback_query
    assert query is not None
    user = user_of(update)
    now = context.now()
    if query.data == DO.pack("restart"):
        caller = await caller_of(update, context)
        lang = lang_of(update, context, caller)
        await answer(query)
        await welcome(update, context, lang, None)
        return
    try:
        _, (_, what, code, *carry) = parse_any(query.data, CONSENT, CONSENT_END)
    except WrongInput:
        pass  # a button of a question asked in the dialogue
    else:
        await _consent_button(update, context, what, code, carry[0] if carry else None)
        return
    dialog, expired = await dialogs.current(context.storage, user.id, now)
    if dialog is None or dialog.flow not in FLOWS:
        await button_not_current(update, context, dialog, expired)
        return
    lang = str(dialog.data.get("lang", "ru"))
    if not is_current_question(context, dialog, query.message):
        await button_not_current(update, context, dialog)
        return
    caller = await identify(context.storage, context.settings, user.id)
    if await closed_for(context, caller, dialog):
        await answer(query)
        return
    try:
        parts = _parts(query.data)
    except WrongInput as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    handled = await on_button(context, dialog, parts, lang)
    if handled is None:
        await button_not_current(update, context, dialog)
    else:
        await answer(query, handled or None, alert=bool(handled))


# the settings dialogue asks its region and topics with the registration's questions (reg:)
_SHAPES = (Choices("reg"), Choices("set"))


def _parts(data: str | None) -> list[str]:
    for shape in _SHAPES:
        try:
            return shape.parse(data)
        except WrongInput:
            continue
    raise WrongInput(STALE)


async def _consent_button(
    update: Update, context: BotContext, what: str, lang: str, carry: str | None
) -> None:
    """A button of the consent question, which is asked before any dialogue is stored."""
    query = update.callback_query
    assert query is not None
    if what == "yes":
        await agree(update, context, lang, str(carry))
        return
    await answer(query)
    if what in ("lang", "more"):
        await show_consent(context, query, lang, str(carry), full=what == "more")
    else:
        key = "reg.cancelled" if what == "cancel" else "reg.no_consent"
        await close_consent(context, query, t(lang, key))


async def on_button(context: BotContext, dialog: Dialog, parts: list[str], lang: str) -> str | None:
    """Act on a button; returns '' when done, a text to show as an alert, or None if stale."""
    # long: one match arm per button of the two dialogues, each guarded by its step
    step, data = dialog.step, dialog.data
    match parts:
        case ["dlg", "cancel"]:
            await cancel_dialog(context, dialog)
        case ["dlg", "back"]:
            target = previous_step(dialog)
            if target is None:
                return None
            changes: dict[str, Any] = {}
            if target == "summary":
                changes["editing"] = False
            if dialog.flow == SET and target == "settings":
                # what is shown must be what is stored: drop unsaved choices
                stored = await identify(context.storage, context.settings, dialog.telegram_id)
                if stored.member is not None:
                    changes.update(member_data(stored.member), note=None)
            await go(context, dialog, target, **changes)
        case ["reg", "lang", code] if step == "consent" and code in ("ru", "en"):
            await go(context, dialog, "consent", lang=code)
        case ["reg", "consent", "yes"] if step == "consent":
            await consent_given(context, dialog, lang)
        case ["reg", "consent", "no"] if step == "consent":
            await dialogs.end(context.storage, dialog.telegram_id)
            await edit_or_send(
                context, dialog.chat_id, dialog.message_id, t(lang, "reg.no_consent")
            )
        case ["reg", "regok"] if step == "region_confirm":
            await region_chosen(context, dialog, str(data.get("preset")))
        case ["reg", "regother"] if step in ("region_confirm", "region_pick"):
            await go(context, dialog, "district")
        case ["reg", "alpha", page] if step in ("district", "alpha") and _page_number(page):
            if int(page) * ALPHA_PAGE >= len(context.regions.regions):
                return None
            await go(context, dialog, "alpha", page=int(page))
        case ["reg", "district", code] if step == "district":
            if context.regions.district(code) is None:
                return None
            await go(context, dialog, "region", district=code)
        case ["reg", "region", code] if step in ("region", "region_pick", "alpha"):
            region = context.regions.get(code)
            if region is None:
                return None
            if step == "region" and region.district != data.get("district"):
                return None
            if step == "region_pick" and code not in data.get("candidates", []):
                return None
            await region_chosen(context, dialog, code)
        case ["reg", "topic", code] if step == "topics":
            if code not in {tp.code for tp in context.topics}:
                return None
            chosen = list(data.get("topics", []))
            chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
            await go(context, dialog, "topics", topics=chosen)
        case ["reg", "topics_done"] if step == "topics":
            if not data.get("topics"):
                return t(lang, "reg.hint.pick_topic")
            await after_field(context, dialog, new_message=False)
        case ["reg", "confirm"] if step == "summary" and dialog.flow == REG:
            await finish(context, dialog, lang)
        case ["reg", "edit"] if step == "summary":
            await go(context, dialog, "edit")
        case ["reg", "edit", field] if step == "edit":
            steps = {"name": "name", "org": "org", "region": "district", "topics": "topics"}
            if field not in steps:
                return None
            await go(context, dialog, steps[field], editing=True)
        case ["set", "close"] if step == "settings":
            await dialogs.end(context.storage, dialog.telegram_id)
            await edit_or_send(
                context, dialog.chat_id, dialog.message_id, t(lang, "settings.closed")
            )
        case ["set", field] if step == "settings":
            steps = {"name": "name", "org": "org", "region": "district", "topics": "topics"}
            steps["lang"] = "lang"
            if field not in steps:
                return None
            await go(context, dialog, steps[field], note=None)
        case ["set", "lang", code] if step == "lang" and code in ("ru", "en"):
            dialog = await dialogs.advance(
                context.storage, context.settings, dialog, now=context.now(), lang=code
            )
            await after_field(context, dialog, new_message=False)
        case _:
            return None
    return ""


def _page_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 3
