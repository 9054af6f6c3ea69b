"""Registration (/start) and profile settings (/settings): one dialogue engine, two flows.

Each step is one question in one message. Button answers edit that message in place; typed
answers get the next question as a new message. Only the buttons of the current question are
live: a button of an old step brings the open question back (handlers/dialog.py). The state is a
row in SQLite (bot/dialogs.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Update

from bot import dialogs
from bot.i18n import LANGUAGES, t
from bot.members.approvals import (
    approval_for_new,
    approve_by_invite,
    ask,
    region_changed,
    signup_link_works,
)
from bot.members.profile import change_profile
from bot.members.registration import (
    StartPayload,
    check_name,
    check_organisation,
    parse_payload,
    profile_from,
    register,
)
from bot.roles.access import Denied, identify
from bot.roles.invites import InviteOutcome, invite_problem, redeem_invite, token_hash
from bot.runtime.context import BotContext
from handlers.common import (
    Button,
    answer,
    caller_of,
    chat_of,
    edit_or_send,
    esc,
    keyboard,
    lang_of,
    private_only,
    registered,
    send,
    split_data,
    user_of,
)
from handlers.dialog import begin as begin_dialog
from handlers.dialog import (
    button_not_current,
    close_other,
    go,
    is_current_question,
    show,
    strip_keyboard,
)
from handlers.menus import refresh_menu
from storage.approvals import APPROVED, WAITING
from storage.dialogs import Dialog
from storage.members import Member

log = logging.getLogger(__name__)

REG = "reg"
SET = "set"
FLOWS = (REG, SET)
CALLBACK_PATTERN = r"^(reg|set):"

# Steps whose answer is typed; the others take buttons (region steps also accept a typed name).
TEXT_STEPS = ("name", "org")
REGION_STEPS = ("district", "region", "region_confirm", "region_pick", "alpha")
ALPHA_PAGE = 20  # regions per page of the alphabetical list (one a row, see _one_a_row)
NO_CARRY = "-"  # consent buttons of someone who came without a link
LANGS = ("ru", "en")


# ---------------------------------------------------------------- rendering one question


def _cancel(lang: str) -> Button:
    return (t(lang, "common.cancel"), "dlg:cancel")


def _back(lang: str) -> Button:
    return (t(lang, "common.back"), "dlg:back")


def _nav(dialog: Dialog, lang: str, back: bool = True) -> list[Button]:
    return [_back(lang), _cancel(lang)] if back else [_cancel(lang)]


def _one_a_row(buttons: list[Button]) -> list[list[Button]]:
    """Region buttons one a row: two a row cut long names on a phone, and "Республика …",
    "Республика …" then look the same. The full official name is kept (not "Татарстан
    (респ.)"): it is the name the person knows from papers and sees on their card later."""
    return [[button] for button in buttons]


def _topic_names(context: BotContext, codes: list[str], lang: str) -> str:
    names = [tp.name(lang) for tp in context.topics if tp.code in codes]
    return ", ".join(names) if names else t(lang, "profile.no_topics")


def profile_text(context: BotContext, lang: str, data: dict[str, object]) -> str:
    region = context.regions.get(str(data.get("region")))
    codes = data.get("topics")
    return t(
        lang,
        "profile.card",
        name=esc(data.get("name") or "—"),
        org=esc(data.get("org") or "—"),
        region=esc(region.name(lang) if region else "—"),
        topics=esc(_topic_names(context, list(codes) if isinstance(codes, list) else [], lang)),
        language=t(lang, f"lang.{data.get('lang', lang)}"),
    )


def member_data(member: Member) -> dict[str, Any]:
    return {
        "name": member.name,
        "org": member.organisation,
        "region": member.region_code,
        "topics": list(member.topics),
        "lang": member.language,
    }


def question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of the dialogue's current step."""
    data, step = dialog.data, dialog.step
    lang = str(data.get("lang", "ru"))
    rows: list[list[Button]] = []
    if step == "consent":
        # Nothing is stored before the person agrees: the buttons carry the language and the
        # link the person came by (region, invite, event), and work without a dialogue row.
        other = "en" if lang == "ru" else "ru"
        # A short notice (what, why, who sees it, how to erase); "Подробнее" shows it whole.
        carry = str(data.get("carry") or NO_CARRY)
        full = bool(data.get("full"))
        text = t(lang, "reg.consent_full" if full else "reg.consent")
        rows = [
            [(t(lang, "reg.agree"), f"reg:consent:yes:{lang}:{carry}")],
            [(t(lang, "reg.disagree"), f"reg:consent:no:{lang}")],
        ]
        if not full:
            rows.append([(t(lang, "reg.consent_more"), f"reg:consent:more:{lang}:{carry}")])
        rows += [
            [(t(other, "lang.switch_to"), f"reg:consent:lang:{other}:{carry}")],
            [(t(lang, "common.cancel"), f"reg:consent:cancel:{lang}")],
        ]
    elif step == "name":
        text = t(lang, "reg.ask_name")
        rows = [_nav(dialog, lang, back=dialog.flow == SET or bool(data.get("editing")))]
    elif step == "org":
        text = t(lang, "reg.ask_org")
        rows = [_nav(dialog, lang)]
    elif step == "region_confirm":
        region = context.regions.get(str(data.get("preset")))
        text = t(lang, "reg.ask_region_preset", region=esc(region.name(lang) if region else "?"))
        rows = [
            [(t(lang, "reg.region_yes"), "reg:regok")],
            [(t(lang, "reg.region_other"), "reg:regother")],
            _nav(dialog, lang),
        ]
    elif step == "district":
        text = t(lang, "reg.ask_district")
        rows = [[(d.name(lang), f"reg:district:{d.code}")] for d in context.regions.districts]
        rows.append([(t(lang, "reg.all_regions"), "reg:alpha:0")])
        rows.append(_nav(dialog, lang))
    elif step == "alpha":
        everyone = context.regions.alphabetical(lang)
        pages = max(1, -(-len(everyone) // ALPHA_PAGE))
        page = min(max(int(data.get("page") or 0), 0), pages - 1)
        text = t(lang, "reg.ask_region_alpha", page=page + 1, pages=pages)
        shown = [
            (r.name(lang), f"reg:region:{r.code}")
            for r in everyone[page * ALPHA_PAGE : (page + 1) * ALPHA_PAGE]
        ]
        rows = _one_a_row(shown)
        turn: list[Button] = []
        if page > 0:
            turn.append((t(lang, "reg.alpha_prev"), f"reg:alpha:{page - 1}"))
        if page < pages - 1:
            turn.append((t(lang, "reg.alpha_next"), f"reg:alpha:{page + 1}"))
        if turn:
            rows.append(turn)
        rows.append(_nav(dialog, lang))
    elif step == "region":
        district = context.regions.district(str(data.get("district")))
        text = t(lang, "reg.ask_region", district=esc(district.name(lang) if district else ""))
        buttons = [
            (r.name(lang), f"reg:region:{r.code}")
            for r in context.regions.in_district(str(data.get("district")))
        ]
        rows = _one_a_row(buttons)
        rows.append(_nav(dialog, lang))
    elif step == "region_pick":
        found = [context.regions.get(str(code)) for code in data.get("candidates", [])]
        typed = esc(data.get("typed", ""))
        if len(found) == 1 and found[0] is not None:
            text = t(lang, "reg.region_found", typed=typed, region=esc(found[0].name(lang)))
        else:
            text = t(lang, "reg.region_candidates", typed=typed)
        for code in data.get("candidates", []):
            region = context.regions.get(str(code))
            if region:
                rows.append([(region.name(lang), f"reg:region:{region.code}")])
        rows.append([(t(lang, "reg.region_from_list"), "reg:regother")])
        rows.append(_nav(dialog, lang))
    elif step == "topics":
        chosen = data.get("topics", [])
        text = t(lang, "reg.ask_topics")
        rows = [
            [(("✅ " if tp.code in chosen else "▫️ ") + tp.name(lang), f"reg:topic:{tp.code}")]
            for tp in context.topics
        ]
        rows.append([(t(lang, "reg.topics_done"), "reg:topics_done")])
        rows.append(_nav(dialog, lang))
    elif step == "summary":
        text = t(lang, "reg.summary", card=profile_text(context, lang, data))
        rows = [
            [(t(lang, "reg.confirm"), "reg:confirm")],
            [(t(lang, "reg.edit"), "reg:edit")],
            [_cancel(lang)],
        ]
    elif step == "edit":
        text = t(lang, "reg.edit_which")
        rows = [
            [(t(lang, "field.name"), "reg:edit:name")],
            [(t(lang, "field.org"), "reg:edit:org")],
            [(t(lang, "field.region"), "reg:edit:region")],
            [(t(lang, "field.topics"), "reg:edit:topics")],
            [_back(lang), _cancel(lang)],
        ]
    elif step == "settings":
        note = data.get("note")
        text = t(lang, "settings.menu", card=profile_text(context, lang, data))
        if note:
            text = f"{t(lang, str(note))}\n\n{text}"
        rows = [
            [(t(lang, "field.name"), "set:name"), (t(lang, "field.org"), "set:org")],
            [(t(lang, "field.region"), "set:region"), (t(lang, "field.topics"), "set:topics")],
            [(t(lang, "field.language"), "set:lang")],
            [(t(lang, "settings.close"), "set:close")],
        ]
    elif step == "lang":
        text = t(lang, "settings.ask_lang")
        rows = [
            [(t("ru", "lang.ru"), "set:lang:ru")],
            [(t("en", "lang.en"), "set:lang:en")],
            [_back(lang), _cancel(lang)],
        ]
    else:
        raise ValueError(f"unknown step {step}")
    return text, keyboard(rows)


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
        await _use_invite(update, context, caller.member, token_hash(payload.value), lang)
        return
    if payload and payload.kind == "invite":
        # Before the form: a used, expired or forged invite is said at once, and the person may
        # register as an ordinary member instead (the consent below carries no invite).
        problem = await invite_problem(
            context.storage, context.settings, token_hash(payload.value), context.now()
        )
        if problem is not None:
            await _invite_not_usable(update, context, caller.telegram_id, problem, lang)
            return
        dialog, _expired = await dialogs.current(context.storage, caller.telegram_id, context.now())
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
            return
    if payload is None or payload.kind in ("region", "event", "checkin", "signup"):
        dialog, _expired = await dialogs.current(context.storage, caller.telegram_id, context.now())
        if dialog is not None and dialog.flow == REG:
            notes: list[str] = []
            if payload is not None and dialog.step != "consent":
                dialog, notes = await _link_joins_draft(context, dialog, payload)
            notes.append(t(str(dialog.data.get("lang", lang)), "reg.continue"))
            await show(context, dialog, new_message=True, hint="\n".join(notes))
            return
    if caller.member is not None and (payload is None or payload.kind in ("region", "signup")):
        markup = keyboard([[(t(lang, "start.register_again"), "reg:restart")]])
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
    await _welcome(update, context, lang, context.args[0] if payload and context.args else None)


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
    await _welcome(update, context, lang, None)


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


async def _welcome(update: Update, context: BotContext, lang: str, raw: str | None) -> None:
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


# ---------------------------------------------------------------- moving between steps


def _first_region_step(dialog: Dialog) -> str:
    return "region_confirm" if dialog.data.get("preset") else "district"


async def _after_field(context: BotContext, dialog: Dialog, *, new_message: bool) -> None:
    """Where a dialogue goes once a field is answered."""
    if dialog.flow == SET:
        await _save_setting(context, dialog, new_message=new_message)
    elif dialog.data.get("editing"):
        await go(context, dialog, "summary", new_message=new_message)
    else:
        following = {"name": "org", "org": _first_region_step(dialog)}
        step = following.get(dialog.step, "topics")
        if step == "topics" and dialog.step == "topics":
            step = "summary"
        await go(context, dialog, step, new_message=new_message)


async def _save_setting(context: BotContext, dialog: Dialog, *, new_message: bool) -> None:
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
    except Denied as exc:
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


def _previous(dialog: Dialog) -> str | None:
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
        "topics": _first_region_step(dialog),
        "edit": "summary",
    }.get(step)


# ---------------------------------------------------------------- buttons


async def press_button(update: Update, context: BotContext) -> None:
    """Every button of the registration and settings dialogues."""
    query = update.callback_query
    assert query is not None
    user = user_of(update)
    parts = split_data(query)
    now = context.now()
    if parts == ["reg", "restart"]:
        caller = await caller_of(update, context)
        lang = lang_of(update, context, caller)
        await answer(query)
        await _welcome(update, context, lang, None)
        return
    match parts:
        case ["reg", "consent", "lang", code, carry] if code in LANGS:
            await answer(query)
            await _show_consent(context, query, code, carry)
            return
        case ["reg", "consent", "more", code, carry] if code in LANGS:
            await answer(query)
            await _show_consent(context, query, code, carry, full=True)
            return
        case ["reg", "consent", "cancel" | "no" as what, code] if code in LANGS:
            await answer(query)
            key = "reg.cancelled" if what == "cancel" else "reg.no_consent"
            await _close_consent(context, query, t(code, key))
            return
        case ["reg", "consent", "yes", code, carry] if code in LANGS:
            await _agree(update, context, code, carry)
            return
    dialog, expired = await dialogs.current(context.storage, user.id, now)
    if dialog is None or dialog.flow not in FLOWS:
        await button_not_current(update, context, dialog, expired)
        return
    lang = str(dialog.data.get("lang", "ru"))
    if not is_current_question(context, dialog, query.message):
        await button_not_current(update, context, dialog)
        return
    handled = await _on_button(context, dialog, parts, lang)
    if handled is None:
        await button_not_current(update, context, dialog)
    else:
        await answer(query, handled or None, alert=bool(handled))


async def _show_consent(
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


async def _close_consent(context: BotContext, query: CallbackQuery, text: str) -> None:
    user_id = query.from_user.id
    message_id = query.message.message_id if query.message is not None else None
    await edit_or_send(context, user_id, message_id, text)


async def _agree(update: Update, context: BotContext, lang: str, carry: str) -> None:
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
    await _on_button(context, consent, ["reg", "consent", "yes"], lang)
    await answer(query)


async def _on_button(
    context: BotContext, dialog: Dialog, parts: list[str], lang: str
) -> str | None:
    """Act on a button; returns '' when done, a text to show as an alert, or None if stale."""
    step, data = dialog.step, dialog.data
    match parts:
        case ["dlg", "cancel"]:
            await cancel_dialog(context, dialog)
        case ["dlg", "back"]:
            target = _previous(dialog)
            if target is None:
                return None
            changes: dict[str, Any] = {}
            if target == "summary":
                changes["editing"] = False
            if dialog.flow == SET and target == "settings":
                # what is shown must be what is stored: drop unsaved choices
                stored = await identify(context.storage, context.settings, dialog.telegram_id)
                if stored.member is not None:
                    changes.update(member_data(stored.member), note=None)
            await go(context, dialog, target, **changes)
        case ["reg", "lang", code] if step == "consent" and code in ("ru", "en"):
            await go(context, dialog, "consent", lang=code)
        case ["reg", "consent", "yes"] if step == "consent":
            consent_at = context.now().isoformat()
            if dialog.message_id is None:  # agreed in words
                accepted = t(lang, "reg.consent_given")
            else:
                accepted = f"{t(lang, 'reg.consent')}\n\n{t(lang, 'reg.consent_given')}"
            await edit_or_send(context, dialog.chat_id, dialog.message_id, accepted)
            await go(context, dialog, "name", new_message=True, consent_at=consent_at)
        case ["reg", "consent", "no"] if step == "consent":
            await dialogs.end(context.storage, dialog.telegram_id)
            await edit_or_send(
                context, dialog.chat_id, dialog.message_id, t(lang, "reg.no_consent")
            )
        case ["reg", "regok"] if step == "region_confirm":
            await _region_chosen(context, dialog, str(data.get("preset")))
        case ["reg", "regother"] if step in ("region_confirm", "region_pick"):
            await go(context, dialog, "district")
        case ["reg", "alpha", page] if step in ("district", "alpha") and _page_number(page):
            if int(page) * ALPHA_PAGE >= len(context.regions.regions):
                return None
            await go(context, dialog, "alpha", page=int(page))
        case ["reg", "district", code] if step == "district":
            if context.regions.district(code) is None:
                return None
            await go(context, dialog, "region", district=code)
        case ["reg", "region", code] if step in ("region", "region_pick", "alpha"):
            region = context.regions.get(code)
            if region is None:
                return None
            if step == "region" and region.district != data.get("district"):
                return None
            if step == "region_pick" and code not in data.get("candidates", []):
                return None
            await _region_chosen(context, dialog, code)
        case ["reg", "topic", code] if step == "topics":
            if code not in {tp.code for tp in context.topics}:
                return None
            chosen = list(data.get("topics", []))
            chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
            await go(context, dialog, "topics", topics=chosen)
        case ["reg", "topics_done"] if step == "topics":
            if not data.get("topics"):
                return t(lang, "reg.hint.pick_topic")
            await _after_field(context, dialog, new_message=False)
        case ["reg", "confirm"] if step == "summary" and dialog.flow == REG:
            await _finish(context, dialog, lang)
        case ["reg", "edit"] if step == "summary":
            await go(context, dialog, "edit")
        case ["reg", "edit", field] if step == "edit":
            steps = {"name": "name", "org": "org", "region": "district", "topics": "topics"}
            if field not in steps:
                return None
            await go(context, dialog, steps[field], editing=True)
        case ["set", "close"] if step == "settings":
            await dialogs.end(context.storage, dialog.telegram_id)
            await edit_or_send(
                context, dialog.chat_id, dialog.message_id, t(lang, "settings.closed")
            )
        case ["set", field] if step == "settings":
            steps = {"name": "name", "org": "org", "region": "district", "topics": "topics"}
            steps["lang"] = "lang"
            if field not in steps:
                return None
            await go(context, dialog, steps[field], note=None)
        case ["set", "lang", code] if step == "lang" and code in ("ru", "en"):
            dialog = await dialogs.advance(
                context.storage, context.settings, dialog, now=context.now(), lang=code
            )
            await _after_field(context, dialog, new_message=False)
        case _:
            return None
    return ""


def _page_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 3


async def _region_chosen(context: BotContext, dialog: Dialog, code: str) -> None:
    dialog = await dialogs.advance(
        context.storage, context.settings, dialog, now=context.now(), region=code
    )
    if dialog.flow == SET:
        await _save_setting(context, dialog, new_message=False)
    elif dialog.data.get("editing"):
        await go(context, dialog, "summary")
    else:
        await go(context, dialog, "topics")


async def _finish(context: BotContext, dialog: Dialog, lang: str) -> None:
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
        await _use_invite_for_chat(context, dialog.chat_id, member, invite, lang)
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


async def _use_invite(
    update: Update, context: BotContext, member: Member, hashed: str, lang: str
) -> None:
    await _use_invite_for_chat(context, user_of(update).id, member, hashed, lang)
    caller = await identify(context.storage, context.settings, user_of(update).id)
    await refresh_menu(context.bot, caller, context.settings.default_language)


async def _use_invite_for_chat(
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


# ---------------------------------------------------------------- typed answers

CANCEL_WORDS = frozenset({"отмена", "отменить", "стоп", "выход", "cancel", "stop", "quit"})
BACK_WORDS = frozenset({"назад", "back"})
YES_WORDS = frozenset(
    {"да", "верно", "все верно", "всё верно", "правильно", "yes", "correct", "all correct"}
)
NO_WORDS = frozenset({"нет", "no", "нет не верно", "неверно", "не верно"})
AGREE_WORDS = frozenset(
    {"согласен", "согласна", "да согласен", "да согласна", "даю согласие", "i agree", "agree"}
)
DISAGREE_WORDS = frozenset(
    {"не согласен", "не согласна", "не даю согласия", "не даю", "i do not agree", "disagree"}
)
NEXT_WORDS = frozenset({"дальше", "далее", "next"})
DONE_WORDS = frozenset({"готово", "готов", "готова", "done", "ready"}) | NEXT_WORDS


def typed_words(text: str) -> str:
    """Typed text as bare lower-case words: "✅ Готово!" reads "готово"."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _labels(*keys: str) -> frozenset[str]:
    """The words of these buttons' labels in either catalog (what a person copies)."""
    return frozenset(typed_words(t(lang, key)) for key in keys for lang in LANGUAGES)


# A question that can be skipped or ended early (the details after a fast report): "дальше"
# there means "skip this one"; "готово" means "that is all", as at the registration's topics.
SKIP_WORDS = _labels("incidents.fast_skip") | {"пропустить", "пропуск", "skip"} | NEXT_WORDS
FINISH_WORDS = (
    _labels("incidents.fast_finish")
    | (DONE_WORDS - NEXT_WORDS)
    | {"закончить", "хватит", "всё готово", "все готово", "finish", "enough"}
)
# Who sends a report: the words of its two buttons, and their plain forms.
ANONYMOUS_WORDS = _labels("incidents.fast_make_anonymous") | {
    "анонимно",
    "аноним",
    "анонимный",
    "анонимное",
    "anonymous",
    "anonymously",
}
NAMED_WORDS = _labels("incidents.fast_make_named") | {
    "от своего имени",
    "от моего имени",
    "от имени",
    "не анонимно",
    "named",
    "in my name",
    "not anonymous",
}


def typed_button(dialog: Dialog, text: str) -> list[str] | None:
    """The button a typed word stands for at this step, if it is one of the known words."""
    word = typed_words(text)
    if word in CANCEL_WORDS:
        return ["dlg", "cancel"]
    if word in BACK_WORDS:
        return ["dlg", "back"]
    step = dialog.step
    if step == "consent" and (word in AGREE_WORDS or word in YES_WORDS):
        return ["reg", "consent", "yes"]
    if step == "consent" and (word in DISAGREE_WORDS or word in NO_WORDS):
        return ["reg", "consent", "no"]
    if step == "region_confirm" and word in YES_WORDS:
        return ["reg", "regok"]
    if step == "region_confirm" and word in NO_WORDS:
        return ["reg", "regother"]
    candidates = dialog.data.get("candidates") or []
    if step == "region_pick" and word in YES_WORDS and len(candidates) == 1:
        return ["reg", "region", str(candidates[0])]  # the one region the bot just found
    if step == "region_pick" and word in NO_WORDS:
        return ["reg", "regother"]
    if step == "topics" and (word in DONE_WORDS or word in YES_WORDS):
        return ["reg", "topics_done"]
    if step == "summary" and dialog.flow == REG and word in YES_WORDS:
        return ["reg", "confirm"]
    return None


def _yes_or_no(text: str) -> bool:
    word = typed_words(text)
    return word in YES_WORDS or word in NO_WORDS


async def answer_text(update: Update, context: BotContext, dialog: Dialog) -> None:
    """A typed message while a registration or settings dialogue waits for an answer."""
    message = update.effective_message
    assert message is not None
    lang = str(dialog.data.get("lang", "ru"))
    text = message.text
    if text is None:
        key = "reg.hint.text_please" if dialog.step in TEXT_STEPS else "reg.hint.use_buttons"
        await show(context, dialog, new_message=True, hint=t(lang, key))
        return
    said = typed_button(dialog, text)
    if said is not None:
        # "отмена", "назад", "да" ... typed instead of tapped: act as the button would,
        # answering with a new message below the person's words.
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        dialog = replace(dialog, message_id=None)
        alert = await _on_button(context, dialog, said, lang)
        if alert:
            await show(context, dialog, new_message=True, hint=alert)
        elif alert is None:
            await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.use_buttons"))
        return
    if dialog.step == "name":
        value, problem = check_name(text)
        if value is None:
            await show(context, dialog, new_message=True, hint=t(lang, str(problem)))
            return
        dialog = await dialogs.advance(
            context.storage, context.settings, dialog, now=context.now(), name=value
        )
        await _after_field(context, dialog, new_message=True)
    elif dialog.step == "org":
        value, problem = check_organisation(text)
        if value is None:
            await show(context, dialog, new_message=True, hint=t(lang, str(problem)))
            return
        dialog = await dialogs.advance(
            context.storage, context.settings, dialog, now=context.now(), org=value
        )
        await _after_field(context, dialog, new_message=True)
    elif dialog.step in REGION_STEPS and _yes_or_no(text):
        # "да" with several regions found, or with none to confirm: which one?
        key = "reg.hint.region_which" if dialog.step == "region_pick" else "reg.hint.region_type"
        await show(context, dialog, new_message=True, hint=t(lang, key))
    elif dialog.step in REGION_STEPS:
        found = context.regions.match(text[:100])
        if not found:
            hint = t(lang, "reg.hint.region_unknown", typed=esc(text[:100]))
            await go(context, dialog, "district", new_message=True, hint=hint)
            return
        await go(
            context,
            dialog,
            "region_pick",
            new_message=True,
            candidates=[r.code for r in found],
            typed=text[:100],
        )
    else:
        await show(context, dialog, new_message=True, hint=t(lang, "reg.hint.use_buttons"))


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
