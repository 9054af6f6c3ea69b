"""Evaluations: a participant answers the questionnaire (buttons, typed text, voice), and
coordinators read the results (/evaluation, /evaluations). Rules live in bot/evaluations/
and its modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update

from bot import dialogs
from bot.buttons import Codec, Num, Word, parse_any
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
from bot.evaluations.charts import event_chart
from bot.evaluations.exports import export
from bot.evaluations.periods import compare, comparison_chart, comparison_text, evaluated_events
from bot.evaluations.questions import ANSWER, CODE_OF, GO, ROUND_CODES, SMALL_CELL, render
from bot.evaluations.reports import EventReport, event_report, report_lines, voices_of
from bot.evaluations.views import comparison_chart_caption, event_chart_caption, event_label
from bot.i18n import t
from bot.incidents.export import parse_period
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, identify, is_number, require_coordinator
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
    pages,
    private_only,
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
        **idle_note(event.id, round_, _zone(context, caller)),
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


# ---------------------------------------------------------------- results for coordinators

# a report's buttons: evr:<event>:main|followup (the report), evr:<event>:<m|f><v|x|c> (its
# voices, XLSX, CSV); a period's files: evs:<from>:<to>:x|c (dates as YYYYMMDD)
REPORT = Codec("evr", Num(), Word("main", "followup"))
REPORT_FILE = Codec("evr", Num(), Word(*(r + w for r in ROUND_CODES for w in "vxc")))
PERIOD_FILE = Codec("evs", Num(8), Num(8), Word("x", "c"))
REPORT_PATTERN = REPORT.pattern
COMPARE_PATTERN = PERIOD_FILE.pattern
RECENT_DAYS = 90


def _zone(context: BotContext, caller: Caller) -> ZoneInfo:
    return context.regions.zone(caller.member.region_code if caller.member else None)


async def show_evaluation(update: Update, context: BotContext) -> None:
    """/evaluation <event>: response rate, figures per question, a chart, the free texts."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    arg = (context.args or [""])[0].lstrip("#№")
    try:
        require_coordinator(caller)
        if not is_number(arg):
            await _recent(update, context, caller, lang)
            return
        report = await event_report(context.storage, caller, int(arg), lang)
    except Refused as exc:
        await send(update, context, t(lang, exc.key, **exc.params))
        return
    await _send_report(context, caller, report, lang)


async def _recent(update: Update, context: BotContext, caller: Caller, lang: str) -> None:
    now = context.now()
    events = await evaluated_events(context.storage, caller, now - timedelta(days=RECENT_DAYS), now)
    zone = _zone(context, caller)
    rows: list[list[Button]] = [
        [(event_label(e, zone)[:60], REPORT.pack(e.id, "main"))]
        for e in reversed(events[-RECENT_LISTED:])
    ]
    if not rows:
        await send(update, context, t(lang, "evaluation.report.nothing"))
        return
    await send(update, context, t(lang, "evaluation.report.which"), keyboard(rows))


RECENT_LISTED = 20


async def _send_report(context: BotContext, caller: Caller, report: EventReport, lang: str) -> None:
    chat_id = caller.telegram_id
    zone = _zone(context, caller)
    chart = event_chart(report, lang)
    if chart is not None:
        day = f"{report.event.starts_at.astimezone(zone):%d.%m.%Y}"
        caption = event_chart_caption(
            report.event.title, day, report.restricted, lang, most=SMALL_CELL
        )
        await context.bot.send_photo(chat_id, chart, caption=caption)
    event_id, code = report.event.id, CODE_OF[report.round]
    rows: list[list[Button]] = []
    voices = voices_of(report)
    if voices:
        rows.append(
            [
                (
                    t(lang, "evaluation.report.voices_button", n=len(voices)),
                    REPORT_FILE.pack(event_id, f"{code}v"),
                )
            ]
        )
    rows.append(
        [
            (t(lang, "evaluation.report.xlsx_button"), REPORT_FILE.pack(event_id, f"{code}x")),
            (t(lang, "evaluation.report.csv_button"), REPORT_FILE.pack(event_id, f"{code}c")),
        ]
    )
    other = "followup" if report.round == "main" else "main"
    if report.config.opened(other) is not None:
        label = "followup_button" if other == "followup" else "main_button"
        rows.append([(t(lang, f"evaluation.report.{label}"), REPORT.pack(event_id, other))])
    chunks = pages(report_lines(report, lang, zone))  # written answers make it long
    for n, page in enumerate(chunks):
        markup = keyboard(rows) if n == len(chunks) - 1 else None
        await context.bot.send_message(chat_id, page, reply_markup=markup)


