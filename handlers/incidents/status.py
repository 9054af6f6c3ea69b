"""/status for reporters: the receipt code is the key to a report; its buttons (withdraw, add
details, answer a question, make it urgent) and the reporter's typed text (REPORTER dialogue)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.buttons import CANCEL, parse_any
from bot.i18n import t
from bot.incidents.report import (
    STATUS,
    STATUS_REPLY,
    incident_by_code,
    own_reports,
)
from bot.incidents.reporters import add_details, answer_question, withdraw
from bot.incidents.urgent import make_urgent
from bot.limits import codes_refused, wrong_code
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller
from bot.runtime.context import BotContext
from bot.timefmt import moment
from handlers.common import (
    Button,
    answer,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
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
    _attachment,
    _cancel_only,
    _lang,
    _wake,
    _zone_of,
)
from handlers.members.registration import typed_button
from storage.dialogs import Dialog
from storage.incidents import Incident

log = logging.getLogger(__name__)

STATUS_PATTERN = STATUS.pattern
REPORTER = "ist"  # a reporter's text: more details, an answer to a question

# ---------------------------------------------------------------- reporters: /status


async def show_status(update: Update, context: BotContext) -> None:
    """/status <code>: the state of a report, questions waiting, add details or withdraw.
    Without a code: the member's own named reports."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    if not context.args:
        if caller.member is None:
            await send(update, context, t(lang, "incidents.status_how"))
            return
        mine = list(await own_reports(context.storage, caller))[:20]
        if not mine:
            await send(update, context, t(lang, "incidents.status_how"))
            return
        rows = [
            [(f"{i.code} · {t(lang, f'incidents.state.{i.state}')}", STATUS.pack(i.code, "show"))]
            for i in mine
        ]
        await send(update, context, t(lang, "incidents.status_pick"), keyboard(rows))
        return
    await _status_of(update, context, caller, " ".join(context.args)[:40], lang)


async def _status_of(
    update: Update, context: BotContext, caller: Caller, code_text: str, lang: str
) -> None:
    quota = context.bot_data.code_quota
    now = context.now()
    if await codes_refused(context.storage, quota, caller.telegram_id, now, code_text):
        await send(update, context, t(lang, "incidents.code_tries"))
        return
    try:
        incident = await incident_by_code(context.storage, context.settings, code_text, now)
    except Refused as exc:
        await wrong_code(context.storage, quota, caller.telegram_id, now, code_text)
        await send(update, context, t(lang, exc.key))
        return
    context.bot_data.checkpoint_wanted = incident.anonymous  # the code and the id: not kept
    if incident.anonymous and incident.is_open:
        context.bot_data.watchers.watch(incident.id, caller.telegram_id, lang, now)
    text, markup = await _status_card(context, caller, incident, lang)
    await send(update, context, text, markup)


