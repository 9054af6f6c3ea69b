"""Members and an announcement: 'Пойду' / 'Возможно' / 'Не пойду', the calendar file, and the
card of an event opened from /events or an ev_ link (tracked, so later edits reach it)."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.events.cards import RSVP
from bot.events.copies import card_shown, member_card
from bot.events.files import ics
from bot.events.rsvp import answer as answer_event
from bot.events.rsvp import visible_event
from bot.i18n import t
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller
from bot.runtime.context import BotContext
from handlers.common import answer, caller_of, esc, lang_of
from storage.events import Event

ANSWER_PATTERN = RSVP.pattern


async def press_answer(update: Update, context: BotContext) -> None:
    """ev:<id>:going|maybe|no|ics|open under an announcement."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    try:
        event_id, action = RSVP.parse(query.data)
    except WrongInput as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    message = query.message
    private = message is not None and message.chat.type == "private"
    shown_in = (message.chat.id, message.message_id) if message is not None and private else None
    try:
        if action == "ics":
            event = await visible_event(context.storage, caller, event_id)
            await answer(query)
            await context.bot.send_document(
                caller.telegram_id,
                ics(event, lang, context.now()),
                filename=f"event-{event.id}.ics",
                caption=t(lang, "events.ics_caption", title=esc(event.title)),
            )
            return
        if action == "open":
            event = await visible_event(context.storage, caller, event_id)
            await answer(query)
            await send_event(context, caller, event, lang)
            return
        result = await answer_event(
            context.storage,
            caller,
            event_id,
            action,
            context.now(),
            context.regions,
            context.topics,
            shown_in=shown_in,
        )
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    change = result.change
    if change.answer == "waitlist":
        note = t(lang, "events.waitlisted", position=result.waitlist_position or "?")
    elif change.previous == "waitlist" and change.answer == "maybe":
        note = t(lang, "events.answered.left_waitlist")
    else:
        note = t(lang, f"events.answered.{change.answer}")
    await answer(query, note, alert=True)
    if shown_in is not None and result.card.text is not None and result.card.markup:
        # the copy pressed in shows the answer at once (in a group the copy is everyone's)
        markup = InlineKeyboardMarkup.de_json(result.card.markup, context.bot)
        with contextlib.suppress(TelegramError):  # not modified, or too old to edit
            await context.bot.edit_message_text(
                result.card.text, chat_id=shown_in[0], message_id=shown_in[1], reply_markup=markup
            )
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.wake()


async def send_event(context: BotContext, caller: Caller, event: Event, lang: str) -> None:
    """The card of one event, with the member's answer; kept among the event's copies."""
    member = caller.member
    card = await member_card(
        context.storage,
        event,
        member.id if member else None,
        lang,
        member.region_code if member else None,
        context.regions,
        context.topics,
    )
    markup = InlineKeyboardMarkup.de_json(card.markup, context.bot) if card.markup else None
    sent = await context.bot.send_message(caller.telegram_id, card.text or "", reply_markup=markup)
    if event.status == "published":
        await card_shown(
            context.storage,
            event.id,
            caller.telegram_id,
            member.id if member else None,
            sent.message_id,
            context.now(),
        )
