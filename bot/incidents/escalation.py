"""Who is told about an incident, when, and what they see: the escalation ladder.

Levels: 1 = the coordinators of the incident's region, 2 = federal coordinators, 3 = admins.
A level that has not taken the report ("Беру в работу") within the policy's time for its
urgency is reminded (a reply to its card) and then the next level is told. Normal and low
reports wait for the morning when a recipient is in their quiet hours. Everything that must
happen later is a row in `incident_steps`; each step runs in one transaction together with the
messages it queues, so after a crash or a long outage every overdue step fires exactly once.
"""

from __future__ import annotations

import html
import logging
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions
from bot.roles.revocation import queue_stubs
from bot.settings import Settings
from bot.timefmt import MOSCOW, duration, moment, quiet_until
from storage import revocation
from storage.db import Storage, Tx
from storage.incidents import Incident, Step
from storage.outbox import OutboxRow
from storage.revocation import Shown
from storage.roles import ALL_REGIONS

log = logging.getLogger(__name__)

LEVELS = (1, 2, 3)
TOP = 3
QUIET_URGENCIES = ("normal", "low")  # critical and high ignore quiet hours
PRIORITY = Priority.ALERT
RETRY_FAILED = timedelta(minutes=5)  # a step that raised is tried again after this
RETRY_NOBODY = timedelta(minutes=30)  # nobody at all could be reached: look again this often
OUTCOME_ON_CARD = 300  # characters of the outcome shown on a card (the card fits 4096)


def policy_from(settings: Settings) -> dict[str, Any]:
    """The policy in force, copied onto each incident when it is reported."""
    return {
        "ack_minutes": dict(settings.incident_ack_minutes),
        "remind_minutes": dict(settings.incident_remind_minutes),
        "stale_hours": dict(settings.incident_stale_hours),
        "low_max_level": settings.incident_low_max_level,
        "quiet_hours": list(settings.quiet_hours),
    }


def ack_window(incident: Incident) -> timedelta:
    return timedelta(minutes=int(incident.policy["ack_minutes"][incident.urgency]))


def remind_every(incident: Incident) -> timedelta:
    return timedelta(minutes=int(incident.policy["remind_minutes"][incident.urgency]))


def stale_after(incident: Incident) -> timedelta:
    return timedelta(hours=int(incident.policy["stale_hours"][incident.urgency]))


def max_level(incident: Incident) -> int:
    return int(incident.policy["low_max_level"]) if incident.urgency == "low" else TOP


# ---------------------------------------------------------------- people and their time


@dataclass(frozen=True)
class Viewer:
    """Someone who receives incident cards: their chat, language and time zone."""

    chat_id: int
    member_id: int | None
    language: str
    zone: ZoneInfo
    name: str
    admin: bool = False  # at level 3: from ADMIN_IDS (fixed while the process runs)


Ladder = dict[int, list[Viewer]]
Unreachable = dict[int, list[str]]  # level -> names of those there who cannot be reached


async def ladder(
    storage: Storage, settings: Settings, regions: Regions, region_code: str
) -> tuple[Ladder, Unreachable]:
    """Reachable people at each level, and who at each level cannot be reached."""
    people: Ladder = {}
    unreachable: Unreachable = {}
    for level, code in ((1, region_code), (2, ALL_REGIONS)):
        holders = await storage.roles.holders(code)
        people[level] = [
            Viewer(h.telegram_id, h.member_id, h.language, _zone(regions, h.member_region), h.name)
            for h in holders
            if h.reachable
        ]
        unreachable[level] = [h.name or str(h.member_id) for h in holders if not h.reachable]
    admins: list[Viewer] = []
    unreachable[3] = []
    for admin_id in sorted(settings.admin_ids):
        member = await storage.members.by_telegram_id(admin_id)
        if member is not None and member.status == "unreachable":
            unreachable[3].append(member.name or str(admin_id))
            continue
        admins.append(
            Viewer(
                admin_id,
                member.id if member else None,
                member.language if member else settings.default_language,
                _zone(regions, member.region_code) if member else MOSCOW,
                (member.name or "") if member else "",
                admin=True,
            )
        )
    people[3] = admins
    return people, unreachable


