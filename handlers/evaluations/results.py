"""What coordinators read: one event's results (/evaluation, its buttons: voices, XLSX, CSV)
and events compared over a period (/evaluations)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Update

from bot.buttons import Codec, Num, Word, parse_any
from bot.evaluations.charts import event_chart
from bot.evaluations.exports import export
from bot.evaluations.periods import compare, comparison_chart, comparison_text, evaluated_events
from bot.evaluations.questions import CODE_OF, ROUND_CODES, SMALL_CELL
from bot.evaluations.reports import EventReport, event_report, report_lines, voices_of
from bot.evaluations.views import comparison_chart_caption, event_chart_caption, event_label
from bot.i18n import t
from bot.incidents.export import parse_period
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, is_number, require_coordinator
from bot.runtime.context import BotContext
from handlers.common import (
    Button,
    answer,
    caller_of,
    esc,
    keyboard,
    lang_of,
    pages,
    private_only,
    send,
)

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
