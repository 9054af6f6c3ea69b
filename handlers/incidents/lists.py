"""/incidents (open reports a coordinator may see, by state and region, page by page) and
/export_incidents."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update

from bot.buttons import Codec, Num, Token, Word, parse_any
from bot.i18n import t, tn
from bot.incidents.actions import (
    visible_incident,
    visible_open,
)
from bot.incidents.cards import OPEN_CARD
from bot.incidents.export import export_incidents, parse_period
from bot.refusals import Refused, WrongInput
from bot.roles.access import Caller
from bot.runtime.context import BotContext
from bot.timefmt import moment
from handlers.common import (
    Button,
    answer,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    page_of,
    private_only,
    send,
)
from handlers.incidents.card import _send_card
from handlers.incidents.common import (
    _zone_of,
)

log = logging.getLogger(__name__)

PAGE = 8
STATE_FILTERS = {"open": ("new", "acknowledged"), "new": ("new",), "taken": ("acknowledged",)}


class _Region(Token):
    """A region's code, or nothing (every region the coordinator may see)."""

    def parse(self, text: str) -> str:
        return text if text == "" else super().parse(text)


LIST_PAGE = Codec("incl", Word(*STATE_FILTERS), _Region(), Num())  # incl:<state>:<region>:<page>
LIST_PATTERN = LIST_PAGE.pattern


async def list_incidents(update: Update, context: BotContext) -> None:
    """/incidents [new|taken] [region]: open incidents the coordinator may see."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    args = list(context.args or [])
    state = "open"
    if args and args[0].casefold() in STATE_FILTERS:
        state = args.pop(0).casefold()
    region_code = ""
    if args:
        found = context.regions.match(" ".join(args)[:100])
        if not found:
            await send(
                update, context, t(lang, "incidents.hint.region", typed=esc(" ".join(args)[:100]))
            )
            return
        region_code = found[0].code
    try:
        text, markup = await _incidents_page(context, caller, lang, state, region_code, 0)
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    await send(update, context, text, markup)


async def press_list(update: Update, context: BotContext) -> None:
    """incl:<state>:<region>:<page> (filters and pages) and incl:open:<id> (a card)."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    message = query.message
    try:
        codec, values = parse_any(query.data, OPEN_CARD, LIST_PAGE)
        if codec is OPEN_CARD:
            incident = await visible_incident(context.storage, caller, int(values[1]))
            await answer(query)
            await _send_card(update, context, caller, incident, lang)
            return
        state, region_code, page = values
        if message is None or (region_code and context.regions.get(region_code) is None):
            raise WrongInput("dialog.stale")
        text, markup = await _incidents_page(context, caller, lang, state, region_code, page)
    except Refused as exc:
        await answer(query, t(lang, exc.key), alert=True)
        return
    await answer(query)
    await edit_or_send(context, message.chat.id, message.message_id, text, markup)


async def _incidents_page(
    context: BotContext, caller: Caller, lang: str, state: str, region_code: str, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    incidents = await visible_open(
        context.storage, caller, states=STATE_FILTERS[state], region=region_code or None
    )
    shown = page_of(incidents, page, PAGE)
    region = context.regions.get(region_code) if region_code else None
    lines = [
        t(
            lang,
            "incidents.list_title",
            state=t(lang, f"incidents.filter.{state}"),
            region=esc(region.name(lang)) if region else t(lang, "incidents.all_regions"),
        )
        + shown.title(lang)
    ]
    if not incidents:
        lines.append(t(lang, "incidents.list_empty"))
    rows: list[list[Button]] = []
    zone = _zone_of(context, caller)
    for incident in shown.items:
        where = context.regions.get(incident.region_code)
        lines.append(
            t(
                lang,
                "incidents.list_line",
                id=incident.id,
                urgency=t(lang, f"incidents.urgency.{incident.urgency}"),
                category=t(lang, f"incidents.category.{incident.category}"),
                region=esc(where.name(lang) if where else incident.region_code),
                at=moment(incident.created_at, lang, zone),
                state=t(lang, f"incidents.state.{incident.state}"),
            )
        )
        rows.append(
            [(t(lang, "incidents.open_card", id=incident.id), OPEN_CARD.pack("card", incident.id))]
        )
    filters_row: list[Button] = [
        (
            ("✅ " if key == state else "") + t(lang, f"incidents.filter.{key}"),
            LIST_PAGE.pack(key, region_code, 0),
        )
        for key in STATE_FILTERS
    ]
    rows.append(filters_row)
    rows += shown.turn(lang, lambda n: LIST_PAGE.pack(state, region_code, n))
    return "\n\n".join(lines), keyboard(rows)


async def export(update: Update, context: BotContext) -> None:
    """/export_incidents [from] [to]: XLSX and CSV of the period (admins: every field)."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    zone = _zone_of(context, caller)
    try:
        start, end = parse_period(list(context.args or []), context.now().astimezone(zone).date())
        done = await export_incidents(
            context.storage, caller, context.regions, start, end, zone, lang
        )
    except Refused as exc:
        await send(update, context, t(lang, exc.key))
        return
    period = f"{done.start:%d.%m.%Y}–{done.end:%d.%m.%Y}"
    if not done.count:
        await send(update, context, t(lang, "incidents.export.nothing", period=period))
        return
    key = "incidents.export.caption_full" if done.full else "incidents.export.caption"
    caption = tn(lang, key, done.count, period=period)
    name = f"incidents-{done.start:%Y%m%d}-{done.end:%Y%m%d}"
    await context.bot.send_document(
        caller.telegram_id, done.xlsx, filename=f"{name}.xlsx", caption=caption
    )
    await context.bot.send_document(caller.telegram_id, done.csv, filename=f"{name}.csv")
