"""Incident reports: the /report dialogue, /status for reporters, the coordinators' card
buttons, /incident and /incidents. Rules and permissions live in bot/incidents/."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot import dialogs
from bot.i18n import t, tn
from bot.incidents.actions import (
    acknowledge,
    add_note,
    ask_reporter,
    escalate_now,
    resolve,
    snooze,
    visible_incident,
    visible_open,
)
from bot.incidents.cards import card_markup, card_text
from bot.incidents.export import export_incidents, parse_period
from bot.incidents.report import (
    CATEGORIES,
    CHOSEN_URGENCIES,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    MAX_ATTACHMENTS,
    PLACE_MAX,
    incident_by_code,
    own_reports,
    report_from,
    submit,
)
from bot.incidents.reporters import add_details, answer_question, withdraw
from bot.incidents.urgent import make_urgent, waits_until
from bot.incidents.view import queue_view, timeline_line
from bot.limits import codes_refused, count_report, mark_abuse, wrong_code
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, identify, is_number
from bot.runtime.context import BotContext
from bot.timefmt import MOSCOW, moment
from handlers.common import (
    Button,
    answer,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    pages,
    private_only,
    registered,
    send,
    split_data,
    user_of,
)
from handlers.dialog import begin as begin_dialog
from handlers.dialog import button_not_current, go, press_flow_button, show, strip_keyboard
from handlers.incidents.common import (
    _attachment,
    _home_zone,
    _lang,
    _reports_left,
    _too_many,
    _wake,
)
from handlers.incidents.fast import fast_answer, fast_button, fast_question, typed_choice
from handlers.members.registration import typed_button
from storage.dialogs import Dialog
from storage.incidents import Incident

REPORT = "rep"  # the /report dialogue
REPORT_PATTERN = r"^rep:"
CARD_PATTERN = r"^inc:"
STATUS_PATTERN = r"^ist:"
LIST_PATTERN = r"^incl:"
COORD = "incx"  # a coordinator's text for a card button: outcome, progress note, question
REPORTER = "ist"  # a reporter's text: more details, an answer to a question
PAGE = 8
log = logging.getLogger(__name__)

STEPS = (
    "danger",
    "category",
    "region",
    "place",
    "day",
    "description",
    "files",
    "urgency",
    "anonymity",
    "summary",
)
TEXT_STEPS = ("region", "place", "day", "description", "files")


def _nav(lang: str) -> list[Button]:
    return [(t(lang, "common.back"), "dlg:back"), (t(lang, "common.cancel"), "dlg:cancel")]


FAST_STEPS = ("danger", "region", "fast")  # someone is in danger: sent after these (#13)


def _order(dialog: Dialog) -> tuple[str, ...]:
    return FAST_STEPS if dialog.data.get("danger") else STEPS


def _previous(dialog: Dialog) -> str | None:
    order = _order(dialog)
    index = order.index(dialog.step) if dialog.step in order else 0
    return order[index - 1] if index > 0 else None


def _next(dialog: Dialog, step: str) -> str:
    order = _order(dialog)
    return order[order.index(step) + 1]


# ---------------------------------------------------------------- the /report dialogue


def question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of the current step of /report."""
    data, step, lang = dialog.data, dialog.step, _lang(dialog)
    rows: list[list[Button]] = []
    if step == "danger":
        text = t(lang, "incidents.ask.danger")
        rows = [
            [(t(lang, "incidents.danger_yes"), "rep:danger:yes")],
            [(t(lang, "incidents.danger_no"), "rep:danger:no")],
            [(t(lang, "common.cancel"), "dlg:cancel")],
        ]
    elif step == "category":
        text = t(lang, "incidents.ask.category")
        buttons = [(t(lang, f"incidents.category_button.{c}"), f"rep:cat:{c}") for c in CATEGORIES]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]  # fits a phone screen
        rows.append(_nav(lang))
    elif step == "region":
        own = context.regions.get(str(data.get("home", "")))
        text = t(lang, "incidents.ask.region")
        if own is not None:
            rows.append(
                [(t(lang, "incidents.region_own", region=own.name(lang)), f"rep:region:{own.code}")]
            )
        rows.append(_nav(lang))
    elif step == "place":
        text = t(lang, "incidents.ask.place")
        rows = [[(t(lang, "incidents.skip"), "rep:place:skip")], _nav(lang)]
    elif step == "day":
        text = t(lang, "incidents.ask.day")
        rows = [
            [
                (t(lang, "incidents.today"), "rep:day:0"),
                (t(lang, "incidents.yesterday"), "rep:day:1"),
            ],
            _nav(lang),
        ]
    elif step == "description":
        text = t(lang, "incidents.ask.description", limit=DESCRIPTION_MAX)
        rows = [_nav(lang)]
    elif step == "files":
        count = len(data.get("files") or [])
        text = t(lang, "incidents.ask.files", limit=MAX_ATTACHMENTS)
        if count:
            text += "\n\n" + tn(lang, "incidents.files_received", count)
        label = "incidents.files_done" if count else "incidents.files_none"
        rows = [[(t(lang, label), "rep:files:done")], _nav(lang)]
    elif step == "urgency":
        text = t(lang, "incidents.ask.urgency")
        rows = [
            [(t(lang, f"incidents.choose_urgency.{u}"), f"rep:urgency:{u}")]
            for u in CHOSEN_URGENCIES
        ]
        rows.append(_nav(lang))
    elif step == "anonymity":
        text = t(lang, "incidents.ask.anonymity")
        rows = [
            [(t(lang, "incidents.named"), "rep:anon:no")],
            [(t(lang, "incidents.anonymous"), "rep:anon:yes")],
            _nav(lang),
        ]
    elif step == "fast":
        return fast_question(dialog)
    elif step == "summary":
        text = _summary(context, dialog)
        rows = [[(t(lang, "incidents.send"), "rep:send")], _nav(lang)]
    else:
        raise ValueError(f"unknown step {step}")
    return text, keyboard(rows)


