"""What coordinators learn from evaluations: one event's results (/evaluation), events and
regions compared over a period (/evaluations), charts and spreadsheets.

Figures that compare (the period view) hide every cell built from fewer than SMALL_CELL answers,
so nobody can be singled out. An anonymous evaluation's export carries no member data.

Who sees what: the event's creator, federal coordinators and admins see every answer. A regional
coordinator sees the answers (names, organisations, texts, voices) of participants from the
regions they coordinate; the answers from other regions are pooled and reach them only as
aggregates (the number of answer sets, averages and counts), each hidden as "—" when built from
fewer than SMALL_CELL answers. An average that mixes both parts takes in the other regions' answers
only when there are at least SMALL_CELL of them, so their few answers cannot be worked out by
subtracting the visible ones. The same holds in the message, the chart, XLSX, CSV, the voice
forwards and /evaluations.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from bot.evaluations import (
    SCALE,
    SCALE_KEYS,
    SMALL_CELL,
    Question,
    option_label,
    plain_question,
    question_text,
    questions_of,
)
from bot.evaluations.views import event_label, events_key, written_answers
from bot.events import is_creator, managed_event
from bot.i18n import t, tn
from bot.incidents.export import period_bounds
from bot.regions import Regions
from bot.roles.access import Caller, Denied, require_coordinator
from storage.db import Storage
from storage.evaluations import EvaluationConfig, Response
from storage.events import Event

COMPARED = ("relevance", "usefulness", "organisation")


@dataclass(frozen=True)
class QuestionStats:
    question: Question
    answered: int = 0
    average: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)  # scale value -> answers
    counts: list[tuple[str, int]] = field(default_factory=list)  # option label -> answers
    texts: list[str] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)  # Telegram file ids


@dataclass(frozen=True)
class Aggregate:
    """One question over the answers from other regions: figures only, small cells hidden."""

    question: Question
    average: float | None = None  # None: not a scale, or fewer than SMALL_CELL answers
    counts: list[tuple[str, int | None]] = field(default_factory=list)  # None: < SMALL_CELL
    answered: int | None = None  # free-text questions: answers given (None: < SMALL_CELL)


@dataclass(frozen=True)
class EventReport:
    event: Event
    config: EvaluationConfig
    round: str
    asked: int
    answered: int
    questions: list[Question]
    full: bool  # the caller sees every answer one by one (creator, federal, admin)
    stats: list[QuestionStats]  # over the answers the caller may see one by one
    responses: list[Response]  # the answers the caller may see one by one
    others: list[Aggregate] = field(default_factory=list)  # empty: nothing pooled
    # the answer sets from other regions: never shown one by one, only through aggregates
    pooled: list[Response] = field(default_factory=list, repr=False)

    @property
    def rate(self) -> float | None:
        return self.answered / self.asked if self.asked else None

    @property
    def restricted(self) -> bool:
        return bool(self.pooled)

    def numbers(self, key: str) -> list[int]:
        """The marks that may enter an average of question `key`: those the caller sees, and
        the other regions' marks only when there are at least SMALL_CELL of them."""
        seen = _marks(self.responses, key)
        hidden = _marks(self.pooled, key)
        return seen + hidden if len(hidden) >= SMALL_CELL else seen

    def average(self, key: str) -> float | None:
        numbers = self.numbers(key)
        return sum(numbers) / len(numbers) if numbers else None


def _marks(responses: list[Response], key: str) -> list[int]:
    return [a.number for r in responses if (a := r.answers.get(key)) and a.number is not None]


def sees_all(caller: Caller, event: Event) -> bool:
    """The event's creator, federal coordinators and admins see every answer one by one."""
    return is_creator(caller, event) or caller.is_admin or caller.is_federal


def _small(n: int) -> int | None:
    return n if n >= SMALL_CELL else None


def hidden_counts(counts: list[tuple[str, int]]) -> list[tuple[str, int | None]]:
    """Option counts with the small ones hidden (None), and then as many of the smallest
    shown ones as it takes for the hidden together to reach SMALL_CELL: otherwise one hidden
    cell could be worked out from the number of answer sets, which is shown."""
    hidden = {n for n, (_label, count) in enumerate(counts) if count < SMALL_CELL}
    while 0 < sum(counts[n][1] for n in hidden) < SMALL_CELL and len(hidden) < len(counts):
        hidden.add(
            min((n for n in range(len(counts)) if n not in hidden), key=lambda n: counts[n][1])
        )
    return [(label, None if n in hidden else count) for n, (label, count) in enumerate(counts)]


