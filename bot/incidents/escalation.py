"""The escalation ladder: telling a level (or the next one up, when nobody there can be
reached), and the steps that must happen later, one function per kind of step.

A level that has not taken the report ("Беру в работу") within the policy's time for its
urgency is reminded (a reply to its card) and then the next level is told. Normal and low
reports wait for the morning when a recipient is in their quiet hours. Everything that must
happen later is a row in `incident_steps`; each step runs in one transaction together with the
messages it queues, so after a crash or a long outage every overdue step fires exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.i18n import t
from bot.incidents import backlog
from bot.incidents.cards import card_for, delivered_cards, esc, refresh_cards, reply_to_cards
from bot.incidents.people import (
    LEVELS,
    PRIORITY,
    RETRY_FAILED,
    RETRY_NOBODY,
    TOP,
    Ladder,
    Unreachable,
    Viewer,
    ack_window,
    deliver_at,
    ladder,
    max_level,
    remind_every,
    still_entitled,
)
from bot.outbox import Outgoing, send_to_many
from bot.regions import Regions
from bot.settings import Settings
from bot.timefmt import duration
from storage.db import Storage
from storage.incidents import Incident, Step
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- telling a level


async def _current_ladder(storage: Storage, incident: Incident, people: Ladder) -> Ladder:
    return {level: await still_entitled(storage, incident, vs) for level, vs in people.items()}


async def reach(
    storage: Storage,
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
    attachments, the timeline, and the next reminder and escalation steps, inside the caller's
    transaction. `since` is when this should have happened (a step overdue after an outage):
    the next level's time to take the report counts from then, so the ladder catches up
    instead of starting over."""
    async with storage.db.unit():
        people = await _current_ladder(storage, incident, people)
        skipped: list[int] = []
        while not people.get(level) and level < TOP:
            skipped.append(level)
            level += 1
        changed = await storage.incidents.change(incident.id, now, when_state=("new",), level=level)
        incident = changed or incident
        viewers = people.get(level, [])
        for viewer in viewers:
            await _send_card(storage, incident, viewer, regions, now, attachments)
        await storage.incidents.note(
            incident.id, "notified", now, detail=f"{reason}; level {level}; {len(viewers)}"
        )
        if skipped:
            await _broken_setup(storage, incident, skipped, people, unreachable, regions, now)
        await storage.incidents.cancel_steps(incident.id, ("remind", "escalate"))
        if not viewers:
            log.error(
                "incident %s: nobody can be reached at any level (set ADMIN_IDS)", incident.id
            )
            await storage.incidents.add_step(
                incident.id, "remind", level, now + max(remind_every(incident), RETRY_NOBODY)
            )
            return incident
        first = min(deliver_at(incident, v, now) for v in viewers)
        base = min(deliver_at(incident, v, since or now) for v in viewers)
        await storage.incidents.add_step(
            incident.id, "remind", level, first + remind_every(incident)
        )
        if level < max_level(incident):
            await storage.incidents.add_step(
                incident.id, "escalate", level, base + ack_window(incident)
            )
        return incident


async def _send_card(
    storage: Storage,
    incident: Incident,
    viewer: Viewer,
    regions: Regions,
    now: datetime,
    attachments: list[tuple[str, str]],
) -> None:
    """The card and the report's attachments to one viewer (after their quiet hours)."""
    at = deliver_at(incident, viewer, now)
    await send_to_many(
        storage,
        [(viewer.chat_id, viewer.member_id)],
        card_for(incident, viewer, regions, len(attachments)),
        priority=PRIORITY,
        now=now,
        due_at=at,
        key=f"inccard{incident.id}",
    )
    for n, (kind, file_id) in enumerate(attachments):
        await send_attachment(
            storage, incident, viewer, (kind, file_id), now, key=f"incfile{incident.id}:{n}", at=at
        )


async def send_attachment(
    storage: Storage,
    incident: Incident,
    viewer: Viewer,
    attachment: tuple[str, str],
    now: datetime,
    *,
    key: str,
    at: datetime | None = None,
) -> None:
    """One attachment of a report (kind, file id) to one viewer, with its caption."""
    caption = t(viewer.language, "incidents.card.attachment_caption", id=incident.id)
    await send_to_many(
        storage,
        [(viewer.chat_id, viewer.member_id)],
        Outgoing(text=caption, file_id=attachment[1], file_kind=attachment[0]),
        priority=PRIORITY,
        now=now,
        due_at=at,
        key=key,
    )


