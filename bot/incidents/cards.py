"""What coordinators see of an incident: its card (text and buttons, in their language and
time), the edits of every delivered card when the incident changes, and replies to the cards.
Each function runs inside the caller's transaction (joined) or in its own.
"""

from __future__ import annotations

import html
import zlib
from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.buttons import Codec, Num, Word
from bot.i18n import t
from bot.incidents.people import PRIORITY, Viewer, deliver_at, still_entitled
from bot.outbox import Outgoing, send_to_many
from bot.regions import Regions
from bot.roles.revocation import queue_stubs
from bot.timefmt import MOSCOW, moment
from storage.db import Storage
from storage.incidents import Incident
from storage.outbox import OutboxRow
from storage.revocation import Shown

OUTCOME_ON_CARD = 300  # characters of the outcome shown on a card (the card fits 4096)
CARD_ACTIONS = ("ack", "up", "resolve", "ask", "note", "abuse", "abuse_yes", "abuse_no")
CARD = Codec("inc", Num(), Word(*CARD_ACTIONS))  # inc:<id>:<action>
CARD_SNOOZE = Codec("inc", Num(), Word("snooze"), Word("hour", "morning"))  # inc:<id>:snooze:hour
OPEN_CARD = Codec("incl", Word("card"), Num())  # incl:card:<id>: show me this report's card


def esc(text: str) -> str:
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
            region=esc(region.name(lang) if region else incident.region_code),
        ),
    ]
    if incident.place:
        lines.append(t(lang, "incidents.card.place", place=esc(incident.place)))
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
        esc(incident.description) or t(lang, "incidents.card.no_description"),
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
            name=esc(incident.assignee_name or "—"),
            at=moment(incident.acknowledged_at or incident.updated_at, lang, zone),
        )
    if incident.state == "resolved":
        return t(
            lang,
            "incidents.state_line.resolved",
            name=esc(incident.assignee_name or "—"),
            outcome=esc(_cut(incident.outcome or "", OUTCOME_ON_CARD)),
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
        return {"text": t(lang, f"incidents.button.{key}"), "callback_data": CARD.pack(i, action)}

    def snooze(kind: str) -> dict[str, str]:
        data = CARD_SNOOZE.pack(i, "snooze", kind)
        return {"text": t(lang, f"incidents.button.snooze_{kind}"), "callback_data": data}

    if incident.state == "new":
        rows = [[button("ack", "ack")], [button("up", "up"), button("resolve", "resolve")]]
        if incident.urgency != "critical":
            rows.append([snooze("hour"), snooze("morning")])
        rows.append([button("ask", "ask")])
    elif incident.state == "acknowledged":
        rows = [
            [button("note", "note"), button("resolve", "resolve")],
            [button("up", "up"), button("ask", "ask")],
        ]
    else:
        return None
    return {"inline_keyboard": rows}


def card_for(incident: Incident, viewer: Viewer, regions: Regions, attachments: int) -> Outgoing:
    return Outgoing(
        text=card_text(incident, viewer.language, viewer.zone, regions, attachments),
        markup=card_markup(incident, viewer.language),
        meta={"lang": viewer.language, "tz": viewer.zone.key},
    )


async def refresh_cards(
    storage: Storage,
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
    async with storage.db.unit():
        await _refresh(storage, incident, cards, regions, now, attachments, admins)


async def _refresh(
    storage: Storage,
    incident: Incident,
    cards: list[OutboxRow],
    regions: Regions,
    now: datetime,
    attachments: int,
    admins: Collection[int],
) -> None:
    if incident.state != "new":
        for pattern in (
            f"inccard{incident.id}:%",
            f"incfile{incident.id}:%",
            f"increm{incident.id}:%",
        ):
            await storage.outbox.cancel_pending(pattern)
    stamp = int(now.timestamp() * 1000)
    allowed = await storage.revocation.holders(incident.region_code) | frozenset(admins)
    for row in cards:
        meta = row.payload.get("meta") or {}
        lang = str(meta.get("lang", "ru"))
        if row.chat_id not in allowed and row.message_id is not None:
            await queue_stubs(
                storage,
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
        )


async def delivered_cards(storage: Storage, incident_id: int) -> list[OutboxRow]:
    return await storage.outbox.delivered_with_key(f"inccard{incident_id}:")


async def reply_to_cards(
    storage: Storage,
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
    for viewer in await still_entitled(storage, incident, viewers):
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
        )
