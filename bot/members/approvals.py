"""Members are vetted (MEMBER_APPROVAL): a new member waits until a coordinator of their region
accepts them on a card ("Принять" / "Отклонить"); admins get the card when the region has no
coordinator who can be reached. A request is a row with a reminder due time: the sweep brings it
up again every APPROVAL_REMIND_HOURS, twice to the same people, then once to the admins.

Those who register through a coordinator's own sign-up link (s_<secret>, /signup_link) are
approved at once, and so are coordinators who come by an invite. Until approved, a member can
/report and /status, edit and erase their data, but gets no announcements, events or places.
Every card goes through the outbox (bot/runtime/delivery.py); every decision is in the audit log.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.buttons import Codec, Num, Word
from bot.i18n import t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.refusals import NotAllowed, WrongInput
from bot.regions import Regions
from bot.roles.access import Caller, require_coordinator
from bot.roles.invites import token_hash
from bot.settings import Settings
from storage.approvals import APPROVED, DECLINED, WAITING, ApprovalRequest
from storage.db import Storage
from storage.members import Member
from storage.outbox import OutboxRow
from storage.roles import ALL_REGIONS

SIGNUP_PREFIX = "s_"
REMINDERS_TO_REGION = 2  # then the admins are told, once, and the request waits quietly
REGION, ADMINS = 1, 2
PRIORITY = Priority.ALERT

# the buttons of an approval card: apv:<member>:yes|no
CARD = Codec("apv", Num(), Word("yes", "no"))


@dataclass(frozen=True)
class Approver:
    chat_id: int
    member_id: int | None
    language: str


def _esc(text: str | None) -> str:
    return html.escape(text or "—", quote=False)


# ---------------------------------------------------------------- on registration


async def approval_for_new(
    storage: Storage, settings: Settings, data: dict[str, Any], region_code: str
) -> tuple[str, str]:
    """The approval a new member starts with, and how it was given: approved when vetting is
    off, or when they came by a live sign-up link of a coordinator of the region they chose."""
    if not settings.member_approval:
        return APPROVED, "setting"
    hashed = data.get("signup")
    if isinstance(hashed, str):
        link = await storage.approvals.live_link(hashed)
        if link is not None and link.region_code == region_code:
            owner = await storage.roles.for_member(link.member_id)
            if any(r.region_code in (region_code, ALL_REGIONS) for r in owner):
                return APPROVED, f"signup link {link.id}"
    return WAITING, ""


async def signup_link_works(storage: Storage, hashed: str) -> bool:
    """The coordinator's sign-up link is live and its maker still coordinates its region (so
    that registering by it approves at once)."""
    link = await storage.approvals.live_link(hashed)
    if link is None:
        return False
    owner = await storage.roles.for_member(link.member_id)
    return any(r.region_code in (link.region_code, ALL_REGIONS) for r in owner)


async def approvers(
    storage: Storage, settings: Settings, region_code: str
) -> tuple[list[Approver], int]:
    """Who decides: the region's coordinators who can be reached, else the admins."""
    holders = [h for h in await storage.roles.holders(region_code) if h.reachable]
    if holders:
        return [Approver(h.telegram_id, h.member_id, h.language) for h in holders], REGION
    return await _admins(storage, settings), ADMINS


async def _admins(storage: Storage, settings: Settings) -> list[Approver]:
    found = []
    for admin_id in sorted(settings.admin_ids):
        member = await storage.members.by_telegram_id(admin_id)
        language = member.language if member else settings.default_language
        found.append(Approver(admin_id, member.id if member else None, language))
    return found


def card(member: Member, regions: Regions, lang: str, *, reminder: bool = False) -> Outgoing:
    region = regions.get(member.region_code)
    text = t(
        lang,
        "approval.card",
        name=_esc(member.name),
        org=_esc(member.organisation),
        region=_esc(region.name(lang) if region else member.region_code),
    )
    if reminder:
        text = f"{t(lang, 'approval.reminder')}\n\n{text}"
    markup = {
        "inline_keyboard": [
            [
                {"text": t(lang, "approval.accept"), "callback_data": CARD.pack(member.id, "yes")},
                {"text": t(lang, "approval.decline"), "callback_data": CARD.pack(member.id, "no")},
            ]
        ]
    }
    return Outgoing(text=text, markup=markup, meta={"lang": lang})


