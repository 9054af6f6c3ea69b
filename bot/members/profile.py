"""A member's own data: profile changes, the export of everything stored, erasure."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.members import erasures, mydata
from bot.members.approvals import region_changed
from bot.members.registration import valid_topics
from bot.refusals import NotAllowed
from bot.regions import Regions, Topic
from bot.roles.access import Caller, require_member
from bot.roles.revocation import queue_stubs
from bot.settings import Settings
from storage.db import Storage
from storage.incidents import Incident
from storage.members import Member
from storage.revocation import Entitlement
from storage.roles import ALL_REGIONS

log = logging.getLogger(__name__)


async def change_profile(
    storage: Storage,
    caller: Caller,
    now: datetime,
    *,
    name: str | None = None,
    organisation: str | None = None,
    region_code: str | None = None,
    language: str | None = None,
    topics: list[str] | None = None,
    known_topics: list[Topic] | None = None,
    regions: Regions | None = None,
    settings: Settings | None = None,
) -> Member:
    member = require_member(caller)
    if region_code is not None and (regions is None or regions.get(region_code) is None):
        raise ValueError(f"unknown region {region_code}")
    if language is not None and language not in ("ru", "en"):
        raise ValueError(f"unknown language {language}")
    chosen = valid_topics(topics, known_topics or []) if topics is not None else None
    updated = await storage.members.update_profile(
        member.id,
        now,
        name=name,
        organisation=organisation,
        region_code=region_code,
        language=language,
        topics=chosen,
    )
    if updated is None:  # erased between the question and the answer
        raise NotAllowed("denied.not_registered")
    if regions is not None and updated.region_code != member.region_code:
        await region_changed(storage, settings, regions, member, updated, now)
    return updated


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _member_part(member: Member, regions: Regions) -> dict[str, Any]:
    region = regions.get(member.region_code)
    return {
        "id": member.id,
        "telegram_id": member.telegram_id,
        "name": member.name,
        "organisation": member.organisation,
        "region": {
            "code": member.region_code,
            "name": region.name(member.language) if region else None,
        },
        "language": member.language,
        "topics": list(member.topics),
        "status": member.status,
        "approval": member.approval,
        "registered_at": _iso(member.created_at),
        "updated_at": _iso(member.updated_at),
    }


def _report_part(i: Incident) -> dict[str, Any]:
    return {
        "code": i.code,
        "category": i.category,
        "urgency": i.urgency,
        "region": i.region_code,
        "place": i.place,
        "happened_on": i.happened_on.isoformat(),
        "description": i.description,
        "state": i.state,
        "reported_at": _iso(i.created_at),
    }


async def export(storage: Storage, caller: Caller, regions: Regions) -> bytes:
    """Everything stored about the caller, as UTF-8 JSON (the /mydata file)."""
    member = require_member(caller)
    roles = await storage.roles.for_member(member.id)
    audit = await storage.roles.audit(member.id)
    dialog = await storage.dialogs.get(caller.telegram_id)
    data: dict[str, Any] = {
        "member": _member_part(member, regions),
        "consent": {"version": member.consent_version, "given_at": _iso(member.consent_at)},
        "roles": [
            {
                "role": "federal_coordinator"
                if r.region_code == ALL_REGIONS
                else "regional_coordinator",
                "region": r.region_code,
                "granted_at": _iso(r.granted_at),
            }
            for r in roles
        ],
        "audit_log": [
            {"at": _iso(a.at), "action": a.action, "role": a.role, "region": a.region_code}
            for a in audit
        ],
        "actions_as_admin": [
            {
                "at": _iso(a.at),
                "action": a.action,
                "member_id": a.member_id,
                "region": a.region_code,
            }
            for a in await storage.roles.audit(actor=caller.telegram_id)
        ],
        "incident_reports": [
            _report_part(i) for i in await storage.incidents.of_reporter(member.id)
        ],
        "evaluation_answers": [
            {
                "event_id": r.event_id,
                "round": r.round,
                "submitted": r.submitted_on,
                "answers": {key: a.as_dict() for key, a in r.answers.items()},
            }
            for r in await storage.evaluations.of_member(member.id)
        ],
        "dialogue_in_progress": (
            {"flow": dialog.flow, "step": dialog.step, "answers": dialog.data} if dialog else None
        ),
    }
    data.update(mydata.sections(await mydata.record(storage, member, caller.telegram_id)))
    return mydata.dumps(data)


async def readable(storage: Storage, caller: Caller, regions: Regions, profile: str) -> str:
    """Everything stored about the caller in words, in their language (the /mydata message);
    `profile` is their /me card."""
    member = require_member(caller)
    roles = [r.region_code for r in await storage.roles.for_member(member.id)]
    reports = len(await storage.incidents.of_reporter(member.id))
    found = await mydata.record(storage, member, caller.telegram_id)
    return mydata.summary(
        member, roles, reports, found, regions, profile=profile, is_admin=caller.is_admin
    )


async def mark_reachable(
    storage: Storage, telegram_id: int, reachable: bool, now: datetime
) -> bool:
    """The person blocked the bot (or unblocked it): later sends skip or include them."""
    return await storage.members.set_reachable(telegram_id, reachable, now)


async def erase(storage: Storage, settings: Settings, caller: Caller, now: datetime) -> bool:
    """/forget: the person's data goes, and with their roles everything those brought (queued
    cards, reminders, digests, reports of their broadcasts) in the same transaction; the cards
    of reports in their chat get the stub. The erasure is written to the journal (a hash of
    the ids, outside the database) before it is committed, so a restored backup erases the
    person again."""
    member = require_member(caller)
    async with storage.db.transaction():
        shown = await storage.revocation.withdraw(
            caller.telegram_id,
            Entitlement(frozenset(), caller.telegram_id in settings.admin_ids),
            now,
        )
        if not await storage.members.erase(member.id, now):
            return False
        await queue_stubs(storage, shown, language=member.language, now=now, erased=True)
        try:
            erasures.record(settings, caller.telegram_id, now)
        except OSError as exc:  # the erasure itself must not fail for the journal's sake
            log.error(
                "erasure journal %s not written (%s): restoring an older backup would bring"
                " this member back",
                settings.erasure_journal_path,
                type(exc).__name__,
            )
    return True
