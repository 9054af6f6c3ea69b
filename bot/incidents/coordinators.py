"""What coordinators do with a report: take it, pass it up, snooze it, note progress, resolve
it, ask the reporter. Each is one transaction (bot.incidents.actions.act).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.incidents.actions import (
    Action,
    Scene,
    act,
    actor_name,
    checked_note,
    refusal,
    reporter_of,
    visible_incident,
)
from bot.incidents.cards import esc
from bot.incidents.escalation import reach
from bot.incidents.people import (
    TOP,
    ack_window,
    max_level,
    stale_after,
)
from bot.incidents.report import STATUS_REPLY
from bot.outbox import Outgoing, Priority, send_to_many
from bot.refusals import WrongInput
from bot.regions import Regions
from bot.roles.access import Caller
from bot.settings import Settings
from storage.db import Storage
from storage.incidents import Incident

SNOOZE_HOUR = timedelta(hours=1)
MORNING_HOUR = 9


async def acknowledge(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    incident_id: int,
    now: datetime,
) -> Incident:
    """'Беру в работу': the first coordinator to press it takes the report; every card shows who."""

    async def clock(taken: Incident, scene: Scene) -> None:
        await storage.incidents.cancel_steps(taken.id)
        await storage.incidents.add_step(taken.id, "stale", taken.level, now + stale_after(taken))

    async with storage.db.transaction():
        incident = await visible_incident(storage, caller, incident_id)
        return await act(
            storage,
            settings,
            regions,
            incident,
            Action(
                "acknowledged",
                when_state=("new",),
                changes={
                    "state": "acknowledged",
                    "assignee_telegram_id": caller.telegram_id,
                    "assignee_name": actor_name(caller),
                    "acknowledged_at": now,
                    "progress_at": None,
                    "snoozed_until": None,
                },
                by=caller,
                then=clock,
                tell="acknowledged",
            ),
            now,
        )


async def escalate_now(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    caller: Caller,
    incident_id: int,
    now: datetime,
) -> Incident:
    """'Передать выше': the next level is told now (a taken report becomes untaken)."""

    async def up(current: Incident, scene: Scene) -> Incident:
        await storage.incidents.cancel_steps(current.id)
        return await reach(
            storage,
            current,
            current.level + 1,
            scene.people,
            scene.unreachable,
            regions,
            now,
            attachments=scene.files,
            reason="by_hand",
        )

    async with storage.db.transaction():
        incident = await visible_incident(storage, caller, incident_id)
        if incident.level >= TOP:
            raise WrongInput("incidents.top_level")
        return await act(
            storage,
            settings,
            regions,
            incident,
            Action(
                "escalated",
                when_state=("new", "acknowledged"),
                changes={
                    "state": "new",
                    "assignee_telegram_id": None,
                    "assignee_name": None,
                    "acknowledged_at": None,
                    "snoozed_until": None,
                },
                by=caller,
                then=up,
            ),
            now,
        )


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
    outcome = checked_note(outcome)

    async def stop(done: Incident, scene: Scene) -> None:
        await storage.incidents.cancel_steps(done.id)

    async with storage.db.transaction():
        incident = await visible_incident(storage, caller, incident_id)
        return await act(
            storage,
            settings,
            regions,
            incident,
            Action(
                "resolved",
                when_state=("new", "acknowledged"),
                changes={
                    "state": "resolved",
                    "outcome": outcome,
                    "closed_at": now,
                    "assignee_telegram_id": incident.assignee_telegram_id or caller.telegram_id,
                    "assignee_name": incident.assignee_name or actor_name(caller),
                },
                by=caller,
                detail=outcome,
                then=stop,
                tell="resolved",
                tell_params={"outcome": esc(outcome)},
            ),
            now,
        )


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
        raise WrongInput("dialog.stale")
    until = snooze_until(
        kind, now, regions.zone(caller.member.region_code if caller.member else None)
    )

    async def wait(snoozed: Incident, scene: Scene) -> None:
        await storage.incidents.cancel_steps(snoozed.id, ("remind", "escalate"))
        await storage.incidents.add_step(snoozed.id, "remind", snoozed.level, until)
        if snoozed.level < max_level(snoozed):
            await storage.incidents.add_step(
                snoozed.id, "escalate", snoozed.level, until + ack_window(snoozed)
            )

    async with storage.db.transaction():
        incident = await visible_incident(storage, caller, incident_id)
        if incident.urgency == "critical":
            raise WrongInput("incidents.no_snooze_critical")
        return await act(
            storage,
            settings,
            regions,
            incident,
            Action(
                "snoozed",
                when_state=("new",),
                changes={"snoozed_until": until},
                by=caller,
                detail=until.isoformat(),
                then=wait,
            ),
            now,
        )


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
    note = checked_note(note)

    async def clock(noted: Incident, scene: Scene) -> None:
        await storage.incidents.cancel_steps(noted.id, ("stale", "unassign"))
        await storage.incidents.add_step(noted.id, "stale", noted.level, now + stale_after(noted))

    async with storage.db.transaction():
        incident = await visible_incident(storage, caller, incident_id)
        return await act(
            storage,
            settings,
            regions,
            incident,
            Action(
                "progress",
                when_state=("acknowledged",),
                changes={"progress_at": now},
                by=caller,
                detail=note,
                then=clock,
                cards=False,
            ),
            now,
        )


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
    question = checked_note(question)
    async with storage.db.transaction():
        incident = await visible_incident(storage, caller, incident_id)
        if not incident.is_open:
            raise refusal(incident)
        reporter = await reporter_of(storage, incident)
        question_id = await storage.incidents.ask(incident.id, caller.telegram_id, question, now)
        await storage.incidents.note(
            incident.id,
            "question",
            now,
            actor=caller.telegram_id,
            actor_name=actor_name(caller),
            detail=question,
        )
        if reporter is not None and reporter.telegram_id is not None:
            lang = reporter.language
            reply = {
                "text": t(lang, "incidents.button.reply"),
                "callback_data": STATUS_REPLY.pack(incident.code, "reply", question_id),
            }
            await send_to_many(
                storage,
                [(reporter.telegram_id, reporter.id)],
                Outgoing(
                    text=t(
                        lang,
                        "incidents.to_reporter.question",
                        code=incident.code,
                        question=esc(question),
                    ),
                    markup={"inline_keyboard": [[reply]]},
                ),
                priority=Priority.ALERT,
                now=now,
                key=f"incq{question_id}",
            )
    return incident, reporter is not None
