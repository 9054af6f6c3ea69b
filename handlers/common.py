"""Small helpers for handlers: narrowing PTB's optional fields, keyboards, callback data."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.i18n import language_for, t
from bot.refusals import NotAllowed, Refused
from bot.roles.access import Caller, identify
from bot.runtime.context import BotContext
from storage.members import Member

log = logging.getLogger(__name__)

Button = tuple[str, str]  # (label, callback data)
T = TypeVar("T")
MAX_CALLBACK_DATA = 64


def esc(text: object) -> str:
    """Escape people's text for HTML parse mode."""
    return html.escape(str(text), quote=False)


def user_of(update: Update) -> User:
    user = update.effective_user
    if user is None:
        raise ValueError("update without a user")
    return user


def chat_of(update: Update) -> Chat:
    chat = update.effective_chat
    if chat is None:
        raise ValueError("update without a chat")
    return chat


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


async def caller_of(update: Update, context: BotContext) -> Caller:
    """Who is asking, with their Telegram name (how a bootstrap admin without a member
    profile is named on cards and in timelines)."""
    user = user_of(update)
    caller = await identify(context.storage, context.settings, user.id)
    return replace(caller, telegram_name=(user.full_name or "")[:100])


def lang_of(update: Update, context: BotContext, caller: Caller | None = None) -> str:
    """The member's chosen language, else their Telegram language, else DEFAULT_LANGUAGE."""
    if caller is not None and caller.language:
        return caller.language
    user = update.effective_user
    return language_for(user.language_code if user else None, context.settings.default_language)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, its number (from 0) and how many pages there are."""

    items: Sequence[T]
    number: int
    count: int

    def title(self, lang: str) -> str:
        """' (page 2 of 5)' after a list's title, or nothing for a single page."""
        if self.count <= 1:
            return ""
        return " " + t(lang, "events.page", page=self.number + 1, pages=self.count)

    def turn(self, lang: str, to: Callable[[int], str]) -> list[list[Button]]:
        """The row of 'previous' / 'next' buttons (`to`: a page number's callback data)."""
        row: list[Button] = []
        if self.number > 0:
            row.append((t(lang, "events.previous"), to(self.number - 1)))
        if self.number + 1 < self.count:
            row.append((t(lang, "events.next"), to(self.number + 1)))
        return [row] if row else []


def page_of(items: Sequence[T], number: int, size: int) -> Page[T]:
    """Page `number` of `items` (a number past the end is the last page: the list shrank
    since the button was made)."""
    count = max(1, (len(items) + size - 1) // size)
    number = max(0, min(number, count - 1))
    return Page(items[number * size : (number + 1) * size], number, count)


def keyboard(rows: list[list[Button]]) -> InlineKeyboardMarkup:
    for row in rows:
        for _label, data in row:
            if len(data.encode()) > MAX_CALLBACK_DATA:
                raise ValueError(f"callback data too long: {data!r}")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def send(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    return await context.bot.send_message(chat_of(update).id, text, reply_markup=markup)


async def edit_or_send(
    context: BotContext,
    chat_id: int,
    message_id: int | None,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> int:
    """Edit the dialogue's message in place; send a new one if it cannot be edited."""
    if message_id is not None:
        try:
            await context.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
            return message_id
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return message_id
            log.info("could not edit message %s: %s; sending a new one", message_id, exc)
    message = await context.bot.send_message(chat_id, text, reply_markup=markup)
    return message.message_id


def is_command(message: Message) -> bool:
    """The message is a command (/start ...), as Telegram marks it: an entity at the start."""
    first = message.entities[0] if message.entities else None
    return first is not None and first.type == MessageEntity.BOT_COMMAND and first.offset == 0


async def answer(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    """Every button press gets an answer (a stale query is not an error)."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:  # too old, already answered, or a 429
        log.info("callback answer failed: %s", exc)


async def refuse(update: Update, context: BotContext, key: str, lang: str) -> None:
    """A polite refusal as a reply, or as a button alert for callback queries."""
    text = t(lang, key)
    if update.callback_query is not None:
        await answer(update.callback_query, text, alert=True)
    elif update.effective_chat is not None:
        await send(update, context, text)


async def tell_refusal(update: Update, context: BotContext, exc: Refused, lang: str) -> None:
    """Why the bot does not do it, in the person's language: an alert on a button, a reply to a
    message. A refusal for lack of rights is logged (without the text), a wrong input is not."""
    if isinstance(exc, NotAllowed):
        log.info("refused (%s) for update %s", exc.key, update.update_id)
    text = t(lang, exc.key, **exc.params)
    if update.callback_query is not None:
        await answer(update.callback_query, text, alert=True)
    elif update.effective_chat is not None:
        await send(update, context, text)


async def private_only(update: Update, context: BotContext, lang: str) -> bool:
    """True in a private chat; in a group, point the person to the private chat."""
    if is_private(update):
        return True
    if update.effective_chat is None:
        return False
    username = context.bot_data.bot_username
    markup = None
    if username:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t(lang, "common.open_private"), url=f"https://t.me/{username}")]]
        )
    await send(update, context, t(lang, "common.private_only"), markup)
    return False


async def registered(update: Update, context: BotContext) -> tuple[Caller, Member, str] | None:
    """The registered member asking in a private chat, with their language; otherwise a
    polite answer (write to me privately / register first) and None."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return None
    if caller.member is None:
        await send(update, context, t(lang, "denied.not_registered"))
        return None
    return caller, caller.member, lang


def pages(lines: list[str], most: int = 4000) -> list[str]:
    """Whole lines per message, each message within Telegram's limit (HTML stays intact)."""
    pages: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > most:
            pages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        pages.append(current)
    return pages