async def _status_card(
    context: BotContext, caller: Caller, incident: Incident, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    zone = _zone_of(context, caller)
    lines = [
        t(
            lang,
            "incidents.status",
            code=incident.code,
            category=t(lang, f"incidents.category.{incident.category}"),
            at=moment(incident.created_at, lang, zone),
            state=t(lang, f"incidents.state.{incident.state}"),
        )
    ]
    if incident.state == "resolved" and incident.outcome:
        lines.append(t(lang, "incidents.status_outcome", outcome=esc(incident.outcome)))
    rows: list[list[Button]] = []
    for q in await context.storage.incidents.questions(incident.id):
        if q.answer is None and incident.is_open:
            lines.append(t(lang, "incidents.status_question", question=esc(q.question)))
            rows.append(
                [
                    (
                        t(lang, "incidents.button.reply"),
                        STATUS_REPLY.pack(incident.code, "reply", q.id),
                    )
                ]
            )
    if incident.is_open:
        rows.append([(t(lang, "incidents.button.details"), STATUS.pack(incident.code, "details"))])
        rows.append(
            [(t(lang, "incidents.button.withdraw"), STATUS.pack(incident.code, "withdraw"))]
        )
    return "\n\n".join(lines), keyboard(rows) if rows else None


async def press_status(update: Update, context: BotContext) -> None:
    """ist:<code>:show|details|withdraw|withdraw_yes|reply:<question> — the code is the key."""
    # long: one arm per button of the status card
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    message = query.message
    if message is None:
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    try:
        _, (code, *action) = parse_any(query.data, STATUS, STATUS_REPLY)
    except WrongInput:
        code, action = "", []
    now = context.now()
    quota = context.bot_data.code_quota  # button data is typed by nobody: guessing counts too
    if await codes_refused(context.storage, quota, caller.telegram_id, now, code):
        await answer(query, t(lang, "incidents.code_tries"), alert=True)
        return
    if not code:  # forged data: it counts as a wrong code, so a guesser cannot go around that
        await wrong_code(context.storage, quota, caller.telegram_id, now)
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    try:
        try:
            incident = await incident_by_code(context.storage, context.settings, code, now)
        except WrongInput:
            await wrong_code(context.storage, quota, caller.telegram_id, now, code)
            raise
        context.bot_data.checkpoint_wanted = incident.anonymous
        if incident.anonymous and incident.is_open:
            context.bot_data.watchers.watch(incident.id, caller.telegram_id, lang, now)
        if action == ["show"]:
            await answer(query)
            text, markup = await _status_card(context, caller, incident, lang)
            await send(update, context, text, markup)
        elif action == ["withdraw"]:
            if not incident.is_open:
                raise WrongInput("incidents.closed")
            await answer(query)
            markup = keyboard(
                [
                    [
                        (
                            t(lang, "incidents.withdraw_yes"),
                            STATUS.pack(incident.code, "withdraw_yes"),
                        )
                    ],
                    [(t(lang, "revoke.no"), STATUS.pack(incident.code, "show"))],
                ]
            )
            await edit_or_send(
                context,
                message.chat.id,
                message.message_id,
                t(lang, "incidents.withdraw_confirm", code=incident.code),
                markup,
            )
        elif action == ["urgent"]:
            _, waiting = await make_urgent(
                context.storage, context.settings, context.regions, code, now
            )
            await answer(query)
            key = "incidents.made_urgent" if waiting else "incidents.made_urgent_delivered"
            text = t(lang, key, code=incident.code)
            await edit_or_send(context, message.chat.id, message.message_id, text)
            _wake(context)
        elif action == ["withdraw_yes"]:
            await withdraw(context.storage, context.settings, context.regions, incident.code, now)
            await answer(query)
            await edit_or_send(
                context,
                message.chat.id,
                message.message_id,
                t(lang, "incidents.withdrawn", code=incident.code),
            )
            _wake(context)
        elif action and action[0] in ("details", "reply"):
            if not incident.is_open:
                raise WrongInput("incidents.closed")
            data: dict[str, Any] = {"lang": lang, "code": incident.code}
            if action[0] == "reply":
                q = await context.storage.incidents.question(int(action[1]))
                if q is None or q.incident_id != incident.id:
                    raise WrongInput("dialog.stale")
                if q.answer is not None:
                    raise WrongInput("incidents.already_answered")
                data["question"] = q.id
            await answer(query)
            dialog = await begin_dialog(
                context, telegram_id=caller.telegram_id, flow=REPORTER, step=action[0], data=data
            )
            await show(context, dialog, new_message=True)
        else:
            raise WrongInput("dialog.stale")
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)


def reporter_question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    lang = _lang(dialog)
    text = t(lang, f"incidents.ask_reporter.{dialog.step}", code=dialog.data.get("code"))
    return text, keyboard([[(t(lang, "common.cancel"), CANCEL)]])


async def reporter_button(update: Update, context: BotContext) -> None:
    await _cancel_only(update, context, REPORTER, "incidents.input_cancelled")


async def reporter_text(update: Update, context: BotContext, dialog: Dialog) -> None:
    """More details (text, photo, document, voice) or the answer to a coordinator's question."""
    message = update.effective_message
    assert message is not None
    lang = _lang(dialog)
    text = message.text or message.caption or ""
    if typed_button(dialog, text) == ["dlg", "cancel"]:
        await dialogs.end(context.storage, dialog.telegram_id)
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        await send(update, context, t(lang, "incidents.input_cancelled"))
        return
    code = str(dialog.data["code"])
    store, settings, regions, now = (
        context.storage,
        context.settings,
        context.regions,
        context.now(),
    )
    try:
        if dialog.step == "reply":
            if not text:
                raise WrongInput("incidents.hint.text_please")
            await answer_question(
                store, settings, regions, code, int(dialog.data["question"]), text, now
            )
            done = t(lang, "incidents.answer_sent")
        else:
            attachment = _attachment(message)
            await add_details(store, settings, regions, code, text, attachment, now)
            done = t(lang, "incidents.details_sent")
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
    context.bot_data.checkpoint_wanted = True  # what was typed to a code leaves the -wal file
    _wake(context)


@dataclass
class ReporterAnswers(Answers):
    """The report (by its receipt code only) a reporter's typed text is for, and the question
    it answers."""

    code: str = ""
    question: int | None = None


FLOW = Flow(
    REPORTER,
    render=reporter_question,
    on_text=reporter_text,
    on_button=reporter_button,
    steps=("details", "reply"),
    volatile=True,
    data=ReporterAnswers,
)
