"""Reporting an incident: the receipt codes, the quota of reports, the checked report and its
submission (saved with its first notifications and escalation steps in one transaction, so it is
never lost and never sits unseen). An anonymous report stores no link to its reporter; the
receipt code is the only key to it. Texts of reports are never logged.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.buttons import Codec, Num, Token, Word
from bot.incidents.escalation import reach
from bot.incidents.people import ladder, policy_from
from bot.refusals import WrongInput
from bot.regions import Regions
from bot.roles.access import Caller, require_member
from bot.settings import Settings
from storage.db import Storage
from storage.incidents import Incident, NewIncident
from storage.members import Member

CATEGORIES = (
    "violence",
    "threats",
    "vandalism",
    "hate",
    "discrimination_work",
    "discrimination_housing",
    "discrimination_services",
    "discrimination_education",
    "conflict",
    "authorities",
    "misc",
)
CHOSEN_URGENCIES = ("high", "normal", "low")  # "critical" comes from "someone is in danger"
DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 3000  # the card with everything else must fit Telegram's 4096
PLACE_MAX = 300
NOTE_MAX = 1500
MAX_ATTACHMENTS = 10  # per report in all, details added later included
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 9  # 31 ** 9: 44.6 bits of randomness
_CODE_RE = re.compile(r"^[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}$|^[A-Z0-9]{2}-[A-Z0-9]{4}$")
_LOOKALIKES = str.maketrans("АВЕКМНОРСТУХЗ", "ABEKMHOPCTYX3")
CODE_TRIES_PER_HOUR = 10  # wrong receipt codes one person may type in an hour
# the reporter's buttons, keyed by the receipt code only: ist:<code>:<action>, and the answer to
# a coordinator's question: ist:<code>:reply:<question id>
STATUS_ACTIONS = ("show", "details", "withdraw", "withdraw_yes", "urgent")
STATUS = Codec("ist", Token(), Word(*STATUS_ACTIONS))
STATUS_REPLY = Codec("ist", Token(), Word("reply"), Num())


def new_code() -> str:
    """A receipt code like 'K7Q-42X-MPA' (44.6 bits: not guessable through /status, with the
    network-wide limit of wrong codes in bot.limits)."""
    pick = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{pick[:3]}-{pick[3:6]}-{pick[6:]}"


def normalise_code(text: str) -> str | None:
    """'k7q 42x mpa', Cyrillic look-alikes, 'K7Q42XMPA' -> 'K7Q-42X-MPA'; the 6-character codes
    of reports made before (e.g. 'K7-42QX') are read too. None if not a code."""
    raw = re.sub(r"[\s\-–—_.]", "", text.upper().translate(_LOOKALIKES))
    if len(raw) == CODE_LENGTH:
        code = f"{raw[:3]}-{raw[3:6]}-{raw[6:]}"
    elif len(raw) == 6:
        code = f"{raw[:2]}-{raw[2:]}"
    else:
        return None
    return code if _CODE_RE.match(code) else None


class Quota:
    """At most `limit` uses per person per hour, kept in memory only (so nothing links an
    anonymous report to the person who sent it). A restart forgets the counts."""

    def __init__(self, limit: int, window: timedelta = timedelta(hours=1)) -> None:
        self.limit = limit
        self.window = window
        self._uses: dict[int, deque[datetime]] = {}

    PEOPLE = 50_000  # people counted at most: the one idle longest is forgotten first

    def left(self, telegram_id: int, now: datetime) -> int:
        uses = self._uses.get(telegram_id)
        if uses is None:
            return self.limit
        while uses and now - uses[0] >= self.window:
            uses.popleft()
        if not uses:
            del self._uses[telegram_id]
            return self.limit
        return self.limit - len(uses)

    def spend(self, telegram_id: int, now: datetime) -> None:
        uses = self._uses.pop(telegram_id, None) or deque()
        uses.append(now)
        while len(uses) > self.limit + 1:  # more than this is never needed to refuse
            uses.popleft()
        while len(self._uses) >= self.PEOPLE:
            self._uses.pop(next(iter(self._uses)))
        self._uses[telegram_id] = uses  # the most recent last

    def __len__(self) -> int:
        return len(self._uses)


# ---------------------------------------------------------------- reporting


@dataclass(frozen=True)
class Report:
    """A finished report dialogue, checked."""

    danger: bool
    category: str
    urgency: str
    region_code: str
    place: str | None
    latitude: float | None
    longitude: float | None
    happened_on: date
    description: str
    attachments: tuple[tuple[str, str], ...]
    anonymous: bool


def report_from(data: dict[str, Any], regions: Regions, today: date) -> Report:
    """The dialogue's data as a report; WrongInput if something is missing or forged."""
    category = str(data.get("category", ""))
    urgency = "critical" if data.get("danger") else str(data.get("urgency", ""))
    region = regions.get(str(data.get("region", "")))
    description = str(data.get("description") or "").strip()
    attachments = tuple((str(k), str(f)) for k, f in data.get("files") or [])
    if (
        category not in CATEGORIES
        or urgency not in ("critical", *CHOSEN_URGENCIES)
        or region is None
        or not (description or any(k == "voice" for k, _ in attachments))
        or len(description) > DESCRIPTION_MAX
        or len(attachments) > MAX_ATTACHMENTS
        or data.get("anonymous") not in (True, False)
        or "day" not in data
    ):
        raise WrongInput("incidents.incomplete")
    happened = date.fromisoformat(str(data["day"]))
    if happened > today:
        raise WrongInput("incidents.hint.future")
    location = data.get("location") or [None, None]
    return Report(
        danger=bool(data.get("danger")),
        category=category,
        urgency=urgency,
        region_code=region.code,
        place=(str(data["place"])[:PLACE_MAX] if data.get("place") else None),
        latitude=float(location[0]) if location[0] is not None else None,
        longitude=float(location[1]) if location[1] is not None else None,
        happened_on=happened,
        description=description,
        attachments=attachments,
        anonymous=bool(data["anonymous"]),
    )


