"""Events: the /new_event dialogue for coordinators, answers of members, /events, calendar."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.evaluations import (
    CUSTOM_MAX,
    CUSTOM_OPTIONS_MAX,
    CUSTOM_TEXT_MAX,
    KINDS,
    TEMPLATES,
    valid_custom,
)
from bot.events.announce import (
    audience_size,
    organiser_zone,
    preview_event,
    publish,
    target_choice,
    too_long_by,
)
from bot.events.cards import announcement, when_text
from bot.events.checkin import check_in, checkin_message, checkin_payload
from bot.events.files import checkin_qr, participants_xlsx
from bot.events.manage import (
    EDITABLE,
    cancel_event,
    edit_event,
    managed_event,
    managed_events,
    visible_participants,
)
from bot.events.parse import (
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    PLACE_MAX,
    TITLE_MAX,
    at_time,
    is_blank_title,
    is_url,
    parse_time,
    parse_when,
    split_program,
)
from bot.events.rsvp import upcoming_for, visible_event
from bot.i18n import t, tn
from bot.outbox import progress_text
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, identify, is_number, require_coordinator
from bot.runtime.context import BotContext
from bot.timefmt import MOSCOW, offset_label, zone_name
from handlers.audience import region_rows, toggle_regions, topic_rows, typed_region
from handlers.common import (
    Button,
    answer,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    private_only,
    registered,
    send,
    split_data,
    user_of,
)
from handlers.dialog import begin as begin_dialog
from handlers.dialog import button_not_current, go, press_flow_button, show, strip_keyboard
from handlers.events.answers import send_event
from handlers.members.registration import typed_button
from storage.dialogs import Dialog
from storage.events import Event, NewEvent

EVT = "evt"
CALLBACK_PATTERN = r"^evt:"
TIMES = ("09:00", "10:00", "11:00", "12:00", "14:00", "15:00", "16:00", "18:00")
DURATIONS = (60, 120, 180, 240, 360, 480, 1440 * 2, 1440 * 3)
CAPACITIES = (20, 30, 50, 100)
DAYS_OFFERED = 10
TEXT_STEPS = (
    "title",
    "description",
    "program",
    "start_day",
    "start_time",
    "duration",
    "place",
    "q_text",
    "q_options",
)


def _zone(dialog: Dialog) -> ZoneInfo:
    return ZoneInfo(str(dialog.data.get("zone", "Europe/Moscow")))


def _lang(dialog: Dialog) -> str:
    return str(dialog.data.get("lang", "ru"))


def _nav(lang: str) -> list[Button]:
    return [(t(lang, "common.back"), "dlg:back"), (t(lang, "common.cancel"), "dlg:cancel")]


def draft_of(dialog: Dialog, caller_member_id: int | None) -> NewEvent | None:
    data = dialog.data
    try:
        starts = datetime.fromisoformat(str(data["start"]))
        ends = datetime.fromisoformat(str(data["end"]))
        return NewEvent(
            title=str(data["title"]),
            description=str(data["description"]),
            program=tuple(data.get("program") or ()),
            starts_at=starts,
            ends_at=ends,
            tz=str(data.get("zone", "Europe/Moscow")),
            place=data.get("place"),
            online_url=data.get("online"),
            capacity=data.get("capacity") or None,
            regions=tuple(data.get("regions") or ()),
            topics=tuple(data.get("topics") or ()),
            created_by=caller_member_id,
            checkin_secret=str(data.get("secret") or secrets.token_urlsafe(9)),
            evaluation=_evaluation(data),
        )
    except (KeyError, ValueError, TypeError):
        return None


def question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of the current step of /new_event."""
    data, step, lang, zone = dialog.data, dialog.step, _lang(dialog), _zone(dialog)
    rows: list[list[Button]] = []
    if step == "title":
        text = t(lang, "events.ask_title")
        rows = [[(t(lang, "common.cancel"), "dlg:cancel")]]
    elif step == "description":
        text = t(lang, "events.ask_description")
        rows = [_nav(lang)]
    elif step == "program":
        text = t(lang, "events.ask_program")
        rows = [[(t(lang, "events.skip"), "evt:skip")], _nav(lang)]
    elif step == "start_day":
        now = context.now()
        text = t(
            lang, "events.ask_day", zone=f"{zone_name(zone, lang, now)}, {offset_label(now, zone)}"
        )
        today = context.now().astimezone(zone).date()
        days = [today + timedelta(days=i) for i in range(DAYS_OFFERED)]
        buttons = [(_day_label(d, lang), f"evt:day:{d.isoformat()}") for d in days]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append(_nav(lang))
    elif step == "start_time":
        day = date.fromisoformat(str(data["day"]))
        text = t(lang, "events.ask_time", day=_day_label(day, lang))
        buttons = [(hm, f"evt:time:{hm.replace(':', '')}") for hm in TIMES]
        rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
        rows.append(_nav(lang))
    elif step == "duration":
        text = t(lang, "events.ask_duration")
        buttons = [(_duration_label(m, lang), f"evt:dur:{m}") for m in DURATIONS]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append(_nav(lang))
    elif step == "place":
        text = t(lang, "events.ask_place")
        rows = [_nav(lang)]
    elif step == "regions":
        text = t(lang, "events.ask_regions", chosen=len(data.get("regions") or []))
        rows = region_rows(context, data, lang, "evt")
        rows.append(_nav(lang))
    elif step == "topics":
        text = t(lang, "events.ask_topics")
        rows = topic_rows(context, data, lang, "evt")
        rows.append(_nav(lang))
    elif step == "capacity":
        text = t(lang, "events.ask_capacity")
        rows = [[(t(lang, "events.no_limit"), "evt:cap:0")]]
        rows.append([(str(n), f"evt:cap:{n}") for n in CAPACITIES])
        rows.append(_nav(lang))
    elif step == "evaluation":
        text, rows = _evaluation_menu(data, lang)
    elif step == "q_kind":
        text = t(lang, "events.eval.ask_kind")
        rows = [[(t(lang, f"events.eval.kind.{k}"), f"evt:qkind:{k}")] for k in KINDS]
        rows.append([(t(lang, "common.back"), "evt:qback")])
    elif step == "q_text":
        text = t(lang, "events.eval.ask_text", limit=CUSTOM_TEXT_MAX)
        rows = [[(t(lang, "common.back"), "evt:qback")]]
    elif step == "q_options":
        text = t(lang, "events.eval.ask_options", most=CUSTOM_OPTIONS_MAX)
        rows = [[(t(lang, "common.back"), "evt:qback")]]
    elif step == "preview":
        draft = draft_of(dialog, None)
        assert draft is not None
        card = announcement(preview_event(draft), lang, zone, context.regions, context.topics)
        text = t(
            lang,
            "events.preview",
            card=card,
            count=data.get("audience", 0),
            survey=_evaluation_summary(data, lang),
            unreachable=(
                t(lang, "events.preview_unreachable", n=data["unreachable"])
                if data.get("unreachable")
                else ""
            ),
        )
        rows = [
            [(t(lang, "events.publish"), "evt:publish")],
            [(t(lang, "reg.edit"), "evt:edit")],
            [(t(lang, "common.cancel"), "dlg:cancel")],
        ]
    elif step == "edit":
        text = t(lang, "reg.edit_which")
        fields = ("title", "description", "program", "start_day", "place", "regions")
        rows = [[(t(lang, f"events.field.{f}"), f"evt:edit:{f}")] for f in fields]
        rows.append([(t(lang, "events.field.topics"), "evt:edit:topics")])
        rows.append([(t(lang, "events.field.capacity"), "evt:edit:capacity")])
        rows.append([(t(lang, "events.field.evaluation"), "evt:edit:evaluation")])
        rows.append(_nav(lang))
    else:
        raise ValueError(f"unknown step {step}")
    return text, keyboard(rows)