def _zone(regions: Regions, code: str) -> ZoneInfo:
    region = regions.get(code)
    return region.tz if region else MOSCOW


def deliver_at(incident: Incident, viewer: Viewer, now: datetime) -> datetime:
    if incident.urgency not in QUIET_URGENCIES:
        return now
    return quiet_until(now, viewer.zone, incident.policy["quiet_hours"])


# ---------------------------------------------------------------- what people see


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def card_text(
    incident: Incident, lang: str, zone: ZoneInfo, regions: Regions, attachments: int
) -> str:
    """The card coordinators receive: everything needed to act, in their language and time."""
    region = regions.get(incident.region_code)
    lines = [
        t(
            lang,
            "incidents.card.title",
            id=incident.id,
            urgency=t(lang, f"incidents.urgency.{incident.urgency}"),
        ),
    ]
    if incident.danger:
        lines.append(t(lang, "incidents.card.danger"))
    lines += [
        t(
            lang,
            "incidents.card.category",
            category=t(lang, f"incidents.category.{incident.category}"),
        ),
        t(
            lang,
            "incidents.card.region",
            region=_esc(region.name(lang) if region else incident.region_code),
        ),
    ]
    if incident.place:
        lines.append(t(lang, "incidents.card.place", place=_esc(incident.place)))
    if incident.latitude is not None and incident.longitude is not None:
        lines.append(
            t(
                lang,
                "incidents.card.location",
                url=f"https://maps.google.com/?q={incident.latitude:.5f},{incident.longitude:.5f}",
            )
        )
    lines += [
        t(lang, "incidents.card.happened", day=incident.happened_on.strftime("%d.%m.%Y")),
        t(lang, "incidents.card.reported", at=moment(incident.created_at, lang, zone)),
        t(
            lang,
            "incidents.card.reporter_anonymous"
            if incident.anonymous
            else "incidents.card.reporter_named",
        ),
        "",
        _esc(incident.description) or t(lang, "incidents.card.no_description"),
    ]
    if attachments:
        lines.append("\n" + t(lang, "incidents.card.attachments", n=attachments))
    lines.append("\n" + state_line(incident, lang, zone))
    return "\n".join(lines)


def state_line(incident: Incident, lang: str, zone: ZoneInfo) -> str:
    if incident.state == "acknowledged":
        return t(
            lang,
            "incidents.state_line.acknowledged",
            name=_esc(incident.assignee_name or "—"),
            at=moment(incident.acknowledged_at or incident.updated_at, lang, zone),
        )
    if incident.state == "resolved":
        return t(
            lang,
            "incidents.state_line.resolved",
            name=_esc(incident.assignee_name or "—"),
            outcome=_esc(_cut(incident.outcome or "", OUTCOME_ON_CARD)),
        )
    if incident.state == "withdrawn":
        return t(lang, "incidents.state_line.withdrawn")
    if incident.snoozed_until is not None and incident.snoozed_until > incident.updated_at:
        return t(
            lang, "incidents.state_line.snoozed", until=moment(incident.snoozed_until, lang, zone)
        )
    return t(lang, "incidents.state_line.new", level=t(lang, f"incidents.level.{incident.level}"))


def card_markup(incident: Incident, lang: str) -> dict[str, Any] | None:
    """The buttons under a card, for the incident's state (Bot API JSON, for the outbox)."""
    i = incident.id

    def button(key: str, action: str) -> dict[str, str]:
        return {"text": t(lang, f"incidents.button.{key}"), "callback_data": f"inc:{i}:{action}"}

    if incident.state == "new":
        rows = [[button("ack", "ack")], [button("up", "up"), button("resolve", "resolve")]]
        if incident.urgency != "critical":
            rows.append(
                [button("snooze_hour", "snooze:hour"), button("snooze_morning", "snooze:morning")]
            )
        rows.append([button("ask", "ask")])
    elif incident.state == "acknowledged":
        rows = [
            [button("note", "note"), button("resolve", "resolve")],
            [button("up", "up"), button("ask", "ask")],
        ]
    else:
        return None
    return {"inline_keyboard": rows}