async def press_report(update: Update, context: BotContext) -> None:
    """evr:<event>:main|followup (the report), evr:<event>:<m|f><v|x|c> (voices, XLSX, CSV)."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    try:
        codec, (event_id, action) = parse_any(query.data, REPORT, REPORT_FILE)
        if codec is REPORT:
            round_, what = action, "show"
        else:
            round_, what = ROUND_CODES[action[0]], action[1]
        report = await event_report(context.storage, caller, event_id, lang, round_)
    except Refused as exc:
        await answer(query, t(lang, exc.key, **exc.params), alert=True)
        return
    await answer(query)
    chat_id = caller.telegram_id
    if what == "show":
        await _send_report(context, caller, report, lang)
    elif what == "v":
        voices = voices_of(report)
        if not voices:
            await context.bot.send_message(chat_id, t(lang, "evaluation.report.no_voices"))
        for voice in voices:
            await context.bot.send_voice(chat_id, voice)
    else:
        files = await export(
            context.storage, [report], context.regions, lang, _zone(context, caller)
        )
        name = f"evaluation-{event_id}" + ("-followup" if round_ == "followup" else "")
        caption = t(lang, "evaluation.report.file_caption", title=esc(report.event.title[:200]))
        if what == "x":
            await context.bot.send_document(
                chat_id, files.xlsx, filename=f"{name}.xlsx", caption=caption
            )
        else:
            await context.bot.send_document(
                chat_id, files.csv, filename=f"{name}.csv", caption=caption
            )


async def compare_evaluations(update: Update, context: BotContext) -> None:
    """/evaluations [from] [to]: events and regions compared; small cells hidden."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    zone = _zone(context, caller)
    try:
        require_coordinator(caller)
        start, end = parse_period(
            list(context.args or []), context.now().astimezone(zone).date(), RECENT_DAYS
        )
        comparison = await compare(context.storage, caller, context.regions, start, end, zone, lang)
    except Refused as exc:
        await send(update, context, t(lang, exc.key, **exc.params))
        return
    if not comparison.events:
        await send(update, context, t(lang, "evaluation.compare.none"))
        return
    chart = comparison_chart(comparison, lang)
    if chart is not None:
        caption = comparison_chart_caption(start, end, lang, most=SMALL_CELL)
        await context.bot.send_photo(caller.telegram_id, chart, caption=caption)
    period = (int(f"{start:%Y%m%d}"), int(f"{end:%Y%m%d}"))
    markup = keyboard(
        [
            [
                (t(lang, "evaluation.report.xlsx_button"), PERIOD_FILE.pack(*period, "x")),
                (t(lang, "evaluation.report.csv_button"), PERIOD_FILE.pack(*period, "c")),
            ]
        ]
    )
    lines = comparison_text(comparison, lang)
    chunks = pages(lines)
    for n, page in enumerate(chunks):
        await send(update, context, page, markup if n == len(chunks) - 1 else None)


async def press_compare(update: Update, context: BotContext) -> None:
    """evs:<from>:<to>:x|c — the period's answers as XLSX or CSV."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    zone = _zone(context, caller)
    try:
        first, last, kind = PERIOD_FILE.parse(query.data)
        try:
            start = datetime.strptime(str(first), "%Y%m%d").date()
            end = datetime.strptime(str(last), "%Y%m%d").date()
        except ValueError:
            raise WrongInput("dialog.stale") from None
        if end < start or (end - start).days > 366:
            raise WrongInput("dialog.stale")
        comparison = await compare(context.storage, caller, context.regions, start, end, zone, lang)
    except Refused as exc:
        await answer(query, t(lang, exc.key, **exc.params), alert=True)
        return
    await answer(query)
    files = await export(context.storage, comparison.reports, context.regions, lang, zone)
    name = f"evaluations-{start:%Y%m%d}-{end:%Y%m%d}"
    caption = t(
        lang,
        "evaluation.compare.file_caption",
        start=f"{start:%d.%m.%Y}",
        end=f"{end:%d.%m.%Y}",
    )
    if kind == "x":
        await context.bot.send_document(
            caller.telegram_id, files.xlsx, filename=f"{name}.xlsx", caption=caption
        )
    else:
        await context.bot.send_document(
            caller.telegram_id, files.csv, filename=f"{name}.csv", caption=caption
        )


FLOW = Flow(
    EVL,
    render=None,  # the questionnaire shows its questions itself (and checks its buttons)
    on_text=answer_typed,
    show_again=show_again,
    prefix="eva",
    steps=("answer",),
    data=QuestionnaireAnswers,
)