def _evaluation(data: dict[str, Any]) -> dict[str, Any]:
    chosen = dict(data.get("eval") or {})
    return {
        "template": chosen.get("template", "standard"),
        "anonymous": bool(chosen.get("anonymous")),
        "followup": bool(chosen.get("followup")),
        "custom": list(chosen.get("custom") or []),
    }


def _evaluation_summary(data: dict[str, Any], lang: str) -> str:
    chosen = _evaluation(data)
    if chosen["template"] == "none":
        return t(lang, "events.eval.summary_none")
    count = len(TEMPLATES[chosen["template"]]) + len(chosen["custom"])
    parts = [
        t(lang, f"events.eval.template.{chosen['template']}"),
        tn(lang, "events.eval.questions", count),
    ]
    if chosen["anonymous"]:
        parts.append(t(lang, "events.eval.anonymous_on"))
    if chosen["followup"]:
        parts.append(t(lang, "events.eval.followup_on"))
    return t(lang, "events.eval.summary", what=", ".join(parts))


def _evaluation_menu(data: dict[str, Any], lang: str) -> tuple[str, list[list[Button]]]:
    """The questionnaire after the event: a template, own questions, anonymity, follow-up."""
    chosen = _evaluation(data)
    lines = [t(lang, "events.eval.title"), _evaluation_summary(data, lang)]
    for n, custom in enumerate(chosen["custom"], start=1):
        kind = t(lang, f"events.eval.kind.{custom['kind']}")
        lines.append(f"{n}. {esc(custom['text'])} <i>({kind})</i>")

    def mark(on: bool) -> str:
        return "✅ " if on else ""

    rows: list[list[Button]] = []
    labels = [
        (mark(chosen["template"] == k) + t(lang, f"events.eval.template.{k}"), f"evt:tpl:{k}")
        for k in TEMPLATE_CHOICES
    ]
    rows += [labels[0:2], labels[2:4]]
    if chosen["template"] != "none":
        yes, no = t(lang, "events.eval.yes"), t(lang, "events.eval.no")
        rows.append(
            [
                (
                    t(lang, "events.eval.anonymous", value=yes if chosen["anonymous"] else no),
                    "evt:anon",
                ),
                (
                    t(lang, "events.eval.followup", value=yes if chosen["followup"] else no),
                    "evt:fup",
                ),
            ]
        )
        if len(chosen["custom"]) < CUSTOM_MAX:
            rows.append([(t(lang, "events.eval.add"), "evt:addq")])
        if chosen["custom"]:
            rows.append([(t(lang, "events.eval.clear"), "evt:clearq")])
    rows.append([(t(lang, "events.eval.done"), "evt:eval_done")])
    rows.append(_nav(lang))
    return "\n".join(lines), rows