def _card(incident: Incident, viewer: Viewer, regions: Regions, attachments: int) -> Outgoing:
    return Outgoing(
        text=card_text(incident, viewer.language, viewer.zone, regions, attachments),
        markup=card_markup(incident, viewer.language),
        meta={"lang": viewer.language, "tz": viewer.zone.key},
    )


# ---------------------------------------------------------------- telling a level


async def still_entitled(tx: Tx, incident: Incident, viewers: list[Viewer]) -> list[Viewer]:
    """Those of `viewers` (read before the transaction) who still hold a role that lets them
    see this report, checked inside it: a role revoked meanwhile sends them nothing."""
    allowed = await revocation.holders(tx, incident.region_code)
    return [v for v in viewers if v.admin or v.chat_id in allowed]


async def _current_ladder(tx: Tx, incident: Incident, people: Ladder) -> Ladder:
    return {level: await still_entitled(tx, incident, vs) for level, vs in people.items()}


async def reach(
    storage: Storage,
    tx: Tx,
    incident: Incident,
    level: int,
    people: Ladder,
    unreachable: Unreachable,
    regions: Regions,
    now: datetime,
    *,
    attachments: list[tuple[str, str]],
    reason: str,
    since: datetime | None = None,
) -> Incident:
    """Tell `level` (or, if nobody there can be reached, the next level up at once): cards,
    attachments, the timeline, and the next reminder and escalation steps. `since` is when
    this should have happened (a step overdue after an outage): the next level's time to take
    the report counts from then, so the ladder catches up instead of starting over."""
    people = await _current_ladder(tx, incident, people)
    skipped: list[int] = []
    while not people.get(level) and level < TOP:
        skipped.append(level)
        level += 1
    changed = await storage.incidents.change(tx, incident.id, now, when_state=("new",), level=level)
    incident = changed or incident
    viewers = people.get(level, [])
    for viewer in viewers:
        at = deliver_at(incident, viewer, now)
        await send_to_many(
            storage,
            [(viewer.chat_id, viewer.member_id)],
            _card(incident, viewer, regions, len(attachments)),
            priority=PRIORITY,
            now=now,
            due_at=at,
            key=f"inccard{incident.id}",
            tx=tx,
        )
        for n, (kind, file_id) in enumerate(attachments):
            caption = t(viewer.language, "incidents.card.attachment_caption", id=incident.id)
            await send_to_many(
                storage,
                [(viewer.chat_id, viewer.member_id)],
                Outgoing(text=caption, file_id=file_id, file_kind=kind),
                priority=PRIORITY,
                now=now,
                due_at=at,
                key=f"incfile{incident.id}:{n}",
                tx=tx,
            )
    await storage.incidents.note(
        tx, incident.id, "notified", now, detail=f"{reason}; level {level}; {len(viewers)}"
    )
    if skipped:
        await _broken_setup(storage, tx, incident, skipped, people, unreachable, regions, now)
    if not viewers:
        log.error("incident %s: nobody can be reached at any level (set ADMIN_IDS)", incident.id)
        await storage.incidents.cancel_steps(tx, incident.id, ("remind", "escalate"))
        await storage.incidents.add_step(
            tx, incident.id, "remind", level, now + max(remind_every(incident), RETRY_NOBODY)
        )
        return incident
    first = min(deliver_at(incident, v, now) for v in viewers)
    base = min(deliver_at(incident, v, since or now) for v in viewers)
    await storage.incidents.cancel_steps(tx, incident.id, ("remind", "escalate"))
    await storage.incidents.add_step(
        tx, incident.id, "remind", level, first + remind_every(incident)
    )
    if level < max_level(incident):
        await storage.incidents.add_step(
            tx, incident.id, "escalate", level, base + ack_window(incident)
        )
    return incident