async def forward_attachment(
    storage: Storage,
    incident: Incident,
    viewers: list[Viewer],
    attachment: tuple[str, str],
    now: datetime,
    *,
    key: str,
) -> None:
    """An attachment added later, to each of `viewers` who may still see the report."""
    for viewer in await still_entitled(storage, incident, viewers):
        await send_attachment(storage, incident, viewer, attachment, now, key=key)


async def _broken_setup(
    storage: Storage,
    incident: Incident,
    skipped: list[int],
    people: Ladder,
    unreachable: Unreachable,
    regions: Regions,
    now: datetime,
) -> None:
    """Admins learn whose setup is broken: a level with nobody who can be reached."""
    region = regions.get(incident.region_code)
    async with storage.db.unit():
        for level in skipped:
            await storage.incidents.note(
                incident.id, "nobody_reachable", now, detail=f"level {level}"
            )
            for admin in people.get(TOP, []):
                lang = admin.language
                key = (
                    "incidents.broken.blocked"
                    if unreachable.get(level)
                    else "incidents.broken.none"
                )
                text = t(
                    lang,
                    key,
                    id=incident.id,
                    level=t(lang, f"incidents.level.{level}"),
                    region=esc(region.name(lang) if region else incident.region_code),
                    names=esc(", ".join(unreachable.get(level) or [])),
                )
                await send_to_many(
                    storage,
                    [(admin.chat_id, admin.member_id)],
                    Outgoing(text=text),
                    priority=PRIORITY,
                    now=now,
                    key=f"incbroken{incident.id}:{level}",
                )


# ---------------------------------------------------------------- the sweep


async def run_due_steps(
    storage: Storage, settings: Settings, regions: Regions, now: datetime, batch: int = 500
) -> int:
    """Fire every step that is due (each exactly once), in batches until none is left, so
    after an outage the whole backlog (and the ladder's catch-up) fires in this one sweep.
    Returns how many fired.

    A sweep that finds a step overdue by more than `backlog.CATCH_UP` (the bot was down) runs
    in one transaction (each step a savepoint of it) and ends with the summaries of
    bot/incidents/backlog.py, so that each person learns how many reports wait for them before
    the first card reaches them."""
    first = await storage.incidents.due_steps(now, 1)
    if first and backlog.is_catch_up(first[0].due_at, now):
        async with storage.db.transaction():
            fired = await _fire_due(storage, settings, regions, now, batch)
            summaries = await backlog.summarise(storage, regions, now)
        log.warning("caught up %d overdue incident steps; %d summaries", fired, summaries)
        return fired
    return await _fire_due(storage, settings, regions, now, batch)


async def _fire_due(
    storage: Storage, settings: Settings, regions: Regions, now: datetime, batch: int
) -> int:
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


@dataclass(frozen=True)
class Round:
    """A step being fired, with what it reads of its incident (inside its transaction)."""

    storage: Storage
    step: Step
    incident: Incident
    people: Ladder
    unreachable: Unreachable
    cards: list[OutboxRow]
    files: list[tuple[str, str]]
    regions: Regions
    now: datetime
    admins: Collection[int]

    async def reach(self, incident: Incident, level: int, reason: str, **since: Any) -> Incident:
        return await reach(
            self.storage,
            incident,
            level,
            self.people,
            self.unreachable,
            self.regions,
            self.now,
            attachments=self.files,
            reason=reason,
            **since,
        )

    async def refresh(self, incident: Incident) -> None:
        """Every earlier card says where the report is now, as after "Передать выше"."""
        await refresh_cards(
            self.storage,
            incident,
            self.cards,
            self.regions,
            self.now,
            len(self.files),
            admins=self.admins,
        )


async def _run_step(
    storage: Storage, settings: Settings, regions: Regions, step: Step, now: datetime
) -> int:
    async with storage.db.transaction():
        if not await storage.incidents.take_step(step.id, now):
            return 0
        incident = await storage.incidents.get(step.incident_id)
        if incident is None or not incident.is_open:
            return 0
        people, unreachable = await ladder(storage, settings, regions, incident.region_code)
        files = [(a.kind, a.file_id) for a in await storage.incidents.attachments(incident.id)]
        cards = await delivered_cards(storage, incident.id)
        fire = STEP_KINDS.get(step.kind)
        if fire is not None:
            await fire(
                Round(
                    storage,
                    step,
                    incident,
                    people,
                    unreachable,
                    cards,
                    files,
                    regions,
                    now,
                    settings.admin_ids,
                )
            )
        return 1