def aggregate(stats: QuestionStats) -> Aggregate:
    """A question's figures over the other regions' answers, small cells hidden."""
    if stats.question.kind == "scale":
        return Aggregate(
            stats.question, average=stats.average if stats.answered >= SMALL_CELL else None
        )
    if stats.question.kind in ("choice", "block"):
        return Aggregate(stats.question, counts=hidden_counts(stats.counts))
    return Aggregate(stats.question, answered=_small(stats.answered))


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _stats(question: Question, event: Event, responses: list[Response], lang: str) -> QuestionStats:
    given = [r.answers[question.key] for r in responses if question.key in r.answers]
    if question.kind == "scale":
        numbers = [a.number for a in given if a.number is not None]
        return QuestionStats(
            question,
            answered=len(numbers),
            average=sum(numbers) / len(numbers) if numbers else None,
            distribution={v: numbers.count(v) for v in (5, 4, 3, 2, 1)},
        )
    counted: Counter[str] = Counter()
    texts: list[str] = []
    voices: list[str] = []
    for a in given:
        if a.choice is not None and a.choice.startswith("block:"):
            counted[a.text or a.choice] += 1
        elif a.choice is not None:
            counted[option_label(question, a.choice, lang)] += 1
        elif a.text:
            texts.append(a.text)
        if a.voice:
            voices.append(a.voice)
    order = (
        [option_label(question, o, lang) for o in question.options]
        if question.kind == "choice"
        else list(event.program)
    )
    counts = [(label, counted[label]) for label in order]
    counts += [(label, n) for label, n in counted.items() if label not in order]
    return QuestionStats(question, answered=len(given), counts=counts, texts=texts, voices=voices)


async def event_report(
    storage: Storage, caller: Caller, event_id: int, lang: str, round_: str = "main"
) -> EventReport:
    """One event's results, for its coordinators and admins."""
    event = await managed_event(storage, caller, event_id)
    config = await storage.evaluations.config(event.id)
    if config is None or config.template == "none":
        raise Denied("evaluation.report.none")
    if config.opened(round_) is None:
        raise Denied("evaluation.report.not_yet", title=_esc(event.title))
    questions = questions_of(config, round_)
    responses = await storage.evaluations.responses(event.id, round_)
    asked, answered = await storage.evaluations.counts(event.id, round_)
    everything = sees_all(caller, event)
    # an anonymous answer from a small region keeps no region, and whose region it was cannot
    # be worked out later (people move, erase themselves, the invitations are purged): it is
    # read one by one only by someone who coordinates every region of the event
    unknown_seen = everything or all(caller.coordinates(code) for code in event.regions)
    seen: list[Response] = []
    pooled: list[Response] = []
    for response in responses:
        code = response.region_code
        visible = everything or (caller.coordinates(code) if code else unknown_seen)
        (seen if visible else pooled).append(response)
    return EventReport(
        event=event,
        config=config,
        round=round_,
        asked=asked,
        answered=answered,
        questions=questions,
        full=everything,
        stats=[_stats(q, event, seen, lang) for q in questions],
        responses=seen,
        others=[aggregate(_stats(q, event, pooled, lang)) for q in questions] if pooled else [],
        pooled=pooled,
    )


def _number(value: float, lang: str) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "ru" else text


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "—"


def report_text(report: EventReport, lang: str, zone: ZoneInfo) -> str:
    """The summary as one text (report_lines, joined)."""
    return "\n".join(report_lines(report, lang, zone))