async def _broken_setup(
    storage: Storage,
    tx: Tx,
    incident: Incident,
    skipped: list[int],
    people: Ladder,
    unreachable: Unreachable,
    regions: Regions,
    now: datetime,
) -> None:
    """Admins learn whose setup is broken: a level with nobody who can be reached."""
    region = regions.get(incident.region_code)
    for level in skipped:
        await storage.incidents.note(
            tx, incident.id, "nobody_reachable", now, detail=f"level {level}"
        )
        for admin in people.get(TOP, []):
            lang = admin.language
            key = "incidents.broken.blocked" if unreachable.get(level) else "incidents.broken.none"
            text = t(
                lang,
                key,
                id=incident.id,
                level=t(lang, f"incidents.level.{level}"),
                region=_esc(region.name(lang) if region else incident.region_code),
                names=_esc(", ".join(unreachable.get(level) or [])),
            )
            await send_to_many(
                storage,
                [(admin.chat_id, admin.member_id)],
                Outgoing(text=text),
                priority=PRIORITY,
                now=now,
                key=f"incbroken{incident.id}:{level}",
                tx=tx,
            )


async def refresh_cards(
    storage: Storage,
    tx: Tx,
    incident: Incident,
    cards: list[OutboxRow],
    regions: Regions,
    now: datetime,
    attachments: int,
    *,
    admins: Collection[int],
) -> None:
    """Edit every delivered card to show the new state (who took it, resolved ...); cards and
    reminders not yet delivered are dropped when the incident is taken or closed. Only the
    cards of those who hold a role that lets them see the report now are edited; a card of
    someone who lost it gets the stub instead (once) and is not fed any more."""
    if incident.state != "new":
        for pattern in (
            f"inccard{incident.id}:%",
            f"incfile{incident.id}:%",
            f"increm{incident.id}:%",
        ):
            await storage.outbox.cancel_pending(pattern, tx=tx)
    stamp = int(now.timestamp() * 1000)
    allowed = await revocation.holders(tx, incident.region_code) | frozenset(admins)
    for row in cards:
        meta = row.payload.get("meta") or {}
        lang = str(meta.get("lang", "ru"))
        if row.chat_id not in allowed and row.message_id is not None:
            await queue_stubs(
                storage,
                tx,
                [Shown(incident.id, row.chat_id, row.member_id, row.message_id or 0, meta)],
                language=lang,
                now=now,
            )
            continue
        zone = ZoneInfo(str(meta.get("tz", MOSCOW.key)))
        text = card_text(incident, lang, zone, regions, attachments)
        # two changes in one moment (a timeout, then a press) are two edits, not one
        differs = zlib.crc32(text.encode())
        await send_to_many(
            storage,
            [(row.chat_id, row.member_id)],
            Outgoing(
                text=text,
                markup=card_markup(incident, lang),
                edit_message_id=row.message_id,
                meta=meta,
            ),
            priority=PRIORITY,
            now=now,
            key=f"incedit{incident.id}:{stamp}:{differs}:{row.message_id}",
            tx=tx,
        )


async def delivered_cards(storage: Storage, incident_id: int) -> list[OutboxRow]:
    return await storage.outbox.delivered_with_key(f"inccard{incident_id}:")


async def reply_to_cards(
    storage: Storage,
    tx: Tx,
    incident: Incident,
    viewers: list[Viewer],
    cards: list[OutboxRow],
    now: datetime,
    *,
    key: str,
    text_key: str,
    **params: Any,
) -> None:
    """A message to each viewer, shown as a reply to their card of this incident. A parameter
    may be a function of the viewer's language (a duration in words)."""
    card_of = {row.chat_id: row.message_id for row in cards}
    for viewer in await still_entitled(tx, incident, viewers):
        lang = viewer.language
        values = {k: v(lang) if callable(v) else v for k, v in params.items()}
        await send_to_many(
            storage,
            [(viewer.chat_id, viewer.member_id)],
            Outgoing(
                text=t(lang, text_key, id=incident.id, **values),
                reply_to=card_of.get(viewer.chat_id),
            ),
            priority=PRIORITY,
            now=now,
            due_at=deliver_at(incident, viewer, now),
            key=key,
            tx=tx,
        )


# ---------------------------------------------------------------- the sweep


async def run_due_steps(
    storage: Storage, settings: Settings, regions: Regions, now: datetime, batch: int = 500
) -> int:
    """Fire every step that is due (each exactly once), in batches until none is left, so
    after an outage the whole backlog (and the ladder's catch-up) fires in this one sweep.
    Returns how many fired."""
    fired = 0
    while True:
        steps = await storage.incidents.due_steps(now, batch)
        if not steps:
            return fired
        for step in steps:
            try:
                fired += await _run_step(storage, settings, regions, step, now)
            except Exception:  # one broken step must not hold up every other incident
                log.exception("incident step %s (incident %s) failed", step.id, step.incident_id)
                await storage.incidents.postpone_step(step.id, now + RETRY_FAILED)


