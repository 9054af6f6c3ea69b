"""Registration and settings (handlers/members/registration): the steps and how each is shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.buttons import BACK, CANCEL, Codec, Num, Token, Word
from bot.i18n import t
from bot.runtime.context import BotContext
from handlers.common import Button, esc, keyboard
from handlers.dialog import Answers
from storage.dialogs import Dialog
from storage.members import Member

REG = "reg"
SET = "set"
FLOWS = (REG, SET)
CALLBACK_PATTERN = r"^(reg|set):"


@dataclass
class ProfileAnswers(Answers):
    """What registration and settings gather (dialog.data): the profile's fields as the member
    card has them, and where the person is in the questions."""

    name: str | None = None
    org: str | None = None
    region: str | None = None
    topics: list[str] = field(default_factory=list)
    preset: str | None = None  # a region offered by the link the person came by
    district: str | None = None  # the district whose regions are listed
    page: int = 0  # of the alphabetical list of regions
    candidates: list[str] = field(default_factory=list)  # regions found for a typed name
    typed: str = ""  # that typed name
    editing: bool = False  # a field changed from the summary: back to it once answered
    consent_at: str | None = None  # ISO time of the consent
    invite: str | None = None  # a coordinator invite's hash, redeemed at the end
    signup: str | None = None  # a coordinator's sign-up link's hash: approved at the end
    after: list[str] | None = None  # an event or check-in link, opened at the end
    note: str | None = None  # settings: a catalog key said above the menu ("saved")
    carry: str | None = None  # the consent question: the link its buttons carry
    full: bool = False  # the consent question: the whole notice


# Steps whose answer is typed; the others take buttons (region steps also accept a typed name).
TEXT_STEPS = ("name", "org")
REGION_STEPS = ("district", "region", "region_confirm", "region_pick", "alpha")
ALPHA_PAGE = 20  # regions per page of the alphabetical list (one a row, see _one_a_row)
NO_CARRY = "-"  # consent buttons of someone who came without a link
LANGS = ("ru", "en")

# The buttons' data (bot/buttons.py). The consent buttons carry the language and the link the
# person came by (a /start payload: letters, digits, '_' and '-', at most 40, see consent.py).
CONSENT = Codec("reg", Word("consent"), Word("yes", "more", "lang"), Word(*LANGS), Token(40))
CONSENT_END = Codec("reg", Word("consent"), Word("no", "cancel"), Word(*LANGS))
DO = Codec("reg", Word("regok", "regother", "topics_done", "confirm", "edit", "restart"))
PICK = Codec("reg", Word("district", "region", "topic"), Token())
ALPHA = Codec("reg", Word("alpha"), Num(3))
EDIT = Codec("reg", Word("edit"), Word("name", "org", "region", "topics"))
SETTING = Codec("set", Word("name", "org", "region", "topics", "lang", "close"))
SET_LANG = Codec("set", Word("lang"), Word(*LANGS))


# ---------------------------------------------------------------- rendering one question


def _cancel(lang: str) -> Button:
    return (t(lang, "common.cancel"), CANCEL)


def _back(lang: str) -> Button:
    return (t(lang, "common.back"), BACK)


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


Rows = list[list[Button]]


def _consent(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    # Nothing is stored before the person agrees: the buttons carry the language and the
    # link the person came by (region, invite, event), and work without a dialogue row.
    other = "en" if lang == "ru" else "ru"
    # A short notice (what, why, who sees it, how to erase); "Подробнее" shows it whole.
    carry = str(dialog.data.get("carry") or NO_CARRY)
    full = bool(dialog.data.get("full"))
    rows = [
        [(t(lang, "reg.agree"), CONSENT.pack("consent", "yes", lang, carry))],
        [(t(lang, "reg.disagree"), CONSENT_END.pack("consent", "no", lang))],
    ]
    if not full:
        rows.append([(t(lang, "reg.consent_more"), CONSENT.pack("consent", "more", lang, carry))])
    rows += [
        [(t(other, "lang.switch_to"), CONSENT.pack("consent", "lang", other, carry))],
        [(t(lang, "common.cancel"), CONSENT_END.pack("consent", "cancel", lang))],
    ]
    return t(lang, "reg.consent_full" if full else "reg.consent"), rows


def _name(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    back = dialog.flow == SET or bool(dialog.data.get("editing"))
    return t(lang, "reg.ask_name"), [_nav(dialog, lang, back=back)]


def _org(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    return t(lang, "reg.ask_org"), [_nav(dialog, lang)]


def _region_confirm(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    region = context.regions.get(str(dialog.data.get("preset")))
    text = t(lang, "reg.ask_region_preset", region=esc(region.name(lang) if region else "?"))
    rows = [
        [(t(lang, "reg.region_yes"), DO.pack("regok"))],
        [(t(lang, "reg.region_other"), DO.pack("regother"))],
        _nav(dialog, lang),
    ]
    return text, rows


def _district(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    rows = [[(d.name(lang), PICK.pack("district", d.code))] for d in context.regions.districts]
    rows.append([(t(lang, "reg.all_regions"), ALPHA.pack("alpha", 0))])
    rows.append(_nav(dialog, lang))
    return t(lang, "reg.ask_district"), rows


def _alpha(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    everyone = context.regions.alphabetical(lang)
    pages = max(1, -(-len(everyone) // ALPHA_PAGE))
    page = min(max(int(dialog.data.get("page") or 0), 0), pages - 1)
    text = t(lang, "reg.ask_region_alpha", page=page + 1, pages=pages)
    shown = [
        (r.name(lang), PICK.pack("region", r.code))
        for r in everyone[page * ALPHA_PAGE : (page + 1) * ALPHA_PAGE]
    ]
    rows = _one_a_row(shown)
    turn: list[Button] = []
    if page > 0:
        turn.append((t(lang, "reg.alpha_prev"), ALPHA.pack("alpha", page - 1)))
    if page < pages - 1:
        turn.append((t(lang, "reg.alpha_next"), ALPHA.pack("alpha", page + 1)))
    if turn:
        rows.append(turn)
    rows.append(_nav(dialog, lang))
    return text, rows


def _region(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    code = str(dialog.data.get("district"))
    district = context.regions.district(code)
    text = t(lang, "reg.ask_region", district=esc(district.name(lang) if district else ""))
    buttons = [
        (r.name(lang), PICK.pack("region", r.code)) for r in context.regions.in_district(code)
    ]
    rows = _one_a_row(buttons)
    rows.append(_nav(dialog, lang))
    return text, rows


def _region_pick(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    candidates = dialog.data.get("candidates", [])
    found = [context.regions.get(str(code)) for code in candidates]
    typed = esc(dialog.data.get("typed", ""))
    if len(found) == 1 and found[0] is not None:
        text = t(lang, "reg.region_found", typed=typed, region=esc(found[0].name(lang)))
    else:
        text = t(lang, "reg.region_candidates", typed=typed)
    rows = [[(r.name(lang), PICK.pack("region", r.code))] for r in found if r]
    rows.append([(t(lang, "reg.region_from_list"), DO.pack("regother"))])
    rows.append(_nav(dialog, lang))
    return text, rows


def _topics(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    chosen = dialog.data.get("topics", [])
    rows = [
        [(("✅ " if tp.code in chosen else "▫️ ") + tp.name(lang), PICK.pack("topic", tp.code))]
        for tp in context.topics
    ]
    rows.append([(t(lang, "reg.topics_done"), DO.pack("topics_done"))])
    rows.append(_nav(dialog, lang))
    return t(lang, "reg.ask_topics"), rows


def _summary(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    text = t(lang, "reg.summary", card=profile_text(context, lang, dialog.data))
    rows = [
        [(t(lang, "reg.confirm"), DO.pack("confirm"))],
        [(t(lang, "reg.edit"), DO.pack("edit"))],
        [_cancel(lang)],
    ]
    return text, rows


def _edit(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    rows: Rows = [
        [(t(lang, f"field.{name}"), EDIT.pack("edit", name))]
        for name in ("name", "org", "region", "topics")
    ]
    rows.append([_back(lang), _cancel(lang)])
    return t(lang, "reg.edit_which"), rows


def _settings(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    note = dialog.data.get("note")
    text = t(lang, "settings.menu", card=profile_text(context, lang, dialog.data))
    if note:
        text = f"{t(lang, str(note))}\n\n{text}"

    def button(name: str) -> Button:
        return (t(lang, f"field.{name}"), SETTING.pack(name))

    rows = [
        [button("name"), button("org")],
        [button("region"), button("topics")],
        [(t(lang, "field.language"), SETTING.pack("lang"))],
        [(t(lang, "settings.close"), SETTING.pack("close"))],
    ]
    return text, rows


def _lang(context: BotContext, dialog: Dialog, lang: str) -> tuple[str, Rows]:
    rows = [
        [(t("ru", "lang.ru"), SET_LANG.pack("lang", "ru"))],
        [(t("en", "lang.en"), SET_LANG.pack("lang", "en"))],
        [_back(lang), _cancel(lang)],
    ]
    return t(lang, "settings.ask_lang"), rows


STEPS: dict[str, Callable[[BotContext, Dialog, str], tuple[str, Rows]]] = {
    "consent": _consent,
    "name": _name,
    "org": _org,
    "region_confirm": _region_confirm,
    "district": _district,
    "alpha": _alpha,
    "region": _region,
    "region_pick": _region_pick,
    "topics": _topics,
    "summary": _summary,
    "edit": _edit,
    "settings": _settings,
    "lang": _lang,
}


def question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of the dialogue's current step."""
    render = STEPS.get(dialog.step)
    if render is None:
        raise ValueError(f"unknown step {dialog.step}")
    text, rows = render(context, dialog, str(dialog.data.get("lang", "ru")))
    return text, keyboard(rows)
