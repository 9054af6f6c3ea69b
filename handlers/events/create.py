"""The /new_event dialogue of coordinators: opening it, its buttons, typed answers, publishing."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Update

from bot import dialogs
from bot.buttons import parse_any
from bot.evaluations import (
    CUSTOM_MAX,
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
from bot.i18n import t
from bot.outbox import progress_text
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, identify, is_number, require_coordinator
from bot.runtime.context import BotContext
from handlers.audience import toggle_regions, typed_region
from handlers.common import (
    caller_of,
    edit_or_send,
    esc,
    lang_of,
    private_only,
    send,
)
from handlers.dialog import Flow, go, press_flow_button, show, strip_keyboard
from handlers.dialog import begin as begin_dialog
from handlers.events.ask import (
    BUTTONS,
    CAPACITIES,
    DURATIONS,
    EVT,
    STEPS,
    TEXT_STEPS,
    EventAnswers,
    dialog_lang,
    dialog_zone,
    draft_of,
    evaluation_of,
    next_step,
    previous_step,
    question,
    single_region,
)
from handlers.members.registration import typed_button
from storage.dialogs import Dialog

CALLBACK_PATTERN = r"^evt:"  # every button of the dialogue


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
        return t(dialog_lang(dialog), exc.key, **exc.params)


async def on_button(
    context: BotContext, caller: Caller, dialog: Dialog, parts: list[str]
) -> str | None:
    """Act on a button: '' when done, a text for an alert, None if the button is stale."""
    step, data, lang = dialog.step, dialog.data, dialog_lang(dialog)
    match parts:
        case ["dlg", "cancel"]:
            await dialogs.end(context.storage, dialog.telegram_id)
            text = t(lang, "events.cancelled_draft")
            await edit_or_send(context, dialog.chat_id, dialog.message_id, text)
        case ["dlg", "back"]:
            target = previous_step(dialog)
            if target is None:
                return None
            if target == "preview" and not data.get("regions"):
                return t(lang, "events.hint.pick_region")
            await _to_preview_or(context, dialog, target)
        # the audience picker's buttons (handlers/audience.py, shared with /broadcast)
        case ["evt", "reg" | "dist" | "all", *_] if step == "regions":
            picked = toggle_regions(context, data, parts)
            if picked is None:
                return None
            await go(context, dialog, "regions", regions=picked)
        case ["evt", "regions_done"] if step == "regions":
            if not data.get("regions"):
                return t(lang, "events.hint.pick_region")
            await _to_preview_or(context, dialog, next_step(dialog, "regions"))
        case ["evt", "topic", code] if step == "topics":
            if code not in {tp.code for tp in context.topics}:
                return None
            chosen = set(data.get("topics") or [])
            chosen ^= {code}
            await go(context, dialog, "topics", topics=sorted(chosen))
        case ["evt", "topics_done"] if step == "topics":
            await _to_preview_or(context, dialog, next_step(dialog, "topics"))
        case ["evt", "topics_all"] if step == "topics":  # everyone: no choice by topics
            await _to_preview_or(context, dialog, next_step(dialog, "topics"), topics=[])
        case ["evt", *_]:
            try:
                _codec, values = parse_any(":".join(parts), *BUTTONS)
            except WrongInput:
                return None
            return await _own_button(context, caller, dialog, values)
        case _:
            return None
    return ""


async def _own_button(
    context: BotContext, caller: Caller, dialog: Dialog, values: tuple[Any, ...]
) -> str | None:
    """A button of the dialogue's own steps, parsed by its codec (handlers/events/ask.py)."""
    step, data, lang, zone = dialog.step, dialog.data, dialog_lang(dialog), dialog_zone(dialog)
    match values:
        case ("skip",) if step == "program":
            await go(context, dialog, next_step(dialog, "program"), program=[])
        case ("day", iso) if step == "start_day":
            try:
                day = date.fromisoformat(iso)
            except ValueError:
                return None
            if day < context.now().astimezone(zone).date():
                return t(lang, "events.hint.past")
            await go(context, dialog, "start_time", day=iso)
        case ("time", hhmm) if step == "start_time" and len(hhmm) == 4 and hhmm.isdigit():
            return await _start_chosen(context, dialog, int(hhmm[:2]), int(hhmm[2:]))
        case ("dur", minutes) if step == "duration":
            if minutes not in DURATIONS:
                return None
            start = datetime.fromisoformat(str(data["start"]))
            end = start + timedelta(minutes=minutes)
            await go(context, dialog, next_step(dialog, "duration"), end=end.isoformat())
        case ("cap", number) if step == "capacity":
            if number not in (0, *CAPACITIES):
                return None
            await _to_preview_or(
                context, dialog, next_step(dialog, "capacity"), capacity=number or None
            )
        case ("tpl", key) if step == "evaluation":
            await go(context, dialog, "evaluation", eval={**evaluation_of(data), "template": key})
        case ("anon" | "fup",) if step == "evaluation":
            field = "anonymous" if values[0] == "anon" else "followup"
            survey = evaluation_of(data)
            await go(context, dialog, "evaluation", eval={**survey, field: not survey[field]})
        case ("addq",) if step == "evaluation":
            if len(evaluation_of(data)["custom"]) >= CUSTOM_MAX:
                return None
            await go(context, dialog, "q_kind")
        case ("clearq",) if step == "evaluation":
            await go(context, dialog, "evaluation", eval={**evaluation_of(data), "custom": []})
        case ("qkind", kind) if step == "q_kind":
            await go(context, dialog, "q_text", q_kind=kind)
        case ("qback",) if step in ("q_kind", "q_text", "q_options"):
            await go(context, dialog, "evaluation")
        case ("eval_done",) if step == "evaluation":
            await _to_preview_or(context, dialog, "preview")
        case ("edit",) if step == "preview":
            await go(context, dialog, "edit")
        case ("edit", field) if step == "edit":
            if field == "regions" and single_region(dialog):
                return t(lang, "events.hint.one_region")
            await go(context, dialog, field, editing=True)
        case ("publish",) if step == "preview":
            await _publish(context, caller, dialog)
        case _:
            return None
    return ""


