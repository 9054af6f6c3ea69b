"""/guide and its buttons (gd:<section> | gd:toc): the guide for coordinators and admins, a
section per message, edited in place. Also offered as a button under /help."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.buttons import Codec, Num, Word, parse_any
from bot.guide import guide
from bot.i18n import t
from bot.refusals import Refused, WrongInput
from bot.roles.access import require_coordinator
from bot.runtime.context import BotContext
from handlers.common import (
    answer,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    private_only,
    send,
)

SECTION = Codec("gd", Num(3))
TOC = Codec("gd", Word("toc"))
CALLBACK_PATTERN = SECTION.pattern


def contents(lang: str) -> tuple[str, InlineKeyboardMarkup]:
    book = guide(lang)
    rows = [
        [(f"📖 {heading}", SECTION.pack(i))] for i, (heading, _body) in enumerate(book.sections)
    ]
    return f"<b>{esc(book.title)}</b>\n\n{t(lang, 'guide.choose')}", keyboard(rows)


def section(lang: str, index: int) -> tuple[str, InlineKeyboardMarkup] | None:
    book = guide(lang)
    found = book.section(index)
    if found is None:
        return None
    heading, body = found
    nav: list[tuple[str, str]] = [(t(lang, "guide.contents"), TOC.pack("toc"))]
    if book.section(index + 1) is not None:
        nav.append((t(lang, "guide.next"), SECTION.pack(index + 1)))
    return f"<b>{esc(heading)}</b>\n\n{body}", keyboard([nav])


async def show_guide(update: Update, context: BotContext) -> None:
    """/guide: the contents, a button per section (coordinators and admins)."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        require_coordinator(caller)
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    text, markup = contents(lang)
    await send(update, context, text, markup)


async def press_guide(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    try:
        require_coordinator(caller)
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    try:
        codec, (value,) = parse_any(query.data, TOC, SECTION)
    except WrongInput:
        shown = None
    else:
        shown = contents(lang) if codec is TOC else section(lang, value)
    if shown is None or query.message is None:
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    await answer(query)
    await edit_or_send(context, query.message.chat.id, query.message.message_id, *shown)
