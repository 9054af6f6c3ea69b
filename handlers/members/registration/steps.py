"""Registration and settings (handlers/members/registration): the steps and how each is shown."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup

from bot.i18n import t
from bot.runtime.context import BotContext
from handlers.common import Button, esc, keyboard
from storage.dialogs import Dialog
from storage.members import Member

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
