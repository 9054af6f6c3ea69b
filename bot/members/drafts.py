"""A half-done registration (a draft): kept for REGISTRATION_DRAFT_DAYS instead of the other
dialogues' DIALOG_TIMEOUT_MINUTES, reminded once, deleted with everything it held at its end.

The reminder is due when the draft has been idle REGISTRATION_REMIND_HOURS (its `updated_at`
is the due time's base); the sweep claims it with a conditional update of the draft's row (the
same flow, untouched since it was read, not reminded yet), in the transaction that queues the
message in the outbox under a key of its own, so it goes once, even across a restart. It waits
while it is night (QUIET_HOURS) in the person's region, or in Moscow when the draft does not
know the region yet. A draft finished, cancelled or expired meanwhile has no row to claim; a
reminder still queued when the person finishes or cancels is cancelled with the draft, and
deleted (sent or not) when the person is not a member.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.outbox import ERASED_META, Outgoing, Priority, send_to_many
from bot.regions import Regions
from bot.settings import Settings
from bot.timefmt import moment, quiet_until
from storage.approvals import DECLINED
from storage.db import Storage
from storage.dialogs import Dialog

REGISTRATION = "reg"  # the registration dialogue's flow (handlers/members/registration.py: REG)
RESUME = "rgd:resume"  # the reminder's button (handlers/members/drafts.py)
KEY = "regdraft"  # outbox keys of a draft's messages: regdraft:<telegram id>:<draft>:<chat>


def expiry(settings: Settings, flow: str, now: datetime) -> datetime:
    """When a dialogue of `flow` idle since `now` is closed."""
    if flow == REGISTRATION:
        return now + timedelta(days=settings.registration_draft_days)
    return now + timedelta(minutes=settings.dialog_timeout_minutes)


def zone_of(regions: Regions, data: dict[str, Any]) -> ZoneInfo:
    """The draft's region time (chosen, or preset by a sign-up link), else Moscow time."""
    code = data.get("region") or data.get("preset")
    return regions.zone(str(code) if code else None)


def _key(draft: Dialog) -> str:
    # one reminder per draft: a draft begins with the consent, whose time it keeps
    return f"{KEY}:{draft.telegram_id}:{draft.data.get('consent_at', '')}"


async def remind_idle(storage: Storage, settings: Settings, regions: Regions, now: datetime) -> int:
    """Queue the one reminder of each draft idle long enough, where it is day; returns how
    many were queued."""
    idle_since = now - timedelta(hours=settings.registration_remind_hours)
    queued = 0
    for draft in await storage.dialogs.idle(REGISTRATION, idle_since=idle_since, now=now):
        if draft.step == "consent" or draft.expires_at is None:
            continue  # nothing typed yet (a row of an older version): it just expires
        zone = zone_of(regions, draft.data)
        if quiet_until(now, zone, settings.quiet_hours) > now:
            continue  # night in their region: a sweep in the morning reminds
        lang = str(draft.data.get("lang", settings.default_language))
        member = await storage.members.by_telegram_id(draft.telegram_id)
        text = t(lang, "reg.draft_reminder", until=moment(draft.expires_at, lang, zone))
        button = {"text": t(lang, "reg.draft_continue"), "callback_data": RESUME}
        async with storage.db.transaction():
            if not await storage.dialogs.claim_reminder(draft, now):
                continue  # the person answered meanwhile, or another sweep took it
            if member is not None and member.approval == DECLINED:
                continue  # refused by a coordinator meanwhile: not invited to go on
            await send_to_many(
                storage,
                [(draft.chat_id, member.id if member else None)],
                Outgoing(text=text, markup={"inline_keyboard": [[button]]}),
                priority=Priority.REMINDER,
                now=now,
                key=_key(draft),
            )
            queued += 1
    return queued


async def ended(storage: Storage, telegram_id: int) -> None:
    """The person finished or cancelled: a reminder not sent yet is not sent. Someone who is
    not a member (cancelled, refused consent, erased) leaves nothing behind: the reminder's
    row goes, sent or not, as at expiry (it holds their chat and its text)."""
    if await storage.members.by_telegram_id(telegram_id) is None:
        await forget_reminder(storage, telegram_id)
    else:
        await storage.outbox.cancel_pending(f"{KEY}:{telegram_id}:%")


async def forget_reminder(storage: Storage, telegram_id: int) -> None:
    """The draft's reminder leaves the outbox, sent or not (the draft is gone)."""
    await storage.outbox.forget_with_key(f"{KEY}:{telegram_id}:%")


async def erase(storage: Storage, telegram_id: int) -> Dialog | None:
    """/forget by someone who is not a member: their registration draft goes at once, with
    its reminder (sent or not); returns the draft, or None if there was none."""
    draft = await storage.dialogs.get(telegram_id)
    if draft is None or draft.flow != REGISTRATION:
        return None
    if not await storage.dialogs.delete(telegram_id, flow=REGISTRATION):
        return None  # gone meanwhile (finished, cancelled, expired)
    await forget_reminder(storage, telegram_id)
    return draft


async def expired(storage: Storage, settings: Settings, draft: Dialog, now: datetime) -> None:
    """The draft is gone (its row deleted by the caller): its reminder goes too, and the
    person is told once; that notice is deleted from the outbox once it was tried, so
    nothing of someone who never finished stays behind."""
    await forget_reminder(storage, draft.telegram_id)
    lang = str(draft.data.get("lang", settings.default_language))
    await send_to_many(
        storage,
        [(draft.chat_id, None)],
        Outgoing(text=t(lang, "dialog.timeout.reg"), meta={ERASED_META: True}),
        priority=Priority.REPLY,
        now=now,
    )