def _summary(context: BotContext, dialog: Dialog) -> str:
    data, lang = dialog.data, _lang(dialog)
    region = context.regions.get(str(data.get("region", "")))
    urgency = "critical" if data.get("danger") else str(data.get("urgency", "normal"))
    files = data.get("files") or []
    place = str(data.get("place") or "")
    if data.get("location"):
        place = (place + " " if place else "") + t(lang, "incidents.location_shared")
    description = str(data.get("description") or "")
    if any(kind == "voice" for kind, _ in files) and not description:
        description = t(lang, "incidents.voice_only")
    return t(
        lang,
        "incidents.summary",
        category=t(lang, f"incidents.category.{data.get('category', 'misc')}"),
        urgency=t(lang, f"incidents.urgency.{urgency}"),
        region=esc(region.name(lang) if region else "—"),
        place=esc(place or "—"),
        day=date.fromisoformat(str(data["day"])).strftime("%d.%m.%Y") if data.get("day") else "—",
        description=esc(description[:600] + ("…" if len(description) > 600 else "")),
        files=len(files),
        who=t(lang, "incidents.anonymous" if data.get("anonymous") else "incidents.named"),
    )


async def start_report(update: Update, context: BotContext) -> None:
    """/report (and the menu button): one question per message, buttons wherever possible."""
    asking = await registered(update, context)
    if asking is None:
        return
    caller, member, lang = asking
    left, limit = await _reports_left(context, caller)
    if left <= 0:
        await send(update, context, _too_many(context, limit, lang))
        return
    dialog = await begin_dialog(
        context,
        telegram_id=caller.telegram_id,
        flow=REPORT,
        step="danger",
        data={"lang": lang, "home": member.region_code, "region": member.region_code, "files": []},
    )
    await show(context, dialog, new_message=True)


async def press_button(update: Update, context: BotContext) -> None:
    """Every button of the /report dialogue (rep:..., and dlg:back / dlg:cancel)."""
    await press_flow_button(update, context, REPORT, on_button, lost="incidents.draft_lost")


