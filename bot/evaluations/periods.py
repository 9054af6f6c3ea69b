"""Events and regions compared over a period (/evaluations): cells from fewer than
SMALL_CELL answers are hidden."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.evaluations.charts import new_figure, png_of
from bot.evaluations.questions import SMALL_CELL
from bot.evaluations.reports import (
    COMPARED,
    EventReport,
    event_report,
    figure_text,
    marks_of,
    percent,
)
from bot.evaluations.views import esc, event_label, events_key
from bot.i18n import t, tn
from bot.incidents.export import period_bounds
from bot.regions import Regions
from bot.roles.access import Caller, require_coordinator
from storage.db import Storage
from storage.evaluations import Response
from storage.events import Event

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
    return {key: _compared(marks_of(responses, key)) for key in COMPARED}


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


async def _reports(
    storage: Storage, caller: Caller, since: datetime, until: datetime, lang: str
) -> list[EventReport]:
    """The reports of the events evaluated in the period (a main round opened)."""
    reports: list[EventReport] = []
    for event in await evaluated_events(storage, caller, since, until):
        config = await storage.evaluations.config(event.id)
        if config is not None and config.opened("main") is not None:
            reports.append(await event_report(storage, caller, event.id, lang))
    return reports


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
    reports = await _reports(storage, caller, since, until, lang)
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
            if len(marks := marks_of(r.pooled, key)) >= SMALL_CELL:
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


def comparison_text(comparison: Comparison, lang: str) -> list[str]:
    """Lines of two monospaced tables (events, regions); the handler pages them."""
    heads = [t(lang, f"evaluation.short.{key}")[:1] for key in COMPARED]

    def table(title: str, rows: list[Row]) -> list[str]:
        out = [f"<b>{title}</b>"]
        header = f"{'':18} {'%':>4} " + " ".join(f"{h:>4}" for h in heads)
        body = [header]
        for row in rows:
            label = row.label if len(row.label) <= 18 else row.label[:17] + "…"
            rate = percent(row.answered, row.asked).replace(" %", "")
            cells = " ".join(f"{figure_text(row.averages[k], lang):>4}" for k in COMPARED)
            body.append(f"{label:18} {rate:>4} {cells}")
        out.append("<pre>" + esc("\n".join(body)) + "</pre>")
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
    figure, axes = new_figure(max(6.0, 1.1 * len(shown) + 2), 4.5)
    width = 0.8 / len(COMPARED)
    for n, key in enumerate(COMPARED):
        xs = [i + (n - 1) * width for i in range(len(shown))]
        heights = [r.averages[key] or 0 for r in shown]
        bars = axes.bar(  # type: ignore[attr-defined]
            xs, heights, width, label=t(lang, f"evaluation.short.{key}")
        )
        axes.bar_label(  # type: ignore[attr-defined]
            bars, labels=[figure_text(r.averages[key], lang) for r in shown], fontsize=7
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
    return png_of(figure)
