"""A report made during the coordinators' quiet hours (#13): its receipt tells the truth (they
see it in the morning), and the reporter can make it urgent ("срочно") so that it goes out now.
The receipt's button is keyed by the receipt code only, as /status is."""

from __future__ import annotations

from datetime import datetime

from bot.incidents.actions import Action, Scene, act
from bot.incidents.fast import requeue
from bot.incidents.people import QUIET_URGENCIES, ack_window, max_level, remind_every
from bot.incidents.report import incident_by_code
from bot.refusals import WrongInput
from bot.regions import Regions
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

    async def go_now(changed: Incident, scene: Scene) -> None:
        for pattern in (f"inccard{changed.id}:%", f"incfile{changed.id}:%"):
            await storage.outbox.bring_forward(pattern, now)
        await requeue(storage, changed, pending, regions, len(scene.files))
        # waiting: the ladder counts from now, when the cards go out. Delivered already: each
        # step keeps its time unless the high windows from now come sooner (never later), and
        # a report that could not go up before (a low one) now can
        kept = [] if waiting else await storage.incidents.pending_steps(changed.id)
        remind_at = min(
            [s.due_at for s in kept if s.kind == "remind"] + [now + remind_every(changed)]
        )
        escalate_at = min(
            [s.due_at for s in kept if s.kind == "escalate"] + [now + ack_window(changed)]
        )
        await storage.incidents.cancel_steps(changed.id, ("remind", "escalate"))
        await storage.incidents.add_step(changed.id, "remind", changed.level, remind_at)
        if changed.level < max_level(changed):
            await storage.incidents.add_step(changed.id, "escalate", changed.level, escalate_at)

    async with storage.db.transaction():
        incident = await incident_by_code(storage, settings, code, now)
        if not incident.is_open:
            raise WrongInput("incidents.closed")
        if incident.state != "new" or incident.urgency not in QUIET_URGENCIES:
            raise WrongInput("incidents.urgent_not_needed")
        waiting = await waits_until(storage, incident, now) is not None
        pending = await storage.outbox.pending_with_key(f"inccard{incident.id}:")
        changed = await act(
            storage,
            settings,
            regions,
            incident,
            Action(
                "made_urgent" if waiting else "made_urgent_delivered",
                when_state=("new",),
                changes={"urgency": "high", "snoozed_until": None},
                refused="incidents.urgent_not_needed",
                then=go_now,
            ),
            now,
        )
    return changed, waiting
