"""The coordinators' card buttons (take, pass up, snooze, resolve, note, ask, abuse), the
coordinator's typed answer to one of them (the COORD dialogue) and /incident."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.buttons import CANCEL, parse_any
from bot.i18n import t
from bot.incidents.actions import visible_incident
from bot.incidents.cards import CARD, CARD_SNOOZE, card_markup, card_text
from bot.incidents.coordinators import (
    acknowledge,
    add_note,
    ask_reporter,
    escalate_now,
    resolve,
    snooze,
)
from bot.incidents.view import queue_view, timeline_line
from bot.limits import mark_abuse
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, is_number
from bot.runtime.context import BotContext
from bot.timefmt import moment
from handlers.common import (
    answer,
    caller_of,
    esc,
    keyboard,
    lang_of,
    pages,
    private_only,
    send,
)
from handlers.dialog import (
    Answers,
    Flow,
    show,
    strip_keyboard,
)
from handlers.dialog import begin as begin_dialog
from handlers.incidents.common import (
    _cancel_only,
    _lang,
    _tell_anonymous,
    _wake,
    _zone_of,
)
from handlers.members.registration import typed_button
from storage.dialogs import Dialog
from storage.incidents import Incident

log = logging.getLogger(__name__)

CARD_PATTERN = CARD.pattern
COORD = "incx"  # a coordinator's text for a card button: outcome, progress note, question

# ---------------------------------------------------------------- coordinators: the card


async def press_card(update: Update, context: BotContext) -> None:
    """inc:<id>:ack|up|resolve|snooze:<hour|morning>|note|ask|abuse|abuse_yes — every press
    re-checks rights."""
    # long: one arm per button of the card
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    try:
        _, values = parse_any(query.data, CARD, CARD_SNOOZE)
    except WrongInput as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    incident_id = int(values[0])
    action = list(values[1:])
    store, settings, regions, now = (
        context.storage,
        context.settings,
        context.regions,
        context.now(),
    )
    try:
        if action == ["ack"]:
            taken = await acknowledge(store, settings, regions, caller, incident_id, now)
            await answer(query, t(lang, "incidents.taken"))
            await _tell_anonymous(context, taken, "acknowledged")
        elif action == ["up"]:
            incident = await escalate_now(store, settings, regions, caller, incident_id, now)
            await answer(
                query,
                t(lang, "incidents.passed_up", level=t(lang, f"incidents.level.{incident.level}")),
            )
        elif len(action) == 2 and action[0] == "snooze":
            incident = await snooze(store, settings, regions, caller, incident_id, action[1], now)
            zone = _zone_of(context, caller)
            until = moment(incident.snoozed_until or now, lang, zone)
            await answer(query, t(lang, "incidents.snoozed", until=until))
        elif action == ["abuse"]:
            incident = await visible_incident(store, caller, incident_id)
            if incident.abuse:
                raise WrongInput("incidents.abuse_already")
            await answer(query)
            rows = [
                [(t(lang, "incidents.abuse_yes"), CARD.pack(incident.id, "abuse_yes"))],
                [(t(lang, "revoke.no"), CARD.pack(incident.id, "abuse_no"))],
            ]
            await send(
                update, context, t(lang, "incidents.abuse_confirm", id=incident.id), keyboard(rows)
            )
            return
        elif action == ["abuse_no"]:
            await visible_incident(store, caller, incident_id)
            await answer(query, t(lang, "incidents.input_cancelled"))
            return
        elif action == ["abuse_yes"]:
            _, lowered = await mark_abuse(
                store, context.bot_data.reporters, caller, incident_id, now
            )
            key = "incidents.abuse_marked" if lowered else "incidents.abuse_marked_unknown"
            await answer(query, t(lang, key, id=incident_id), alert=True)
            return
        elif action in (["resolve"], ["note"], ["ask"]):
            incident = await visible_incident(store, caller, incident_id)
            if not incident.is_open:
                raise WrongInput("incidents.closed")
            await answer(query)
            dialog = await begin_dialog(
                context,
                telegram_id=caller.telegram_id,
                flow=COORD,
                step=action[0],
                data={"lang": lang, "incident": incident.id},
            )
            await show(context, dialog, new_message=True)
            return
        else:
            raise WrongInput("dialog.stale")
    except Refused as exc:
        await answer(
            query, t(lang, exc.key, **{k: str(v) for k, v in exc.params.items()}), alert=True
        )
        return
    _wake(context)


def coord_question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    lang = _lang(dialog)
    text = t(lang, f"incidents.ask_coord.{dialog.step}", id=dialog.data.get("incident"))
    return text, keyboard([[(t(lang, "common.cancel"), CANCEL)]])


async def coord_button(update: Update, context: BotContext) -> None:
    await _cancel_only(update, context, COORD, "incidents.input_cancelled")


async def coord_text(update: Update, context: BotContext, dialog: Dialog) -> None:
    """The outcome of 'Решено', a progress note, or a question to the reporter."""
    message = update.effective_message
    assert message is not None
    lang = _lang(dialog)
    text = message.text or ""
    if not text:
        await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.text_please"))
        return
    if typed_button(dialog, text) == ["dlg", "cancel"]:
        await dialogs.end(context.storage, dialog.telegram_id)
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        await send(update, context, t(lang, "incidents.input_cancelled"))
        return
    caller = await caller_of(update, context)
    incident_id = int(dialog.data["incident"])
    store, settings, regions, now = (
        context.storage,
        context.settings,
        context.regions,
        context.now(),
    )
    try:
        if dialog.step == "resolve":
            closed = await resolve(store, settings, regions, caller, incident_id, text, now)
            done = t(lang, "incidents.resolved", id=incident_id)
            await _tell_anonymous(context, closed, "resolved", outcome=esc(text.strip()))
        elif dialog.step == "note":
            await add_note(store, settings, regions, caller, incident_id, text, now)
            done = t(lang, "incidents.noted", id=incident_id)
        else:
            asked, sent = await ask_reporter(
                store, settings, regions, caller, incident_id, text, now
            )
            if not sent:
                sent = await _tell_anonymous(context, asked, "question", question=esc(text.strip()))
            done = t(lang, "incidents.asked" if sent else "incidents.asked_waits", id=incident_id)
    except Refused as exc:
        params = {k: str(v) for k, v in exc.params.items()}
        if exc.key.startswith("incidents.hint."):
            await show(context, dialog, new_message=True, hint=t(lang, exc.key, **params))
            return
        await dialogs.end(context.storage, dialog.telegram_id)
        await send(update, context, t(lang, exc.key, **params))
        return
    await dialogs.end(context.storage, dialog.telegram_id)
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    await send(update, context, done)
    _wake(context)


async def show_incident(update: Update, context: BotContext) -> None:
    """/incident <id>: the card with its buttons and the whole timeline."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    arg = (context.args or [""])[0].lstrip("#№")
    try:
        if not is_number(arg):
            raise WrongInput("incidents.which")
        incident = await visible_incident(context.storage, caller, int(arg))
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    await _send_card(update, context, caller, incident, lang)


