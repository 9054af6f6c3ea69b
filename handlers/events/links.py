"""Deep links into events: an event's card (ev_<id>) and the check-in at the venue (ci_...)."""

from __future__ import annotations

from bot.events.checkin import check_in, checkin_message
from bot.events.rsvp import visible_event
from bot.i18n import t
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller, is_number
from bot.runtime.context import BotContext
from handlers.events.answers import send_event


async def open_event_link(context: BotContext, caller: Caller, value: str, lang: str) -> None:
    """The deep link t.me/<bot>?start=ev_<id>."""
    try:
        if not is_number(value):
            raise WrongInput("events.not_found")
        event = await visible_event(context.storage, caller, int(value))
    except Refused as exc:
        await context.bot.send_message(caller.telegram_id, t(lang, exc.key))
        return
    await send_event(context, caller, event, lang)


async def check_in_link(context: BotContext, caller: Caller, value: str, lang: str) -> None:
    """The deep link ci_<event>_<secret> from the QR code at the venue."""
    event_part, _, secret = value.partition("_")
    if not is_number(event_part) or not secret:
        await context.bot.send_message(caller.telegram_id, t(lang, "events.checkin.wrong_code"))
        return
    try:
        outcome, event = await check_in(
            context.storage, caller, int(event_part), secret, context.now()
        )
    except Refused as exc:
        await context.bot.send_message(caller.telegram_id, t(lang, exc.key))
        return
    zone = context.regions.zone(caller.member.region_code if caller.member else None)
    text = checkin_message(outcome, event, lang, zone)
    await context.bot.send_message(caller.telegram_id, text)
