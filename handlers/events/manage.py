"""/event: a coordinator runs a published event (who answered, the spreadsheet, the check-in
QR code, cancelling) and edits its fields in a small dialogue (EVM).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.buttons import CANCEL, CLEAR, Codec, Num, Word, parse_any
from bot.events.cards import when_text
from bot.events.checkin import checkin_payload
from bot.events.files import checkin_qr, participants_xlsx
from bot.events.manage import (
    EDITABLE,
    cancel_event,
    edit_event,
    managed_event,
    managed_events,
    visible_participants,
)
from bot.i18n import t, tn
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, identify, is_number
from bot.runtime.context import BotContext
from bot.timefmt import zone_name
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
    user_of,
)
from handlers.dialog import Answers, Flow, answers_of, button_not_current, show, strip_keyboard
from handlers.dialog import begin as begin_dialog
from handlers.events.lists import PAGE
from handlers.members.registration import typed_button
from storage.dialogs import Dialog
from storage.events import Event

# ---------------------------------------------------------------- coordinators: running events

EVM = "evm"  # the small dialogue that edits a published event's text
MANAGE_PATTERN = r"^evm:"  # the /event card and list (CARD, EDIT, TURN)


CARD = Codec(EVM, Num(), Word("card", "xlsx", "qr", "cancel", "keep", "cancel_yes"))
EDIT = Codec(EVM, Num(), Word("edit"), Word(*EDITABLE))
TURN = Codec(EVM, Word("page"), Num())  # the list of /event, a page at a time


@dataclass
class EditAnswers(Answers):
    """The edit dialogue's data: the event, and its current values as shown when it began."""

    event: int = 0
    now: dict[str, str] = dataclasses.field(default_factory=dict)


def _lang(dialog: Dialog) -> str:
    return answers_of(dialog, EditAnswers).lang


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
        [(t(lang, "events.manage.list"), CARD.pack(event.id, "xlsx"))],
        [(t(lang, "events.manage.qr"), CARD.pack(event.id, "qr"))],
    ]
    if event.status == "published":
        edits = [
            ("✏️ " + t(lang, f"events.field.{f}"), EDIT.pack(event.id, "edit", f)) for f in EDITABLE
        ]
        rows += [edits[i : i + 2] for i in range(0, len(edits), 2)]
        rows.append([(t(lang, "events.manage.cancel"), CARD.pack(event.id, "cancel"))])
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
        [(f"№ {e.id} · {e.title[:50]}", CARD.pack(e.id, "card"))]
        for e in events[page * PAGE : (page + 1) * PAGE]
    ]
    turn: list[Button] = []
    if page > 0:
        turn.append((t(lang, "events.previous"), TURN.pack("page", page - 1)))
    if page + 1 < pages:
        turn.append((t(lang, "events.next"), TURN.pack("page", page + 1)))
    if turn:
        rows.append(turn)
    text = t(lang, "events.manage.pick")
    if pages > 1:
        text += " " + t(lang, "events.page", page=page + 1, pages=pages)
    return text, keyboard(rows)


