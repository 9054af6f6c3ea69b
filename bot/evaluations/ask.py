"""Who is asked and when: the clock opens a round when an event ends (or a follow-up later),
reminds once, and notes an idle questionnaire."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.dialogs import TIMEOUT_KEY, TIMEOUT_SILENT, TIMEOUT_ZONE
from bot.evaluations.questions import invitation, questions_of, render
from bot.evaluations.views import esc
from bot.i18n import t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions
from bot.settings import Settings
from bot.timefmt import moment, quiet_until
from storage.db import Storage
from storage.evaluations import Invitee

# ---------------------------------------------------------------- the clock


async def run_evaluations(
    storage: Storage, settings: Settings, regions: Regions, now: datetime
) -> int:
    """One sweep: open rounds that are due, send reminders. Returns messages queued."""
    queued = 0
    for event_id in await storage.evaluations.due_main(now):
        queued += await _open_round(storage, settings, regions, event_id, "main", now)
    ended = now - timedelta(days=settings.evaluation_followup_days)
    for event_id in await storage.evaluations.due_followup(ended):
        queued += await _open_round(storage, settings, regions, event_id, "followup", now)
    queued += await _remind(storage, settings, regions, now)
    return queued


async def _open_round(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    event_id: int,
    round_: str,
    now: datetime,
) -> int:
    event = await storage.events.get(event_id)
    config = await storage.evaluations.config(event_id)
    if event is None or config is None:
        return 0
    window = timedelta(days=settings.evaluation_close_days)
    invitees: list[Invitee] = []
    if round_ == "main" and event.ends_at > now - window:
        invitees = await storage.evaluations.invitees(event_id)
    elif round_ == "followup":
        invitees = await storage.evaluations.asked_members(event_id, "main")
    # an event that ended long before (the bot was down, or older than evaluations) is closed
    # without asking anyone
    async with storage.db.transaction():
        if not await storage.evaluations.open_round(event_id, round_, now, now + window):
            return 0
        for person in invitees:
            zone = regions.zone(person.region_code)
            at = quiet_until(now, zone, settings.quiet_hours)
            remind = (
                at + timedelta(hours=settings.evaluation_remind_hours) if round_ == "main" else None
            )
            await storage.evaluations.ask(event_id, person.member_id, round_, at, remind)
            text, markup = invitation(event, config, round_, person.language, zone)
            await send_to_many(
                storage,
                [(person.telegram_id, person.member_id)],
                Outgoing(text=text, markup=markup),
                priority=Priority.REMINDER,
                now=now,
                due_at=at,
                key=f"evalask:{event_id}:{round_}",
            )
    return len(invitees)


async def _remind(storage: Storage, settings: Settings, regions: Regions, now: datetime) -> int:
    sent = 0
    for due in await storage.evaluations.due_reminders(now):
        event = await storage.events.get(due.event_id)
        config = await storage.evaluations.config(due.event_id)
        if event is None or config is None:
            continue
        zone = regions.zone(due.region_code)
        questions = questions_of(config, due.round)
        index = min(int((due.draft or {}).get("next", 0)), len(questions) - 1)
        intro = t(
            due.language,
            "evaluation.reminder",
            title=esc(event.title),
            done=index,
            total=len(questions),
            until=moment(config.closes(due.round) or now, due.language, zone),
        )
        text, markup = render(event, due.round, questions, index, due.language, intro=intro)
        async with storage.db.transaction():
            if not await storage.evaluations.claim_reminder(due):
                continue
            await send_to_many(
                storage,
                [(due.telegram_id, due.member_id)],
                Outgoing(text=text, markup=markup),
                priority=Priority.REMINDER,
                now=now,
                due_at=quiet_until(now, zone, settings.quiet_hours),
                key=f"evalrem:{due.event_id}:{due.round}",
            )
            sent += 1
    return sent


def idle_note(event_id: int, round_: str, zone: Any) -> dict[str, Any]:
    """How an answering dialogue left idle ends (bot/dialogs.py reads these). The main round
    has its one reminder, which is the nudge: the dialogue closes silently. The follow-up has
    none: one note (never twice in a round), outside quiet hours in the person's zone."""
    if round_ == "main":
        return {TIMEOUT_SILENT: True}
    return {
        TIMEOUT_SILENT: False,
        TIMEOUT_ZONE: str(zone),
        TIMEOUT_KEY: f"evalidle:{event_id}:{round_}",
    }
