"""Evaluations: a participant answers the questionnaire (buttons, typed text, voice), and
coordinators read the results (/evaluation, /evaluations). Rules live in bot/evaluations.py
and bot/evaluation_reports.py."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.access import Caller, Denied, identify, is_number
from bot.context import BotContext
from bot.evaluations import (
    CODE_OF,
    ROUND_CODES,
    Given,
    Progress,
    record,
    render,
    resume,
    start_again,
)
from bot.i18n import t
from bot.timefmt import moment
from handlers.common import answer, caller_of, edit_or_send, lang_of, send, split_data, user_of
from handlers.dialog import begin as begin_dialog
from handlers.dialog import strip_keyboard
from storage.dialogs import Dialog

EVL = "evl"  # the open questionnaire, so that typed answers and voice reach it
ANSWER_PATTERN = r"^eva:"


def _markup(context: BotContext, markup: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup.de_json(markup, context.bot) if markup else None


async def press_answer(update: Update, context: BotContext) -> None:
    """eva:<event>:<round>:<question>:<value> | eva:<event>:<round>:go | ...:redo"""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    parts = split_data(query)
    now = context.now()
    try:
        if len(parts) < 4 or not is_number(parts[1]) or parts[2] not in ROUND_CODES:
            raise Denied("dialog.stale")
        event_id, round_ = int(parts[1]), ROUND_CODES[parts[2]]
        match parts[3:]:
            case ["go"]:
                progress = await resume(context.storage, caller, event_id, round_, now)
            case ["redo"]:
                progress = await start_again(context.storage, caller, event_id, round_, now)
            case [index, value] if is_number(index) and value:
                given = Given(button=value)
                progress = await record(
                    context.storage, caller, event_id, round_, int(index), given, now
                )
            case _:
                raise Denied("dialog.stale")
    except Denied as exc:
        await answer(query, t(lang, exc.key, **exc.params), alert=True)
        return
    await answer(query)
    message_id = query.message.message_id if query.message is not None else None
    await show(context, caller, progress, lang, message_id)


async def show(
    context: BotContext,
    caller: Caller,
    progress: Progress,
    lang: str,
    message_id: int | None,
    *,
    new_message: bool = False,
) -> None:
    """The next question (editing the message the person answered on), or the thanks."""
    chat_id = caller.telegram_id
    dialog, _expired = await dialogs.current(context.storage, chat_id, context.now())
    if new_message:
        await strip_keyboard(context, chat_id, message_id)
        message_id = None
    event, round_ = progress.event, progress.round
    if progress.next is None:
        if dialog is not None and dialog.flow == EVL:
            await dialogs.end(context.storage, chat_id)
        if progress.config.anonymous:
            text, markup = t(lang, "evaluation.thanks_anonymous"), None
        else:
            closes = progress.config.closes(round_)
            region = context.regions.get(caller.member.region_code) if caller.member else None
            until = moment(closes, lang, region.tz) if closes and region else ""
            text = t(lang, "evaluation.thanks", until=until)
            markup = {
                "inline_keyboard": [
                    [
                        {
                            "text": t(lang, "evaluation.change"),
                            "callback_data": f"eva:{event.id}:{CODE_OF[round_]}:redo",
                        }
                    ]
                ]
            }
        await edit_or_send(context, chat_id, message_id, text, _markup(context, markup))
        return
    text, markup = render(event, round_, progress.questions, progress.next, lang)
    shown = await edit_or_send(context, chat_id, message_id, text, _markup(context, markup))
    data: dict[str, Any] = {
        "event": event.id,
        "round": round_,
        "lang": lang,
        "timeout_markup": {
            "inline_keyboard": [
                [
                    {
                        "text": t(lang, "evaluation.continue"),
                        "callback_data": f"eva:{event.id}:{CODE_OF[round_]}:go",
                    }
                ]
            ]
        },
    }
    if dialog is None or dialog.flow != EVL:
        dialog = await begin_dialog(
            context, telegram_id=chat_id, flow=EVL, step="answer", data=data
        )
    await dialogs.advance(
        context.storage, context.settings, dialog, now=context.now(), message_id=shown, **data
    )


async def typed_without_dialogue(update: Update, context: BotContext, caller: Caller) -> bool:
    """Text or voice with no dialogue open, from someone asked to evaluate an event (the
    request came through the outbox): it answers the question they are at. False if none."""
    if caller.member is None:
        return False
    waiting = await context.storage.evaluations.waiting(caller.member.id, context.now())
    if waiting is None:
        return False
    event_id, round_ = waiting
    lang = caller.member.language
    dialog = await dialogs.begin(
        context.storage,
        context.settings,
        telegram_id=caller.telegram_id,
        chat_id=caller.telegram_id,
        flow=EVL,
        step="answer",
        data={"event": event_id, "round": round_, "lang": lang},
        now=context.now(),
    )
    await answer_typed(update, context, dialog)
    return True


async def answer_typed(update: Update, context: BotContext, dialog: Dialog) -> None:
    """Typed text or a voice message while a questionnaire is open: the current question."""
    message = update.effective_message
    assert message is not None
    user = user_of(update)
    caller = await identify(context.storage, context.settings, user.id)
    lang = str(dialog.data.get("lang", "ru"))
    event_id, round_ = int(dialog.data["event"]), str(dialog.data["round"])
    now = context.now()
    try:
        current = await resume(context.storage, caller, event_id, round_, now)
    except Denied as exc:
        await dialogs.end(context.storage, user.id)
        await send(update, context, t(lang, exc.key, **exc.params))
        return
    if current.next is None:
        await dialogs.end(context.storage, user.id)
        await send(update, context, t(lang, "evaluation.already_done"))
        return
    try:
        if message.voice is not None:
            given = Given(voice=message.voice.file_id)
        elif message.text is not None:
            given = Given(text=message.text)
        else:
            raise Denied("evaluation.hint.text")
        progress = await record(context.storage, caller, event_id, round_, current.next, given, now)
    except Denied as exc:
        await send(update, context, t(lang, exc.key, **exc.params))
        if exc.key.startswith("evaluation.hint"):  # the same question again, below the hint
            await show(context, caller, current, lang, dialog.message_id, new_message=True)
        return
    await show(context, caller, progress, lang, dialog.message_id, new_message=True)