def report_lines(report: EventReport, lang: str, zone: ZoneInfo) -> list[str]:
    """The summary: response rate, then each question's figures with its written answers
    right under it. Whole parts, for the handler to page (the HTML of each stays intact)."""
    event = report.event
    lines = [
        t(
            lang,
            "evaluation.report.title"
            if report.round == "main"
            else "evaluation.report.title_followup",
            title=_esc(event.title),
            date=event.starts_at.astimezone(zone).strftime("%d.%m.%Y"),
        ),
        t(
            lang,
            "evaluation.report.rate",
            answered=report.answered,
            asked=report.asked,
            percent=_percent(report.answered, report.asked),
        ),
    ]
    if report.config.anonymous:
        lines.append(t(lang, "evaluation.report.anonymous"))
    if report.restricted:
        lines.append(
            tn(
                lang,
                "evaluation.report.restricted",
                len(report.pooled),
                yours=len(report.responses),
                most=SMALL_CELL,
            )
        )
    others = {a.question.key: a for a in report.others}
    for n, s in enumerate(report.stats, start=1):
        title = f"{n}. {question_text(s.question, lang)}"
        tail = f"\n{others_line(others[s.question.key], lang)}" if others else ""
        if s.question.kind == "scale":
            if s.average is None:
                lines.append(f"\n<b>{title}</b>\n" + t(lang, "evaluation.report.no_answers") + tail)
                continue
            bars = "\n".join(
                f"{v} {'▇' * round(8 * s.distribution[v] / s.answered) or '·'} {s.distribution[v]}"
                for v in (5, 4, 3, 2, 1)
            )
            lines.append(
                f"\n<b>{title}</b>\n"
                + t(
                    lang,
                    "evaluation.report.average",
                    average=_number(s.average, lang),
                    n=s.answered,
                )
                + f"\n<code>{bars}</code>"
                + tail
            )
        elif s.question.kind in ("choice", "block"):
            shown = [f"{_esc(label)} — {count}" for label, count in s.counts if count]
            extra = (
                [t(lang, "evaluation.report.own_words", n=len(s.texts))] if s.texts else []
            ) + ([t(lang, "evaluation.report.voices", n=len(s.voices))] if s.voices else [])
            body = "; ".join(shown + extra) or t(lang, "evaluation.report.no_answers")
            lines.append(f"\n<b>{title}</b>\n{body}{tail}")
            lines += written_answers(s.texts, lang)
        else:
            lines.append(
                f"\n<b>{title}</b>\n"
                + t(lang, "evaluation.report.texts", n=len(s.texts), voices=len(s.voices))
                + tail
            )
            lines += written_answers(s.texts, lang)
    return lines


def _dash(value: int | None) -> str:
    return str(value) if value is not None else "—"


def aggregate_text(aggregate: Aggregate, lang: str) -> str:
    """The other regions' figures for one question, as plain text (small cells: "—")."""
    if aggregate.question.kind == "scale":
        return t(lang, "evaluation.report.others_average", average=_cell(aggregate.average, lang))
    if aggregate.question.kind in ("choice", "block"):
        return "; ".join(f"{label}: {_dash(n)}" for label, n in aggregate.counts)
    return t(lang, "evaluation.report.others_texts", n=_dash(aggregate.answered))


def others_line(aggregate: Aggregate, lang: str) -> str:
    return t(lang, "evaluation.report.others", figures=_esc(aggregate_text(aggregate, lang)))


def voices_of(report: EventReport) -> list[str]:
    return [v for s in report.stats for v in s.voices]


def short_label(question: Question, lang: str) -> str:
    if question.text is not None:
        return question.text if len(question.text) <= 28 else question.text[:27] + "…"
    return t(lang, f"evaluation.short.{question.key}")


# ---------------------------------------------------------------- charts


def _figure(width: float, height: float) -> tuple[object, object]:
    from matplotlib.figure import Figure  # imported when a chart is drawn: it is heavy

    figure = Figure(figsize=(width, height), dpi=110)
    return figure, figure.add_subplot()


def _png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")  # type: ignore[attr-defined]
    return buffer.getvalue()


COLOURS = {5: "#2e7d32", 4: "#8bc34a", 3: "#fdd835", 2: "#fb8c00", 1: "#e53935"}


@dataclass(frozen=True)
class ChartRow:
    """One bar of the event chart: the share of each mark (in %) and the note at its end."""

    label: str
    shares: dict[int, float]
    note: str


def chart_rows(report: EventReport, lang: str) -> list[ChartRow]:
    """What the event chart draws: the marks the caller may see, bar by bar; the other regions
    only as their average in the note ("—" under SMALL_CELL answers)."""
    others = {a.question.key: a for a in report.others}
    rows = []
    for s in report.stats:
        if s.question.kind != "scale" or not (s.answered or s.question.key in others):
            continue
        shares = {v: s.distribution[v] / s.answered * 100 if s.answered else 0.0 for v in SCALE}
        note = f"{_cell(s.average, lang)} (n={s.answered})"
        if s.question.key in others:
            note += "\n" + aggregate_text(others[s.question.key], lang)
        rows.append(ChartRow(short_label(s.question, lang), shares, note))
    return rows