async def on_button(
    context: BotContext, caller: Caller, dialog: Dialog, parts: list[str]
) -> str | None:
    _data, lang = dialog.data, _lang(dialog)
    today = context.now().astimezone(_home_zone(context, dialog)).date()
    match parts:
        case ["dlg", "cancel"]:
            await dialogs.end(context.storage, dialog.telegram_id)
            await edit_or_send(
                context, dialog.chat_id, dialog.message_id, t(lang, "incidents.cancelled")
            )
        case ["dlg", "back"]:
            back = _previous(dialog)
            if back is None:
                return None
            await go(context, dialog, back)
        case ["rep", "danger", answer_] if dialog.step == "danger" and answer_ in ("yes", "no"):
            danger = answer_ == "yes"
            if danger:  # the emergency number first, before anything else
                await edit_or_send(
                    context, dialog.chat_id, dialog.message_id, t(lang, "incidents.emergency")
                )
                dialog = replace(dialog, message_id=None)
            await go(context, dialog, "region" if danger else "category", danger=danger)
        case ["rep", "fastanon", choice] if dialog.step == "fast":
            return await fast_button(context, dialog, choice)
        case ["rep", "cat", category] if dialog.step == "category" and category in CATEGORIES:
            await go(context, dialog, "region", category=category)
        case ["rep", "region", code] if dialog.step == "region" and context.regions.get(code):
            await go(context, dialog, _next(dialog, "region"), region=code)
        case ["rep", "place", "skip"] if dialog.step == "place":
            await go(context, dialog, "day", place=None, location=None)
        case ["rep", "day", ago] if dialog.step == "day" and ago in ("0", "1"):
            day = today - timedelta(days=int(ago))
            await go(context, dialog, "description", day=day.isoformat())
        case ["rep", "files", "done"] if dialog.step == "files":
            await go(context, dialog, _next(dialog, "files"))
        case ["rep", "urgency", urgency] if (
            dialog.step == "urgency" and urgency in CHOSEN_URGENCIES
        ):
            await go(context, dialog, "anonymity", urgency=urgency)
        case ["rep", "anon", choice] if dialog.step == "anonymity" and choice in ("yes", "no"):
            files = list(dialog.data.get("files") or [])
            kept = [f for f in files if choice == "no" or f[0] != "document"]
            hint = None
            if len(kept) < len(files):  # a document keeps its author and GPS data
                hint = tn(lang, "incidents.documents_dropped", len(files) - len(kept))
            await go(context, dialog, "summary", hint=hint, anonymous=choice == "yes", files=kept)
        case ["rep", "send"] if dialog.step == "summary":
            return await _send_report(context, caller, dialog)
        case _:
            return None
    return ""


async def _send_report(context: BotContext, caller: Caller, dialog: Dialog) -> str:
    lang = _lang(dialog)
    now = context.now()
    left, limit = await _reports_left(context, caller)
    if left <= 0:
        return _too_many(context, limit, lang)
    today = now.astimezone(_home_zone(context, dialog)).date()
    try:
        report = report_from(dict(dialog.data), context.regions, today)
    except Refused as exc:
        await go(context, dialog, "category", hint=t(lang, exc.key))
        return ""
    try:
        incident = await submit(
            context.storage,
            context.settings,
            context.regions,
            caller,
            report,
            now,
            dialog_flow=REPORT,
        )
    except Refused as exc:  # sent already (a second press)
        return t(lang, exc.key)
    await count_report(context.storage, context.bot_data.report_quota, caller, incident, now)
    if report.anonymous:  # in memory only, for an abuse mark
        context.bot_data.reporters.remember(incident.id, caller.telegram_id, now)
    context.bot_data.checkpoint_wanted = report.anonymous
    key = "incidents.receipt_anonymous" if report.anonymous else "incidents.receipt"
    until = await waits_until(context.storage, incident, now)
    if until is None:
        text, markup = t(lang, key, code=incident.code), None
    else:  # the coordinators' night: the truth, and a way not to wait
        at = moment(until, lang, _home_zone(context, dialog))
        text = t(lang, key.replace("receipt", "receipt_quiet"), code=incident.code, until=at)
        urgent = (t(lang, "incidents.button.urgent"), f"ist:{incident.code}:urgent")
        markup = keyboard([[urgent]])
    await edit_or_send(context, dialog.chat_id, dialog.message_id, text, markup)
    _wake(context)
    return ""


