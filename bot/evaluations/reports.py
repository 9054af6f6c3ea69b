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

from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.evaluations.questions import (
    SMALL_CELL,
    Question,
    option_label,
    question_text,
    questions_of,
)
from bot.evaluations.views import esc, written_answers
from bot.events import is_creator, managed_event
from bot.i18n import t, tn
from bot.refusals import WrongInput
from bot.roles.access import Caller
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
        seen = marks_of(self.responses, key)
        hidden = marks_of(self.pooled, key)
        return seen + hidden if len(hidden) >= SMALL_CELL else seen

    def average(self, key: str) -> float | None:
        numbers = self.numbers(key)
        return sum(numbers) / len(numbers) if numbers else None


def marks_of(responses: list[Response], key: str) -> list[int]:
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
        raise WrongInput("evaluation.report.none")
    if config.opened(round_) is None:
        raise WrongInput("evaluation.report.not_yet", title=esc(event.title))
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


def decimal(value: float, lang: str) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "ru" else text


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "—"


def figure_text(value: float | None, lang: str) -> str:
    return decimal(value, lang) if value is not None else "—"


def report_text(report: EventReport, lang: str, zone: ZoneInfo) -> str:
    """The summary as one text (report_lines, joined)."""
    return "\n".join(report_lines(report, lang, zone))


def report_lines(report: EventReport, lang: str, zone: ZoneInfo) -> list[str]:
    """The summary: response rate, then each question's figures with its written answers
    right under it. Whole parts, for the handler to page (the HTML of each stays intact)."""
    lines = _heading(report, lang, zone)
    others = {a.question.key: a for a in report.others}
    for n, s in enumerate(report.stats, start=1):
        tail = f"\n{others_line(others[s.question.key], lang)}" if others else ""
        lines += _question_lines(f"{n}. {question_text(s.question, lang)}", s, tail, lang)
    return lines


def _heading(report: EventReport, lang: str, zone: ZoneInfo) -> list[str]:
    """The event, the response rate, and what the figures leave out."""
    event = report.event
    lines = [
        t(
            lang,
            "evaluation.report.title"
            if report.round == "main"
            else "evaluation.report.title_followup",
            title=esc(event.title),
            date=event.starts_at.astimezone(zone).strftime("%d.%m.%Y"),
        ),
        t(
            lang,
            "evaluation.report.rate",
            answered=report.answered,
            asked=report.asked,
            percent=percent(report.answered, report.asked),
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
    return lines


def _question_lines(title: str, s: QuestionStats, tail: str, lang: str) -> list[str]:
    """One question's figures (`tail`: the other regions' line), then its written answers."""
    if s.question.kind == "scale":
        if s.average is None:
            return [f"\n<b>{title}</b>\n" + t(lang, "evaluation.report.no_answers") + tail]
        bars = "\n".join(
            f"{v} {'▇' * round(8 * s.distribution[v] / s.answered) or '·'} {s.distribution[v]}"
            for v in (5, 4, 3, 2, 1)
        )
        return [
            f"\n<b>{title}</b>\n"
            + t(
                lang,
                "evaluation.report.average",
                average=decimal(s.average, lang),
                n=s.answered,
            )
            + f"\n<code>{bars}</code>"
            + tail
        ]
    if s.question.kind in ("choice", "block"):
        shown = [f"{esc(label)} — {count}" for label, count in s.counts if count]
        extra = ([t(lang, "evaluation.report.own_words", n=len(s.texts))] if s.texts else []) + (
            [t(lang, "evaluation.report.voices", n=len(s.voices))] if s.voices else []
        )
        body = "; ".join(shown + extra) or t(lang, "evaluation.report.no_answers")
        return [f"\n<b>{title}</b>\n{body}{tail}", *written_answers(s.texts, lang)]
    return [
        f"\n<b>{title}</b>\n"
        + t(lang, "evaluation.report.texts", n=len(s.texts), voices=len(s.voices))
        + tail,
        *written_answers(s.texts, lang),
    ]


def _dash(value: int | None) -> str:
    return str(value) if value is not None else "—"


def aggregate_text(aggregate: Aggregate, lang: str) -> str:
    """The other regions' figures for one question, as plain text (small cells: "—")."""
    if aggregate.question.kind == "scale":
        return t(
            lang, "evaluation.report.others_average", average=figure_text(aggregate.average, lang)
        )
    if aggregate.question.kind in ("choice", "block"):
        return "; ".join(f"{label}: {_dash(n)}" for label, n in aggregate.counts)
    return t(lang, "evaluation.report.others_texts", n=_dash(aggregate.answered))


def others_line(aggregate: Aggregate, lang: str) -> str:
    return t(lang, "evaluation.report.others", figures=esc(aggregate_text(aggregate, lang)))


def voices_of(report: EventReport) -> list[str]:
    return [v for s in report.stats for v in s.voices]


def short_label(question: Question, lang: str) -> str:
    if question.text is not None:
        return question.text if len(question.text) <= 28 else question.text[:27] + "…"
    return t(lang, f"evaluation.short.{question.key}")