def event_chart(report: EventReport, lang: str) -> bytes | None:
    """Bars per scale question: how many gave each mark, the average at the end."""
    rows = chart_rows(report, lang)[::-1]
    if not rows:
        return None
    figure, axes = _figure(7.5 if not report.restricted else 8.5, 1.0 + 0.7 * len(rows))
    labels = [row.label for row in rows]
    left = [0.0] * len(rows)
    for value in (1, 2, 3, 4, 5):
        widths = [row.shares[value] for row in rows]
        axes.barh(  # type: ignore[attr-defined]
            labels, widths, left=left, color=COLOURS[value], label=str(value), edgecolor="white"
        )
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, row in enumerate(rows):
        axes.text(101, y, row.note, va="center", fontsize=9)  # type: ignore[attr-defined]
    axes.set_xlim(0, 125 if not report.restricted else 150)  # type: ignore[attr-defined]
    axes.set_xlabel(t(lang, "evaluation.chart.share"))  # type: ignore[attr-defined]
    title = report.event.title[:60]
    if report.restricted:
        title += "\n" + t(lang, "evaluation.chart.yours")
    axes.set_title(title, fontsize=11)  # type: ignore[attr-defined]
    axes.legend(  # type: ignore[attr-defined]
        title=t(lang, "evaluation.chart.mark"),
        ncol=5,
        loc="upper center",
        bbox_to_anchor=(0.45, -0.25),
        fontsize=8,
    )
    return _png(figure)


# ---------------------------------------------------------------- comparing a period


@dataclass(frozen=True)
class Row:
    label: str
    asked: int
    answered: int
    averages: dict[str, float | None]  # None: hidden (fewer than SMALL_CELL answers) or none


@dataclass(frozen=True)
class Comparison:
    start: date
    end: date
    events: list[Row]
    regions: list[Row]
    reports: list[EventReport]
    key: list[str] = field(default_factory=list)  # the events' numbers with their full titles
    unplaced: int = 0  # anonymous answer sets that keep no region (in the events' rows only)


def _compared(numbers: list[int]) -> float | None:
    return sum(numbers) / len(numbers) if len(numbers) >= SMALL_CELL else None


def _averages(responses: list[Response]) -> dict[str, float | None]:
    return {key: _compared(_marks(responses, key)) for key in COMPARED}


async def evaluated_events(
    storage: Storage, caller: Caller, since: datetime, until: datetime
) -> list[Event]:
    """Events with a questionnaire that ended in [since, until) and that the caller runs."""
    require_coordinator(caller)
    found = []
    for event_id in await storage.evaluations.evaluated_between(since, until):
        event = await storage.events.get(event_id)
        if event is not None and any(caller.coordinates(code) for code in event.regions):
            found.append(event)
    return found


async def compare(
    storage: Storage,
    caller: Caller,
    regions: Regions,
    start: date,
    end: date,
    zone: ZoneInfo,
    lang: str,
) -> Comparison:
    """Events that ended in the period (those the caller may see) and the regions of their
    respondents: response rates and averages of the comparable questions."""
    since, until = period_bounds(start, end, zone)
    reports: list[EventReport] = []
    for event in await evaluated_events(storage, caller, since, until):
        config = await storage.evaluations.config(event.id)
        if config is None or config.opened("main") is None:
            continue
        reports.append(await event_report(storage, caller, event.id, lang))
    rows = [
        Row(
            event_label(r.event, zone),
            r.asked,
            r.answered,
            {key: _compared(r.numbers(key)) for key in COMPARED},
        )
        for r in reports
    ]
    # a region's rate: its people asked and those of them who answered, from the same rows
    # (an anonymous answer set from a small region keeps no region, but its person does)
    counted: dict[str, list[int]] = {}
    by_region: dict[str, list[Response]] = {}
    # the regions the caller may not see one by one make one row, from the events whose
    # pool is big enough (as in the events' rows), so no small pool can be subtracted out
    others = [0, 0]
    others_marks: dict[str, list[int]] = {key: [] for key in COMPARED}
    unplaced = 0
    for r in reports:
        for code, (n, done) in (await storage.evaluations.by_region(r.event.id, "main")).items():
            mine = r.full or caller.coordinates(code)
            cell = counted.setdefault(code, [0, 0]) if mine else others
            cell[0] += n
            cell[1] += done
        for response in r.responses:
            if response.region_code:
                by_region.setdefault(response.region_code, []).append(response)
        unplaced += sum(1 for x in (*r.responses, *r.pooled) if not x.region_code)
        for key in COMPARED:
            if len(marks := _marks(r.pooled, key)) >= SMALL_CELL:
                others_marks[key] += marks
    region_rows = []
    for code in sorted(set(counted) | set(by_region)):
        region = regions.get(code)
        n, done = counted.get(code, (0, 0))
        name = region.name(lang) if region else code
        region_rows.append(Row(name, n, done, _averages(by_region.get(code, []))))
    if any(others):
        averages = {key: _compared(marks) for key, marks in others_marks.items()}
        label = t(lang, "evaluation.compare.others")
        region_rows.append(Row(label, others[0], others[1], averages))
    listed = events_key([r.event for r in reports], zone, lang)
    return Comparison(start, end, rows, region_rows, reports, listed, unplaced)