async def answer_report(update: Update, context: BotContext, dialog: Dialog) -> None:
    """A message while /report waits: text, a location, a voice message, photos, documents."""
    message = update.effective_message
    assert message is not None
    lang, step = _lang(dialog), dialog.step
    said = typed_choice(dialog, message.text or "")  # "анонимно" is a choice, not a description
    if said is not None and said[0] in ("dlg", REPORT):
        caller = await identify(context.storage, context.settings, dialog.telegram_id)
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        if await on_button(context, caller, replace(dialog, message_id=None), said) is None:
            await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.use_buttons"))
        return
    moved = replace(dialog, message_id=None)

    async def hint(key: str, **params: Any) -> None:
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        await show(context, moved, new_message=True, hint=t(lang, key, **params))

    async def ahead(step_name: str, **changes: Any) -> None:
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        await go(context, moved, step_name, **changes)

    text = (message.text or "").strip()
    if step == "fast":
        caller = await identify(context.storage, context.settings, dialog.telegram_id)
        await fast_answer(update, context, dialog, caller)
        return
    if step == "region" and text:
        found = context.regions.match(text[:100])
        if not found:
            await hint("incidents.hint.region", typed=esc(text[:100]))
            return
        await ahead(_next(dialog, "region"), region=found[0].code)
    elif step == "place" and message.location is not None:
        location = [message.location.latitude, message.location.longitude]
        await ahead("day", location=location)
    elif step == "place" and text:
        if len(text) > PLACE_MAX:
            await hint("incidents.hint.place", limit=PLACE_MAX)
            return
        await ahead("day", place=text)
    elif step == "day" and text:
        day = _typed_day(text, context.now().astimezone(_home_zone(context, dialog)).date())
        if day is None:
            await hint("incidents.hint.day")
            return
        await ahead("description", day=day.isoformat())
    elif step == "description" and message.voice is not None:
        files = list(dialog.data.get("files") or [])
        files.append(["voice", message.voice.file_id])
        await ahead("files", files=files, description=str(dialog.data.get("description") or ""))
    elif step == "description" and text:
        if len(text) < DESCRIPTION_MIN:
            await hint("incidents.hint.short", limit=DESCRIPTION_MIN)
            return
        if len(text) > DESCRIPTION_MAX:
            await hint("incidents.hint.too_long", limit=DESCRIPTION_MAX, length=len(text))
            return
        await ahead("files", description=text)
    elif step == "files" and _attachment(message) is not None:
        files = list(dialog.data.get("files") or [])
        if len(files) >= MAX_ATTACHMENTS:
            await hint("incidents.hint.files", limit=MAX_ATTACHMENTS)
            return
        files.append(list(_attachment(message) or ()))
        await ahead("files", files=files)
    elif step in TEXT_STEPS:
        await hint("incidents.hint.kind")
    else:
        await hint("reg.hint.use_buttons")


def _typed_day(text: str, today: date) -> date | None:
    """'12.11', '12.11.2026', '12.11.26' -> a date not in the future and not older than a year."""
    parts = [p for p in text.replace("/", ".").replace("-", ".").split(".") if p]
    if len(parts) not in (2, 3) or not all(is_number(p) for p in parts):
        return None
    day, month = int(parts[0]), int(parts[1])
    year = int(parts[2]) if len(parts) == 3 else today.year
    if year < 100:
        year += 2000
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if len(parts) == 2 and found > today:
        found = found.replace(year=year - 1)
    if found > today or found < today - timedelta(days=366):
        return None
    return found


# ---------------------------------------------------------------- coordinators: the card


