"""The consent question: nothing is stored before the person agrees (the buttons carry the
language and the link the person came by)."""

from __future__ import annotations

from telegram import CallbackQuery, Update

from bot import dialogs
from bot.i18n import t
from bot.members.registration import parse_payload
from bot.roles.invites import token_hash
from bot.runtime.context import BotContext
from handlers.common import answer, chat_of, edit_or_send, send, user_of
from handlers.dialog import button_not_current, close_other
from handlers.members.registration.moves import consent_given
from handlers.members.registration.steps import NO_CARRY, REG, question
from storage.dialogs import Dialog


def _carry(raw: str | None) -> str:
    """The link's payload as the consent buttons carry it (within Telegram's 64 bytes)."""
    if raw is None or parse_payload(raw) is None or len(raw) > 40:
        return NO_CARRY
    return raw.strip()


def _start_data(context: BotContext, carry: str, lang: str) -> dict[str, object]:
    """The new registration's answers so far, from the link the consent buttons carry."""
    payload = parse_payload(carry) if carry != NO_CARRY else None
    data: dict[str, object] = {"lang": lang, "topics": []}
    if payload and payload.kind == "region":
        region = context.regions.parse_code(payload.value)
        if region is not None:
            data["preset"] = region.code
    if payload and payload.kind == "invite":
        data["invite"] = token_hash(payload.value)
    if payload and payload.kind in ("event", "checkin"):
        data["after"] = [payload.kind, payload.value]  # opened once registration is done
    if payload and payload.kind == "signup":
        data["signup"] = token_hash(payload.value)
    return data


async def welcome(update: Update, context: BotContext, lang: str, raw: str | None) -> None:
    """The welcome and the consent question. Stateless: nothing about the person is stored
    until they agree (the consent buttons carry what is needed)."""
    carry = _carry(raw)
    payload = parse_payload(carry) if carry != NO_CARRY else None
    await send(update, context, t(lang, "reg.welcome"))
    if payload is not None and payload.kind == "invite":
        await send(update, context, t(lang, "invite.register_first"))
    consent = Dialog(
        telegram_id=user_of(update).id,
        chat_id=chat_of(update).id,
        flow=REG,
        step="consent",
        data={"lang": lang, "carry": carry},
    )
    text, markup = question(context, consent)
    await send(update, context, text, markup)


async def show_consent(
    context: BotContext, query: CallbackQuery, lang: str, carry: str, *, full: bool = False
) -> None:
    """The consent question in the other language, or in full, in place (still nothing
    stored)."""
    user_id = query.from_user.id
    data = {"lang": lang, "carry": _carry(carry), "full": full}
    consent = Dialog(user_id, user_id, REG, "consent", data)
    text, markup = question(context, consent)
    message_id = query.message.message_id if query.message is not None else None
    await edit_or_send(context, user_id, message_id, text, markup)


async def close_consent(context: BotContext, query: CallbackQuery, text: str) -> None:
    user_id = query.from_user.id
    message_id = query.message.message_id if query.message is not None else None
    await edit_or_send(context, user_id, message_id, text)


async def agree(update: Update, context: BotContext, lang: str, carry: str) -> None:
    """'Согласен': the registration dialogue begins now, with what the buttons carried."""
    query = update.callback_query
    assert query is not None
    user_id = user_of(update).id
    open_, _expired = await dialogs.current(context.storage, user_id, context.now())
    if open_ is not None and open_.flow == REG and open_.step != "consent":
        await button_not_current(update, context, open_)  # a copy, already answered
        return
    data = _start_data(context, _carry(carry), lang)
    signup = data.get("signup")
    if isinstance(signup, str):  # a coordinator's own link: their region, approved at the end
        link = await context.storage.approvals.live_link(signup)
        if link is not None:
            data["preset"] = link.region_code
    if open_ is not None and open_.flow == REG:  # a consent step saved by an older version
        data = {**open_.data, **data, "lang": lang}
    elif open_ is not None:
        await close_other(context, open_, lang)
    message_id = query.message.message_id if query.message is not None else None
    consent = Dialog(user_id, user_id, REG, "consent", data, message_id)
    await consent_given(context, consent, lang)
    await answer(query)
