"""Admin and coordinator commands: invites, coordinators, revoking roles, counts."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import Forbidden

from bot.buttons import Codec, Num, Word, parse_any
from bot.i18n import t, tn
from bot.members.profile import mark_reachable
from bot.refusals import Refused, WrongInput
from bot.roles.access import identify, is_number, require_admin
from bot.roles.invites import coordinators, create_invite, revoke, role_to_revoke
from bot.runtime.context import BotContext
from bot.stats import members_overview, network_stats
from bot.timefmt import moment
from handlers.common import (
    answer,
    caller_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    private_only,
    send,
    tell_refusal,
)
from handlers.menus import refresh_menu
from storage.roles import ALL_REGIONS

# /revoke's buttons: rvk:no (keep), rvk:<role id> (confirm?), rvk:<role id>:yes (do it)
KEEP = Codec("rvk", Word("no"))
PICK = Codec("rvk", Num())
CONFIRM = Codec("rvk", Num(), Word("yes"))

MESSAGE_LIMIT = 4000  # Telegram allows 4096 characters; leave room for HTML entities


def chunks(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join lines into messages that each fit Telegram's limit."""
    out: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def _scope_name(context: BotContext, code: str, lang: str) -> str:
    if code == ALL_REGIONS:
        return t(lang, "scope.all")
    region = context.regions.get(code)
    return region.name(lang) if region else code


async def invite_coordinator(update: Update, context: BotContext) -> None:
    """/invite_coordinator <region code | all>: a one-time link that makes a coordinator."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        require_admin(caller)
        if not context.args:
            await send(update, context, t(lang, "invite.usage"))
            return
        new = await create_invite(
            context.storage,
            context.settings,
            context.regions,
            caller,
            context.args[0],
            context.now(),
        )
    except Refused as exc:
        await tell_refusal(update, context, exc, lang)
        return
    zone = context.regions.zone(caller.member.region_code if caller.member else None)
    link = f"https://t.me/{context.bot_data.bot_username}?start={new.payload}"
    await send(
        update,
        context,
        t(
            lang,
            "invite.created",
            scope=esc(_scope_name(context, new.invite.region_code, lang)),
            link=link,
            until=moment(new.invite.expires_at, lang, zone),
        ),
    )


async def list_coordinators(update: Update, context: BotContext) -> None:
    """/coordinators: who coordinates which region."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        entries = await coordinators(context.storage, caller)
    except Refused as exc:
        await tell_refusal(update, context, exc, lang)
        return
    if not entries:
        await send(update, context, t(lang, "coordinators.none"))
        return
    lines = [t(lang, "coordinators.title")]
    current = None
    for entry in entries:
        if entry.role.region_code != current:
            current = entry.role.region_code
            lines.append(f"\n<b>{esc(_scope_name(context, current, lang))}</b>")
        lines.append(
            t(
                lang,
                "coordinators.line",
                name=esc(entry.name),
                org=esc(entry.organisation),
                id=entry.role.id,
            )
        )
    for text in chunks(lines):
        await send(update, context, text)