async def press_card(update: Update, context: BotContext) -> None:
    """inc:<id>:ack|up|resolve|snooze:<hour|morning>|note|ask|abuse|abuse_yes — every press
    re-checks rights."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    parts = split_data(query)
    if len(parts) < 3 or not is_number(parts[1]):
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    incident_id, action = int(parts[1]), parts[2:]
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
                [(t(lang, "incidents.abuse_yes"), f"inc:{incident.id}:abuse_yes")],
                [(t(lang, "revoke.no"), f"inc:{incident.id}:abuse_no")],
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


async def _tell_anonymous(context: BotContext, incident: Incident, key: str, **params: Any) -> bool:
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
            data = f"ist:{incident.code}:reply:{questions[-1].id}"
            markup = keyboard([[(t(lang, "incidents.button.reply"), data)]])
    try:
        await context.bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramError as exc:
        log.info("a notice to an anonymous reporter failed: %s", type(exc).__name__)
        return False
    return True


def _zone_of(context: BotContext, caller: Caller) -> Any:
    region = context.regions.get(caller.member.region_code) if caller.member else None
    return region.tz if region else MOSCOW


def coord_question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    lang = _lang(dialog)
    text = t(lang, f"incidents.ask_coord.{dialog.step}", id=dialog.data.get("incident"))
    return text, keyboard([[(t(lang, "common.cancel"), "dlg:cancel")]])


async def coord_button(update: Update, context: BotContext) -> None:
    await _cancel_only(update, context, COORD, "incidents.input_cancelled")


async def _cancel_only(update: Update, context: BotContext, flow: str, done_key: str) -> None:
    query = update.callback_query
    assert query is not None
    dialog, _ = await dialogs.current(context.storage, user_of(update).id, context.now())
    if dialog is None or dialog.flow != flow or split_data(query) != ["dlg", "cancel"]:
        await button_not_current(update, context, dialog)
        return
    await answer(query)
    await dialogs.end(context.storage, dialog.telegram_id)
    await edit_or_send(context, dialog.chat_id, dialog.message_id, t(_lang(dialog), done_key))


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


# ---------------------------------------------------------------- coordinators: lists


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
            "callback_data": f"inc:{incident.id}:abuse",
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


STATE_FILTERS = {"open": ("new", "acknowledged"), "new": ("new",), "taken": ("acknowledged",)}


async def list_incidents(update: Update, context: BotContext) -> None:
    """/incidents [new|taken] [region]: open incidents the coordinator may see."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    args = list(context.args or [])
    state = "open"
    if args and args[0].casefold() in STATE_FILTERS:
        state = args.pop(0).casefold()
    region_code = ""
    if args:
        found = context.regions.match(" ".join(args)[:100])
        if not found:
            await send(
                update, context, t(lang, "incidents.hint.region", typed=esc(" ".join(args)[:100]))
            )
            return
        region_code = found[0].code
    try:
        text, markup = await _incidents_page(context, caller, lang, state, region_code, 0)
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    await send(update, context, text, markup)


