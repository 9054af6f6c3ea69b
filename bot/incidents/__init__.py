"""Incident reports: what a member reports, who may see and act on it, and every action.

A report is saved together with its first notifications and escalation steps in one
transaction, so it is never lost and never sits unseen. An anonymous report stores no link to
its reporter; the receipt code is the only key to it. Texts of reports are never logged.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.incidents.escalation import (
    TOP,
    Ladder,
    Unreachable,
    Viewer,
    delivered_cards,
    ladder,
    policy_from,
    reach,
    refresh_cards,
    reply_to_cards,
    stale_after,
    still_entitled,
)
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions
from bot.roles.access import Caller, Denied, identify, require_coordinator, require_member
from bot.settings import Settings
from bot.timefmt import MOSCOW
from storage import revocation
from storage.db import Storage, Tx
from storage.incidents import ERASED_ASKER, Incident, NewIncident, Question
from storage.members import Member
from storage.outbox import OutboxRow

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
DETAILS_PER_HOUR = 10  # details a reporter may add to one report in an hour
DETAILS_MAX = 100  # details one report takes in all (its timeline stays readable)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 9  # 31 ** 9: 44.6 bits of randomness
_CODE_RE = re.compile(r"^[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}$|^[A-Z0-9]{2}-[A-Z0-9]{4}$")
_LOOKALIKES = str.maketrans("АВЕКМНОРСТУХЗ", "ABEKMHOPCTYX3")
CODE_TRIES_PER_HOUR = 10  # wrong receipt codes one person may type in an hour
SNOOZE_HOUR = timedelta(hours=1)
MORNING_HOUR = 9


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
    """The dialogue's data as a report; Denied if something is missing or forged."""
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
        raise Denied("incidents.incomplete")
    happened = date.fromisoformat(str(data["day"]))
    if happened > today:
        raise Denied("incidents.hint.future")
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
    people, unreachable = await ladder(storage, settings, regions, report.region_code)
    for _ in range(5):
        code = new_code()
        if not await storage.incidents.code_exists(code):
            break
    new = NewIncident(
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
    draft = storage.dialogs.held(caller.telegram_id)
    try:
        async with storage.db.transaction() as tx:
            if dialog_flow is not None and not await storage.dialogs.delete(
                caller.telegram_id, flow=dialog_flow, tx=tx
            ):
                raise Denied("dialog.stale")  # sent already
            incident = await storage.incidents.create(new, now, tx)
            await storage.incidents.note(tx, incident.id, "reported", now)
            return await reach(
                storage,
                tx,
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


# ---------------------------------------------------------------- coordinators


async def visible_incident(storage: Storage, caller: Caller, incident_id: int) -> Incident:
    """An incident the caller may see and act on: their region's (federal and admins: all)."""
    require_coordinator(caller)
    incident = await storage.incidents.get(incident_id)
    if incident is None:
        raise Denied("incidents.not_found")
    if not caller.coordinates(incident.region_code):
        raise Denied("incidents.not_yours")
    return incident


async def visible_open(
    storage: Storage, caller: Caller, *, states: tuple[str, ...], region: str | None
) -> list[Incident]:
    require_coordinator(caller)
    scope = None if (caller.is_admin or caller.is_federal) else sorted(caller.regions)
    if region is not None and not caller.coordinates(region):
        raise Denied("incidents.not_yours")
    return await storage.incidents.listing(scope, states=states, region=region)


def actor_name(caller: Caller) -> str:
    """The member's name; for someone without a profile (a bootstrap admin), their name in
    Telegram; the id only if Telegram gave no name either."""
    if caller.member is not None and caller.member.name:
        return caller.member.name
    if caller.telegram_name.strip():
        return caller.telegram_name.strip()
    return f"id {caller.telegram_id}"


@dataclass(frozen=True)
class _Before:
    """What an action reads before its transaction (the database lock is not re-entrant)."""

    people: Ladder
    unreachable: Unreachable
    cards: list[OutboxRow]
    files: list[tuple[str, str]]
    reporter: Member | None


async def _before(
    storage: Storage, settings: Settings, regions: Regions, incident: Incident
) -> _Before:
    people, unreachable = await ladder(storage, settings, regions, incident.region_code)
    reporter = None
    if incident.reporter_member_id is not None:
        reporter = await storage.members.by_id(incident.reporter_member_id)
    return _Before(
        people,
        unreachable,
        await delivered_cards(storage, incident.id),
        [(a.kind, a.file_id) for a in await storage.incidents.attachments(incident.id)],
        reporter,
    )


async def _tell_reporter(
    storage: Storage,
    tx: Tx,
    before: _Before,
    incident: Incident,
    now: datetime,
    key: str,
    **params: Any,
) -> None:
    """A status change for a named reporter (an anonymous one reads it in /status)."""
    reporter = before.reporter
    if reporter is None or reporter.telegram_id is None or reporter.status != "active":
        return
    lang = reporter.language
    text = t(lang, f"incidents.to_reporter.{key}", code=incident.code, **params)
    await send_to_many(
        storage,
        [(reporter.telegram_id, reporter.id)],
        Outgoing(text=text),
        priority=Priority.ALERT,
        now=now,
        key=f"increp{incident.id}:{key}:{int(now.timestamp() * 1000)}",
        tx=tx,
    )


async def acknowledge(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    incident_id: int,
    now: datetime,
) -> Incident:
    """'Беру в работу': the first coordinator to press it takes the report; every card shows who."""
    incident = await visible_incident(storage, caller, incident_id)
    before = await _before(storage, settings, regions, incident)
    async with storage.db.transaction() as tx:
        taken = await storage.incidents.change(
            tx,
            incident.id,
            now,
            when_state=("new",),
            state="acknowledged",
            assignee_telegram_id=caller.telegram_id,
            assignee_name=actor_name(caller),
            acknowledged_at=now,
            progress_at=None,
            snoozed_until=None,
        )
        if taken is None:
            current = await storage.incidents.load(tx, incident.id)
            raise _refusal(current)
        await storage.incidents.cancel_steps(tx, incident.id)
        await storage.incidents.add_step(
            tx, incident.id, "stale", taken.level, now + stale_after(taken)
        )
        await storage.incidents.note(
            tx,
            incident.id,
            "acknowledged",
            now,
            actor=caller.telegram_id,
            actor_name=actor_name(caller),
        )
        await refresh_cards(
            storage,
            tx,
            taken,
            before.cards,
            regions,
            now,
            len(before.files),
            admins=settings.admin_ids,
        )
        await _tell_reporter(storage, tx, before, taken, now, "acknowledged")
    return taken


def _refusal(current: Incident | None) -> Denied:
    if current is None:
        return Denied("incidents.not_found")
    if current.state == "acknowledged":
        return Denied("incidents.already_taken", name=current.assignee_name or "—")
    if current.state == "resolved":
        return Denied("incidents.already_resolved")
    if current.state == "withdrawn":
        return Denied("incidents.already_withdrawn")
    return Denied("incidents.not_taken")


async def escalate_now(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    incident_id: int,
    now: datetime,
) -> Incident:
    """'Передать выше': the next level is told now (a taken report becomes untaken)."""
    incident = await visible_incident(storage, caller, incident_id)
    if incident.level >= TOP:
        raise Denied("incidents.top_level")
    before = await _before(storage, settings, regions, incident)
    async with storage.db.transaction() as tx:
        current = await storage.incidents.change(
            tx,
            incident.id,
            now,
            when_state=("new", "acknowledged"),
            state="new",
            assignee_telegram_id=None,
            assignee_name=None,
            acknowledged_at=None,
            snoozed_until=None,
        )
        if current is None:
            raise _refusal(await storage.incidents.load(tx, incident.id))
        await storage.incidents.cancel_steps(tx, incident.id)
        await storage.incidents.note(
            tx,
            incident.id,
            "escalated",
            now,
            actor=caller.telegram_id,
            actor_name=actor_name(caller),
        )
        current = await reach(
            storage,
            tx,
            current,
            current.level + 1,
            before.people,
            before.unreachable,
            regions,
            now,
            attachments=before.files,
            reason="by_hand",
        )
        await refresh_cards(
            storage,
            tx,
            current,
            before.cards,
            regions,
            now,
            len(before.files),
            admins=settings.admin_ids,
        )
    return current


async def resolve(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    incident_id: int,
    outcome: str,
    now: datetime,
) -> Incident:
    """'Решено' with an outcome note: closed for everyone, the reporter is told."""
    outcome = outcome.strip()
    if not 3 <= len(outcome) <= NOTE_MAX:
        raise Denied("incidents.hint.note", limit=NOTE_MAX)
    incident = await visible_incident(storage, caller, incident_id)
    before = await _before(storage, settings, regions, incident)
    async with storage.db.transaction() as tx:
        done = await storage.incidents.change(
            tx,
            incident.id,
            now,
            when_state=("new", "acknowledged"),
            state="resolved",
            outcome=outcome,
            closed_at=now,
            assignee_telegram_id=incident.assignee_telegram_id or caller.telegram_id,
            assignee_name=incident.assignee_name or actor_name(caller),
        )
        if done is None:
            raise _refusal(await storage.incidents.load(tx, incident.id))
        await storage.incidents.cancel_steps(tx, incident.id)
        await storage.incidents.note(
            tx,
            incident.id,
            "resolved",
            now,
            actor=caller.telegram_id,
            actor_name=actor_name(caller),
            detail=outcome,
        )
        await refresh_cards(
            storage,
            tx,
            done,
            before.cards,
            regions,
            now,
            len(before.files),
            admins=settings.admin_ids,
        )
        await _tell_reporter(storage, tx, before, done, now, "resolved", outcome=_esc(outcome))
    return done


def snooze_until(kind: str, now: datetime, zone: ZoneInfo) -> datetime:
    if kind == "hour":
        return now + SNOOZE_HOUR
    local = now.astimezone(zone)
    morning = local.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(now.tzinfo)


async def snooze(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    incident_id: int,
    kind: str,
    now: datetime,
) -> Incident:
    """'Отложить' (1 hour / until 09:00 in the caller's time): reminders and escalation wait;
    then the level is reminded and its time to take the report starts again. Not for critical."""
    if kind not in ("hour", "morning"):
        raise Denied("dialog.stale")
    incident = await visible_incident(storage, caller, incident_id)
    if incident.urgency == "critical":
        raise Denied("incidents.no_snooze_critical")
    region = regions.get(caller.member.region_code) if caller.member else None
    until = snooze_until(kind, now, region.tz if region else MOSCOW)
    before = await _before(storage, settings, regions, incident)
    async with storage.db.transaction() as tx:
        snoozed = await storage.incidents.change(
            tx, incident.id, now, when_state=("new",), snoozed_until=until
        )
        if snoozed is None:
            raise _refusal(await storage.incidents.load(tx, incident.id))
        await storage.incidents.cancel_steps(tx, incident.id, ("remind", "escalate"))
        await storage.incidents.add_step(tx, incident.id, "remind", snoozed.level, until)
        if snoozed.level < _max_level(snoozed):
            window = timedelta(minutes=int(snoozed.policy["ack_minutes"][snoozed.urgency]))
            await storage.incidents.add_step(
                tx, incident.id, "escalate", snoozed.level, until + window
            )
        await storage.incidents.note(
            tx,
            incident.id,
            "snoozed",
            now,
            actor=caller.telegram_id,
            actor_name=actor_name(caller),
            detail=until.isoformat(),
        )
        await refresh_cards(
            storage,
            tx,
            snoozed,
            before.cards,
            regions,
            now,
            len(before.files),
            admins=settings.admin_ids,
        )
    return snoozed


def _max_level(incident: Incident) -> int:
    return int(incident.policy["low_max_level"]) if incident.urgency == "low" else TOP


async def add_note(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    incident_id: int,
    note: str,
    now: datetime,
) -> Incident:
    """A progress note on a taken report: the timeline keeps it, the no-progress clock restarts."""
    note = note.strip()
    if not 3 <= len(note) <= NOTE_MAX:
        raise Denied("incidents.hint.note", limit=NOTE_MAX)
    incident = await visible_incident(storage, caller, incident_id)
    async with storage.db.transaction() as tx:
        noted = await storage.incidents.change(
            tx, incident.id, now, when_state=("acknowledged",), progress_at=now
        )
        if noted is None:
            raise _refusal(await storage.incidents.load(tx, incident.id))
        await storage.incidents.cancel_steps(tx, incident.id, ("stale", "unassign"))
        await storage.incidents.add_step(
            tx, incident.id, "stale", noted.level, now + stale_after(noted)
        )
        await storage.incidents.note(
            tx,
            incident.id,
            "progress",
            now,
            actor=caller.telegram_id,
            actor_name=actor_name(caller),
            detail=note,
        )
    return noted


async def ask_reporter(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    incident_id: int,
    question: str,
    now: datetime,
) -> tuple[Incident, bool]:
    """'Задать вопрос заявителю': relayed by the bot, neither side sees the other's account.
    Returns the incident and whether the question was sent (False: it waits in /status)."""
    question = question.strip()
    if not 3 <= len(question) <= NOTE_MAX:
        raise Denied("incidents.hint.note", limit=NOTE_MAX)
    incident = await visible_incident(storage, caller, incident_id)
    if not incident.is_open:
        raise _refusal(incident)
    before = await _before(storage, settings, regions, incident)
    reporter = before.reporter
    reachable = (
        reporter is not None and reporter.telegram_id is not None and reporter.status == "active"
    )
    async with storage.db.transaction() as tx:
        question_id = await storage.incidents.ask(
            tx, incident.id, caller.telegram_id, question, now
        )
        await storage.incidents.note(
            tx,
            incident.id,
            "question",
            now,
            actor=caller.telegram_id,
            actor_name=actor_name(caller),
            detail=question,
        )
        if reachable:
            assert reporter is not None and reporter.telegram_id is not None
            lang = reporter.language
            await send_to_many(
                storage,
                [(reporter.telegram_id, reporter.id)],
                Outgoing(
                    text=t(
                        lang,
                        "incidents.to_reporter.question",
                        code=incident.code,
                        question=_esc(question),
                    ),
                    markup={
                        "inline_keyboard": [
                            [
                                {
                                    "text": t(lang, "incidents.button.reply"),
                                    "callback_data": f"ist:{incident.code}:reply:{question_id}",
                                }
                            ]
                        ]
                    },
                ),
                priority=Priority.ALERT,
                now=now,
                key=f"incq{question_id}",
                tx=tx,
            )
    return incident, reachable


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- reporters


async def incident_by_code(
    storage: Storage, settings: Settings, code_text: str, now: datetime
) -> Incident:
    """The receipt code is the key to a report (the only one, for an anonymous report). It
    stops working when the report's retention ends (RETENTION_DAYS after it was closed)."""
    code = normalise_code(code_text)
    incident = await storage.incidents.by_code(code) if code else None
    if incident is None or incident.purged_at is not None:
        raise Denied("incidents.wrong_code")
    retention = timedelta(days=settings.retention_days)
    if incident.closed_at is not None and incident.closed_at <= now - retention:
        raise Denied("incidents.wrong_code")
    return incident


async def own_reports(storage: Storage, caller: Caller) -> list[Incident]:
    member = require_member(caller)
    return await storage.incidents.of_reporter(member.id)


async def withdraw(
    storage: Storage, settings: Settings, regions: Regions, code: str, now: datetime
) -> Incident:
    """The reporter takes the report back: coordinators' cards say so, reminders stop."""
    incident = await incident_by_code(storage, settings, code, now)
    before = await _before(storage, settings, regions, incident)
    async with storage.db.transaction() as tx:
        gone = await storage.incidents.change(
            tx,
            incident.id,
            now,
            when_state=("new", "acknowledged"),
            state="withdrawn",
            closed_at=now,
        )
        if gone is None:
            raise _refusal(await storage.incidents.load(tx, incident.id))
        await storage.incidents.cancel_steps(tx, incident.id)
        await storage.incidents.note(tx, incident.id, "withdrawn", now)
        await refresh_cards(
            storage,
            tx,
            gone,
            before.cards,
            regions,
            now,
            len(before.files),
            admins=settings.admin_ids,
        )
    return gone


async def add_details(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    code: str,
    text: str | None,
    attachment: tuple[str, str] | None,
    now: datetime,
) -> Incident:
    """More from the reporter: the coordinators who have the card get it as a reply."""
    incident = await incident_by_code(storage, settings, code, now)
    if not incident.is_open:
        raise _refusal(incident)
    text = (text or "").strip()
    if len(text) > DESCRIPTION_MAX:
        raise Denied("incidents.hint.too_long", limit=DESCRIPTION_MAX)
    if not text and attachment is None:
        raise Denied("incidents.hint.details")
    if attachment is not None and incident.anonymous and attachment[0] == "document":
        raise Denied("incidents.hint.no_documents")  # a file keeps its author and GPS data
    files = await storage.incidents.attachments(incident.id) if attachment else []
    if len(files) >= MAX_ATTACHMENTS:
        raise Denied("incidents.files_full", limit=MAX_ATTACHMENTS)
    recent = await storage.incidents.actions_since(incident.id, "details", now - timedelta(hours=1))
    if recent >= DETAILS_PER_HOUR:
        raise Denied("incidents.details_too_often", limit=DETAILS_PER_HOUR)
    if await storage.incidents.actions_since(incident.id, "details", incident.created_at) >= (
        DETAILS_MAX
    ):
        raise Denied("incidents.details_full", limit=DETAILS_MAX)
    before = await _before(storage, settings, regions, incident)
    people = _card_holders(before)
    stamp = int(now.timestamp() * 1000)
    async with storage.db.transaction() as tx:
        if attachment is not None:
            await storage.incidents.add_attachment(
                tx, incident.id, attachment[0], attachment[1], now
            )
        await storage.incidents.note(
            tx, incident.id, "details", now, detail=text or (attachment[0] if attachment else None)
        )
        await reply_to_cards(
            storage,
            tx,
            incident,
            people,
            before.cards,
            now,
            key=f"incmore{incident.id}:{stamp}",
            text_key="incidents.details_added",
            text=_esc(text) if text else "—",
        )
        if attachment is not None:
            for viewer in await still_entitled(tx, incident, people):
                await send_to_many(
                    storage,
                    [(viewer.chat_id, viewer.member_id)],
                    Outgoing(
                        text=t(
                            viewer.language, "incidents.card.attachment_caption", id=incident.id
                        ),
                        file_id=attachment[1],
                        file_kind=attachment[0],
                    ),
                    priority=Priority.ALERT,
                    now=now,
                    key=f"incmorefile{incident.id}:{stamp}",
                    tx=tx,
                )
    return incident


def _card_holders(before: _Before) -> list[Viewer]:
    """Everyone who has a card of the incident, once each."""
    holders = {row.chat_id for row in before.cards}
    seen: dict[int, Viewer] = {}
    for level in sorted(before.people):
        for viewer in before.people[level]:
            if viewer.chat_id in holders:
                seen.setdefault(viewer.chat_id, viewer)
    return list(seen.values())


async def answer_question(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    code: str,
    question_id: int,
    answer: str,
    now: datetime,
) -> Question:
    """The reporter's answer, relayed to the coordinator who asked (once)."""
    incident = await incident_by_code(storage, settings, code, now)
    question = await storage.incidents.question(question_id)
    if question is None or question.incident_id != incident.id:
        raise Denied("dialog.stale")
    answer = answer.strip()
    if not 1 <= len(answer) <= NOTE_MAX:
        raise Denied("incidents.hint.note", limit=NOTE_MAX)
    # the coordinator who asked; if they have erased their data, whoever holds a card of it
    # (and who may still see the report: someone who lost the region does not get it)
    readers: list[tuple[int, int | None, str]] = []
    asker = None
    if question.asked_by != ERASED_ASKER:
        asker = await identify(storage, settings, question.asked_by)
    if asker is not None and asker.coordinates(incident.region_code):
        lang = asker.member.language if asker.member else settings.default_language
        readers.append((question.asked_by, asker.member.id if asker.member else None, lang))
    else:
        before = await _before(storage, settings, regions, incident)
        holders = _card_holders(before) or next(
            (before.people[level] for level in sorted(before.people) if before.people[level]),
            [],
        )
        readers = [(v.chat_id, v.member_id, v.language) for v in holders]
    async with storage.db.transaction() as tx:
        if not await storage.incidents.answer(tx, question.id, answer, now):
            raise Denied("incidents.already_answered")
        await storage.incidents.note(tx, incident.id, "answer", now, detail=answer)
        allowed = await revocation.holders(tx, incident.region_code) | settings.admin_ids
        for chat_id, member_id, lang in readers:
            if chat_id not in allowed:  # lost the role since it was read
                continue
            await send_to_many(
                storage,
                [(chat_id, member_id)],
                Outgoing(
                    text=t(
                        lang,
                        "incidents.answer_relayed",
                        id=incident.id,
                        question=_esc(question.question),
                        answer=_esc(answer),
                    )
                ),
                priority=Priority.ALERT,
                now=now,
                key=f"incans{question.id}",
                tx=tx,
            )
    updated = await storage.incidents.question(question.id)
    assert updated is not None
    return updated


async def queue_view(
    storage: Storage,
    caller: Caller,
    incident: Incident,
    pages: list[str],
    caption: str,
    now: datetime,
) -> int:
    """/incident: the timeline's further pages and the attachments go out through the outbox,
    one by one at the pace Telegram allows, not as a burst inside the handler. Returns how many
    messages were queued."""
    member_id = caller.member.id if caller.member else None
    messages = [Outgoing(text=page) for page in pages]
    messages += [
        Outgoing(text=caption, file_id=a.file_id, file_kind=a.kind)
        for a in await storage.incidents.attachments(incident.id)
    ]
    stamp = int(now.timestamp() * 1000)
    async with storage.db.transaction() as tx:
        for n, message in enumerate(messages):
            await send_to_many(
                storage,
                [(caller.telegram_id, member_id)],
                message,
                priority=Priority.REPLY,
                now=now,
                key=f"incview{incident.id}:{stamp}:{n}",
                tx=tx,
            )
    return len(messages)
