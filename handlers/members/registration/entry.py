"""Entering the dialogues: /start with its links (region, invite, event, sign-up) and /settings."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import dialogs
from bot.i18n import t
from bot.members.approvals import signup_link_works
from bot.members.registration import StartPayload, parse_payload
from bot.roles.invites import InviteOutcome, invite_problem, token_hash
from bot.runtime.context import BotContext
from handlers.common import (
    caller_of,
    esc,
    keyboard,
    lang_of,
    private_only,
    registered,
    send,
    user_of,
)
from handlers.dialog import begin as begin_dialog
from handlers.dialog import show
from handlers.members.registration.consent import welcome
from handlers.members.registration.moves import use_invite
from handlers.members.registration.steps import DO, REG, REGION_STEPS, SET, member_data
from storage.dialogs import Dialog

# ---------------------------------------------------------------- entering the dialogues


async def start_registration(update: Update, context: BotContext) -> None:
    """/start, /start r_<REGION> (sign-up link), /start inv_<secret> (coordinator invite)."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    raw = context.args[0] if context.args else None
    payload = parse_payload(raw)
    if payload is None and raw is not None and raw.startswith("inv_"):
        payload = StartPayload("invite", "")  # cut off or mangled: no invite has that secret
    if payload and payload.kind in ("event", "checkin") and caller.member is not None:
        await context.bot_data.link_handlers[payload.kind](context, caller, payload.value, lang)
        return
    if payload and payload.kind == "invite" and caller.member is not None:
        await use_invite(update, context, caller.member, token_hash(payload.value), lang)
        return
    if payload and payload.kind == "invite" and await _invite_first(update, context, payload, lang):
        return
    if (payload is None or payload.kind in ("region", "event", "checkin", "signup")) and (
        await _draft_goes_on(context, caller.telegram_id, payload, lang)
    ):
        return
    if caller.member is not None and (payload is None or payload.kind in ("region", "signup")):
        markup = keyboard([[(t(lang, "start.register_again"), DO.pack("restart"))]])
        await send(
            update, context, t(lang, "start.welcome_back", name=esc(caller.member.name)), markup
        )
        return
    if (
        payload is not None
        and payload.kind == "signup"
        and context.settings.member_approval
        and not await signup_link_works(context.storage, token_hash(payload.value))
    ):
        # said before the form: registering is still possible, with a coordinator's check
        # (the link still offers its region, if it has one)
        await send(update, context, t(lang, "signup.link_dead"))
    await welcome(update, context, lang, context.args[0] if payload and context.args else None)


async def _invite_first(
    update: Update, context: BotContext, payload: StartPayload, lang: str
) -> bool:
    """An invite opened by someone not yet a member; True when that was all to do."""
    user_id = user_of(update).id
    # Before the form: a used, expired or forged invite is said at once, and the person may
    # register as an ordinary member instead (the consent below carries no invite).
    problem = await invite_problem(
        context.storage, context.settings, token_hash(payload.value), context.now()
    )
    if problem is not None:
        await _invite_not_usable(update, context, user_id, problem, lang)
        return True
    dialog, _expired = await dialogs.current(context.storage, user_id, context.now())
    if dialog is not None and dialog.flow == REG and dialog.step != "consent":
        # a registration already under way takes the invite along (its consent is given):
        # the role comes when it is done, and the person goes on where they stopped
        dialog = await dialogs.advance(
            context.storage,
            context.settings,
            dialog,
            now=context.now(),
            invite=token_hash(payload.value),
        )
        hint = t(str(dialog.data.get("lang", lang)), "invite.joins_draft")
        await show(context, dialog, new_message=True, hint=hint)
        return True
    return False


async def _draft_goes_on(
    context: BotContext, user_id: int, payload: StartPayload | None, lang: str
) -> bool:
    """A registration under way goes on where it stopped (a link joins it); True if there was
    one."""
    dialog, _expired = await dialogs.current(context.storage, user_id, context.now())
    if dialog is not None and dialog.flow == REG:
        notes: list[str] = []
        if payload is not None and dialog.step != "consent":
            dialog, notes = await _link_joins_draft(context, dialog, payload)
        notes.append(t(str(dialog.data.get("lang", lang)), "reg.continue"))
        await show(context, dialog, new_message=True, hint="\n".join(notes))
        return True
    return False


async def _link_joins_draft(
    context: BotContext, dialog: Dialog, payload: StartPayload
) -> tuple[Dialog, list[str]]:
    """A link opened while a registration is under way joins it, as an invite does: an event
    or check-in link is opened once registration is done; a region link (or a coordinator's
    sign-up link, by its region) offers its region, unless the region is answered already; a
    working sign-up link approves at the end, as from the start. Returns the draft and what
    was noted, to tell the person."""
    lang = str(dialog.data.get("lang", "ru"))
    changes: dict[str, Any] = {}
    notes: list[str] = []
    code: str | None = None
    if payload.kind in ("event", "checkin"):
        changes["after"] = [payload.kind, payload.value]
        notes.append(t(lang, "reg.link_event"))
    elif payload.kind == "region":
        found = context.regions.parse_code(payload.value)
        code = found.code if found else None
    elif payload.kind == "signup":
        hashed = token_hash(payload.value)
        link = await context.storage.approvals.live_link(hashed)
        code = link.region_code if link else None
        if not context.settings.member_approval:
            pass  # everyone is approved: the link only offers its region
        elif await signup_link_works(context.storage, hashed):
            changes["signup"] = hashed
            linked = context.regions.get(str(code))
            name = linked.name(lang) if linked else str(code)
            notes.append(t(lang, "reg.link_signup", region=esc(name)))
        else:
            notes.append(t(lang, "signup.link_dead_draft"))
    region = context.regions.get(code) if code else None
    chosen = context.regions.get(str(dialog.data.get("region") or ""))
    if region is not None and chosen is None:
        changes["preset"] = region.code
        if payload.kind == "region" or not notes:
            notes.append(t(lang, "reg.link_region", region=esc(region.name(lang))))
    elif region is not None and chosen is not None and chosen.code != region.code:
        notes.append(t(lang, "reg.link_region_kept", region=esc(chosen.name(lang))))
    if not changes:
        return dialog, notes
    # at a region question, the offered region is asked about now
    step = "region_confirm" if "preset" in changes and dialog.step in REGION_STEPS else None
    dialog = await dialogs.advance(
        context.storage, context.settings, dialog, now=context.now(), step=step, **changes
    )
    return dialog, notes


async def _invite_not_usable(
    update: Update, context: BotContext, user_id: int, problem: InviteOutcome, lang: str
) -> None:
    """Why the invite does not work; then the registration already begun, or a new one
    without the invite."""
    dialog, _expired = await dialogs.current(context.storage, user_id, context.now())
    if dialog is not None and dialog.flow == REG:
        await send(update, context, t(lang, f"invite.{problem.value}"))
        hint = t(str(dialog.data.get("lang", lang)), "reg.continue")
        await show(context, dialog, new_message=True, hint=hint)
        return
    plain = t(lang, "invite.register_plain")
    await send(update, context, f"{t(lang, f'invite.{problem.value}')}\n\n{plain}")
    await welcome(update, context, lang, None)


async def open_settings(update: Update, context: BotContext) -> None:
    """/settings: change name, organisation, region, topics, language."""
    asking = await registered(update, context)
    if asking is None:
        return
    caller, member, _lang = asking
    dialog = await begin_dialog(
        context,
        telegram_id=caller.telegram_id,
        flow=SET,
        step="settings",
        data=member_data(member),
    )
    await show(context, dialog, new_message=True)