async def _run_step(
    storage: Storage, settings: Settings, regions: Regions, step: Step, now: datetime
) -> int:
    incident = await storage.incidents.get(step.incident_id)
    if incident is None:
        return 0
    people, unreachable = await ladder(storage, settings, regions, incident.region_code)
    cards = await delivered_cards(storage, incident.id)
    files = [(a.kind, a.file_id) for a in await storage.incidents.attachments(incident.id)]
    async with storage.db.transaction() as tx:
        if not await storage.incidents.take_step(tx, step.id, now):
            return 0
        current = await storage.incidents.load(tx, step.incident_id)
        if current is None or not current.is_open:
            return 0
        await _fire(
            storage,
            tx,
            step,
            current,
            people,
            unreachable,
            cards,
            files,
            regions,
            now,
            settings.admin_ids,
        )
        return 1


async def _fire(
    storage: Storage,
    tx: Tx,
    step: Step,
    incident: Incident,
    people: Ladder,
    unreachable: Unreachable,
    cards: list[OutboxRow],
    files: list[tuple[str, str]],
    regions: Regions,
    now: datetime,
    admins: Collection[int],
) -> None:
    if step.kind in ("remind", "escalate") and (
        incident.state != "new" or incident.level != step.level
    ):
        return  # taken, or already higher: this step is obsolete
    if step.kind == "remind":
        viewers = people.get(incident.level, [])
        if not viewers and incident.level == TOP:  # nobody anywhere: has someone come since?
            reachable = [level for level in LEVELS if people.get(level)]
            if not reachable:
                await storage.incidents.add_step(
                    tx, incident.id, "remind", TOP, now + max(remind_every(incident), RETRY_NOBODY)
                )
                return
            incident = (
                await storage.incidents.change(
                    tx, incident.id, now, when_state=("new",), level=reachable[0]
                )
                or incident
            )
            await reach(
                storage,
                tx,
                incident,
                reachable[0],
                people,
                unreachable,
                regions,
                now,
                attachments=files,
                reason="reachable_again",
            )
            return
        if not viewers:  # everyone there blocked the bot or left
            await _broken_setup(
                storage, tx, incident, [incident.level], people, unreachable, regions, now
            )
            higher = await reach(
                storage,
                tx,
                incident,
                incident.level + 1,
                people,
                unreachable,
                regions,
                now,
                attachments=files,
                reason="unreachable",
            )
            await refresh_cards(storage, tx, higher, cards, regions, now, len(files), admins=admins)
            return
        waited = now - incident.created_at
        await reply_to_cards(
            storage,
            tx,
            incident,
            viewers,
            cards,
            now,
            key=f"increm{incident.id}:{step.id}",
            text_key="incidents.reminder",
            waited=lambda lang: duration(waited, lang),
        )
        await storage.incidents.note(
            tx, incident.id, "reminded", now, detail=f"level {incident.level}"
        )
        first = min(deliver_at(incident, v, now) for v in viewers)  # after quiet hours
        await storage.incidents.add_step(
            tx, incident.id, "remind", incident.level, first + remind_every(incident)
        )
    elif step.kind == "escalate":
        if incident.level < max_level(incident):
            higher = await reach(
                storage,
                tx,
                incident,
                incident.level + 1,
                people,
                unreachable,
                regions,
                now,
                attachments=files,
                reason="timeout",
                since=step.due_at,
            )
            # every earlier card says where the report is now, as after "Передать выше"
            await refresh_cards(storage, tx, higher, cards, regions, now, len(files), admins=admins)
    elif step.kind == "stale" and incident.state == "acknowledged":
        assignee = incident.assignee_telegram_id
        viewers = [v for level in LEVELS for v in people.get(level, []) if v.chat_id == assignee][
            :1
        ]
        await reply_to_cards(
            storage,
            tx,
            incident,
            viewers,
            cards,
            now,
            key=f"incstale{incident.id}:{step.id}",
            text_key="incidents.stale",
            span=lambda lang: duration(remind_every(incident), lang),
        )
        await storage.incidents.note(tx, incident.id, "stale_reminded", now)
        await storage.incidents.add_step(
            tx, incident.id, "unassign", incident.level, now + remind_every(incident)
        )
    elif step.kind == "unassign" and incident.state == "acknowledged":
        changed = await storage.incidents.change(
            tx,
            incident.id,
            now,
            when_state=("acknowledged",),
            state="new",
            assignee_telegram_id=None,
            assignee_name=None,
            acknowledged_at=None,
        )
        if changed is None:
            return
        await storage.incidents.note(tx, incident.id, "unassigned", now)
        target = min(changed.level + 1, max(max_level(changed), changed.level))
        changed = await reach(
            storage,
            tx,
            changed,
            target,
            people,
            unreachable,
            regions,
            now,
            attachments=files,
            reason="no_progress",
        )
        await refresh_cards(storage, tx, changed, cards, regions, now, len(files), admins=admins)


