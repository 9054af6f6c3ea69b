"""'Someone is in danger': the fast path (#13). The report goes out as soon as the region and a
short description (or a location, or a voice message) are known; the other questions come
afterwards as optional details, and each answer updates the report that was sent and every
card of it (a card not yet delivered is changed in the queue, a delivered one is edited and
gets a short reply, so the coordinator notices).

Anonymity holds: the details are keyed by the receipt code only (as in /status), nothing
written names the person who adds them; they are bounded (each field once, while the report
is open, within DETAILS_WINDOW of sending, attachments up to MAX_ATTACHMENTS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.incidents.actions import Action, Scene, act
from bot.incidents.cards import card_markup, card_text, esc, reply_to_cards
from bot.incidents.escalation import forward_attachment
from bot.incidents.report import (
    CATEGORIES,
    DESCRIPTION_MAX,
    MAX_ATTACHMENTS,
    PLACE_MAX,
    Report,
    incident_by_code,
)
from bot.outbox import Outgoing
from bot.refusals import WrongInput
from bot.regions import Regions
from bot.settings import Settings
from bot.timefmt import MOSCOW
from storage.db import Storage
from storage.incidents import Incident

UNSPECIFIED = "unspecified"  # the category of a fast report until the reporter names it
FAST_MIN = 3  # characters of a description on the fast path ("бьют", "пожар")
DETAILS_WINDOW = timedelta(hours=3)  # afterwards: /status CODE and "Добавить подробности"


def fast_report(data: dict[str, Any], regions: Regions, today: date) -> Report:
    """The fast path's data as a report; WrongInput if something is missing or forged."""
    region = regions.get(str(data.get("region", "")))
    description = str(data.get("description") or "").strip()
    attachments = tuple((str(k), str(f)) for k, f in data.get("files") or [])
    location = data.get("location") or [None, None]
    has_location = location[0] is not None and location[1] is not None
    if (
        region is None
        or not (description or attachments or has_location)
        or len(description) > DESCRIPTION_MAX
        or any(kind != "voice" for kind, _ in attachments)
        or len(attachments) > 1
        or data.get("anonymous") not in (True, False, None)
    ):
        raise WrongInput("incidents.incomplete")
    return Report(
        danger=True,
        category=UNSPECIFIED,
        urgency="critical",
        region_code=region.code,
        place=None,
        latitude=float(location[0]) if has_location else None,
        longitude=float(location[1]) if has_location else None,
        happened_on=today,
        description=description,
        attachments=attachments,
        anonymous=bool(data.get("anonymous")),
    )


@dataclass(frozen=True)
class Detail:
    """One optional answer after a fast report; exactly one field is set."""

    category: str | None = None
    place: str | None = None
    location: tuple[float, float] | None = None
    description: str | None = None
    attachment: tuple[str, str] | None = None

    @property
    def field(self) -> str:
        if self.category is not None:
            return "category"
        if self.place is not None or self.location is not None:
            return "place"
        if self.description is not None:
            return "description"
        return "attachment"


def _changes(incident: Incident, detail: Detail) -> dict[str, Any]:
    """The incident's fields this detail sets; WrongInput if it would overwrite one or is bad."""
    if detail.category is not None:
        if detail.category not in CATEGORIES or incident.category != UNSPECIFIED:
            raise WrongInput("dialog.stale")
        return {"category": detail.category}
    if detail.place is not None:
        place = detail.place.strip()
        if incident.place:
            raise WrongInput("dialog.stale")
        if not place or len(place) > PLACE_MAX:
            raise WrongInput("incidents.hint.place", limit=PLACE_MAX)
        return {"place": place}
    if detail.location is not None:
        if incident.latitude is not None:
            raise WrongInput("dialog.stale")
        return {"latitude": float(detail.location[0]), "longitude": float(detail.location[1])}
    if detail.description is not None:
        text = detail.description.strip()
        if not text:
            raise WrongInput("incidents.hint.details")
        whole = f"{incident.description}\n\n{text}" if incident.description else text
        if len(whole) > DESCRIPTION_MAX:
            left = max(0, DESCRIPTION_MAX - len(incident.description) - 2)
            raise WrongInput("incidents.hint.fast_too_long", limit=left)
        return {"description": whole}
    return {}


async def add_fast_detail(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    code: str,
    detail: Detail,
    now: datetime,
) -> Incident:
    """One optional answer after a fast report: the report and every card of it change."""
    # long: the checks, then the two parts it adds to the one sequence of bot.incidents.actions
    attachment = detail.attachment
    stamp = int(now.timestamp() * 1000)

    async def attach(changed: Incident, scene: Scene) -> None:
        if attachment is not None:
            await storage.incidents.add_attachment(changed.id, attachment[0], attachment[1], now)

    async def tell(changed: Incident, scene: Scene) -> None:
        files = len(scene.files) + (1 if attachment is not None else 0)
        await requeue(storage, changed, pending, regions, files)
        holders = scene.card_holders()
        await reply_to_cards(
            storage,
            changed,
            holders,
            scene.cards,
            now,
            key=f"incfast{changed.id}:{stamp}",
            text_key="incidents.fast_clarified",
            what=lambda lang: _what(changed, detail, lang),
        )
        if attachment is not None:
            await forward_attachment(
                storage, changed, holders, attachment, now, key=f"incfastfile{changed.id}:{stamp}"
            )

    async with storage.db.transaction():
        incident = await incident_by_code(storage, settings, code, now)
        if not incident.is_open:
            raise WrongInput("incidents.closed")
        if not incident.danger or now - incident.created_at > DETAILS_WINDOW:
            raise WrongInput("incidents.fast_late", code=incident.code)
        changes = _changes(incident, detail)
        if attachment is not None:
            if incident.anonymous and attachment[0] == "document":
                raise WrongInput("incidents.hint.no_documents")  # a file keeps author and GPS
            if len(await storage.incidents.attachments(incident.id)) >= MAX_ATTACHMENTS:
                raise WrongInput("incidents.files_full", limit=MAX_ATTACHMENTS)
        pending = await storage.outbox.pending_with_key(f"inccard{incident.id}:")
        return await act(
            storage,
            settings,
            regions,
            incident,
            Action(
                "clarified",
                when_state=("new", "acknowledged"),
                changes=changes,
                detail=detail.field,
                refused="incidents.closed",
                then=attach,
                added_files=1 if attachment is not None else 0,
                after=tell,
            ),
            now,
        )


def _what(incident: Incident, detail: Detail, lang: str) -> str:
    if detail.category is not None:
        name = t(lang, f"incidents.category.{detail.category}")
        return t(lang, "incidents.fast_what.category", value=name)
    if detail.place is not None:
        return t(lang, "incidents.fast_what.place", value=esc(detail.place.strip()))
    if detail.location is not None:
        return t(lang, "incidents.fast_what.location")
    if detail.description is not None:
        return t(lang, "incidents.fast_what.description", value=esc(detail.description.strip()))
    return t(lang, "incidents.fast_what.attachment")


async def requeue(
    storage: Storage,
    incident: Incident,
    pending: list[Any],
    regions: Regions,
    files: int,
) -> None:
    """Cards still waiting in the queue go out with the details as they are now."""
    for row in pending:
        meta = row.payload.get("meta") or {}
        lang = str(meta.get("lang", "ru"))
        zone = ZoneInfo(str(meta.get("tz", MOSCOW.key)))
        card = Outgoing(
            text=card_text(incident, lang, zone, regions, files),
            markup=card_markup(incident, lang),
            meta=meta,
        )
        await storage.outbox.replace_payload(row.id, card.payload())
