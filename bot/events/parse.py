"""What coordinators type for an event: dates and times in the organiser's zone, the program's
blocks, titles, places and links, and the limits of each field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TITLE_MAX = 200
DESCRIPTION_MAX = 2500  # the whole announcement must fit Telegram's 4096 characters
PLACE_MAX = 300
PROGRAM_MAX_BLOCKS = 15
BLOCK_MAX = 60
CAPACITY_MAX = 100_000
NEXT_YEAR_AFTER_DAYS = 60  # a date without a year this long past means next year; less: a typo

_DATE_TIME = re.compile(
    r"^\s*(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?(?:\s+|\s*[,в]\s*)(\d{1,2})(?:[:.](\d{2}))?\s*$"
)
_TIME = re.compile(r"^\s*(\d{1,2})(?:[:.](\d{2}))?\s*$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    value: datetime | None
    problem: str | None  # catalog key of the hint


def parse_time(text: str) -> tuple[int, int] | None:
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> Parsed:
    """'25.12 14:00', '25.12.2026 14:30', '5.1 9' in the organiser's zone -> UTC.

    Without a year: this year, or the next one if the date has passed."""
    match = _DATE_TIME.match(text)
    if not match:
        return Parsed(None, "events.hint.bad_format")
    day, month = int(match[1]), int(match[2])
    hour, minute = int(match[4]), int(match[5] or 0)
    local_now = now.astimezone(zone)
    year = int(match[3]) if match[3] else local_now.year
    if year < 100:
        year += 2000
    try:
        when = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        return Parsed(None, "events.hint.bad_date")
    if not match[3] and when < local_now - timedelta(days=NEXT_YEAR_AFTER_DAYS):
        try:  # "10.01" typed in December: next January
            when = when.replace(year=year + 1)
        except ValueError:
            return Parsed(None, "events.hint.bad_date")
    if when <= local_now:
        return Parsed(None, "events.hint.past")
    return Parsed(when.astimezone(UTC), None)


def at_time(day: datetime, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """That calendar day (in `zone`) at hour:minute, as an aware time."""
    local = day.astimezone(zone)
    return datetime(local.year, local.month, local.day, hour, minute, tzinfo=zone)


def split_program(text: str) -> tuple[str, ...] | None:
    """Program blocks, one per line (or separated by ';'); None if unusable."""
    blocks = [b.strip(" -•*\t") for b in re.split(r"[\n;]+", text)]
    blocks = [b for b in blocks if b]
    if not blocks or len(blocks) > PROGRAM_MAX_BLOCKS or any(len(b) > BLOCK_MAX for b in blocks):
        return None
    return tuple(blocks)


def is_blank_title(text: str) -> bool:
    """Nothing to read as a title: no letter or digit at all (empty, spaces, dots, emoji)."""
    return not any(ch.isalnum() for ch in text)


def is_url(text: str) -> bool:
    return bool(_URL.match(text.strip()))
