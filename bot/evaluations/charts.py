"""Charts of evaluations (matplotlib, drawn off the main thread by the handlers): one
event's marks."""

from __future__ import annotations

import io
from dataclasses import dataclass

from bot.evaluations.questions import SCALE
from bot.evaluations.reports import EventReport, aggregate_text, figure_text, short_label
from bot.i18n import t

# ---------------------------------------------------------------- charts


def new_figure(width: float, height: float) -> tuple[object, object]:
    from matplotlib.figure import Figure  # imported when a chart is drawn: it is heavy

    figure = Figure(figsize=(width, height), dpi=110)
    return figure, figure.add_subplot()


def png_of(figure: object) -> bytes:
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
        note = f"{figure_text(s.average, lang)} (n={s.answered})"
        if s.question.key in others:
            note += "\n" + aggregate_text(others[s.question.key], lang)
        rows.append(ChartRow(short_label(s.question, lang), shares, note))
    return rows


def event_chart(report: EventReport, lang: str) -> bytes | None:
    """Bars per scale question: how many gave each mark, the average at the end."""
    rows = chart_rows(report, lang)[::-1]
    if not rows:
        return None
    figure, axes = new_figure(7.5 if not report.restricted else 8.5, 1.0 + 0.7 * len(rows))
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
    return png_of(figure)