async def _start_chosen(context: BotContext, dialog: Dialog, hour: int, minute: int) -> str:
    lang, zone = dialog_lang(dialog), dialog_zone(dialog)
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
                hint = t(dialog_lang(dialog), "events.hint.too_long", excess=excess)
                await go(context, dialog, "description", editing=True, hint=hint)
                return
            count, gone = await audience_size(context.storage, draft)
        await go(context, dialog, "preview", audience=count, unreachable=gone, editing=False)
    else:
        await go(context, dialog, step, **changes)


async def _publish(context: BotContext, caller: Caller, dialog: Dialog) -> None:
    lang = dialog_lang(dialog)
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
    # long: one arm per step that takes typed text, each a check and the next step
    message = update.effective_message
    assert message is not None
    lang = dialog_lang(dialog)
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
        await _to_preview_or(context, moved, next_step(dialog, step), **changes)

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
            await _to_preview_or(context, moved, next_step(dialog, "capacity"), capacity=int(text))
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
    chosen = evaluation_of(data)
    chosen["custom"] = [*chosen["custom"], question][:CUSTOM_MAX]
    await _next_question(context, dialog, "evaluation", eval=chosen)


async def _next_question(context: BotContext, dialog: Dialog, step: str, **changes: Any) -> None:
    """After typed text the next question goes below it (the old one loses its buttons)."""
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    await go(context, replace(dialog, message_id=None), step, **changes)


async def _typed_start(context: BotContext, dialog: Dialog, text: str, hint: Any) -> None:
    zone, now = dialog_zone(dialog), context.now()
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
    zone = dialog_zone(dialog)
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


FLOW = Flow(
    EVT,
    render=question,
    on_text=answer_text,
    on_button=press_button,
    prefix=EVT,
    steps=STEPS,
    may_use=lambda caller: caller.is_coordinator,
    data=EventAnswers,
)