def _day_label(day: date, lang: str) -> str:
    return format_date(day, "EEE d MMM", locale=lang if lang in ("ru", "en") else "ru")


def _duration_label(minutes: int, lang: str) -> str:
    if minutes % 1440 == 0:
        return tn(lang, "events.days", minutes // 1440)
    return tn(lang, "events.hours", minutes // 60)


ORDER = (
    "title",
    "description",
    "program",
    "start_day",
    "start_time",
    "duration",
    "place",
    "regions",
    "topics",
    "capacity",
    "evaluation",
    "preview",
)
EVAL_STEPS = ("evaluation", "q_kind", "q_text", "q_options")
TEMPLATE_CHOICES = ("standard", "short", "conference", "none")


def _next_step(dialog: Dialog, done: str) -> str:
    """After `done`: the next question, or the preview when editing one field."""
    if dialog.data.get("editing") and done not in ("start_day", "start_time"):
        return "preview"
    step = ORDER[ORDER.index(done) + 1]
    if step == "regions" and _single_region(dialog):
        return _next_step(dialog, "regions")
    return step


def _single_region(dialog: Dialog) -> bool:
    return not dialog.data.get("federal") and len(dialog.data.get("allowed") or []) == 1


def _previous(dialog: Dialog) -> str | None:
    if dialog.step in ("preview", "title"):
        return None
    if dialog.step in EVAL_STEPS[1:]:  # a question of their own: back to the questionnaire
        return "evaluation"
    if dialog.step == "edit" or dialog.data.get("editing"):
        return "preview"
    step = ORDER[ORDER.index(dialog.step) - 1]
    if step == "regions" and _single_region(dialog):
        step = "place"
    return step


# ---------------------------------------------------------------- entering


async def new_event(update: Update, context: BotContext) -> None:
    """/new_event: a coordinator announces a seminar, training or conference."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        choice = target_choice(caller, context.regions)
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    data: dict[str, Any] = {
        **choice,
        "lang": lang,
        "zone": organiser_zone(caller, context.regions).key,
        "secret": secrets.token_urlsafe(9),
    }
    await send(update, context, t(lang, "events.intro"))
    dialog = await begin_dialog(
        context,
        telegram_id=caller.telegram_id,
        flow=EVT,
        step="title",
        data=data,
    )
    await show(context, dialog, new_message=True)


# ---------------------------------------------------------------- buttons


async def press_button(update: Update, context: BotContext) -> None:
    """Every button of the /new_event dialogue (evt:...)."""
    await press_flow_button(update, context, EVT, _coordinator_button)


async def _coordinator_button(
    context: BotContext, caller: Caller, dialog: Dialog, parts: list[str]
) -> str | None:
    require_coordinator(caller)
    try:
        return await on_button(context, caller, dialog, parts)
    except WrongInput as exc:  # the engine renders refusals of rights (NotAllowed) itself
        return t(_lang(dialog), exc.key, **exc.params)


async def on_button(
    context: BotContext, caller: Caller, dialog: Dialog, parts: list[str]
) -> str | None:
    """Act on a button: '' when done, a text for an alert, None if the button is stale."""
    step, data, lang, zone = dialog.step, dialog.data, _lang(dialog), _zone(dialog)
    match parts:
        case ["dlg", "cancel"]:
            await dialogs.end(context.storage, dialog.telegram_id)
            text = t(lang, "events.cancelled_draft")
            await edit_or_send(context, dialog.chat_id, dialog.message_id, text)
        case ["dlg", "back"]:
            target = _previous(dialog)
            if target is None:
                return None
            if target == "preview" and not data.get("regions"):
                return t(lang, "events.hint.pick_region")
            await _to_preview_or(context, dialog, target)
        case ["evt", "skip"] if step == "program":
            await go(context, dialog, _next_step(dialog, "program"), program=[])
        case ["evt", "day", iso] if step == "start_day":
            try:
                day = date.fromisoformat(iso)
            except ValueError:
                return None
            if day < context.now().astimezone(zone).date():
                return t(lang, "events.hint.past")
            await go(context, dialog, "start_time", day=iso)
        case ["evt", "time", hhmm] if step == "start_time" and len(hhmm) == 4 and is_number(hhmm):
            return await _start_chosen(context, dialog, int(hhmm[:2]), int(hhmm[2:]))
        case ["evt", "dur", minutes] if step == "duration" and is_number(minutes):
            if int(minutes) not in DURATIONS:
                return None
            start = datetime.fromisoformat(str(data["start"]))
            end = start + timedelta(minutes=int(minutes))
            await go(context, dialog, _next_step(dialog, "duration"), end=end.isoformat())
        case ["evt", "reg" | "dist" | "all", *_] if step == "regions":
            picked = toggle_regions(context, data, parts)
            if picked is None:
                return None
            await go(context, dialog, "regions", regions=picked)
        case ["evt", "regions_done"] if step == "regions":
            if not data.get("regions"):
                return t(lang, "events.hint.pick_region")
            await _to_preview_or(context, dialog, _next_step(dialog, "regions"))
        case ["evt", "topic", code] if step == "topics":
            if code not in {tp.code for tp in context.topics}:
                return None
            chosen = set(data.get("topics") or [])
            chosen ^= {code}
            await go(context, dialog, "topics", topics=sorted(chosen))
        case ["evt", "topics_done"] if step == "topics":
            await _to_preview_or(context, dialog, _next_step(dialog, "topics"))
        case ["evt", "topics_all"] if step == "topics":  # everyone: no choice by topics
            await _to_preview_or(context, dialog, _next_step(dialog, "topics"), topics=[])
        case ["evt", "cap", number] if step == "capacity" and is_number(number):
            if int(number) not in (0, *CAPACITIES):
                return None
            await _to_preview_or(
                context, dialog, _next_step(dialog, "capacity"), capacity=int(number) or None
            )
        case ["evt", "tpl", key] if step == "evaluation" and key in TEMPLATE_CHOICES:
            await go(context, dialog, "evaluation", eval={**_evaluation(data), "template": key})
        case ["evt", "anon" | "fup"] if step == "evaluation":
            field = "anonymous" if parts[1] == "anon" else "followup"
            survey = _evaluation(data)
            await go(context, dialog, "evaluation", eval={**survey, field: not survey[field]})
        case ["evt", "addq"] if step == "evaluation":
            if len(_evaluation(data)["custom"]) >= CUSTOM_MAX:
                return None
            await go(context, dialog, "q_kind")
        case ["evt", "clearq"] if step == "evaluation":
            await go(context, dialog, "evaluation", eval={**_evaluation(data), "custom": []})
        case ["evt", "qkind", kind] if step == "q_kind" and kind in KINDS:
            await go(context, dialog, "q_text", q_kind=kind)
        case ["evt", "qback"] if step in ("q_kind", "q_text", "q_options"):
            await go(context, dialog, "evaluation")
        case ["evt", "eval_done"] if step == "evaluation":
            await _to_preview_or(context, dialog, "preview")
        case ["evt", "edit"] if step == "preview":
            await go(context, dialog, "edit")
        case ["evt", "edit", field] if step == "edit":
            if field not in (
                "title",
                "description",
                "program",
                "start_day",
                "place",
                "regions",
                "topics",
                "capacity",
                "evaluation",
            ):
                return None
            if field == "regions" and _single_region(dialog):
                return t(lang, "events.hint.one_region")
            await go(context, dialog, field, editing=True)
        case ["evt", "publish"] if step == "preview":
            await _publish(context, caller, dialog)
        case _:
            return None
    return ""


async def _start_chosen(context: BotContext, dialog: Dialog, hour: int, minute: int) -> str:
    lang, zone = _lang(dialog), _zone(dialog)
    if hour > 23 or minute > 59:
        return t(lang, "events.hint.bad_time")
    day = date.fromisoformat(str(dialog.data["day"]))
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    if start <= context.now():
        return t(lang, "events.hint.past")
    changes: dict[str, Any] = {"start": start.isoformat()}
    old_start, old_end = dialog.data.get("start"), dialog.data.get("end")
    if dialog.data.get("editing") and old_start and old_end:
        length = datetime.fromisoformat(str(old_end)) - datetime.fromisoformat(str(old_start))
        changes["end"] = (start + length).isoformat()
        await _to_preview_or(context, dialog, "preview", **changes)
    else:
        await go(context, dialog, "duration", **changes)
    return ""


async def _to_preview_or(context: BotContext, dialog: Dialog, step: str, **changes: Any) -> None:
    """Moving to the preview counts who will receive the announcement."""
    if step == "preview":
        dialog = await dialogs.advance(
            context.storage, context.settings, dialog, now=context.now(), **changes
        )
        draft = draft_of(dialog, None)
        count = gone = 0
        if draft is not None:
            excess = too_long_by(preview_event(draft), context.regions, context.topics)
            if excess:
                hint = t(_lang(dialog), "events.hint.too_long", excess=excess)
                await go(context, dialog, "description", editing=True, hint=hint)
                return
            count, gone = await audience_size(context.storage, draft)
        await go(context, dialog, "preview", audience=count, unreachable=gone, editing=False)
    else:
        await go(context, dialog, step, **changes)


async def _publish(context: BotContext, caller: Caller, dialog: Dialog) -> None:
    lang = _lang(dialog)
    draft = draft_of(dialog, caller.member.id if caller.member else None)
    if draft is None:
        await go(context, dialog, "title", hint=t(lang, "reg.hint.incomplete"))
        return
    now = context.now()
    event, broadcast_id, count = await publish(
        context.storage, caller, context.regions, context.topics, draft, now
    )
    await dialogs.end(context.storage, dialog.telegram_id)
    await edit_or_send(
        context,
        dialog.chat_id,
        dialog.message_id,
        t(
            lang,
            "events.published",
            title=esc(event.title),
            id=event.id,
            link=f"https://t.me/{context.bot_data.bot_username}?start=ev_{event.id}",
        ),
    )
    if broadcast_id is not None and count:
        status = await context.bot.send_message(
            dialog.chat_id, await progress_text(context.storage, broadcast_id, lang)
        )
        await context.storage.outbox.set_status_message(
            broadcast_id, dialog.chat_id, status.message_id
        )
    else:
        await context.bot.send_message(dialog.chat_id, t(lang, "events.nobody_yet"))
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()


# ---------------------------------------------------------------- typed answers


async def answer_text(update: Update, context: BotContext, dialog: Dialog) -> None:
    """Typed text during /new_event."""
    message = update.effective_message
    assert message is not None
    lang = _lang(dialog)
    text = (message.text or "").strip()
    if dialog.step == "title" and is_blank_title(text):  # a photo, a sticker, only dots
        await show(context, dialog, new_message=True, hint=t(lang, "events.hint.title_blank"))
        return
    if not text:
        key = "reg.hint.text_please" if dialog.step in TEXT_STEPS else "reg.hint.use_buttons"
        await show(context, dialog, new_message=True, hint=t(lang, key))
        return
    said = typed_button(dialog, text)
    if said is not None and said[0] == "dlg":
        caller = await identify(context.storage, context.settings, dialog.telegram_id)
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        result = await on_button(context, caller, replace(dialog, message_id=None), said)
        if result is None:
            await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.use_buttons"))
        return
    step = dialog.step

    async def hint(key: str, **params: Any) -> None:
        await show(context, dialog, new_message=True, hint=t(lang, key, **params))

    async def next_with(**changes: Any) -> None:
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        moved = replace(dialog, message_id=None)
        await _to_preview_or(context, moved, _next_step(dialog, step), **changes)

    if step == "title":
        if len(text) < 3 or len(text) > TITLE_MAX:
            await hint("events.hint.title", limit=TITLE_MAX)
        else:
            await next_with(title=text)
    elif step == "description":
        if len(text) < 10 or len(text) > DESCRIPTION_MAX:
            await hint("events.hint.description", limit=DESCRIPTION_MAX, length=len(text))
        else:
            await next_with(description=text)
    elif step == "program":
        blocks = split_program(text)
        if blocks is None:
            await hint("events.hint.program")
        else:
            await next_with(program=list(blocks))
    elif step in ("start_day", "start_time"):
        await _typed_start(context, dialog, text, hint)
    elif step == "duration":
        await _typed_end(context, dialog, text, hint, next_with)
    elif step == "place":
        if len(text) > PLACE_MAX:
            await hint("events.hint.place", limit=PLACE_MAX)
        elif is_url(text):
            await next_with(online=text, place=None)
        else:
            await next_with(place=text, online=None)
    elif step == "capacity":
        if not is_number(text) or not 0 < int(text) <= CAPACITY_MAX:
            await hint("events.hint.capacity")
        else:
            await strip_keyboard(context, dialog.chat_id, dialog.message_id)
            moved = replace(dialog, message_id=None)
            await _to_preview_or(context, moved, _next_step(dialog, "capacity"), capacity=int(text))
    elif step == "regions":
        await typed_region(context, dialog, text)
    elif step in ("q_text", "q_options"):
        await _typed_question(context, dialog, text, hint)
    else:
        await hint("reg.hint.use_buttons")


async def _typed_question(context: BotContext, dialog: Dialog, text: str, hint: Any) -> None:
    """A coordinator's own question: its words, then (for a choice) its options."""
    data = dialog.data
    kind = str(data.get("q_kind", "text"))
    if dialog.step == "q_text":
        try:
            valid_custom("text", text, [])
        except Refused as exc:
            await hint(exc.key, **exc.params)
            return
        if kind == "choice":
            await _next_question(context, dialog, "q_options", q_words=text)
            return
        question = valid_custom(kind, text, [])
    else:
        try:
            question = valid_custom(kind, str(data.get("q_words", "")), text.splitlines())
        except Refused as exc:
            await hint(exc.key, **exc.params)
            return
    chosen = _evaluation(data)
    chosen["custom"] = [*chosen["custom"], question][:CUSTOM_MAX]
    await _next_question(context, dialog, "evaluation", eval=chosen)


async def _next_question(context: BotContext, dialog: Dialog, step: str, **changes: Any) -> None:
    """After typed text the next question goes below it (the old one loses its buttons)."""
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    await go(context, replace(dialog, message_id=None), step, **changes)


async def _typed_start(context: BotContext, dialog: Dialog, text: str, hint: Any) -> None:
    zone, now = _zone(dialog), context.now()
    if dialog.step == "start_time":
        hm = parse_time(text)
        if hm is not None:
            await strip_keyboard(context, dialog.chat_id, dialog.message_id)
            result = await _start_chosen(context, replace(dialog, message_id=None), *hm)
            if result:
                await hint("events.hint.past")
            return
    parsed = parse_when(text, zone, now)
    if parsed.value is None:
        await hint(str(parsed.problem))
        return
    local = parsed.value.astimezone(zone)
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    moved = await dialogs.advance(
        context.storage,
        context.settings,
        replace(dialog, message_id=None),
        now=now,
        day=local.date().isoformat(),
    )
    result = await _start_chosen(context, moved, local.hour, local.minute)
    if result:
        await hint("events.hint.past")


async def _typed_end(
    context: BotContext, dialog: Dialog, text: str, hint: Any, next_with: Any
) -> None:
    zone = _zone(dialog)
    start = datetime.fromisoformat(str(dialog.data["start"]))
    hm = parse_time(text)
    if hm is not None:
        end = at_time(start, hm[0], hm[1], zone)
    else:
        parsed = parse_when(text, zone, context.now())
        if parsed.value is None:
            await hint(str(parsed.problem))
            return
        end = parsed.value
    if end <= start:
        await hint("events.hint.end_before_start")
        return
    await next_with(end=end.isoformat())


# ---------------------------------------------------------------- members: answers, list


PAGE = 8
LIST_PATTERN = r"^evl:"


async def list_events(update: Update, context: BotContext) -> None:
    """/events: upcoming events for the member's region (and the regions they coordinate)."""
    asking = await registered(update, context)
    if asking is None:
        return
    caller, _member, lang = asking
    try:
        text, markup = await _events_page(context, caller, lang, 0)
    except Refused as exc:  # waiting for approval
        await send(update, context, t(lang, exc.key))
        return
    await send(update, context, text, markup)


async def turn_events_page(update: Update, context: BotContext) -> None:
    """evl:<page>: the next or previous page of /events, in the same message."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    parts = split_data(query)
    message = query.message
    if caller.member is None or len(parts) != 2 or not is_number(parts[1]) or message is None:
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    try:
        text, markup = await _events_page(context, caller, lang, int(parts[1]))
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    await answer(query)
    await edit_or_send(context, message.chat.id, message.message_id, text, markup)


async def _events_page(
    context: BotContext, caller: Caller, lang: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    assert caller.member is not None
    events = await upcoming_for(context.storage, caller, context.now())
    if not events:
        return t(lang, "events.none"), None
    pages = (len(events) + PAGE - 1) // PAGE
    page = min(page, pages - 1)
    region = context.regions.get(caller.member.region_code)
    zone = region.tz if region else MOSCOW
    rows: list[list[Button]] = []
    lines = [t(lang, "events.list_title")]
    if pages > 1:
        lines[0] += " " + t(lang, "events.page", page=page + 1, pages=pages)
    for event in events[page * PAGE : (page + 1) * PAGE]:
        lines.append(
            f"\n<b>{esc(event.title)}</b>\n{when_text(event.starts_at, event.ends_at, lang, zone)}"
        )
        rows.append([(event.title[:60], f"ev:{event.id}:open")])
    turn: list[Button] = []
    if page > 0:
        turn.append((t(lang, "events.previous"), f"evl:{page - 1}"))
    if page + 1 < pages:
        turn.append((t(lang, "events.next"), f"evl:{page + 1}"))
    if turn:
        rows.append(turn)
    return "\n".join(lines), keyboard(rows)


async def open_event_link(context: BotContext, caller: Caller, value: str, lang: str) -> None:
    """The deep link t.me/<bot>?start=ev_<id>."""
    try:
        if not is_number(value):
            raise WrongInput("events.not_found")
        event = await visible_event(context.storage, caller, int(value))
    except Refused as exc:
        await context.bot.send_message(caller.telegram_id, t(lang, exc.key))
        return
    await send_event(context, caller, event, lang)


# ---------------------------------------------------------------- coordinators: running events

EVM = "evm"  # the small dialogue that edits a published event's text
MANAGE_PATTERN = r"^evm:"


def _manage_card(context: BotContext, event: Event, counts: Any, lang: str) -> tuple[str, Any]:
    region_names = [r.name(lang) for c in event.regions if (r := context.regions.get(c))]
    zone = ZoneInfo(event.tz)
    text = t(
        lang,
        "events.manage.card",
        id=event.id,
        title=esc(event.title),
        when=when_text(event.starts_at, event.ends_at, lang, zone),
        regions=esc(", ".join(region_names[:5]) + (" …" if len(region_names) > 5 else "")),
        going=counts.going,
        maybe=counts.maybe,
        no=counts.no,
        waitlist=counts.waitlist,
        status=t(lang, f"events.manage.status_{event.status}"),
    )
    rows: list[list[Button]] = [
        [(t(lang, "events.manage.list"), f"evm:{event.id}:xlsx")],
        [(t(lang, "events.manage.qr"), f"evm:{event.id}:qr")],
    ]
    if event.status == "published":
        edits = [
            ("✏️ " + t(lang, f"events.field.{f}"), f"evm:{event.id}:edit:{f}") for f in EDITABLE
        ]
        rows += [edits[i : i + 2] for i in range(0, len(edits), 2)]
        rows.append([(t(lang, "events.manage.cancel"), f"evm:{event.id}:cancel")])
    return text, keyboard(rows)


async def show_event_admin(update: Update, context: BotContext) -> None:
    """/event <id>: who answered, the list as a spreadsheet, the check-in QR, edit, cancel."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        if not context.args:
            text, markup = await _manage_page(context, caller, lang, 0)
            await send(update, context, text, markup)
            return
        arg = context.args[0].lstrip("#№")
        if not is_number(arg):
            raise WrongInput("events.not_found")
        event = await managed_event(context.storage, caller, int(arg))
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    counts = await context.storage.events.counts(event.id)
    text, markup = _manage_card(context, event, counts, lang)
    await send(update, context, text, markup)


async def _manage_page(
    context: BotContext, caller: Caller, lang: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """/event without a number: the events the caller runs, a page at a time."""
    events = await managed_events(context.storage, caller, context.regions, context.now())
    if not events:
        return t(lang, "events.manage.none"), None
    pages = (len(events) + PAGE - 1) // PAGE
    page = max(0, min(page, pages - 1))
    rows: list[list[Button]] = [
        [(f"№ {e.id} · {e.title[:50]}", f"evm:{e.id}:card")]
        for e in events[page * PAGE : (page + 1) * PAGE]
    ]
    turn: list[Button] = []
    if page > 0:
        turn.append((t(lang, "events.previous"), f"evm:page:{page - 1}"))
    if page + 1 < pages:
        turn.append((t(lang, "events.next"), f"evm:page:{page + 1}"))
    if turn:
        rows.append(turn)
    text = t(lang, "events.manage.pick")
    if pages > 1:
        text += " " + t(lang, "events.page", page=page + 1, pages=pages)
    return text, keyboard(rows)


async def press_manage(update: Update, context: BotContext) -> None:
    """evm:<id>:card|xlsx|qr|cancel|cancel_yes|edit:<field> from the /event card;
    evm:page:<n> turns the list of /event."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    parts = split_data(query)
    message = query.message
    if len(parts) == 3 and parts[1] == "page" and is_number(parts[2]) and message is not None:
        try:
            text, markup = await _manage_page(context, caller, lang, int(parts[2]))
        except Refused as exc:
            await answer(query, t(lang, exc.key), alert=True)
            return
        await answer(query)
        await edit_or_send(context, message.chat.id, message.message_id, text, markup)
        return
    if len(parts) < 3 or not is_number(parts[1]) or message is None:
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    event_id, action = int(parts[1]), parts[2:]
    now = context.now()
    try:
        event = await managed_event(context.storage, caller, event_id)
        if action == ["card"]:
            counts = await context.storage.events.counts(event.id)
            text, markup = _manage_card(context, event, counts, lang)
            await answer(query)
            await send(update, context, text, markup)
        elif action == ["xlsx"]:
            people, others = await visible_participants(context.storage, caller, event)
            data = participants_xlsx(event, people, context.regions, lang)
            caption = tn(lang, "events.manage.list_caption", len(people), title=esc(event.title))
            if others:
                caption += " " + tn(lang, "events.manage.list_others", others)
            await answer(query)
            await context.bot.send_document(
                caller.telegram_id,
                data,
                filename=f"event-{event.id}-participants.xlsx",
                caption=caption,
            )
        elif action == ["qr"]:
            link = f"https://t.me/{context.bot_data.bot_username}?start={checkin_payload(event)}"
            await answer(query)
            await context.bot.send_photo(
                caller.telegram_id,
                checkin_qr(link),
                caption=t(lang, "events.manage.qr_caption", title=esc(event.title), link=link),
            )
        elif action == ["cancel"]:
            await answer(query)
            markup = keyboard(
                [
                    [(t(lang, "events.manage.cancel_yes"), f"evm:{event.id}:cancel_yes")],
                    [(t(lang, "revoke.no"), f"evm:{event.id}:keep")],
                ]
            )
            text = t(lang, "events.manage.cancel_confirm", title=esc(event.title))
            await edit_or_send(context, message.chat.id, message.message_id, text, markup)
        elif action == ["keep"]:  # "Нет" to cancelling: the card again, in the same message
            counts = await context.storage.events.counts(event.id)
            text, markup = _manage_card(context, event, counts, lang)
            await answer(query)
            await edit_or_send(context, message.chat.id, message.message_id, text, markup)
        elif action == ["cancel_yes"]:
            cancelled, told = await cancel_event(
                context.storage, caller, event.id, context.regions, context.topics, now
            )
            await answer(query)
            text = tn(lang, "events.manage.cancelled", told, title=esc(cancelled.title))
            await edit_or_send(context, message.chat.id, message.message_id, text)
            if context.bot_data.delivery is not None:
                context.bot_data.delivery.wake()
        elif len(action) == 2 and action[0] == "edit":
            field = action[1]
            if field not in EDITABLE or event.status != "published":
                raise WrongInput("dialog.stale")
            await answer(query)
            dialog = await begin_dialog(
                context,
                telegram_id=caller.telegram_id,
                flow=EVM,
                step=field,
                data={
                    "lang": lang,
                    "event": event.id,
                    "now": _current_values(context, event, lang),
                },
            )
            await show(context, dialog, new_message=True)
        else:
            raise WrongInput("dialog.stale")
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)


CLEARABLE = ("program", "capacity")  # steps with a button that empties the field


def manage_question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    """The one question of the edit dialogue, with the current value where it helps."""
    lang, step = _lang(dialog), dialog.step
    rows: list[list[Button]] = []
    if step in CLEARABLE:
        rows.append([(t(lang, f"events.manage.clear_{step}"), "dlg:clear")])
    rows.append([(t(lang, "common.cancel"), "dlg:cancel")])
    params = dict(dialog.data.get("now") or {})  # the current values, kept when it began
    return t(lang, f"events.manage.ask_{step}", **params), keyboard(rows)


def _current_values(context: BotContext, event: Event, lang: str) -> dict[str, str]:
    zone = ZoneInfo(event.tz)
    return {
        "when": when_text(event.starts_at, event.ends_at, lang, zone),
        "zone": zone_name(zone, lang, event.starts_at),
        "capacity": str(event.capacity or t(lang, "events.manage.no_capacity")),
        "regions": esc(
            ", ".join(r.name(lang) for c in event.regions if (r := context.regions.get(c)))
        ),
    }


async def manage_button(update: Update, context: BotContext) -> None:
    """'Отмена', and 'Убрать программу' / 'Без ограничения' where the step has one."""
    query = update.callback_query
    assert query is not None
    dialog, _ = await dialogs.current(context.storage, user_of(update).id, context.now())
    data = split_data(query)
    clear = data == ["dlg", "clear"] and dialog is not None and dialog.step in CLEARABLE
    if dialog is None or dialog.flow != EVM or (data != ["dlg", "cancel"] and not clear):
        await button_not_current(update, context, dialog)
        return
    await answer(query)
    if clear:
        await _apply_edit(update, context, dialog, "")
        return
    await dialogs.end(context.storage, dialog.telegram_id)
    text = t(_lang(dialog), "events.manage.edit_cancelled")
    await edit_or_send(context, dialog.chat_id, dialog.message_id, text)


async def manage_text(update: Update, context: BotContext, dialog: Dialog) -> None:
    message = update.effective_message
    assert message is not None
    lang = _lang(dialog)
    text = message.text
    if not text:
        await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.text_please"))
        return
    if typed_button(dialog, text) == ["dlg", "cancel"]:
        await dialogs.end(context.storage, dialog.telegram_id)
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        await send(update, context, t(lang, "events.manage.edit_cancelled"))
        return
    await _apply_edit(update, context, dialog, text)


async def _apply_edit(update: Update, context: BotContext, dialog: Dialog, value: str) -> None:
    lang = _lang(dialog)
    caller = await identify(context.storage, context.settings, dialog.telegram_id)
    try:
        edited = await edit_event(
            context.storage,
            caller,
            int(dialog.data["event"]),
            dialog.step,
            value,
            context.regions,
            context.topics,
            context.now(),
        )
    except Refused as exc:
        if exc.key.startswith("events.hint."):
            hint = t(lang, exc.key, **{k: esc(str(v)) for k, v in exc.params.items()})
            await show(context, dialog, new_message=True, hint=hint)
            return
        await dialogs.end(context.storage, dialog.telegram_id)
        await send(update, context, t(lang, exc.key))
        return
    await dialogs.end(context.storage, dialog.telegram_id)
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    lines = [tn(lang, "events.manage.edited", edited.copies, title=esc(edited.event.title))]
    for key, n in (("told", edited.told), ("promoted", edited.promoted), ("added", edited.added)):
        if n:
            lines.append(tn(lang, f"events.manage.{key}", n))
    await send(update, context, "\n".join(lines))
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()


async def check_in_link(context: BotContext, caller: Caller, value: str, lang: str) -> None:
    """The deep link ci_<event>_<secret> from the QR code at the venue."""
    event_part, _, secret = value.partition("_")
    if not is_number(event_part) or not secret:
        await context.bot.send_message(caller.telegram_id, t(lang, "events.checkin.wrong_code"))
        return
    try:
        outcome, event = await check_in(
            context.storage, caller, int(event_part), secret, context.now()
        )
    except Refused as exc:
        await context.bot.send_message(caller.telegram_id, t(lang, exc.key))
        return
    region = context.regions.get(caller.member.region_code) if caller.member else None
    text = checkin_message(outcome, event, lang, region.tz if region else MOSCOW)
    await context.bot.send_message(caller.telegram_id, text)