async def press_manage(update: Update, context: BotContext) -> None:
    """evm:<id>:card|xlsx|qr|cancel|keep|cancel_yes and evm:<id>:edit:<field> from the /event
    card; evm:page:<n> turns the list of /event."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    message = query.message
    try:
        if message is None:
            raise WrongInput("dialog.stale")
        codec, values = parse_any(query.data, TURN, CARD, EDIT)
        if codec is TURN:
            text, markup = await _manage_page(context, caller, lang, values[1])
            await answer(query)
            await edit_or_send(context, message.chat.id, message.message_id, text, markup)
            return
        event = await managed_event(context.storage, caller, values[0])
        if codec is EDIT:
            await _begin_edit(update, context, caller, event, values[2], lang)
        else:
            await _card_action(update, context, caller, event, values[1], lang)
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)


async def _card_action(
    update: Update, context: BotContext, caller: Caller, event: Event, action: str, lang: str
) -> None:
    """A button of the /event card (or of its 'cancel?' question) on this event."""
    query, message = update.callback_query, update.effective_message
    assert query is not None and message is not None
    match action:
        case "card":
            counts = await context.storage.events.counts(event.id)
            text, markup = _manage_card(context, event, counts, lang)
            await answer(query)
            await send(update, context, text, markup)
        case "xlsx":
            await answer(query)
            await _send_participants(context, caller, event, lang)
        case "qr":
            link = f"https://t.me/{context.bot_data.bot_username}?start={checkin_payload(event)}"
            await answer(query)
            await context.bot.send_photo(
                caller.telegram_id,
                checkin_qr(link),
                caption=t(lang, "events.manage.qr_caption", title=esc(event.title), link=link),
            )
        case "cancel":
            await answer(query)
            markup = keyboard(
                [
                    [(t(lang, "events.manage.cancel_yes"), CARD.pack(event.id, "cancel_yes"))],
                    [(t(lang, "revoke.no"), CARD.pack(event.id, "keep"))],
                ]
            )
            text = t(lang, "events.manage.cancel_confirm", title=esc(event.title))
            await edit_or_send(context, message.chat.id, message.message_id, text, markup)
        case "keep":  # "Нет" to cancelling: the card again, in the same message
            counts = await context.storage.events.counts(event.id)
            text, markup = _manage_card(context, event, counts, lang)
            await answer(query)
            await edit_or_send(context, message.chat.id, message.message_id, text, markup)
        case "cancel_yes":
            cancelled, told = await cancel_event(
                context.storage, caller, event.id, context.regions, context.topics, context.now()
            )
            await answer(query)
            text = tn(lang, "events.manage.cancelled", told, title=esc(cancelled.title))
            await edit_or_send(context, message.chat.id, message.message_id, text)
            if context.bot_data.delivery is not None:
                context.bot_data.delivery.wake()


async def _send_participants(context: BotContext, caller: Caller, event: Event, lang: str) -> None:
    """Who answered, as a spreadsheet (of the regions the caller may see by name)."""
    people, others = await visible_participants(context.storage, caller, event)
    data = participants_xlsx(event, people, context.regions, lang)
    caption = tn(lang, "events.manage.list_caption", len(people), title=esc(event.title))
    if others:
        caption += " " + tn(lang, "events.manage.list_others", others)
    await context.bot.send_document(
        caller.telegram_id,
        data,
        filename=f"event-{event.id}-participants.xlsx",
        caption=caption,
    )


async def _begin_edit(
    update: Update, context: BotContext, caller: Caller, event: Event, field: str, lang: str
) -> None:
    """'✏️ <field>' on the card: the edit dialogue asks for the new value."""
    query = update.callback_query
    assert query is not None
    if event.status != "published":
        raise WrongInput("dialog.stale")
    await answer(query)
    data = EditAnswers(lang=lang, event=event.id, now=_current_values(context, event, lang))
    dialog = await begin_dialog(
        context,
        telegram_id=caller.telegram_id,
        flow=EVM,
        step=field,
        data=dataclasses.asdict(data),
    )
    await show(context, dialog, new_message=True)


CLEARABLE = ("program", "capacity")  # steps with a button that empties the field


def manage_question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    """The one question of the edit dialogue, with the current value where it helps."""
    lang, step = _lang(dialog), dialog.step
    rows: list[list[Button]] = []
    if step in CLEARABLE:
        rows.append([(t(lang, f"events.manage.clear_{step}"), CLEAR)])
    rows.append([(t(lang, "common.cancel"), CANCEL)])
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
    clear = query.data == CLEAR and dialog is not None and dialog.step in CLEARABLE
    if dialog is None or dialog.flow != EVM or (query.data != CANCEL and not clear):
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


FLOW = Flow(
    EVM,
    render=manage_question,
    on_text=manage_text,
    on_button=manage_button,  # its own buttons are the shared dlg:cancel / dlg:clear
    steps=EDITABLE,  # one step: the field being edited
    may_use=lambda caller: caller.is_coordinator,
    data=EditAnswers,
)