# ---------------------------------------------------------------- the morning digest

DIGEST_WINDOW_HOURS = 3  # a digest missed by more than this (the bot was down) is skipped
DIGEST_LINES = 25


async def queue_digests(
    storage: Storage, settings: Settings, regions: Regions, now: datetime
) -> int:
    """Each coordinator and admin gets, once a day at DIGEST_HOUR their time, the list of open
    incidents they may see (nothing when there are none). Returns how many were queued."""
    hour = settings.digest_hour
    if hour is None:  # DIGEST_HOUR=off
        return 0
    readers: dict[int, tuple[Viewer, frozenset[str] | None]] = {}
    for entry in await storage.roles.coordinators():
        member = await storage.members.by_telegram_id(entry.telegram_id)
        if member is None or member.status != "active":
            continue
        viewer = Viewer(
            entry.telegram_id,
            member.id,
            member.language,
            _zone(regions, member.region_code),
            member.name or "",
        )
        known = readers.get(entry.telegram_id)
        code = entry.role.region_code
        scope: frozenset[str] | None
        if code == ALL_REGIONS or (known is not None and known[1] is None):
            scope = None  # everything
        else:
            scope = (known[1] if known is not None and known[1] else frozenset()) | {code}
        readers[entry.telegram_id] = (viewer, scope)
    people, _ = await ladder(storage, settings, regions, "")
    for admin in people.get(TOP, []):
        readers[admin.chat_id] = (admin, None)
    queued = 0
    open_incidents = await storage.incidents.listing(None)
    for viewer, scope in readers.values():
        local = now.astimezone(viewer.zone)
        if not hour <= local.hour < hour + DIGEST_WINDOW_HOURS:
            continue
        key = f"digest:{local.date().isoformat()}"
        if await storage.outbox.key_exists(f"{key}:{viewer.chat_id}"):
            continue
        mine = [i for i in open_incidents if scope is None or i.region_code in scope]
        if not mine:
            continue
        await send_to_many(
            storage,
            [(viewer.chat_id, viewer.member_id)],
            Outgoing(text=digest_text(mine, viewer, regions, now)),
            priority=Priority.REMINDER,
            now=now,
            key=key,
        )
        queued += 1
    return queued


def digest_text(incidents: list[Incident], viewer: Viewer, regions: Regions, now: datetime) -> str:
    lang = viewer.language
    lines = [t(lang, "incidents.digest.title", n=len(incidents))]
    for incident in incidents[:DIGEST_LINES]:
        region = regions.get(incident.region_code)
        lines.append(
            t(
                lang,
                "incidents.digest.line",
                id=incident.id,
                urgency=t(lang, f"incidents.urgency.{incident.urgency}"),
                category=t(lang, f"incidents.category.{incident.category}"),
                region=_esc(region.name(lang) if region else incident.region_code),
                state=t(lang, f"incidents.state.{incident.state}"),
                waited=duration(now - incident.created_at, lang),
            )
        )
    if len(incidents) > DIGEST_LINES:
        lines.append(t(lang, "incidents.digest.more", n=len(incidents) - DIGEST_LINES))
    lines.append(t(lang, "incidents.digest.footer"))
    return "\n".join(lines)
