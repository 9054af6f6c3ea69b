"""/events: the upcoming events a member sees, a page at a time."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.buttons import Codec, Num
from bot.events.cards import RSVP, when_text
from bot.events.rsvp import upcoming_for
from bot.i18n import t
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller
from bot.runtime.context import BotContext
from handlers.common import (
    Button,
    answer,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    page_of,
    registered,
    send,
)

PAGE = 8
TURN = Codec("evl", Num())  # the next or previous page of /events
LIST_PATTERN = TURN.pattern


async def list_events(update: Update, context: BotContext) -> None:
    """/events: upcoming events for the member's region (and the regions they coordinate)."""
    asking = await registered(update, context)
    if asking is None:
        return
    caller, _member, lang = asking
    try:
        text, markup = await _events_page(context, caller, lang, 0)
    except Refused as exc:  # waiting for approval
        await send(update, context, t(lang, exc.key))
        return
    await send(update, context, text, markup)


async def turn_events_page(update: Update, context: BotContext) -> None:
    """evl:<page>: the next or previous page of /events, in the same message."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    message = query.message
    try:
        if caller.member is None or message is None:
            raise WrongInput("dialog.stale")
        (page,) = TURN.parse(query.data)
        text, markup = await _events_page(context, caller, lang, page)
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    await answer(query)
    await edit_or_send(context, message.chat.id, message.message_id, text, markup)


async def _events_page(
    context: BotContext, caller: Caller, lang: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    assert caller.member is not None
    events = await upcoming_for(context.storage, caller, context.now())
    if not events:
        return t(lang, "events.none"), None
    shown = page_of(events, page, PAGE)
    zone = context.regions.zone(caller.member.region_code)
    rows: list[list[Button]] = []
    lines = [t(lang, "events.list_title") + shown.title(lang)]
    for event in shown.items:
        lines.append(
            f"\n<b>{esc(event.title)}</b>\n{when_text(event.starts_at, event.ends_at, lang, zone)}"
        )
        rows.append([(event.title[:60], RSVP.pack(event.id, "open"))])
    rows += shown.turn(lang, TURN.pack)
    return "\n".join(lines), keyboard(rows)