def _cell(value: float | None, lang: str) -> str:
    return _number(value, lang) if value is not None else "—"


def comparison_text(comparison: Comparison, lang: str) -> list[str]:
    """Lines of two monospaced tables (events, regions); the handler pages them."""
    heads = [t(lang, f"evaluation.short.{key}")[:1] for key in COMPARED]

    def table(title: str, rows: list[Row]) -> list[str]:
        out = [f"<b>{title}</b>"]
        header = f"{'':18} {'%':>4} " + " ".join(f"{h:>4}" for h in heads)
        body = [header]
        for row in rows:
            label = row.label if len(row.label) <= 18 else row.label[:17] + "…"
            rate = _percent(row.answered, row.asked).replace(" %", "")
            cells = " ".join(f"{_cell(row.averages[k], lang):>4}" for k in COMPARED)
            body.append(f"{label:18} {rate:>4} {cells}")
        out.append("<pre>" + _esc("\n".join(body)) + "</pre>")
        return out

    lines = [
        t(
            lang,
            "evaluation.compare.title",
            start=comparison.start.strftime("%d.%m.%Y"),
            end=comparison.end.strftime("%d.%m.%Y"),
            n=len(comparison.events),
        )
    ]
    lines.append(t(lang, "evaluation.compare.columns"))
    lines += table(t(lang, "evaluation.compare.by_event"), comparison.events)
    lines += comparison.key
    lines += table(t(lang, "evaluation.compare.by_region"), comparison.regions)
    if comparison.unplaced:
        lines.append(tn(lang, "evaluation.compare.unplaced", comparison.unplaced, most=SMALL_CELL))
    lines.append(t(lang, "evaluation.compare.legend", most=SMALL_CELL))
    if any(r.pooled for r in comparison.reports):
        lines.append(t(lang, "evaluation.compare.others_note", most=SMALL_CELL))
    return lines


def comparison_chart(comparison: Comparison, lang: str) -> bytes | None:
    """Grouped bars: the comparable averages per event (events with enough answers)."""
    shown = [r for r in comparison.events if any(v is not None for v in r.averages.values())]
    shown = shown[-12:]
    if not shown:
        return None
    figure, axes = _figure(max(6.0, 1.1 * len(shown) + 2), 4.5)
    width = 0.8 / len(COMPARED)
    for n, key in enumerate(COMPARED):
        xs = [i + (n - 1) * width for i in range(len(shown))]
        heights = [r.averages[key] or 0 for r in shown]
        bars = axes.bar(  # type: ignore[attr-defined]
            xs, heights, width, label=t(lang, f"evaluation.short.{key}")
        )
        axes.bar_label(  # type: ignore[attr-defined]
            bars, labels=[_cell(r.averages[key], lang) for r in shown], fontsize=7
        )
    axes.set_xticks(range(len(shown)))  # type: ignore[attr-defined]
    axes.set_xticklabels(  # type: ignore[attr-defined]
        [r.label[:18] for r in shown], rotation=30, ha="right", fontsize=8
    )
    axes.set_ylim(0, 5.4)  # type: ignore[attr-defined]
    axes.set_ylabel(t(lang, "evaluation.chart.average"))  # type: ignore[attr-defined]
    axes.legend(  # type: ignore[attr-defined]
        fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.12), ncol=len(COMPARED)
    )
    return _png(figure)


# ---------------------------------------------------------------- spreadsheets