def _obsolete(r: Round) -> bool:
    """A reminder or an escalation of a report taken, or already higher."""
    return r.incident.state != "new" or r.incident.level != r.step.level


async def _remind(r: Round) -> None:
    """The level is reminded (a reply to its cards); nobody there: the next level is told."""
    if _obsolete(r):
        return
    incident = r.incident
    viewers = r.people.get(incident.level, [])
    if not viewers and incident.level == TOP:
        await _nobody_anywhere(r)
        return
    if not viewers:  # everyone there blocked the bot or left
        await _broken_setup(
            r.storage, incident, [incident.level], r.people, r.unreachable, r.regions, r.now
        )
        await r.refresh(await r.reach(incident, incident.level + 1, "unreachable"))
        return
    waited = r.now - incident.created_at
    await reply_to_cards(
        r.storage,
        incident,
        viewers,
        r.cards,
        r.now,
        key=f"increm{incident.id}:{r.step.id}",
        text_key="incidents.reminder",
        waited=lambda lang: duration(waited, lang),
    )
    await r.storage.incidents.note(incident.id, "reminded", r.now, detail=f"level {incident.level}")
    first = min(deliver_at(incident, v, r.now) for v in viewers)  # after quiet hours
    await r.storage.incidents.add_step(
        incident.id, "remind", incident.level, first + remind_every(incident)
    )


async def _nobody_anywhere(r: Round) -> None:
    """Nobody at any level could be reached: has someone come since?"""
    incident = r.incident
    reachable = [level for level in LEVELS if r.people.get(level)]
    if not reachable:
        await r.storage.incidents.add_step(
            incident.id, "remind", TOP, r.now + max(remind_every(incident), RETRY_NOBODY)
        )
        return
    incident = (
        await r.storage.incidents.change(
            incident.id, r.now, when_state=("new",), level=reachable[0]
        )
        or incident
    )
    await r.reach(incident, reachable[0], "reachable_again")


async def _escalate(r: Round) -> None:
    """The level did not take the report in time: the next one is told."""
    if _obsolete(r) or r.incident.level >= max_level(r.incident):
        return
    higher = await r.reach(r.incident, r.incident.level + 1, "timeout", since=r.step.due_at)
    await r.refresh(higher)


async def _stale(r: Round) -> None:
    """A taken report without progress: its assignee is reminded, then it is untaken."""
    incident = r.incident
    if incident.state != "acknowledged":
        return
    assignee = incident.assignee_telegram_id
    viewers = [v for level in LEVELS for v in r.people.get(level, []) if v.chat_id == assignee]
    await reply_to_cards(
        r.storage,
        incident,
        viewers[:1],
        r.cards,
        r.now,
        key=f"incstale{incident.id}:{r.step.id}",
        text_key="incidents.stale",
        span=lambda lang: duration(remind_every(incident), lang),
    )
    await r.storage.incidents.note(incident.id, "stale_reminded", r.now)
    await r.storage.incidents.add_step(
        incident.id, "unassign", incident.level, r.now + remind_every(incident)
    )


async def _unassign(r: Round) -> None:
    """Still no progress: the report is untaken and goes a level up."""
    if r.incident.state != "acknowledged":
        return
    changed = await r.storage.incidents.change(
        r.incident.id,
        r.now,
        when_state=("acknowledged",),
        state="new",
        assignee_telegram_id=None,
        assignee_name=None,
        acknowledged_at=None,
    )
    if changed is None:
        return
    await r.storage.incidents.note(r.incident.id, "unassigned", r.now)
    target = min(changed.level + 1, max(max_level(changed), changed.level))
    await r.refresh(await r.reach(changed, target, "no_progress"))


STEP_KINDS: dict[str, Callable[[Round], Awaitable[None]]] = {
    "remind": _remind,
    "escalate": _escalate,
    "stale": _stale,
    "unassign": _unassign,
}
