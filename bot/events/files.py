"""Files of an event: the calendar entry (.ics), the participants' spreadsheet and the check-in
QR code.
"""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.regions import Regions
from storage.events import Event, Participant


def ics(event: Event, lang: str, now: datetime) -> bytes:
    """An .ics file with the event (UTC times; calendars show them in the reader's zone)."""
    from icalendar import Calendar  # here, like the others: memory at start
    from icalendar import Event as IcsEvent

    calendar = Calendar()
    calendar.add("prodid", "-//NGO network bot//ngo-bot//RU")
    calendar.add("version", "2.0")
    item = IcsEvent()
    item.add("uid", f"event-{event.id}@ngo-bot")
    item.add("dtstamp", now)
    item.add("dtstart", event.starts_at)
    item.add("dtend", event.ends_at)
    item.add("summary", event.title)
    description = event.description
    if event.online_url:
        description += f"\n\n{event.online_url}"
        item.add("url", event.online_url)
    item.add("description", description)
    if event.place:
        item.add("location", event.place)
    calendar.add_component(item)
    return bytes(calendar.to_ical())


def participants_xlsx(
    event: Event, participants: list[Participant], regions: Regions, lang: str
) -> bytes:
    """The list of who answered, as a spreadsheet (headers in the reader's language)."""
    from openpyxl import Workbook  # here: the library costs memory at every start

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t(lang, "events.xlsx.sheet")[:31]
    headers = [
        t(lang, f"events.xlsx.{c}")
        for c in ("name", "org", "region", "answer", "answered_at", "checked_in")
    ]
    sheet.append(headers)
    zone = ZoneInfo(event.tz)
    for p in participants:
        region = regions.get(p.region_code)
        sheet.append(
            [
                _cell(p.name),
                _cell(p.organisation),
                region.name(lang) if region else p.region_code,
                t(lang, f"events.status.{p.answer}"),
                p.answered_at.astimezone(zone).replace(tzinfo=None),
                p.checked_in_at.astimezone(zone).replace(tzinfo=None) if p.checked_in_at else None,
            ]
        )
    for column, width in zip("ABCDEF", (30, 35, 28, 16, 18, 18), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=5, max_col=6):
        for cell in row:
            cell.number_format = "DD.MM.YYYY HH:MM"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(text: str) -> str:
    """People's text in a spreadsheet cell: never a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def checkin_qr(link: str) -> bytes:
    """A PNG QR code of the check-in link, big enough to print on a sheet at the entrance."""
    buffer = io.BytesIO()
    import segno  # here, like the others: memory at start

    segno.make(link, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()
