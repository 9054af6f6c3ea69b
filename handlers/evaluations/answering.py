"""A participant answers the questionnaire: its buttons, typed text and voice, the thanks at
the end; the questionnaire's Flow record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.buttons import parse_any
from bot.evaluations.answers import (
    Given,
    Progress,
    closed_lately,
    record,
    request_message,
    resume,
    start_again,
    typed_goes_to,
    waiting_for,
)
from bot.evaluations.ask import idle_note
from bot.evaluations.questions import ANSWER, CODE_OF, GO, ROUND_CODES, render
from bot.i18n import t
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, identify
from bot.runtime.context import BotContext
from bot.timefmt import moment
from handlers.common import (
    answer,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    send,
    user_of,
)
from handlers.dialog import Answers, Flow, button_not_current, strip_keyboard
from handlers.dialog import begin as begin_dialog
from storage.dialogs import Dialog

EVL = "evl"  # the open questionnaire, so that typed answers and voice reach it


@dataclass
class QuestionnaireAnswers(Answers):
    """An open questionnaire's dialogue: which one; the answers themselves are kept in the
    participant's row (bot/evaluations/answers.py). The timeout_* keys: how it ends when left
    idle (bot/evaluations/ask.py idle_note, read by bot/dialogs.py)."""

    event: int = 0
    round: str = "main"
    timeout_markup: dict[str, Any] | None = None  # the button under the idle note
    timeout_silent: bool = False
    timeout_tz: str | None = None
    timeout_key: str | None = None


ANSWER_PATTERN = ANSWER.pattern


def _markup(context: BotContext, markup: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup.de_json(markup, context.bot) if markup else None


async def press_answer(update: Update, context: BotContext) -> None:
    """eva:<event>:<round>:<question>:<value> | eva:<event>:<round>:go | ...:redo"""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    now = context.now()
    try:
        codec, values = parse_any(query.data, ANSWER, GO)
        event_id, round_ = values[0], ROUND_CODES[values[1]]
        if codec is GO and values[2] == "go":
            progress = await resume(context.storage, caller, event_id, round_, now)
        elif codec is GO:
            progress = await start_again(context.storage, caller, event_id, round_, now)
        else:
            given = Given(button=values[3])
            progress = await record(
                context.storage, caller, event_id, round_, values[2], given, now
            )
    except Refused as exc:
        if exc.key == "dialog.stale":
            # a button of an earlier question (or an old copy) while a dialogue is open: that
            # open question comes back, as in every other dialogue (not a pointer to /help)
            dialog, _expired = await dialogs.current(context.storage, caller.telegram_id, now)
            if dialog is not None:
                await button_not_current(update, context, dialog)
                return
        await answer(query, t(lang, exc.key, **exc.params), alert=True)
        return
    await answer(query)
    message_id = query.message.message_id if query.message is not None else None
    await show(context, caller, progress, lang, message_id)


def _one_button(text: str, data: str) -> dict[str, Any]:
    """A keyboard of one button, as Bot API JSON (kept in the dialogue's data)."""
    return {"inline_keyboard": [[{"text": text, "callback_data": data}]]}


def _thanks(
    context: BotContext, caller: Caller, progress: Progress, lang: str
) -> tuple[str, dict[str, Any] | None]:
    """The thanks at the end: until when the answers may be changed, and the button to."""
    if progress.config.anonymous:
        return t(lang, "evaluation.thanks_anonymous"), None
    round_ = progress.round
    closes = progress.config.closes(round_)
    region = context.regions.get(caller.member.region_code) if caller.member else None
    until = moment(closes, lang, region.tz) if closes and region else ""
    markup = _one_button(
        t(lang, "evaluation.change"), GO.pack(progress.event.id, CODE_OF[round_], "redo")
    )
    return t(lang, "evaluation.thanks", until=until), markup


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
        text, thanks = _thanks(context, caller, progress, lang)
        await edit_or_send(context, chat_id, message_id, text, _markup(context, thanks))
        return
    text, markup = render(event, round_, progress.questions, progress.next, lang)
    shown = await edit_or_send(context, chat_id, message_id, text, _markup(context, markup))
    data: dict[str, Any] = {
        "event": event.id,
        "round": round_,
        "lang": lang,
        "timeout_markup": _one_button(
            t(lang, "evaluation.continue"), GO.pack(event.id, CODE_OF[round_], "go")
        ),
        **idle_note(
            event.id,
            round_,
            context.regions.zone(caller.member.region_code if caller.member else None),
        ),
    }
    if dialog is None or dialog.flow != EVL:
        dialog = await begin_dialog(
            context, telegram_id=chat_id, flow=EVL, step="answer", data=data
        )
    await dialogs.advance(
        context.storage, context.settings, dialog, now=context.now(), message_id=shown, **data
    )


async def show_again(context: BotContext, dialog: Dialog) -> None:
    """The question the person is at, as a new message (after a restart cut an answer off)."""
    caller = await identify(context.storage, context.settings, dialog.telegram_id)
    lang = str(dialog.data.get("lang", "ru"))
    event_id, round_ = int(dialog.data["event"]), str(dialog.data["round"])
    try:
        current = await resume(context.storage, caller, event_id, round_, context.now())
    except Refused:
        await dialogs.end(context.storage, dialog.telegram_id)
        return
    await show(context, caller, current, lang, dialog.message_id, new_message=True)


async def typed_without_dialogue(update: Update, context: BotContext, caller: Caller) -> bool:
    """Text or voice with no dialogue open, from someone whose questionnaire's first question
    was just put to them (the request came through the outbox): it answers that question.
    Later, no question is open: nothing is stored, and the person is shown how to go on.
    False if they have no questionnaire waiting."""
    now = context.now()
    waiting = await waiting_for(context.storage, caller, now)
    if caller.member is None:
        return False
    lang = caller.member.language
    if waiting is None:  # closed meanwhile: told so, as a late button press is
        window = timedelta(days=context.settings.evaluation_close_days)
        message = update.effective_message
        typed = message.text if message is not None else None
        closed = await closed_lately(context.storage, caller, now, window, typed)
        if closed is None:
            return False
        await send(update, context, t(lang, "evaluation.closed", title=esc(closed.title)))
        return True
    event_id, round_ = waiting
    fresh = timedelta(minutes=context.settings.dialog_timeout_minutes)
    if await typed_goes_to(context.storage, caller, now, fresh) is None:
        button = [(t(lang, "evaluation.continue"), GO.pack(event_id, CODE_OF[round_], "go"))]
        await send(update, context, t(lang, "evaluation.not_open"), keyboard([button]))
        return True
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
    asked_in = await request_message(context.storage, event_id, round_, caller.telegram_id)
    if asked_in is not None:  # its buttons go once the question is answered
        dialog = await dialogs.advance(
            context.storage, context.settings, dialog, now=now, message_id=asked_in
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
    except Refused as exc:  # closed meanwhile: its question's buttons go too
        await dialogs.end(context.storage, user.id)
        await strip_keyboard(context, user.id, dialog.message_id)
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
            raise WrongInput("evaluation.hint.text")
        progress = await record(context.storage, caller, event_id, round_, current.next, given, now)
    except Refused as exc:
        await send(update, context, t(lang, exc.key, **exc.params))
        if exc.key.startswith("evaluation.hint"):  # the same question again, below the hint
            await show(context, caller, current, lang, dialog.message_id, new_message=True)
        return
    await show(context, caller, progress, lang, dialog.message_id, new_message=True)


FLOW = Flow(
    EVL,
    render=None,  # the questionnaire shows its questions itself (and checks its buttons)
    on_text=answer_typed,
    show_again=show_again,
    prefix="eva",
    steps=("answer",),
    data=QuestionnaireAnswers,
)
