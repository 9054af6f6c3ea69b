"""A report made during the coordinators' quiet hours (#13): its receipt tells the truth (they
see it in the morning), and the reporter can make it urgent ("срочно") so that it goes out now.
The receipt's button is keyed by the receipt code only, as /status is."""

from __future__ import annotations

from datetime import datetime

from bot.incidents import _before, incident_by_code
from bot.incidents.escalation import (
    QUIET_URGENCIES,
    ack_window,
    max_level,
    refresh_cards,
    remind_every,
)
from bot.incidents.fast import _requeue
from bot.regions import Regions
from bot.roles.access import Denied
from bot.settings import Settings
from storage.db import Storage
from storage.incidents import Incident


async def waits_until(storage: Storage, incident: Incident, now: datetime) -> datetime | None:
    """When the first coordinator gets the report, if nobody gets it now (their quiet hours);
    None if someone does."""
    pending = await storage.outbox.pending_with_key(f"inccard{incident.id}:")
    if not pending or any(row.due_at <= now for row in pending):
        return None
    if await storage.outbox.delivered_with_key(f"inccard{incident.id}:"):
        return None
    return min(row.due_at for row in pending)


async def make_urgent(
    storage: Storage, settings: Settings, regions: Regions, code: str, now: datetime
) -> tuple[Incident, bool]:
    """'Срочно, не ждать утра': the report becomes 'high', its waiting cards go out now and its
    ladder starts again from now. If the cards have reached the coordinators already (the
    morning came before the tap), the urgency rises and each step keeps its time unless the
    high windows from now come sooner: an escalation about to happen is never pushed back, and
    a low report, which went no higher than the region, now goes up like a high one. Returns
    the report and whether its cards were still waiting."""
    incident = await incident_by_code(storage, settings, code, now)
    if not incident.is_open:
        raise Denied("incidents.closed")
    if incident.state != "new" or incident.urgency not in QUIET_URGENCIES:
        raise Denied("incidents.urgent_not_needed")
    waiting = await waits_until(storage, incident, now) is not None
    before = await _before(storage, settings, regions, incident)
    pending = await storage.outbox.pending_with_key(f"inccard{incident.id}:")
    async with storage.db.transaction() as tx:
        changed = await storage.incidents.change(
            tx, incident.id, now, when_state=("new",), urgency="high", snoozed_until=None
        )
        if changed is None:
            raise Denied("incidents.urgent_not_needed")
        for pattern in (f"inccard{incident.id}:%", f"incfile{incident.id}:%"):
            await storage.outbox.bring_forward(pattern, now, tx)
        await _requeue(storage, tx, changed, pending, regions, len(before.files))
        await refresh_cards(
            storage,
            tx,
            changed,
            before.cards,
            regions,
            now,
            len(before.files),
            admins=settings.admin_ids,
        )
        # waiting: the ladder counts from now, when the cards go out. Delivered already: each
        # step keeps its time unless the high windows from now come sooner (never later), and
        # a report that could not go up before (a low one) now can
        kept = [] if waiting else await storage.incidents.pending_steps(incident.id)
        remind_at = min(
            [s.due_at for s in kept if s.kind == "remind"] + [now + remind_every(changed)]
        )
        escalate_at = min(
            [s.due_at for s in kept if s.kind == "escalate"] + [now + ack_window(changed)]
        )
        await storage.incidents.cancel_steps(tx, incident.id, ("remind", "escalate"))
        await storage.incidents.add_step(tx, incident.id, "remind", changed.level, remind_at)
        if changed.level < max_level(changed):
            await storage.incidents.add_step(
                tx, incident.id, "escalate", changed.level, escalate_at
            )
        action = "made_urgent" if waiting else "made_urgent_delivered"
        await storage.incidents.note(tx, incident.id, action, now)
    return changed, waiting
