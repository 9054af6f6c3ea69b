"""Times shown to people: in a given zone, with the zone named."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

MOSCOW = ZoneInfo("Europe/Moscow")


def moment(when: datetime, lang: str, zone: ZoneInfo = MOSCOW) -> str:
    """'25 ноября 2026 г., 14:00 (UTC+3)'."""
    local = when.astimezone(zone)
    text = format_datetime(local, "d MMMM y, HH:mm", locale=lang if lang in ("ru", "en") else "ru")
    offset = local.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset else 0
    minutes = int(abs(offset.total_seconds()) % 3600 // 60) if offset else 0
    label = f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")
    return f"{text} ({label})"
