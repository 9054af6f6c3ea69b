"""JobQueue callbacks: read the clock, call a service. Business deadlines are rows in SQLite."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from telegram.error import TelegramError

from bot import dialogs
from bot.backup import BackupError, made_today, make_backup, prune
from bot.evaluations import run_evaluations
from bot.events import queue_reminders
from bot.incidents.digest import queue_digests
from bot.incidents.escalation import run_due_steps
from bot.members import drafts
from bot.members.approvals import remind_due
from bot.runtime.context import BotContext
from storage.retention import purge_events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    """A repeating job of the clock: `work` calls a service with the time and says whether it
    queued messages (then the delivery engine is woken). A `watched` sweep records when it ran
    to the end, and the heartbeat stops when one has not run lately."""

    name: str
    work: Callable[[BotContext], Awaitable[int | bool]]
    first: float  # seconds after start
    interval: float | None = None  # seconds; None: SWEEP_INTERVAL_SECONDS
    watched: bool = True


async def run_sweep(context: BotContext) -> None:
    """The one job callback of every sweep (the Sweep is the job's data)."""
    assert context.job is not None
    sweep = context.job.data
    assert isinstance(sweep, Sweep)
    queued = await sweep.work(context)
    if queued and context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()
    if sweep.watched:
        context.bot_data.sweeps[sweep.name] = context.now()  # ran to the end


async def _reminders(context: BotContext) -> int:
    """Queue the event reminders and the reminders of members waiting for approval that are
    due (each once)."""
    hours = list(context.settings.reminder_hours)
    queued = await queue_reminders(context.storage, context.regions, hours, context.now())
    return queued + await remind_due(
        context.storage, context.settings, context.regions, context.now()
    )


async def _dialogs(context: BotContext) -> bool:
    """Close dialogues idle too long; the outbox tells each person once (a reporter whose
    dialogue was kept in memory only is told directly, so no row stores their chat). Remind
    once those who left a registration half done."""
    direct = await dialogs.expire(context.storage, context.settings, context.now())
    await drafts.remind_idle(context.storage, context.settings, context.regions, context.now())
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()  # before the direct sends below, which may take a while
    for chat_id, text in direct:  # a few at most: the reporters idle since the last sweep
        try:
            await context.bot.send_message(chat_id, text)
        except TelegramError as exc:
            log.info("could not tell a reporter their input was closed: %s", type(exc).__name__)
    return False


async def _incidents(context: BotContext) -> int:
    """Fire the escalation steps that are due: reminders, escalations, no-progress checks."""
    return await run_due_steps(context.storage, context.settings, context.regions, context.now())


async def _digests(context: BotContext) -> int:
    """The morning digest of open incidents, once a day for each coordinator, at their 09:00."""
    return await queue_digests(context.storage, context.settings, context.regions, context.now())


async def _evaluations(context: BotContext) -> int:
    """Ask about events that ended, remind those who have not finished."""
    return await run_evaluations(context.storage, context.settings, context.regions, context.now())


async def _housekeeping(context: BotContext) -> bool:
    """Forget which updates were handled once Telegram can no longer send them again; purge what
    RETENTION_DAYS says; empty the -wal file; make the daily backup (once a day from BACKUP_HOUR
    UTC, also after a restart) and prune old ones."""
    now = context.now()
    await context.storage.updates.purge(now - timedelta(days=2))
    await context.storage.limits.purge(now - timedelta(days=2))  # counters of past hours
    await context.storage.limits.purge_penalties(now)
    settings = context.settings
    kept_until = now - timedelta(days=settings.retention_days)
    purged = await context.storage.incidents.purge_closed(kept_until, now)
    forgotten = await context.storage.outbox.purge_finished(kept_until)
    events = await purge_events(context.storage.db, kept_until, now)
    if purged or forgotten or events:
        log.info(
            "retention: %d closed reports purged, %d old messages forgotten,"
            " %d past events without their participants",
            purged,
            forgotten,
            events,
        )
    await context.storage.db.checkpoint()  # handled updates and deleted rows leave the -wal
    folder = settings.backups_folder
    if now.hour >= settings.backup_hour and not made_today(folder, now):
        try:
            made = await asyncio.to_thread(make_backup, settings.database_path, folder, now)
            log.info("daily backup made: %s", made)
        except (BackupError, OSError, sqlite3.Error) as exc:
            log.error("daily backup failed: %s", exc)
    await asyncio.to_thread(
        prune, folder, settings.backup_keep_days, now, database=settings.database_path
    )
    return False


SWEEPS = (
    Sweep("sweep_dialogs", _dialogs, first=1),
    Sweep("sweep_reminders", _reminders, first=2),
    Sweep("sweep_incidents", _incidents, first=1),
    Sweep("sweep_digests", _digests, first=5, interval=60),
    Sweep("housekeeping", _housekeeping, first=60, interval=3600, watched=False),
    Sweep("sweep_evaluations", _evaluations, first=3),
)

HEALTHY_WITHIN = timedelta(minutes=5)  # a sweep not run for longer than this is stuck


async def heartbeat(context: BotContext) -> None:
    """Ping HEARTBEAT_URL while every sweep has run lately and the delivery engine is alive;
    otherwise say what is stuck in the log and stay silent, so the monitor raises the alarm."""
    url = context.settings.heartbeat_url
    now = context.now()
    stuck = [name for name, last in context.bot_data.sweeps.items() if now - last > HEALTHY_WITHIN]
    engine = context.bot_data.delivery
    if engine is not None and not engine.alive:
        stuck.append("delivery")
    if stuck:
        log.error("not healthy, no heartbeat: %s has not run for over 5 minutes", ", ".join(stuck))
        return
    if url is None:
        return
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url)
            response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("heartbeat to the monitor failed: %s", type(exc).__name__)