async def ask(
    storage: Storage, settings: Settings, regions: Regions, member: Member, now: datetime
) -> int:
    """Open the request of a waiting member and queue its card to whoever decides (once).
    Returns how many cards were queued."""
    if member.approval != WAITING:
        return 0
    people, level = await approvers(storage, settings, member.region_code)
    languages = {p.chat_id: p.language for p in people}
    remind_at = now + timedelta(hours=settings.approval_remind_hours)
    async with storage.db.transaction():
        if not await storage.approvals.open_request(
            member.id, member.region_code, level, remind_at, now
        ):
            return 0
        await send_to_many(
            storage,
            [(p.chat_id, p.member_id) for p in people],
            lambda chat_id, _m: card(member, regions, languages[chat_id]),
            priority=PRIORITY,
            now=now,
            key=f"apv{member.id}:c",
        )
    return len(people)


# ---------------------------------------------------------------- reminders (the sweep)


async def remind_due(storage: Storage, settings: Settings, regions: Regions, now: datetime) -> int:
    """Bring up requests still waiting: to the same people REMINDERS_TO_REGION times, then
    once to the admins. Each reminder is claimed once (a conditional update). First, a waiting
    member left without a request (a crash after the registration, before its request) gets
    one: nobody waits forever unseen."""
    sent = 0
    for member_id in await storage.approvals.unasked():
        member = await storage.members.by_id(member_id)
        if member is not None:
            sent += await ask(storage, settings, regions, member, now)
    for request in await storage.approvals.due(now):
        member = await storage.members.by_id(request.member_id)
        if member is None or member.approval != WAITING or member.telegram_id is None:
            await storage.approvals.close_request(request.member_id)  # nothing to remind of
            continue
        number = request.reminders + 1
        if number <= REMINDERS_TO_REGION:
            people, level = await approvers(storage, settings, member.region_code)
            last = number == REMINDERS_TO_REGION and level == ADMINS  # no one above them
        else:
            people, level, last = await _admins(storage, settings), ADMINS, True
        sent += await _remind(storage, regions, request, member, people, level, now, settings, last)
    return sent


async def _remind(
    storage: Storage,
    regions: Regions,
    request: ApprovalRequest,
    member: Member,
    people: list[Approver],
    level: int,
    now: datetime,
    settings: Settings,
    last: bool,
) -> int:
    languages = {p.chat_id: p.language for p in people}
    next_at = None if last else now + timedelta(hours=settings.approval_remind_hours)
    async with storage.db.transaction():
        if not await storage.approvals.take_reminder(request, level=level, next_at=next_at):
            return 0
        await send_to_many(
            storage,
            [(p.chat_id, p.member_id) for p in people],
            lambda chat_id, _m: card(member, regions, languages[chat_id], reminder=True),
            priority=Priority.REMINDER,
            now=now,
            key=f"apv{member.id}:r{request.reminders + 1}",
        )
    return len(people)


# ---------------------------------------------------------------- the decision


@dataclass(frozen=True)
class Decision:
    member: Member
    decided: bool  # False: someone decided before (member.approval says how)


async def decide(
    storage: Storage,
    regions: Regions,
    caller: Caller,
    member_id: int,
    accept: bool,
    now: datetime,
    *,
    except_chat: int | None = None,
    admins: frozenset[int] = frozenset(),
) -> Decision:
    """A coordinator of the member's region (or an admin, or a federal coordinator) accepts or
    declines them, once. The member is told politely; every other card of the request held by
    someone who may decide for the member's region now is edited to say who decided (through
    the outbox; a card in the chat of someone who lost the role, or of the region the member
    left, is not fed); it is written to the audit log."""
    member = await storage.members.by_id(member_id)
    if member is None or member.telegram_id is None:
        raise WrongInput("approval.gone")
    if not caller.coordinates(member.region_code):
        raise NotAllowed("approval.not_yours")
    if member.approval != WAITING:
        return Decision(member, False)
    approval = APPROVED if accept else DECLINED
    by = decider(caller)
    cards = await storage.outbox.delivered_with_key(f"apv{member.id}:")
    chat = member.telegram_id
    async with storage.db.transaction():
        if not await storage.approvals.decide(
            member.id, approval, actor=caller.telegram_id, now=now, how="card"
        ):
            return Decision(member, False)
        await storage.outbox.cancel_pending(f"apv{member.id}:c%")
        await storage.outbox.cancel_pending(f"apv{member.id}:r%")
        await send_to_many(
            storage,
            [(chat, member.id)],
            Outgoing(text=t(member.language, f"approval.told_{approval}")),
            priority=Priority.REPLY,
            now=now,
            key=f"apv{member.id}:told",
        )
        deciders = await storage.revocation.holders(member.region_code) | admins
        for row in cards:
            if row.chat_id != except_chat and row.chat_id in deciders:
                await _card_decided(storage, regions, member, row, approval, by, now)
    decided = await storage.members.by_id(member.id)
    assert decided is not None
    return Decision(decided, True)


