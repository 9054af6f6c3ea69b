"""Access follows the role, at once: when someone loses a role (an admin revokes it or takes a
region away, they erase their data, they are no longer listed in ADMIN_IDS), everything still
queued to them because of it is cancelled in the same transaction, and the cards of reports
they may no longer see are replaced once by a short stub.

Why the stub rather than leaving the cards frozen: a delivered card holds the report's text
(what happened, where, sometimes who) in the former holder's chat for as long as the chat
exists. Replacing it removes that text where Telegram allows editing, and its buttons go with
it; a frozen card would keep both, and a button pressed on it is refused anyway. Files sent
with a report cannot be turned into text and stay.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.i18n import t
from bot.outbox import ERASED_META, Outgoing, Priority, send_to_many
from bot.settings import Settings
from storage.db import Storage
from storage.revocation import Entitlement, Shown

log = logging.getLogger(__name__)


async def follow_role(
    storage: Storage,
    telegram_id: int,
    *,
    is_admin: bool,
    language: str,
    now: datetime,
    erased: bool = False,
) -> int:
    """Inside the transaction that changed the person's roles: cancel what they may no longer
    receive and queue the stub over each card they may no longer see. An erased person's stubs
    carry no member id and no key (which would hold their chat id), and the delivery engine
    removes each one as soon as it was tried. Returns how many cards get the stub."""
    held = frozenset() if erased else await storage.revocation.regions_of(telegram_id)
    shown = await storage.revocation.withdraw(telegram_id, Entitlement(held, is_admin), now)
    await queue_stubs(storage, shown, language=language, now=now, erased=erased)
    return len(shown)


async def queue_stubs(
    storage: Storage,
    shown: list[Shown],
    *,
    language: str,
    now: datetime,
    erased: bool = False,
) -> None:
    """The stub over each card, and each file of a report deleted (once: the key makes a
    second queueing a no-op)."""
    gone = {ERASED_META: True} if erased else None
    for card in shown:
        lang = str(card.meta.get("lang", language))
        await send_to_many(
            storage,
            [(card.chat_id, None if erased else card.member_id)],
            Outgoing(delete_message_id=card.message_id, meta=gone)
            if card.file
            else Outgoing(
                text=t(lang, "incidents.card.gone"),
                edit_message_id=card.message_id,
                meta={ERASED_META: True} if erased else {"lang": lang},
            ),
            priority=Priority.ALERT,
            now=now,
            key=None if erased else f"incgone{card.incident_id}:{card.message_id}",
        )


async def forget_dropped_admins(storage: Storage, settings: Settings, now: datetime) -> list[int]:
    """At start: an admin listed before and not in ADMIN_IDS any more loses what came with
    it (queued cards, notices, digests; delivered cards get the stub), in one transaction
    with the record of who is listed. Returns the Telegram ids of the dropped admins."""
    async with storage.db.transaction() as tx:
        dropped = await storage.roles.sync_admins(settings.admin_ids, now)
        for admin_id in dropped:
            member = await tx.fetchone(
                "SELECT language FROM members WHERE telegram_id = ?", (admin_id,)
            )
            await follow_role(
                storage,
                admin_id,
                is_admin=False,
                language=str(member[0]) if member else settings.default_language,
                now=now,
            )
    if dropped:
        log.warning("%d admins are no longer in ADMIN_IDS: their admin messages stop", len(dropped))
    return dropped
