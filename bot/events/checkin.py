"""Check-in at the venue: the QR code's payload, its time window, and what the member reads."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from bot.events.cards import _esc
from bot.i18n import t, tn
from bot.roles.access import Caller, require_approved
from bot.timefmt import moment
from storage.db import Storage
from storage.events import Event


def checkin_payload(event: Event) -> str:
    return f"ci_{event.id}_{event.checkin_secret}"


class CheckIn(Enum):
    DONE = "done"
    AGAIN = "again"
    WRONG_CODE = "wrong_code"
    NOT_YET = "not_yet"  # opens CHECKIN_OPENS before the start
    CLOSED = "closed"  # closed CHECKIN_CLOSES after the end
    CANCELLED = "cancelled"


CHECKIN_OPENS = timedelta(hours=12)  # before the start
CHECKIN_CLOSES = timedelta(hours=12)  # after the end


async def check_in(
    storage: Storage, caller: Caller, event_id: int, secret: str, now: datetime
) -> tuple[CheckIn, Event | None]:
    """The venue's QR code: records that the member is here (once)."""
    member = require_approved(caller)
    event = await storage.events.get(event_id)
    if event is None or not secrets.compare_digest(event.checkin_secret, secret):
        return CheckIn.WRONG_CODE, event
    if event.status != "published":
        return CheckIn.CANCELLED, event
    if now < event.starts_at - CHECKIN_OPENS:
        return CheckIn.NOT_YET, event
    if now > event.ends_at + CHECKIN_CLOSES:
        return CheckIn.CLOSED, event
    first = await storage.events.check_in(event.id, member.id, now)
    return (CheckIn.DONE if first else CheckIn.AGAIN), event


def checkin_message(outcome: CheckIn, event: Event | None, lang: str, zone: ZoneInfo) -> str:
    """What the member reads after scanning the code; outside the window, when it opens or
    until when it was open, in their own time (the same window check_in applies)."""
    title = _esc(event.title) if event else ""
    if event is None or outcome not in (CheckIn.NOT_YET, CheckIn.CLOSED):
        return t(lang, f"events.checkin.{outcome.value}", title=title)
    opens, closes = event.starts_at - CHECKIN_OPENS, event.ends_at + CHECKIN_CLOSES
    return t(
        lang,
        f"events.checkin.{outcome.value}",
        title=title,
        opens=moment(opens, lang, zone),
        closes=moment(closes, lang, zone),
        hours=tn(lang, "events.hours", int(CHECKIN_OPENS.total_seconds() // 3600)),
    )
