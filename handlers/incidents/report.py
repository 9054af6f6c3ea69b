"""The /report dialogue: one question per message, buttons wherever possible; sent as one
report with its first notifications (bot.incidents.report)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.buttons import BACK, CANCEL, Choices
from bot.i18n import t, tn
from bot.incidents.report import (
    CATEGORIES,
    CHOSEN_URGENCIES,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    MAX_ATTACHMENTS,
    PLACE_MAX,
    STATUS,
    report_from,
    submit,
)
from bot.incidents.urgent import waits_until
from bot.limits import count_report
from bot.refusals import Refused
from bot.roles.access import Caller, identify, is_number
from bot.runtime.context import BotContext
from bot.timefmt import moment
from handlers.common import (
    Button,
    edit_or_send,
    esc,
    keyboard,
    registered,
    send,
)
from handlers.dialog import (
    Answers,
    Flow,
    go,
    press_flow_button,
    show,
    strip_keyboard,
)
from handlers.dialog import begin as begin_dialog
from handlers.incidents.common import (
    _attachment,
    _home_zone,
    _lang,
    _reports_left,
    _too_many,
    _wake,
)
from handlers.incidents.fast import fast_answer, fast_button, fast_question, typed_choice
from storage.dialogs import Dialog

log = logging.getLogger(__name__)

REPORT = "rep"  # the /report dialogue
REP = Choices(REPORT)
REPORT_PATTERN = REP.pattern
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
    return [(t(lang, "common.back"), BACK), (t(lang, "common.cancel"), CANCEL)]


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
    # long: one arm per step of the dialogue
    data, step, lang = dialog.data, dialog.step, _lang(dialog)
    rows: list[list[Button]] = []
    if step == "danger":
        text = t(lang, "incidents.ask.danger")
        rows = [
            [(t(lang, "incidents.danger_yes"), REP.pack("danger", "yes"))],
            [(t(lang, "incidents.danger_no"), REP.pack("danger", "no"))],
            [(t(lang, "common.cancel"), CANCEL)],
        ]
    elif step == "category":
        text = t(lang, "incidents.ask.category")
        buttons = [
            (t(lang, f"incidents.category_button.{c}"), REP.pack("cat", c)) for c in CATEGORIES
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]  # fits a phone screen
        rows.append(_nav(lang))
    elif step == "region":
        own = context.regions.get(str(data.get("home", "")))
        text = t(lang, "incidents.ask.region")
        if own is not None:
            rows.append(
                [
                    (
                        t(lang, "incidents.region_own", region=own.name(lang)),
                        REP.pack("region", own.code),
                    )
                ]
            )
        rows.append(_nav(lang))
    elif step == "place":
        text = t(lang, "incidents.ask.place")
        rows = [[(t(lang, "incidents.skip"), REP.pack("place", "skip"))], _nav(lang)]
    elif step == "day":
        text = t(lang, "incidents.ask.day")
        rows = [
            [
                (t(lang, "incidents.today"), REP.pack("day", "0")),
                (t(lang, "incidents.yesterday"), REP.pack("day", "1")),
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
        rows = [[(t(lang, label), REP.pack("files", "done"))], _nav(lang)]
    elif step == "urgency":
        text = t(lang, "incidents.ask.urgency")
        rows = [
            [(t(lang, f"incidents.choose_urgency.{u}"), REP.pack("urgency", u))]
            for u in CHOSEN_URGENCIES
        ]
        rows.append(_nav(lang))
    elif step == "anonymity":
        text = t(lang, "incidents.ask.anonymity")
        rows = [
            [(t(lang, "incidents.named"), REP.pack("anon", "no"))],
            [(t(lang, "incidents.anonymous"), REP.pack("anon", "yes"))],
            _nav(lang),
        ]
    elif step == "fast":
        return fast_question(dialog)
    elif step == "summary":
        text = _summary(context, dialog)
        rows = [[(t(lang, "incidents.send"), REP.pack("send"))], _nav(lang)]
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
        urgent = (t(lang, "incidents.button.urgent"), STATUS.pack(incident.code, "urgent"))
        markup = keyboard([[urgent]])
    await edit_or_send(context, dialog.chat_id, dialog.message_id, text, markup)
    _wake(context)
    return ""


async def answer_report(update: Update, context: BotContext, dialog: Dialog) -> None:
    """A message while /report waits: text, a location, a voice message, photos, documents."""
    # long: one arm per step that takes typed text or a file
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


@dataclass
class ReportAnswers(Answers):
    """What /report gathers (kept in memory only: a report is never on disk before it is sent)."""

    home: str | None = None  # the reporter's own region (offered as a button)
    region: str | None = None
    danger: bool = False
    category: str | None = None
    place: str | None = None
    location: list[float] | None = None
    day: str | None = None  # ISO date
    description: str = ""
    files: list[list[str]] = field(default_factory=list)  # [kind, file id]
    urgency: str | None = None
    anonymous: bool | None = None


FLOW = Flow(
    REPORT,
    render=question,
    on_text=answer_report,
    on_button=press_button,
    prefix=REPORT,
    steps=(*STEPS, "fast"),
    volatile=True,
    data=ReportAnswers,
)
