"""Times shown to people: in the reader's zone, with the zone named ("14:00 по Иркутску")."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.i18n import catalog, t

MOSCOW = ZoneInfo("Europe/Moscow")


def offset_label(when: datetime, zone: ZoneInfo) -> str:
    """'UTC+8', 'UTC+5:30'."""
    offset = when.astimezone(zone).utcoffset()
    seconds = int(offset.total_seconds()) if offset else 0
    hours, rest = divmod(abs(seconds), 3600)
    sign = "-" if seconds < 0 else "+"
    return f"UTC{sign}{hours}" + (f":{rest // 60:02d}" if rest else "")


def zone_name(zone: ZoneInfo, lang: str, when: datetime) -> str:
    """'по Иркутску' / 'Irkutsk time'; a zone the catalog does not name: 'по времени UTC+8'."""
    key = "zone." + zone.key.replace("/", "_").replace("-", "_")
    if key in catalog("ru"):
        return t(lang, key)
    return t(lang, "zone.unnamed", offset=offset_label(when, zone))


def moment(when: datetime, lang: str, zone: ZoneInfo = MOSCOW) -> str:
    """'25 ноября 2026 г., 14:00 по Иркутску'."""
    local = when.astimezone(zone)
    text = format_datetime(local, "d MMMM y, HH:mm", locale=lang if lang in ("ru", "en") else "ru")
    return f"{text} {zone_name(zone, lang, when)}"


def duration(span: timedelta, lang: str) -> str:
    """'45 мин', '2 ч 33 мин', '3 ч', '2 дн. 5 ч' (minutes dropped after two days): a waiting
    time a person reads at a glance, never '153 мин'."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days >= 2:
        parts = [("days", days), ("hours", hours)]
    elif days:
        parts = [("hours", days * 24 + hours), ("minutes", minutes)]
    else:
        parts = [("hours", hours), ("minutes", minutes)]
    shown = [t(lang, f"span.{unit}", n=n) for unit, n in parts if n]
    return " ".join(shown) or t(lang, "span.minutes", n=0)


def quiet_until(now: datetime, zone: ZoneInfo, quiet: tuple[int, int] | list[int]) -> datetime:
    """`now`, or the end of the quiet hours in `zone` if `now` falls inside them."""
    start, end = int(quiet[0]), int(quiet[1])
    if start == end:
        return now
    local = now.astimezone(zone)
    hour = local.hour
    inside = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not inside:
        return now
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(now.tzinfo)
