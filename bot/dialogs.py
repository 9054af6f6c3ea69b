"""Dialogues in progress: a row per person with the flow, the step and the answers so far.

State lives in SQLite, so a half-done registration survives a restart; a dialogue idle for
DIALOG_TIMEOUT_MINUTES is removed by the sweep (and the person told), or on their next message.
A registration is kept for days instead, and reminded once (bot/members/drafts.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.members import drafts
from bot.outbox import Outgoing, Priority, send_to_many
from bot.settings import Settings
from bot.timefmt import quiet_until
from storage.db import Storage
from storage.dialogs import Dialog


async def begin(
    storage: Storage,
    settings: Settings,
    *,
    telegram_id: int,
    chat_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> Dialog:
    """Start a dialogue, replacing any other one this person had."""
    dialog = Dialog(telegram_id=telegram_id, chat_id=chat_id, flow=flow, step=step, data=data)
    expires_at = drafts.expiry(settings, flow, now)
    return await storage.dialogs.save(dialog, now=now, expires_at=expires_at)


async def advance(
    storage: Storage,
    settings: Settings,
    dialog: Dialog,
    *,
    now: datetime,
    step: str | None = None,
    message_id: int | None = None,
    **changes: Any,
) -> Dialog:
    """Save the next step and/or new answers; the idle timer starts again."""
    updated = replace(
        dialog,
        step=step or dialog.step,
        data={**dialog.data, **changes},
        message_id=message_id if message_id is not None else dialog.message_id,
    )
    expires_at = drafts.expiry(settings, dialog.flow, now)
    return await storage.dialogs.save(updated, now=now, expires_at=expires_at)


# in a dialogue's data, how its idle note goes out: not at all (the flow reminds by itself),
# outside quiet hours in this IANA zone, once per this outbox key
TIMEOUT_SILENT, TIMEOUT_ZONE, TIMEOUT_KEY = "timeout_silent", "timeout_tz", "timeout_key"
UNSEEN = "_unseen"  # in a dialogue's data: its last question may not have reached the person


async def mark_unseen(storage: Storage, dialog: Dialog, unseen: bool, now: datetime) -> Dialog:
    """Note whether the dialogue's question reached the person (Telegram refused the reply):
    until it is shown again, an answer is not taken for it."""
    data = {k: v for k, v in dialog.data.items() if k != UNSEEN}
    if unseen:
        data[UNSEEN] = True
    if data == dialog.data:
        return dialog
    updated = replace(dialog, data=data)
    expires_at = dialog.expires_at or now
    return await storage.dialogs.save(updated, now=now, expires_at=expires_at)


async def current(storage: Storage, telegram_id: int, now: datetime) -> tuple[Dialog | None, bool]:
    """The person's live dialogue, and whether an expired one was just dropped."""
    dialog = await storage.dialogs.get(telegram_id)
    if dialog is None:
        return None, False
    if dialog.expires_at is not None and dialog.expires_at <= now:
        await storage.dialogs.delete(telegram_id)
        if dialog.flow == drafts.REGISTRATION:  # what it held goes too (no notice: told here)
            await drafts.forget_reminder(storage, telegram_id)
        return None, True
    return dialog, False


async def end(storage: Storage, telegram_id: int) -> bool:
    await drafts.ended(storage, telegram_id)
    return await storage.dialogs.delete(telegram_id)


async def expire(storage: Storage, settings: Settings, now: datetime) -> list[tuple[int, str]]:
    """Remove dialogues idle past their expiry and queue a note to each person (once: the row
    is taken by this sweep only). A dialogue kept in memory only (it may belong to an
    anonymous report) is not told through the outbox, which would store the chat: its notes
    are returned, (chat id, text), for the caller to send directly."""
    expired = await storage.dialogs.take_expired(now)
    direct: list[tuple[int, str]] = []
    for dialog in expired:
        if dialog.data.get(TIMEOUT_SILENT):  # the flow nudges by itself (a reminder)
            continue
        lang = str(dialog.data.get("lang", settings.default_language))
        if dialog.flow == drafts.REGISTRATION:
            await drafts.expired(storage, settings, dialog, now)
            continue
        if dialog.flow in storage.dialogs.volatile_flows:
            direct.append((dialog.chat_id, t(lang, f"dialog.timeout.{dialog.flow}")))
            continue
        zone = dialog.data.get(TIMEOUT_ZONE)
        await send_to_many(
            storage,
            [(dialog.chat_id, None)],
            Outgoing(
                text=t(lang, f"dialog.timeout.{dialog.flow}"),
                markup=dialog.data.get("timeout_markup"),  # e.g. "Продолжить" for a survey
            ),
            priority=Priority.REPLY,
            now=now,
            # with the person's zone: not at night; with a key: once, however often it idles
            due_at=quiet_until(now, ZoneInfo(zone), settings.quiet_hours) if zone else None,
            key=dialog.data.get(TIMEOUT_KEY),
        )
    return direct