async def _card_decided(
    storage: Storage,
    regions: Regions,
    member: Member,
    row: OutboxRow,
    approval: str,
    by: str | None,
    now: datetime,
) -> None:
    """One card of the request, edited to say who decided (in its reader's language)."""
    lang = str((row.payload.get("meta") or {}).get("lang") or member.language)
    await send_to_many(
        storage,
        [(row.chat_id, row.member_id)],
        Outgoing(
            text=decided_text(member, regions, lang, approval, by),
            edit_message_id=row.message_id,
        ),
        priority=PRIORITY,
        now=now,
        key=f"apv{member.id}:d{row.id}",
    )


def decider(caller: Caller) -> str | None:
    """The name shown on decided cards (None: an admin who is not registered)."""
    return caller.member.name if caller.member and caller.member.name else None


def decided_text(member: Member, regions: Regions, lang: str, approval: str, by: str | None) -> str:
    region = regions.get(member.region_code)
    return t(
        lang,
        f"approval.card_{approval}",
        name=_esc(member.name),
        org=_esc(member.organisation),
        region=_esc(region.name(lang) if region else member.region_code),
        by=_esc(by) if by else t(lang, "approval.an_admin"),
    )


async def approve_by_invite(storage: Storage, member: Member, actor: int, now: datetime) -> bool:
    """An invited coordinator is approved by the invite (before any card is queued)."""
    async with storage.db.transaction():
        if not await storage.approvals.decide(
            member.id, APPROVED, actor=actor, now=now, how="invite"
        ):
            return False
        await storage.outbox.cancel_pending(f"apv{member.id}:c%")
        await storage.outbox.cancel_pending(f"apv{member.id}:r%")
        return True


# ---------------------------------------------------------------- a member moves


async def region_changed(
    storage: Storage,
    settings: Settings | None,
    regions: Regions,
    before: Member,
    after: Member,
    now: datetime,
) -> int:
    """An approved member needs no new approval when they change region, but the coordinators
    of both regions are told. A waiting member's request moves to the new region's people."""
    if before.region_code == after.region_code:
        return 0
    if after.approval == WAITING and settings is not None:
        async with storage.db.transaction():
            await storage.approvals.close_request(after.id)
            await storage.outbox.cancel_pending(f"apv{after.id}:%")
        return await ask(storage, settings, regions, after, now)
    if after.approval != APPROVED:
        return 0
    people: dict[int, tuple[int, str]] = {}
    for code in (before.region_code, after.region_code):
        for holder in await storage.roles.holders(code):
            if holder.reachable and holder.telegram_id != after.telegram_id:
                people[holder.telegram_id] = (holder.member_id, holder.language)

    def notice(chat_id: int, _member_id: int | None) -> Outgoing:
        lang = people[chat_id][1]
        old, new = regions.get(before.region_code), regions.get(after.region_code)
        return Outgoing(
            text=t(
                lang,
                "approval.region_changed",
                name=_esc(after.name),
                org=_esc(after.organisation),
                old=_esc(old.name(lang) if old else before.region_code),
                new=_esc(new.name(lang) if new else after.region_code),
            )
        )

    await send_to_many(
        storage,
        [(chat, member_id) for chat, (member_id, _lang) in people.items()],
        notice,
        priority=Priority.REMINDER,
        now=now,
        key=f"apv{after.id}:moved{int(now.timestamp())}",
    )
    return len(people)


# ---------------------------------------------------------------- sign-up links


@dataclass(frozen=True)
class NewLink:
    payload: str
    region_code: str


def link_region(caller: Caller, regions: Regions, argument: str) -> str:
    """The region of a new sign-up link: the one the coordinator holds, or the one named."""
    require_coordinator(caller)
    named = regions.parse_code(argument) if argument else None
    if argument and named is None:
        raise WrongInput("signup.bad_region")
    if named is not None:
        if not caller.coordinates(named.code):
            raise NotAllowed("signup.not_your_region")
        return named.code
    own = sorted(r for r in caller.regions if r != ALL_REGIONS)
    if len(own) == 1 and not caller.is_federal:
        return own[0]
    raise WrongInput("signup.which_region")


async def create_link(
    storage: Storage, regions: Regions, caller: Caller, argument: str, now: datetime
) -> NewLink:
    region = link_region(caller, regions, argument)
    if caller.member is None:  # an admin who is not registered has no member to own it
        raise NotAllowed("denied.not_registered")
    secret = secrets.token_urlsafe(12)
    await storage.approvals.create_link(token_hash(secret), caller.member.id, region, now)
    return NewLink(f"{SIGNUP_PREFIX}{secret}", region)


async def revoke_links(storage: Storage, caller: Caller, now: datetime) -> int:
    require_coordinator(caller)
    if caller.member is None:
        return 0
    return await storage.approvals.revoke_links(caller.member.id, now)
