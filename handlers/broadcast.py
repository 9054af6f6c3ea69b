"""/broadcast: a coordinator's message (text, photo or document) to chosen regions and topics,
with a preview and a confirmation; progress and the final report come from the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.broadcasts import Content, check_content, recipients, send_broadcast
from bot.buttons import BACK, CANCEL, Codec, Word
from bot.events import target_choice
from bot.i18n import t, tn
from bot.outbox import progress_text
from bot.refusals import Refused
from bot.roles.access import Caller, identify, require_coordinator
from bot.runtime.context import BotContext
from handlers.audience import region_rows, toggle_regions, topic_rows, typed_region
from handlers.common import (
    Button,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    private_only,
    send,
)
from handlers.dialog import Answers, Flow, answers_of, go, press_flow_button, show, strip_keyboard
from handlers.dialog import begin as begin_dialog
from handlers.words import typed_button
from storage.dialogs import Dialog

BC = "bc"
STEPS = ("regions", "topics", "content", "confirm")
# its own buttons; the region and topic toggles (bc:reg:…, bc:topic:…) are the audience picker's
DONE = Codec(BC, Word("regions_done", "topics_done", "topics_all", "change", "send"))
CALLBACK_PATTERN = DONE.pattern


@dataclass
class BroadcastAnswers(Answers):
    """What /broadcast gathers: whom (regions, topics) and what (the message), with the counts
    shown in the confirmation."""

    federal: bool = False  # may pick districts and the whole network
    allowed: list[str] = field(default_factory=list)  # a regional coordinator's regions
    regions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)  # none: everyone
    text: str = ""
    file_id: str | None = None
    kind: str | None = None  # None (text), "photo", "document"
    count: int = 0  # members it will reach
    unreachable: int = 0  # members of the audience who blocked the bot


def _lang(dialog: Dialog) -> str:
    return str(dialog.data.get("lang", "ru"))


def _nav(lang: str) -> list[Button]:
    return [(t(lang, "common.back"), BACK), (t(lang, "common.cancel"), CANCEL)]


def question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    data, lang = dialog.data, _lang(dialog)
    answers = answers_of(dialog, BroadcastAnswers)
    rows: list[list[Button]] = []
    if dialog.step == "regions":
        text = t(lang, "broadcast.ask_regions", chosen=len(data.get("regions") or []))
        rows = region_rows(context, data, lang, "bc")
        rows.append([(t(lang, "common.cancel"), CANCEL)])
    elif dialog.step == "topics":
        text = t(lang, "broadcast.ask_topics")
        rows = topic_rows(context, data, lang, "bc")
        rows.append(_nav(lang))
    elif dialog.step == "content":
        text = t(lang, "broadcast.ask_content")
        rows = [_nav(lang)]
    elif dialog.step == "confirm":
        names = [r.name(lang) for code in answers.regions if (r := context.regions.get(code))]
        where = (
            ", ".join(names) if len(names) <= 5 else tn(lang, "broadcast.regions_many", len(names))
        )
        topics = [tp.name(lang) for tp in context.topics if tp.code in answers.topics]
        text = t(
            lang,
            "broadcast.whom",
            regions=esc(where),
            topics=esc(", ".join(topics) if topics else t(lang, "broadcast.all_topics")),
        )
        text += "\n\n" + tn(lang, "broadcast.confirm", answers.count)
        if answers.unreachable:
            text += "\n" + t(lang, "broadcast.unreachable", n=answers.unreachable)
        rows = [
            [(t(lang, "broadcast.send"), DONE.pack("send"))],
            [(t(lang, "broadcast.change"), DONE.pack("change"))],
            [(t(lang, "common.cancel"), CANCEL)],
        ]
    else:
        raise ValueError(f"unknown step {dialog.step}")
    return text, keyboard(rows)


def _single_region(dialog: Dialog) -> bool:
    answers = answers_of(dialog, BroadcastAnswers)
    return not answers.federal and len(answers.allowed) == 1


async def start_broadcast(update: Update, context: BotContext) -> None:
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        data: dict[str, Any] = {**target_choice(caller, context.regions), "lang": lang}
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    federal, allowed = data["federal"], data["allowed"]
    dialog = await begin_dialog(
        context,
        telegram_id=caller.telegram_id,
        flow=BC,
        step="topics" if not federal and len(allowed) == 1 else "regions",
        data=data,
    )
    await show(context, dialog, new_message=True)


async def press_button(update: Update, context: BotContext) -> None:
    """Every button of the /broadcast dialogue (bc:...)."""
    await press_flow_button(update, context, BC, _coordinator_button)


async def _coordinator_button(
    context: BotContext, caller: Caller, dialog: Dialog, parts: list[str]
) -> str | None:
    require_coordinator(caller)
    return await on_button(context, caller, dialog, parts)


async def on_button(
    context: BotContext, caller: Caller, dialog: Dialog, parts: list[str]
) -> str | None:
    step, data, lang = dialog.step, dialog.data, _lang(dialog)
    answers = answers_of(dialog, BroadcastAnswers)
    match parts:
        case ["dlg", "cancel"]:
            await dialogs.end(context.storage, dialog.telegram_id)
            await edit_or_send(
                context, dialog.chat_id, dialog.message_id, t(lang, "broadcast.cancelled")
            )
        case ["dlg", "back"]:
            back = {"topics": "regions", "content": "topics", "confirm": "content"}.get(step)
            if back is None or (back == "regions" and _single_region(dialog)):
                return None
            await go(context, dialog, back)
        case ["bc", "reg" | "dist" | "all", *_] if step == "regions":
            picked = toggle_regions(context, data, parts)
            if picked is None:
                return None
            await go(context, dialog, "regions", regions=picked)
        case ["bc", "regions_done"] if step == "regions":
            if not answers.regions:
                return t(lang, "events.hint.pick_region")
            await go(context, dialog, "topics")
        case ["bc", "topic", code] if step == "topics":
            if code not in {tp.code for tp in context.topics}:
                return None
            await go(context, dialog, "topics", topics=sorted(set(answers.topics) ^ {code}))
        case ["bc", "topics_done"] if step == "topics":
            await go(context, dialog, "content")
        case ["bc", "topics_all"] if step == "topics":  # everyone: no choice by topics
            await go(context, dialog, "content", topics=[])
        case ["bc", "change"] if step == "confirm":
            await go(context, dialog, "content")
        case ["bc", "send"] if step == "confirm":
            await _send(context, caller, dialog, answers)
        case _:
            return None
    return ""


async def _send(
    context: BotContext, caller: Caller, dialog: Dialog, answers: BroadcastAnswers
) -> None:
    """'Отправить': the messages go into the outbox; the question becomes the progress report."""
    lang = answers.lang
    content = Content(text=answers.text, file_id=answers.file_id, kind=answers.kind)
    broadcast_id, _count = await send_broadcast(
        context.storage,
        caller,
        context.regions,
        answers.regions,
        answers.topics,
        content,
        context.now(),
    )
    await dialogs.end(context.storage, dialog.telegram_id)
    if broadcast_id is None:
        text = t(lang, "broadcast.nobody")
        if answers.unreachable:
            text += "\n" + t(lang, "broadcast.unreachable", n=answers.unreachable)
        await edit_or_send(context, dialog.chat_id, dialog.message_id, text)
        return
    await edit_or_send(
        context,
        dialog.chat_id,
        dialog.message_id,
        await progress_text(context.storage, broadcast_id, lang),
    )
    assert dialog.message_id is not None
    await context.storage.outbox.set_status_message(broadcast_id, dialog.chat_id, dialog.message_id)
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()


async def answer_content(update: Update, context: BotContext, dialog: Dialog) -> None:
    """The message to broadcast (at the content step), or typed words at other steps."""
    message = update.effective_message
    assert message is not None
    lang = _lang(dialog)
    said = typed_button(dialog, message.text or "")
    if said is not None and said[0] == "dlg":
        caller = await identify(context.storage, context.settings, dialog.telegram_id)
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        if await on_button(context, caller, replace(dialog, message_id=None), said) is None:
            await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.use_buttons"))
        return
    if dialog.step == "regions" and message.text:
        await typed_region(context, dialog, message.text)
        return
    if dialog.step != "content":
        await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.use_buttons"))
        return
    if message.photo:
        content = Content(message.caption_html or "", message.photo[-1].file_id, "photo")
    elif message.document:
        content = Content(message.caption_html or "", message.document.file_id, "document")
    elif message.text:
        content = Content(message.text_html)
    else:
        await show(context, dialog, new_message=True, hint=t(lang, "broadcast.hint.kind"))
        return
    problem = check_content(content)
    if problem is not None:
        await show(context, dialog, new_message=True, hint=t(lang, problem))
        return
    caller = await identify(context.storage, context.settings, dialog.telegram_id)
    answers = answers_of(dialog, BroadcastAnswers)
    try:
        people = await recipients(
            context.storage, caller, context.regions, answers.regions, answers.topics
        )
    except Refused as exc:
        await dialogs.end(context.storage, dialog.telegram_id)
        await send(update, context, t(lang, exc.key))
        return
    await _preview(context, dialog, content)
    moved = replace(dialog, message_id=None)
    await go(
        context,
        moved,
        "confirm",
        text=content.text,
        file_id=content.file_id,
        kind=content.kind,
        count=len(people.reachable),
        unreachable=len(people.unreachable),
    )


async def _preview(context: BotContext, dialog: Dialog, content: Content) -> None:
    """Exactly what members will receive, below a title."""
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    await context.bot.send_message(dialog.chat_id, t(_lang(dialog), "broadcast.preview_title"))
    preview = content.outgoing()
    if content.kind == "photo":
        await context.bot.send_photo(dialog.chat_id, content.file_id or "", caption=preview.text)
    elif content.kind == "document":
        await context.bot.send_document(dialog.chat_id, content.file_id or "", caption=preview.text)
    else:
        await context.bot.send_message(dialog.chat_id, content.text)


FLOW = Flow(
    BC,
    render=question,
    on_text=answer_content,
    on_button=press_button,
    prefix=BC,
    steps=STEPS,
    may_use=lambda caller: caller.is_coordinator or caller.is_admin,
    data=BroadcastAnswers,
)
