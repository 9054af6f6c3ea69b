"""What is done with a report once it is in, and what every such action shares.

Each action is one transaction (the unit of work, storage.db): the incident is read and
checked, changed (only from the states the action allows), noted in the timeline, its steps
set, every delivered card refreshed and its reporter told, all committed together with the
messages they queue, or none of it. `act` is that sequence, once; an action says what differs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.i18n import t
from bot.incidents.cards import refresh_cards
from bot.incidents.people import (
    Ladder,
    Unreachable,
    Viewer,
    ladder,
)
from bot.incidents.report import NOTE_MAX
from bot.outbox import Outgoing, Priority, send_to_many
from bot.refusals import NotAllowed, Refused, WrongInput
from bot.regions import Regions
from bot.roles.access import Caller, require_coordinator
from bot.settings import Settings
from storage.db import Storage
from storage.incidents import Incident
from storage.members import Member
from storage.outbox import OutboxRow


async def visible_incident(storage: Storage, caller: Caller, incident_id: int) -> Incident:
    """An incident the caller may see and act on: their region's (federal and admins: all)."""
    require_coordinator(caller)
    incident = await storage.incidents.get(incident_id)
    if incident is None:
        raise WrongInput("incidents.not_found")
    if not caller.coordinates(incident.region_code):
        raise NotAllowed("incidents.not_yours")
    return incident


async def visible_open(
    storage: Storage, caller: Caller, *, states: tuple[str, ...], region: str | None
) -> list[Incident]:
    require_coordinator(caller)
    scope = None if (caller.is_admin or caller.is_federal) else sorted(caller.regions)
    if region is not None and not caller.coordinates(region):
        raise NotAllowed("incidents.not_yours")
    return await storage.incidents.listing(scope, states=states, region=region)


def actor_name(caller: Caller) -> str:
    """The member's name; for someone without a profile (a bootstrap admin), their name in
    Telegram; the id only if Telegram gave no name either."""
    if caller.member is not None and caller.member.name:
        return caller.member.name
    if caller.telegram_name.strip():
        return caller.telegram_name.strip()
    return f"id {caller.telegram_id}"


def refusal(current: Incident | None) -> Refused:
    """Why an action found the incident in no state for it (someone was quicker)."""
    if current is None:
        return WrongInput("incidents.not_found")
    if current.state == "acknowledged":
        return WrongInput("incidents.already_taken", name=current.assignee_name or "—")
    if current.state == "resolved":
        return WrongInput("incidents.already_resolved")
    if current.state == "withdrawn":
        return WrongInput("incidents.already_withdrawn")
    return WrongInput("incidents.not_taken")


def checked_note(text: str, shortest: int = 3) -> str:
    """A note, an outcome, a question or an answer typed by someone: trimmed, not too long."""
    text = text.strip()
    if not shortest <= len(text) <= NOTE_MAX:
        raise WrongInput("incidents.hint.note", limit=NOTE_MAX)
    return text


# ---------------------------------------------------------------- what an action reads


@dataclass(frozen=True)
class Scene:
    """What an action reads of its incident, inside its transaction: who is on the ladder, the
    delivered cards, the attachments and the named reporter (None: anonymous, or gone)."""

    people: Ladder
    unreachable: Unreachable
    cards: list[OutboxRow]
    files: list[tuple[str, str]]
    reporter: Member | None

    def card_holders(self) -> list[Viewer]:
        """Everyone who has a card of the incident, once each."""
        holders = {row.chat_id for row in self.cards}
        seen: dict[int, Viewer] = {}
        for level in sorted(self.people):
            for viewer in self.people[level]:
                if viewer.chat_id in holders:
                    seen.setdefault(viewer.chat_id, viewer)
        return list(seen.values())


async def reporter_of(storage: Storage, incident: Incident) -> Member | None:
    """The reporter of a named report, if they can still be told something."""
    if incident.reporter_member_id is None:
        return None
    reporter = await storage.members.by_id(incident.reporter_member_id)
    if reporter is None or reporter.telegram_id is None or reporter.status != "active":
        return None
    return reporter


async def scene_of(
    storage: Storage, settings: Settings, regions: Regions, incident: Incident
) -> Scene:
    people, unreachable = await ladder(storage, settings, regions, incident.region_code)
    cards = await storage.outbox.delivered_with_key(f"inccard{incident.id}:")
    files = [(a.kind, a.file_id) for a in await storage.incidents.attachments(incident.id)]
    return Scene(people, unreachable, cards, files, await reporter_of(storage, incident))


# ---------------------------------------------------------------- the one sequence

# a part of an action inside its transaction: (the changed incident, what was read)
Part = Callable[[Incident, Scene], Awaitable[Incident | None]]


@dataclass(frozen=True)
class Action:
    """One change of an incident, as `act` carries it out.

    - `note`: the timeline's entry, with `detail`; `by`: who did it (None: the reporter, who
      is never named in the timeline);
    - `when_state`: the states it may change from; `changes`: the columns it sets;
    - `refused`: the refusal when the incident is in another state (None: said by `refusal`);
    - `then`: what it does next (its steps), before the cards are refreshed; it may return the
      incident changed again; `after`: what else it sends, once the cards are refreshed;
    - `cards`: whether the delivered cards are edited; `added_files`: attachments it adds;
    - `tell`: the reporter's notice (incidents.to_reporter.<tell>) with `tell_params`.
    """

    note: str
    when_state: tuple[str, ...]
    changes: dict[str, Any] = field(default_factory=dict)
    by: Caller | None = None
    detail: str | None = None
    refused: str | None = None
    then: Part | None = None
    after: Part | None = None
    cards: bool = True
    added_files: int = 0
    tell: str | None = None
    tell_params: dict[str, Any] = field(default_factory=dict)


async def act(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    incident: Incident,
    action: Action,
    now: datetime,
) -> Incident:
    """Read -> change -> note -> steps -> refresh the cards -> tell the reporter, in one
    transaction (the caller's, when it has one open)."""
    async with storage.db.transaction():
        scene = await scene_of(storage, settings, regions, incident)
        changed = await storage.incidents.change(
            incident.id, now, when_state=action.when_state, **action.changes
        )
        if changed is None:
            if action.refused is not None:
                raise WrongInput(action.refused)
            raise refusal(await storage.incidents.get(incident.id))
        by = action.by
        await storage.incidents.note(
            incident.id,
            action.note,
            now,
            actor=by.telegram_id if by else None,
            actor_name=actor_name(by) if by else None,
            detail=action.detail,
        )
        if action.then is not None:
            changed = await action.then(changed, scene) or changed
        if action.cards:
            await refresh_cards(
                storage,
                changed,
                scene.cards,
                regions,
                now,
                len(scene.files) + action.added_files,
                admins=settings.admin_ids,
            )
        if action.after is not None:
            changed = await action.after(changed, scene) or changed
        if action.tell is not None:
            await tell_reporter(
                storage, scene.reporter, changed, now, action.tell, **action.tell_params
            )
    return changed


async def tell_reporter(
    storage: Storage,
    reporter: Member | None,
    incident: Incident,
    now: datetime,
    key: str,
    **params: Any,
) -> None:
    """A status change for a named reporter (an anonymous one reads it in /status)."""
    if reporter is None or reporter.telegram_id is None:
        return
    text = t(reporter.language, f"incidents.to_reporter.{key}", code=incident.code, **params)
    await send_to_many(
        storage,
        [(reporter.telegram_id, reporter.id)],
        Outgoing(text=text),
        priority=Priority.ALERT,
        now=now,
        key=f"increp{incident.id}:{key}:{int(now.timestamp() * 1000)}",
    )
