"""What the reporter does with a report after sending it, keyed by its receipt code only (as in
/status, so an anonymous reporter is never named): take it back, add details, answer a
coordinator's question.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.i18n import t
from bot.incidents.actions import Action, Scene, act, checked_note, refusal, scene_of
from bot.incidents.cards import esc, reply_to_cards
from bot.incidents.escalation import forward_attachment
from bot.incidents.report import DESCRIPTION_MAX, MAX_ATTACHMENTS, incident_by_code
from bot.outbox import Outgoing, Priority, send_to_many
from bot.refusals import WrongInput
from bot.regions import Regions
from bot.roles.access import identify
from bot.settings import Settings
from storage.db import Storage
from storage.incidents import ERASED_ASKER, Incident, Question

DETAILS_PER_HOUR = 10  # details a reporter may add to one report in an hour
DETAILS_MAX = 100  # details one report takes in all (its timeline stays readable)


async def withdraw(
    storage: Storage, settings: Settings, regions: Regions, code: str, now: datetime
) -> Incident:
    """The reporter takes the report back: coordinators' cards say so, reminders stop."""

    async def stop(gone: Incident, scene: Scene) -> None:
        await storage.incidents.cancel_steps(gone.id)

    async with storage.db.transaction():
        incident = await incident_by_code(storage, settings, code, now)
        return await act(
            storage,
            settings,
            regions,
            incident,
            Action(
                "withdrawn",
                when_state=("new", "acknowledged"),
                changes={"state": "withdrawn", "closed_at": now},
                then=stop,
            ),
            now,
        )


async def add_details(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    code: str,
    text: str | None,
    attachment: tuple[str, str] | None,
    now: datetime,
) -> Incident:
    """More from the reporter: the coordinators who have the card get it as a reply."""
    async with storage.db.transaction():
        incident = await incident_by_code(storage, settings, code, now)
        if not incident.is_open:
            raise refusal(incident)
        text = (text or "").strip()
        await _check_details(storage, incident, text, attachment, now)
        scene = await scene_of(storage, settings, regions, incident)
        people = scene.card_holders()
        stamp = int(now.timestamp() * 1000)
        if attachment is not None:
            await storage.incidents.add_attachment(incident.id, attachment[0], attachment[1], now)
        await storage.incidents.note(
            incident.id, "details", now, detail=text or (attachment[0] if attachment else None)
        )
        await reply_to_cards(
            storage,
            incident,
            people,
            scene.cards,
            now,
            key=f"incmore{incident.id}:{stamp}",
            text_key="incidents.details_added",
            text=esc(text) if text else "—",
        )
        if attachment is not None:
            await forward_attachment(
                storage, incident, people, attachment, now, key=f"incmorefile{incident.id}:{stamp}"
            )
    return incident


async def _check_details(
    storage: Storage,
    incident: Incident,
    text: str,
    attachment: tuple[str, str] | None,
    now: datetime,
) -> None:
    """Details within bounds: not too long, not a document of an anonymous report (a file keeps
    its author and GPS data), the attachments and details a report takes."""
    if len(text) > DESCRIPTION_MAX:
        raise WrongInput("incidents.hint.too_long", limit=DESCRIPTION_MAX)
    if not text and attachment is None:
        raise WrongInput("incidents.hint.details")
    if attachment is not None and incident.anonymous and attachment[0] == "document":
        raise WrongInput("incidents.hint.no_documents")
    files = await storage.incidents.attachments(incident.id) if attachment else []
    if len(files) >= MAX_ATTACHMENTS:
        raise WrongInput("incidents.files_full", limit=MAX_ATTACHMENTS)
    recent = await storage.incidents.actions_since(incident.id, "details", now - timedelta(hours=1))
    if recent >= DETAILS_PER_HOUR:
        raise WrongInput("incidents.details_too_often", limit=DETAILS_PER_HOUR)
    if await storage.incidents.actions_since(incident.id, "details", incident.created_at) >= (
        DETAILS_MAX
    ):
        raise WrongInput("incidents.details_full", limit=DETAILS_MAX)


async def answer_question(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    code: str,
    question_id: int,
    answer: str,
    now: datetime,
) -> Question:
    """The reporter's answer, relayed to the coordinator who asked (once)."""
    async with storage.db.transaction():
        incident = await incident_by_code(storage, settings, code, now)
        question = await storage.incidents.question(question_id)
        if question is None or question.incident_id != incident.id:
            raise WrongInput("dialog.stale")
        answer = checked_note(answer, shortest=1)
        readers = await _readers(storage, settings, regions, incident, question)
        if not await storage.incidents.answer(question.id, answer, now):
            raise WrongInput("incidents.already_answered")
        await storage.incidents.note(incident.id, "answer", now, detail=answer)
        allowed = await storage.revocation.holders(incident.region_code) | settings.admin_ids
        for chat_id, member_id, lang in readers:
            if chat_id not in allowed:  # lost the role since it was read
                continue
            await send_to_many(
                storage,
                [(chat_id, member_id)],
                Outgoing(
                    text=t(
                        lang,
                        "incidents.answer_relayed",
                        id=incident.id,
                        question=esc(question.question),
                        answer=esc(answer),
                    )
                ),
                priority=Priority.ALERT,
                now=now,
                key=f"incans{question.id}",
            )
        updated = await storage.incidents.question(question.id)
    assert updated is not None
    return updated


async def _readers(
    storage: Storage, settings: Settings, regions: Regions, incident: Incident, question: Question
) -> list[tuple[int, int | None, str]]:
    """The coordinator who asked; if they have erased their data or lost the region, whoever
    holds a card of it (or else the lowest level there is)."""
    asker = None
    if question.asked_by != ERASED_ASKER:
        asker = await identify(storage, settings, question.asked_by)
    if asker is not None and asker.coordinates(incident.region_code):
        lang = asker.member.language if asker.member else settings.default_language
        return [(question.asked_by, asker.member.id if asker.member else None, lang)]
    scene = await scene_of(storage, settings, regions, incident)
    holders = scene.card_holders() or next(
        (scene.people[level] for level in sorted(scene.people) if scene.people[level]),
        [],
    )
    return [(v.chat_id, v.member_id, v.language) for v in holders]