async def ask_revoke(update: Update, context: BotContext) -> None:
    """/revoke [role id]: pick a role (buttons), then confirm."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        entries = await coordinators(context.storage, caller)
        if context.args:
            arg = context.args[0].removeprefix("#")
            if not is_number(arg):
                raise WrongInput("revoke.not_found")
            entry = await role_to_revoke(context.storage, caller, int(arg))
            await send(
                update,
                context,
                *_confirmation(context, lang, entry.role.id, entry.name, entry.role.region_code),
            )
            return
    except Refused as exc:
        await tell_refusal(update, context, exc, lang)
        return
    if not entries:
        await send(update, context, t(lang, "coordinators.none"))
        return
    rows = [
        [
            (
                f"{entry.name} — {_scope_name(context, entry.role.region_code, lang)}",
                PICK.pack(entry.role.id),
            )
        ]
        for entry in entries[:50]
    ]
    rows.append([(t(lang, "common.cancel"), KEEP.pack("no"))])
    await send(update, context, t(lang, "revoke.pick"), keyboard(rows))


def _confirmation(
    context: BotContext, lang: str, role_id: int, name: str, region_code: str
) -> tuple[str, InlineKeyboardMarkup]:
    text = t(
        lang,
        "revoke.confirm",
        name=esc(name),
        scope=esc(_scope_name(context, region_code, lang)),
    )
    markup = keyboard(
        [
            [(t(lang, "revoke.yes"), CONFIRM.pack(role_id, "yes"))],
            [(t(lang, "revoke.no"), KEEP.pack("no"))],
        ]
    )
    return text, markup


async def press_revoke(update: Update, context: BotContext) -> None:
    """The buttons of /revoke (KEEP, PICK, CONFIRM)."""
    query = update.callback_query
    assert query is not None
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    message = query.message
    if message is None:
        await answer(query, t(lang, "dialog.stale"), alert=True)
        return
    chat_id, message_id = message.chat.id, message.message_id
    try:
        require_admin(caller)
        codec, values = parse_any(query.data, KEEP, PICK, CONFIRM)
        if codec is KEEP:
            await answer(query)
            await edit_or_send(context, chat_id, message_id, t(lang, "revoke.kept"))
            return
        role_id = values[0]
        if codec is PICK:
            entry = await role_to_revoke(context.storage, caller, role_id)
            text, markup = _confirmation(context, lang, role_id, entry.name, entry.role.region_code)
            await answer(query)
            await edit_or_send(context, chat_id, message_id, text, markup)
            return
        role, member = await revoke(
            context.storage, context.settings, caller, role_id, context.now()
        )
    except Refused as exc:
        await tell_refusal(update, context, exc, lang)
        return
    await answer(query)
    scope = esc(_scope_name(context, role.region_code, lang))
    await edit_or_send(
        context,
        chat_id,
        message_id,
        t(lang, "revoke.done", name=esc(member.name if member else "—"), scope=scope),
    )
    if member is not None and member.telegram_id is not None:
        target = await identify(context.storage, context.settings, member.telegram_id)
        await refresh_menu(context.bot, target, context.settings.default_language)
        notice = t(
            member.language,
            "revoke.notice",
            scope=esc(_scope_name(context, role.region_code, member.language)),
        )
        try:
            await context.bot.send_message(member.telegram_id, notice)
        except Forbidden:  # they blocked the bot
            await mark_reachable(context.storage, member.telegram_id, False, context.now())


async def show_members(update: Update, context: BotContext) -> None:
    """/members: counts by federal district and region (active / unreachable)."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        overview = await members_overview(context.storage, context.regions, caller)
    except Refused as exc:
        await tell_refusal(update, context, exc, lang)
        return
    lines = [
        t(lang, "members.title"),
        tn(lang, "members.total", overview.active, unreachable=overview.unreachable),
    ]
    if not overview.districts:
        lines.append(t(lang, "members.none"))
    for district in overview.districts:
        name = context.regions.district(district.code)
        lines.append(
            f"\n<b>{esc(name.name(lang) if name else district.code)}</b>: "
            + tn(lang, "members.count", district.active, unreachable=district.unreachable)
        )
        for line in district.regions:
            region = context.regions.get(line.code)
            lines.append(
                f"• {esc(region.name(lang) if region else line.code)}: "
                + tn(lang, "members.count", line.active, unreachable=line.unreachable)
            )
    for text in chunks(lines):
        await send(update, context, text)


async def show_stats(update: Update, context: BotContext) -> None:
    """/stats: the network at a glance."""
    caller = await caller_of(update, context)
    lang = lang_of(update, context, caller)
    if not await private_only(update, context, lang):
        return
    try:
        stats = await network_stats(context.storage, context.regions, caller, context.now())
    except Refused as exc:
        await tell_refusal(update, context, exc, lang)
        return
    topics = {tp.code: tp.name(lang) for tp in context.topics}
    top = ", ".join(f"{esc(topics.get(code, code))} ({n})" for code, n in stats.top_topics)
    missing = ", ".join(
        esc(_scope_name(context, c, lang)) for c in stats.regions_without_coordinator
    )
    text = t(
        lang,
        "stats.text",
        active=tn(lang, "stats.members", stats.active),
        unreachable=stats.unreachable,
        erased=stats.erased,
        new=stats.new_last_30_days,
        regions=stats.regions_with_members,
        regions_total=stats.regions_total,
        regional=stats.regional_coordinators,
        federal=stats.federal_coordinators,
        top=top or "—",
        missing=missing or "—",
    )
    await send(update, context, text)