async def _send_card(
    update: Update, context: BotContext, caller: Caller, incident: Incident, lang: str
) -> None:
    zone = _zone_of(context, caller)
    files = await context.storage.incidents.attachments(incident.id)
    text = card_text(incident, lang, zone, context.regions, len(files))
    markup = dict(card_markup(incident, lang) or {"inline_keyboard": []})
    if not incident.abuse:  # in /incident only: the cards in chats stay as they are
        abuse = {
            "text": t(lang, "incidents.button.abuse"),
            "callback_data": CARD.pack(incident.id, "abuse"),
        }
        markup["inline_keyboard"] = [*markup["inline_keyboard"], [abuse]]
    await send(update, context, text, InlineKeyboardMarkup.de_json(markup, context.bot))
    lines = [t(lang, "incidents.timeline_title", id=incident.id)]
    for entry in await context.storage.incidents.timeline(incident.id):
        lines.append(timeline_line(entry, lang, zone))
    first, *rest = list(pages(lines)) or [""]
    await send(update, context, first)
    caption = t(lang, "incidents.card.attachment_caption", id=incident.id)
    if await queue_view(context.storage, caller, incident, rest, caption, context.now()):
        _wake(context)


@dataclass
class CoordAnswers(Answers):
    """The incident a coordinator's typed text is for (an outcome, a note, a question)."""

    incident: int = 0


FLOW = Flow(
    COORD,
    render=coord_question,
    on_text=coord_text,
    on_button=coord_button,
    steps=("resolve", "note", "ask"),
    may_use=lambda caller: caller.is_admin or caller.is_coordinator,
    data=CoordAnswers,
)