async def submit(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    report: Report,
    now: datetime,
    *,
    dialog_flow: str | None = None,
) -> Incident:
    """Save the report and tell the first level that can be reached, in one transaction. With
    `dialog_flow`, the reporter's dialogue (which holds the whole report) is deleted in the
    same transaction, so a crash cannot leave it behind to be sent twice."""
    member = require_member(caller)
    draft = storage.dialogs.held(caller.telegram_id)
    try:
        async with storage.db.transaction():
            if dialog_flow is not None and not await storage.dialogs.delete(
                caller.telegram_id, flow=dialog_flow
            ):
                raise WrongInput("dialog.stale")  # sent already
            people, unreachable = await ladder(storage, settings, regions, report.region_code)
            new = await _new_incident(storage, settings, member, report)
            incident = await storage.incidents.create(new, now)
            await storage.incidents.note(incident.id, "reported", now)
            return await reach(
                storage,
                incident,
                1,
                people,
                unreachable,
                regions,
                now,
                attachments=list(report.attachments),
                reason="reported",
            )
    except Exception:
        # not saved (a full disk ...): the draft in memory stays, so "Отправить" works again
        # once the cause is gone, instead of the person typing it all again
        if draft is not None and dialog_flow is not None and draft.flow == dialog_flow:
            storage.dialogs.put_back(draft)
        raise


async def _new_incident(
    storage: Storage, settings: Settings, member: Member, report: Report
) -> NewIncident:
    """The row of a new report, with a receipt code no other report has."""
    for _ in range(5):
        code = new_code()
        if not await storage.incidents.code_exists(code):
            break
    return NewIncident(
        code=code,
        reporter_member_id=None if report.anonymous else member.id,
        danger=report.danger,
        category=report.category,
        urgency=report.urgency,
        region_code=report.region_code,
        place=report.place,
        latitude=report.latitude,
        longitude=report.longitude,
        happened_on=report.happened_on,
        description=report.description,
        language=member.language,
        policy=policy_from(settings),
        attachments=report.attachments,
    )


# ---------------------------------------------------------------- reporters


async def incident_by_code(
    storage: Storage, settings: Settings, code_text: str, now: datetime
) -> Incident:
    """The receipt code is the key to a report (the only one, for an anonymous report). It
    stops working when the report's retention ends (RETENTION_DAYS after it was closed)."""
    code = normalise_code(code_text)
    incident = await storage.incidents.by_code(code) if code else None
    if incident is None or incident.purged_at is not None:
        raise WrongInput("incidents.wrong_code")
    retention = timedelta(days=settings.retention_days)
    if incident.closed_at is not None and incident.closed_at <= now - retention:
        raise WrongInput("incidents.wrong_code")
    return incident


async def own_reports(storage: Storage, caller: Caller) -> list[Incident]:
    member = require_member(caller)
    return await storage.incidents.of_reporter(member.id)