async def press_list(update: Update, context: BotContext) -> None:
    """incl:<state>:<region>:<page> (filters and pages) and incl:open:<id> (a card)."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    parts = split_data(query)
    message = query.message
    try:
        if len(parts) == 3 and parts[1] == "card" and is_number(parts[2]):
            incident = await visible_incident(context.storage, caller, int(parts[2]))
            await answer(query)
            await _send_card(update, context, caller, incident, lang)
            return
        if (
            len(parts) != 4
            or parts[1] not in STATE_FILTERS
            or not is_number(parts[3])
            or message is None
        ):
            raise WrongInput("dialog.stale")
        if parts[2] and context.regions.get(parts[2]) is None:
            raise WrongInput("dialog.stale")
        text, markup = await _incidents_page(
            context, caller, lang, parts[1], parts[2], int(parts[3])
        )
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    await answer(query)
    await edit_or_send(context, message.chat.id, message.message_id, text, markup)


async def _incidents_page(
    context: BotContext, caller: Caller, lang: str, state: str, region_code: str, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    incidents = await visible_open(
        context.storage, caller, states=STATE_FILTERS[state], region=region_code or None
    )
    pages = max(1, (len(incidents) + PAGE - 1) // PAGE)
    page = max(0, min(page, pages - 1))
    region = context.regions.get(region_code) if region_code else None
    lines = [
        t(
            lang,
            "incidents.list_title",
            state=t(lang, f"incidents.filter.{state}"),
            region=esc(region.name(lang)) if region else t(lang, "incidents.all_regions"),
        )
    ]
    if pages > 1:
        lines[0] += " " + t(lang, "events.page", page=page + 1, pages=pages)
    if not incidents:
        lines.append(t(lang, "incidents.list_empty"))
    rows: list[list[Button]] = []
    zone = _zone_of(context, caller)
    for incident in incidents[page * PAGE : (page + 1) * PAGE]:
        where = context.regions.get(incident.region_code)
        lines.append(
            t(
                lang,
                "incidents.list_line",
                id=incident.id,
                urgency=t(lang, f"incidents.urgency.{incident.urgency}"),
                category=t(lang, f"incidents.category.{incident.category}"),
                region=esc(where.name(lang) if where else incident.region_code),
                at=moment(incident.created_at, lang, zone),
                state=t(lang, f"incidents.state.{incident.state}"),
            )
        )
        rows.append([(t(lang, "incidents.open_card", id=incident.id), f"incl:card:{incident.id}")])
    filters_row: list[Button] = [
        (
            ("✅ " if key == state else "") + t(lang, f"incidents.filter.{key}"),
            f"incl:{key}:{region_code}:0",
        )
        for key in STATE_FILTERS
    ]
    rows.append(filters_row)
    turn: list[Button] = []
    if page > 0:
        turn.append((t(lang, "events.previous"), f"incl:{state}:{region_code}:{page - 1}"))
    if page + 1 < pages:
        turn.append((t(lang, "events.next"), f"incl:{state}:{region_code}:{page + 1}"))
    if turn:
        rows.append(turn)
    return "\n\n".join(lines), keyboard(rows)


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
            [(f"{i.code} · {t(lang, f'incidents.state.{i.state}')}", f"ist:{i.code}:show")]
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
            rows.append([(t(lang, "incidents.button.reply"), f"ist:{incident.code}:reply:{q.id}")])
    if incident.is_open:
        rows.append([(t(lang, "incidents.button.details"), f"ist:{incident.code}:details")])
        rows.append([(t(lang, "incidents.button.withdraw"), f"ist:{incident.code}:withdraw")])
    return "\n\n".join(lines), keyboard(rows) if rows else None


async def press_status(update: Update, context: BotContext) -> None:
    """ist:<code>:show|details|withdraw|withdraw_yes|reply:<question> — the code is the key."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    parts = split_data(query)
    message = query.message
    if len(parts) < 3 or message is None:
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    code, action = parts[1], parts[2:]
    now = context.now()
    quota = context.bot_data.code_quota  # button data is typed by nobody: guessing counts too
    if await codes_refused(context.storage, quota, caller.telegram_id, now, code):
        await answer(query, t(lang, "incidents.code_tries"), alert=True)
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
                    [(t(lang, "incidents.withdraw_yes"), f"ist:{incident.code}:withdraw_yes")],
                    [(t(lang, "revoke.no"), f"ist:{incident.code}:show")],
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
        elif action == ["details"] or (
            len(action) == 2 and action[0] == "reply" and is_number(action[1])
        ):
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
    return text, keyboard([[(t(lang, "common.cancel"), "dlg:cancel")]])


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


async def export(update: Update, context: BotContext) -> None:
    """/export_incidents [from] [to]: XLSX and CSV of the period (admins: every field)."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    zone = _zone_of(context, caller)
    try:
        start, end = parse_period(list(context.args or []), context.now().astimezone(zone).date())
        done = await export_incidents(
            context.storage, caller, context.regions, start, end, zone, lang
        )
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    period = f"{done.start:%d.%m.%Y}–{done.end:%d.%m.%Y}"
    if not done.count:
        await send(update, context, t(lang, "incidents.export.nothing", period=period))
        return
    key = "incidents.export.caption_full" if done.full else "incidents.export.caption"
    caption = tn(lang, key, done.count, period=period)
    name = f"incidents-{done.start:%Y%m%d}-{done.end:%Y%m%d}"
    await context.bot.send_document(
        caller.telegram_id, done.xlsx, filename=f"{name}.xlsx", caption=caption
    )
    await context.bot.send_document(caller.telegram_id, done.csv, filename=f"{name}.csv")
