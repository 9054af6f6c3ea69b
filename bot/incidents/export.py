"""Incidents for a period as XLSX and CSV files.

Admins get every field. A coordinator gets their regions only and no free text (place,
description, outcome) and no reporter: those stay in the bot. Anonymous reports never carry
reporter data, for anyone.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.refusals import WrongInput
from bot.regions import Regions
from bot.roles.access import Caller, require_coordinator
from storage.db import Storage
from storage.incidents import Incident

MAX_DAYS = 366
DEFAULT_DAYS = 30
# never the receipt code: it is the reporter's key to /status (withdraw, answer, add details)
BASE: tuple[str, ...] = (
    "id",
    "received",
    "region",
    "category",
    "urgency",
    "danger",
    "state",
    "level",
    "assignee",
    "acknowledged",
    "closed",
    "happened",
    "anonymous",
)
FREE_TEXT = ("reporter", "organisation", "place", "description", "outcome")


@dataclass(frozen=True)
class Export:
    xlsx: bytes
    csv: bytes
    count: int
    start: date
    end: date  # inclusive
    full: bool  # with free text and reporters (admins)


def parse_period(
    args: list[str], today: date, default_days: int = DEFAULT_DAYS
) -> tuple[date, date]:
    """'01.11.2026 30.11.2026', '01.11.2026' (to today) or nothing (the last 30 days)."""
    days = [_day(a) for a in args[:2]]
    if any(d is None for d in days):
        raise WrongInput("incidents.export.bad_period")
    start = days[0] if days else today - timedelta(days=default_days - 1)
    end = days[1] if len(days) > 1 else today
    assert start is not None and end is not None
    if end < start or (end - start).days >= MAX_DAYS:
        raise WrongInput("incidents.export.bad_period")
    return start, end


def period_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the reader's zone: the period as moments."""
    return (
        datetime.combine(start, time(0), zone),
        datetime.combine(end + timedelta(days=1), time(0), zone),
    )


def _day(text: str) -> date | None:
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text.strip())
    if not match:
        return None
    try:
        return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None


async def export_incidents(
    storage: Storage,
    caller: Caller,
    regions: Regions,
    start: date,
    end: date,
    zone: ZoneInfo,
    lang: str,
) -> Export:
    require_coordinator(caller)
    full = caller.is_admin
    since, until = period_bounds(start, end, zone)
    incidents = [
        i
        for i in await storage.incidents.created_between(since, until)
        if caller.coordinates(i.region_code)
    ]
    columns = BASE + (FREE_TEXT if full else ())
    headers = [t(lang, f"incidents.export.column.{c}") for c in columns]
    rows: list[list[object]] = []
    for incident in incidents:
        rows.append(await _row(storage, incident, regions, zone, lang, full))
    from openpyxl import Workbook  # here: the library costs memory at every start

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t(lang, "incidents.export.sheet")[:31]
    sheet.append(headers)
    for row in rows:
        sheet.append([_cell(v) if isinstance(v, str) else v for v in row])
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD.MM.YYYY HH:MM"
            elif isinstance(cell.value, date):
                cell.number_format = "DD.MM.YYYY"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv(v) for v in row])
    return Export(
        xlsx=buffer.getvalue(),
        csv=text.getvalue().encode("utf-8-sig"),  # Excel opens it as UTF-8
        count=len(incidents),
        start=start,
        end=end,
        full=full,
    )


async def _row(
    storage: Storage, incident: Incident, regions: Regions, zone: ZoneInfo, lang: str, full: bool
) -> list[object]:
    region = regions.get(incident.region_code)

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone).replace(tzinfo=None) if moment else None

    yes, no = t(lang, "incidents.export.yes"), t(lang, "incidents.export.no")
    row: list[object] = [
        incident.id,
        local(incident.created_at),
        region.name(lang) if region else incident.region_code,
        t(lang, f"incidents.category.{incident.category}"),
        t(lang, f"incidents.urgency.{incident.urgency}"),
        yes if incident.danger else no,
        t(lang, f"incidents.state.{incident.state}"),
        incident.level,
        incident.assignee_name or "",
        local(incident.acknowledged_at),
        local(incident.closed_at),
        incident.happened_on,
        yes if incident.anonymous else no,
    ]
    if full:
        reporter = None
        if not incident.anonymous and incident.reporter_member_id is not None:
            reporter = await storage.members.by_id(incident.reporter_member_id)
        row += [
            (reporter.name or "") if reporter else "",
            (reporter.organisation or "") if reporter else "",
            incident.place or "",
            incident.description,
            incident.outcome or "",
        ]
    return row


def _cell(text: str) -> str:
    """People's text in a spreadsheet cell: never a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return _cell(str(value))
