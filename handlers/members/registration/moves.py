"""Moving between the steps of registration and settings: after an answer, Back, saving a
setting, the end of registration, Cancel."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Update

from bot import dialogs
from bot.i18n import t
from bot.members.approvals import approval_for_new, approve_by_invite, ask, region_changed
from bot.members.profile import change_profile
from bot.members.registration import profile_from, register
from bot.refusals import Refused
from bot.roles.access import identify
from bot.roles.invites import InviteOutcome, redeem_invite
from bot.runtime.context import BotContext
from handlers.common import edit_or_send, esc, user_of
from handlers.dialog import go
from handlers.members.registration.steps import REG, SET, member_data, profile_text
from handlers.menus import refresh_menu
from storage.approvals import APPROVED, WAITING
from storage.dialogs import Dialog
from storage.members import Member

# ---------------------------------------------------------------- moving between steps

log = logging.getLogger(__name__)


async def consent_given(context: BotContext, dialog: Dialog, lang: str) -> None:
    """'Согласен' (tapped or typed): the consent is noted and the first question follows."""
    consent_at = context.now().isoformat()
    if dialog.message_id is None:  # agreed in words
        accepted = t(lang, "reg.consent_given")
    else:
        accepted = f"{t(lang, 'reg.consent')}\n\n{t(lang, 'reg.consent_given')}"
    await edit_or_send(context, dialog.chat_id, dialog.message_id, accepted)
    await go(context, dialog, "name", new_message=True, consent_at=consent_at)


def first_region_step(dialog: Dialog) -> str:
    return "region_confirm" if dialog.data.get("preset") else "district"


async def after_field(context: BotContext, dialog: Dialog, *, new_message: bool) -> None:
    """Where a dialogue goes once a field is answered."""
    if dialog.flow == SET:
        await save_setting(context, dialog, new_message=new_message)
    elif dialog.data.get("editing"):
        await go(context, dialog, "summary", new_message=new_message)
    else:
        following = {"name": "org", "org": first_region_step(dialog)}
        step = following.get(dialog.step, "topics")
        if step == "topics" and dialog.step == "topics":
            step = "summary"
        await go(context, dialog, step, new_message=new_message)


async def save_setting(context: BotContext, dialog: Dialog, *, new_message: bool) -> None:
    caller = await identify(context.storage, context.settings, dialog.telegram_id)
    data = dialog.data
    field = {
        "name": "name",
        "org": "organisation",
        "topics": "topics",
        "lang": "language",
    }.get(dialog.step, "region_code")
    value = {
        "name": data.get("name"),
        "organisation": data.get("org"),
        "region_code": data.get("region"),
        "topics": data.get("topics"),
        "language": data.get("lang"),
    }[field]
    try:
        member = await change_profile(
            context.storage,
            caller,
            context.now(),
            regions=context.regions,
            known_topics=context.topics,
            settings=context.settings,
            **{field: value},
        )
    except Refused as exc:
        await dialogs.end(context.storage, dialog.telegram_id)
        await edit_or_send(
            context, dialog.chat_id, dialog.message_id, t(str(data["lang"]), exc.key)
        )
        return
    if field == "language":
        updated = await identify(context.storage, context.settings, dialog.telegram_id)
        await refresh_menu(context.bot, updated, context.settings.default_language)
    await go(
        context,
        dialog,
        "settings",
        new_message=new_message,
        note="settings.saved",
        **member_data(member),
    )


def previous_step(dialog: Dialog) -> str | None:
    """The step 'Назад' leads to; None means the settings menu or the summary."""
    step = dialog.step
    if dialog.flow == SET:
        return "district" if step in ("region", "alpha") else "settings"
    if dialog.data.get("editing") and step in ("name", "org", "district", "topics", "edit"):
        return "summary"
    return {
        "org": "name",
        "region_confirm": "org",
        "district": "org",
        "region": "district",
        "region_pick": "district",
        "alpha": "district",
        "topics": first_region_step(dialog),
        "edit": "summary",
    }.get(step)


async def region_chosen(context: BotContext, dialog: Dialog, code: str) -> None:
    dialog = await dialogs.advance(
        context.storage, context.settings, dialog, now=context.now(), region=code
    )
    if dialog.flow == SET:
        await save_setting(context, dialog, new_message=False)
    elif dialog.data.get("editing"):
        await go(context, dialog, "summary")
    else:
        await go(context, dialog, "topics")


async def finish(context: BotContext, dialog: Dialog, lang: str) -> None:
    profile = profile_from(dialog.data, context.regions, context.topics)
    consent_at = dialog.data.get("consent_at")
    if profile is None or not isinstance(consent_at, str):
        await go(context, dialog, "summary", hint=t(lang, "reg.hint.incomplete"))
        return
    now = context.now()
    before = await context.storage.members.by_telegram_id(dialog.telegram_id)
    approval, how = await approval_for_new(
        context.storage, context.settings, dialog.data, profile.region_code
    )
    member, created = await register(
        context.storage,
        telegram_id=dialog.telegram_id,
        profile=profile,
        consent_at=datetime.fromisoformat(consent_at),
        now=now,
        approval=approval,
    )
    if created and approval == APPROVED and how.startswith("signup"):
        log.info("member %s approved by a coordinator's sign-up link", member.id)
    if before is not None:  # registered again, perhaps in another region
        await region_changed(
            context.storage, context.settings, context.regions, before, member, now
        )
    await dialogs.end(context.storage, dialog.telegram_id)
    key = "reg.done" if created else "reg.updated"
    await edit_or_send(
        context,
        dialog.chat_id,
        dialog.message_id,
        t(lang, key, card=profile_text(context, lang, member_data(member))),
    )
    invite = dialog.data.get("invite")
    if isinstance(invite, str):
        await use_invite_for_chat(context, dialog.chat_id, member, invite, lang)
        member = await context.storage.members.by_id(member.id) or member
    if member.approval == WAITING:
        await ask(context.storage, context.settings, context.regions, member, now)
        await context.bot.send_message(dialog.chat_id, t(lang, "approval.waiting"))
        if context.bot_data.delivery is not None:
            context.bot_data.delivery.wake()
    caller = await identify(context.storage, context.settings, dialog.telegram_id)
    await refresh_menu(context.bot, caller, context.settings.default_language)
    await context.bot.send_message(dialog.chat_id, t(lang, f"help.{caller.level}"))
    after = dialog.data.get("after")
    if isinstance(after, list) and len(after) == 2 and after[0] in context.bot_data.link_handlers:
        await context.bot_data.link_handlers[after[0]](context, caller, str(after[1]), lang)


async def use_invite(
    update: Update, context: BotContext, member: Member, hashed: str, lang: str
) -> None:
    await use_invite_for_chat(context, user_of(update).id, member, hashed, lang)
    caller = await identify(context.storage, context.settings, user_of(update).id)
    await refresh_menu(context.bot, caller, context.settings.default_language)


async def use_invite_for_chat(
    context: BotContext, chat_id: int, member: Member, hashed: str, lang: str
) -> None:
    outcome, role = await redeem_invite(
        context.storage, context.settings, member.id, hashed, context.now()
    )
    if outcome is InviteOutcome.GRANTED and role is not None and role.granted_by is not None:
        await approve_by_invite(context.storage, member, role.granted_by, context.now())
    if outcome is InviteOutcome.GRANTED and role is not None:
        if role.region_code == "*":
            text = t(lang, "invite.granted_federal")
        else:
            region = context.regions.get(role.region_code)
            name = region.name(lang) if region else role.region_code
            text = t(lang, "invite.granted_regional", region=esc(name))
    else:
        text = t(lang, f"invite.{outcome.value}")
    await context.bot.send_message(chat_id, text)


# what /cancel says for each dialogue (flows without an entry: "Отменено, ничего не изменилось")
CANCELLED = {
    REG: "reg.cancelled",
    SET: "settings.closed",
    "evt": "events.cancelled_draft",
    "evm": "events.manage.edit_cancelled",
    "bc": "broadcast.cancelled",
    "rep": "incidents.cancelled",
    "evl": "evaluation.paused",
}


async def cancel_dialog(context: BotContext, dialog: Dialog) -> None:
    lang = str(dialog.data.get("lang", "ru"))
    await dialogs.end(context.storage, dialog.telegram_id)
    key = CANCELLED.get(dialog.flow, "incidents.input_cancelled")
    await edit_or_send(context, dialog.chat_id, dialog.message_id, t(lang, key))