def _safe(value: object) -> object:
    """People's text in a spreadsheet cell is never a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


async def _answer_rows(
    storage: Storage, report: EventReport, regions: Regions, lang: str, zone: ZoneInfo
) -> tuple[list[str], list[list[object]]]:
    """One row per answer set; member columns only for a named evaluation."""
    named = not report.config.anonymous
    headers = [t(lang, "evaluation.xlsx.submitted")]
    if named:
        headers = [t(lang, f"evaluation.xlsx.{c}") for c in ("name", "org")] + headers
    headers.insert(2 if named else 0, t(lang, "evaluation.xlsx.region"))
    headers += [short_label(q, lang) for q in report.questions]
    rows: list[list[object]] = []
    for response in report.responses:
        region = regions.get(response.region_code or "")
        region_name = region.name(lang) if region else ""
        submitted: object = response.submitted_on
        if len(response.submitted_on) > 10:
            moment = datetime.fromisoformat(response.submitted_on.replace("Z", "+00:00"))
            submitted = moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")
        else:
            submitted = date.fromisoformat(response.submitted_on).strftime("%d.%m.%Y")
        row: list[object] = [region_name, submitted]
        if named:
            member = await storage.members.by_id(response.member_id) if response.member_id else None
            row = [
                (member.name or "") if member else "",
                (member.organisation or "") if member else "",
                region_name,
                submitted,
            ]
        for question in report.questions:
            answer = response.answers.get(question.key)
            if answer is None:
                row.append("")
            elif answer.number is not None:
                row.append(answer.number)
            elif answer.choice is not None and answer.choice.startswith("block:"):
                row.append(answer.text or "")
            elif answer.choice is not None:
                row.append(option_label(question, answer.choice, lang))
            elif answer.voice is not None:
                row.append(t(lang, "evaluation.xlsx.voice"))
            else:
                row.append(answer.text or "")
        rows.append([_safe(v) for v in row])
    return headers, rows


def _figure_cell(aggregate: Aggregate, lang: str) -> object:
    """The other regions' figure for a spreadsheet cell: an average as a number, else text."""
    if aggregate.question.kind == "scale" and aggregate.average is not None:
        return round(aggregate.average, 1)  # as in the message: finer figures, compared over
        # time, would give away single answers
    if aggregate.question.kind == "scale":
        return "—"
    return _safe(aggregate_text(aggregate, lang))


@dataclass(frozen=True)
class Files:
    xlsx: bytes
    csv: bytes


async def export(
    storage: Storage, reports: list[EventReport], regions: Regions, lang: str, zone: ZoneInfo
) -> Files:
    """A summary sheet and a sheet per event (XLSX); every answer set in one CSV."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = t(lang, "evaluation.xlsx.summary")[:31]
    scale_heads = [t(lang, f"evaluation.short.{key}") for key in SCALE_KEYS]
    summary.append(
        [t(lang, f"evaluation.xlsx.{c}") for c in ("event", "date", "asked", "answered", "rate")]
        + scale_heads
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [t(lang, f"evaluation.xlsx.{c}") for c in ("event", "date", "number", "question", "answer")]
    )
    used: set[str] = set()
    for report in reports:
        event = report.event
        day = event.starts_at.astimezone(zone).strftime("%d.%m.%Y")
        averages = {key: report.average(key) for key in SCALE_KEYS}
        summary.append(
            [
                _safe(event.title),
                day,
                report.asked,
                report.answered,
                round(report.rate, 3) if report.rate is not None else None,
            ]
            + [
                round(v, 1 if report.pooled else 2)
                if (v := averages.get(key)) is not None
                else None
                for key in SCALE_KEYS
            ]
        )
        title = f"{event.id} {event.title}"
        for bad in "[]:*?/\\":
            title = title.replace(bad, " ")
        title = title[:31]
        while title in used:
            title = title[:28] + f"~{len(used)}"
        used.add(title)
        sheet = book.create_sheet(title)
        headers, rows = await _answer_rows(storage, report, regions, lang, zone)
        sheet.append(headers)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        first = len(headers) - len(report.questions)
        for n, row in enumerate(rows, start=1):
            for question, value in zip(report.questions, row[first:], strict=True):
                if value != "":
                    writer.writerow(
                        [_safe(event.title), day, n, _safe(plain_question(question, lang)), value]
                    )
        if report.others:  # the other regions: one row of figures, below a blank one
            label = tn(lang, "evaluation.xlsx.others", len(report.pooled))
            figures = [_figure_cell(a, lang) for a in report.others]
            sheet.append([])
            sheet.append([label] + [""] * (first - 1) + figures)
            for aggregate, value in zip(report.others, figures, strict=True):
                writer.writerow(
                    [
                        _safe(event.title),
                        day,
                        label,
                        _safe(plain_question(aggregate.question, lang)),
                        value,
                    ]
                )
    buffer = io.BytesIO()
    book.save(buffer)
    return Files(buffer.getvalue(), out.getvalue().encode("utf-8-sig"))
