"""An event's answers as spreadsheets (XLSX and CSV); an anonymous evaluation's carry no
member data."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.evaluations.questions import SCALE_KEYS, option_label, plain_question
from bot.evaluations.reports import Aggregate, EventReport, aggregate_text, short_label
from bot.i18n import t, tn
from bot.regions import Regions
from storage.db import Storage

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


def _summary_row(report: EventReport, day: str) -> list[object]:
    """One event's line of the summary sheet: its figures (averages finer with no pooled part)."""
    averages = {key: report.average(key) for key in SCALE_KEYS}
    return [
        _safe(report.event.title),
        day,
        report.asked,
        report.answered,
        round(report.rate, 3) if report.rate is not None else None,
    ] + [
        round(v, 1 if report.pooled else 2) if (v := averages.get(key)) is not None else None
        for key in SCALE_KEYS
    ]


def _sheet_title(event_id: int, event_title: str, used: set[str]) -> str:
    """A sheet's name as Excel allows it (31 characters, none of []:*?/\\), unique."""
    title = f"{event_id} {event_title}"
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    title = title[:31]
    while title in used:
        title = title[:28] + f"~{len(used)}"
    used.add(title)
    return title


async def export(
    storage: Storage, reports: list[EventReport], regions: Regions, lang: str, zone: ZoneInfo
) -> Files:
    """A summary sheet and a sheet per event (XLSX); every answer set in one CSV."""
    from openpyxl import Workbook  # here: the library costs memory at every start

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
        summary.append(_summary_row(report, day))
        sheet = book.create_sheet(_sheet_title(event.id, event.title, used))
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
