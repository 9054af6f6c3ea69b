"""The questions of /new_event: each step's text and buttons, the draft the answers make, and
the order of the steps (back, next, editing one answer from the preview).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from telegram import InlineKeyboardMarkup

from bot.buttons import BACK, CANCEL, Codec, Num, Token, Word
from bot.evaluations import (
    CUSTOM_MAX,
    CUSTOM_OPTIONS_MAX,
    CUSTOM_TEXT_MAX,
    KINDS,
    TEMPLATES,
)
from bot.events.announce import (
    preview_event,
)
from bot.events.cards import announcement
from bot.i18n import t, tn
from bot.runtime.context import BotContext
from bot.timefmt import offset_label, zone_name
from handlers.audience import region_rows, topic_rows
from handlers.common import (
    Button,
    esc,
    keyboard,
)
from handlers.dialog import Answers
from storage.dialogs import Dialog
from storage.events import NewEvent

EVT = "evt"
TIMES = ("09:00", "10:00", "11:00", "12:00", "14:00", "15:00", "16:00", "18:00")
DURATIONS = (60, 120, 180, 240, 360, 480, 1440 * 2, 1440 * 3)
CAPACITIES = (20, 30, 50, 100)
DAYS_OFFERED = 10
TEXT_STEPS = (
    "title",
    "description",
    "program",
    "start_day",
    "start_time",
    "duration",
    "place",
    "q_text",
    "q_options",
)
TEMPLATE_CHOICES = ("standard", "short", "conference", "none")
EDIT_FIELDS = (  # what the preview's 'Изменить' offers
    "title",
    "description",
    "program",
    "start_day",
    "place",
    "regions",
    "topics",
    "capacity",
    "evaluation",
)

# The buttons of the dialogue's own steps (the audience picker makes its own, in
# handlers/audience.py; 'Назад' / 'Отмена' are the engine's dlg: buttons).
PLAIN = Codec(
    EVT,
    Word("skip", "qback", "publish", "edit", "anon", "fup", "addq", "clearq", "eval_done"),
)
DAY = Codec(EVT, Word("day"), Token(10))  # an ISO date
TIME = Codec(EVT, Word("time"), Token(4))  # HHMM
DURATION = Codec(EVT, Word("dur"), Num(5))  # minutes
CAPACITY = Codec(EVT, Word("cap"), Num(6))  # 0: no limit
TEMPLATE = Codec(EVT, Word("tpl"), Word(*TEMPLATE_CHOICES))
QUESTION_KIND = Codec(EVT, Word("qkind"), Word(*KINDS))
FIELD = Codec(EVT, Word("edit"), Word(*EDIT_FIELDS))
BUTTONS = (PLAIN, DAY, TIME, DURATION, CAPACITY, TEMPLATE, QUESTION_KIND, FIELD)


def dialog_zone(dialog: Dialog) -> ZoneInfo:
    return ZoneInfo(str(dialog.data.get("zone", "Europe/Moscow")))


def dialog_lang(dialog: Dialog) -> str:
    return str(dialog.data.get("lang", "ru"))


def nav_row(lang: str) -> list[Button]:
    return [(t(lang, "common.back"), BACK), (t(lang, "common.cancel"), CANCEL)]


def draft_of(dialog: Dialog, caller_member_id: int | None) -> NewEvent | None:
    data = dialog.data
    try:
        starts = datetime.fromisoformat(str(data["start"]))
        ends = datetime.fromisoformat(str(data["end"]))
        return NewEvent(
            title=str(data["title"]),
            description=str(data["description"]),
            program=tuple(data.get("program") or ()),
            starts_at=starts,
            ends_at=ends,
            tz=str(data.get("zone", "Europe/Moscow")),
            place=data.get("place"),
            online_url=data.get("online"),
            capacity=data.get("capacity") or None,
            regions=tuple(data.get("regions") or ()),
            topics=tuple(data.get("topics") or ()),
            created_by=caller_member_id,
            checkin_secret=str(data.get("secret") or secrets.token_urlsafe(9)),
            evaluation=evaluation_of(data),
        )
    except (KeyError, ValueError, TypeError):
        return None


def question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of the current step of /new_event."""
    # long: one arm per step of the dialogue, each a few lines
    data, step, lang, zone = dialog.data, dialog.step, dialog_lang(dialog), dialog_zone(dialog)
    rows: list[list[Button]] = []
    if step == "title":
        text = t(lang, "events.ask_title")
        rows = [[(t(lang, "common.cancel"), CANCEL)]]
    elif step == "description":
        text = t(lang, "events.ask_description")
        rows = [nav_row(lang)]
    elif step == "program":
        text = t(lang, "events.ask_program")
        rows = [[(t(lang, "events.skip"), PLAIN.pack("skip"))], nav_row(lang)]
    elif step == "start_day":
        now = context.now()
        text = t(
            lang, "events.ask_day", zone=f"{zone_name(zone, lang, now)}, {offset_label(now, zone)}"
        )
        today = context.now().astimezone(zone).date()
        days = [today + timedelta(days=i) for i in range(DAYS_OFFERED)]
        buttons = [(_day_label(d, lang), DAY.pack("day", d.isoformat())) for d in days]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append(nav_row(lang))
    elif step == "start_time":
        day = date.fromisoformat(str(data["day"]))
        text = t(lang, "events.ask_time", day=_day_label(day, lang))
        buttons = [(hm, TIME.pack("time", hm.replace(":", ""))) for hm in TIMES]
        rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
        rows.append(nav_row(lang))
    elif step == "duration":
        text = t(lang, "events.ask_duration")
        buttons = [(_duration_label(m, lang), DURATION.pack("dur", m)) for m in DURATIONS]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append(nav_row(lang))
    elif step == "place":
        text = t(lang, "events.ask_place")
        rows = [nav_row(lang)]
    elif step == "regions":
        text = t(lang, "events.ask_regions", chosen=len(data.get("regions") or []))
        rows = region_rows(context, data, lang, "evt")
        rows.append(nav_row(lang))
    elif step == "topics":
        text = t(lang, "events.ask_topics")
        rows = topic_rows(context, data, lang, "evt")
        rows.append(nav_row(lang))
    elif step == "capacity":
        text = t(lang, "events.ask_capacity")
        rows = [[(t(lang, "events.no_limit"), CAPACITY.pack("cap", 0))]]
        rows.append([(str(n), CAPACITY.pack("cap", n)) for n in CAPACITIES])
        rows.append(nav_row(lang))
    elif step == "evaluation":
        text, rows = _evaluation_menu(data, lang)
    elif step == "q_kind":
        text = t(lang, "events.eval.ask_kind")
        rows = [[(t(lang, f"events.eval.kind.{k}"), QUESTION_KIND.pack("qkind", k))] for k in KINDS]
        rows.append([(t(lang, "common.back"), PLAIN.pack("qback"))])
    elif step == "q_text":
        text = t(lang, "events.eval.ask_text", limit=CUSTOM_TEXT_MAX)
        rows = [[(t(lang, "common.back"), PLAIN.pack("qback"))]]
    elif step == "q_options":
        text = t(lang, "events.eval.ask_options", most=CUSTOM_OPTIONS_MAX)
        rows = [[(t(lang, "common.back"), PLAIN.pack("qback"))]]
    elif step == "preview":
        draft = draft_of(dialog, None)
        assert draft is not None
        card = announcement(preview_event(draft), lang, zone, context.regions, context.topics)
        text = t(
            lang,
            "events.preview",
            card=card,
            count=data.get("audience", 0),
            survey=_evaluation_summary(data, lang),
            unreachable=(
                t(lang, "events.preview_unreachable", n=data["unreachable"])
                if data.get("unreachable")
                else ""
            ),
        )
        rows = [
            [(t(lang, "events.publish"), PLAIN.pack("publish"))],
            [(t(lang, "reg.edit"), PLAIN.pack("edit"))],
            [(t(lang, "common.cancel"), CANCEL)],
        ]
    elif step == "edit":
        text = t(lang, "reg.edit_which")
        fields = ("title", "description", "program", "start_day", "place", "regions")
        rows = [[(t(lang, f"events.field.{f}"), FIELD.pack("edit", f))] for f in fields]
        rows.append([(t(lang, "events.field.topics"), FIELD.pack("edit", "topics"))])
        rows.append([(t(lang, "events.field.capacity"), FIELD.pack("edit", "capacity"))])
        rows.append([(t(lang, "events.field.evaluation"), FIELD.pack("edit", "evaluation"))])
        rows.append(nav_row(lang))
    else:
        raise ValueError(f"unknown step {step}")
    return text, keyboard(rows)


def evaluation_of(data: dict[str, Any]) -> dict[str, Any]:
    chosen = dict(data.get("eval") or {})
    return {
        "template": chosen.get("template", "standard"),
        "anonymous": bool(chosen.get("anonymous")),
        "followup": bool(chosen.get("followup")),
        "custom": list(chosen.get("custom") or []),
    }


def _evaluation_summary(data: dict[str, Any], lang: str) -> str:
    chosen = evaluation_of(data)
    if chosen["template"] == "none":
        return t(lang, "events.eval.summary_none")
    count = len(TEMPLATES[chosen["template"]]) + len(chosen["custom"])
    parts = [
        t(lang, f"events.eval.template.{chosen['template']}"),
        tn(lang, "events.eval.questions", count),
    ]
    if chosen["anonymous"]:
        parts.append(t(lang, "events.eval.anonymous_on"))
    if chosen["followup"]:
        parts.append(t(lang, "events.eval.followup_on"))
    return t(lang, "events.eval.summary", what=", ".join(parts))


def _evaluation_menu(data: dict[str, Any], lang: str) -> tuple[str, list[list[Button]]]:
    """The questionnaire after the event: a template, own questions, anonymity, follow-up."""
    chosen = evaluation_of(data)
    lines = [t(lang, "events.eval.title"), _evaluation_summary(data, lang)]
    for n, custom in enumerate(chosen["custom"], start=1):
        kind = t(lang, f"events.eval.kind.{custom['kind']}")
        lines.append(f"{n}. {esc(custom['text'])} <i>({kind})</i>")

    def mark(on: bool) -> str:
        return "✅ " if on else ""

    rows: list[list[Button]] = []
    labels = [
        (
            mark(chosen["template"] == k) + t(lang, f"events.eval.template.{k}"),
            TEMPLATE.pack("tpl", k),
        )
        for k in TEMPLATE_CHOICES
    ]
    rows += [labels[0:2], labels[2:4]]
    if chosen["template"] != "none":
        yes, no = t(lang, "events.eval.yes"), t(lang, "events.eval.no")
        rows.append(
            [
                (
                    t(lang, "events.eval.anonymous", value=yes if chosen["anonymous"] else no),
                    PLAIN.pack("anon"),
                ),
                (
                    t(lang, "events.eval.followup", value=yes if chosen["followup"] else no),
                    PLAIN.pack("fup"),
                ),
            ]
        )
        if len(chosen["custom"]) < CUSTOM_MAX:
            rows.append([(t(lang, "events.eval.add"), PLAIN.pack("addq"))])
        if chosen["custom"]:
            rows.append([(t(lang, "events.eval.clear"), PLAIN.pack("clearq"))])
    rows.append([(t(lang, "events.eval.done"), PLAIN.pack("eval_done"))])
    rows.append(nav_row(lang))
    return "\n".join(lines), rows


def _day_label(day: date, lang: str) -> str:
    return format_date(day, "EEE d MMM", locale=lang if lang in ("ru", "en") else "ru")


def _duration_label(minutes: int, lang: str) -> str:
    if minutes % 1440 == 0:
        return tn(lang, "events.days", minutes // 1440)
    return tn(lang, "events.hours", minutes // 60)


ORDER = (
    "title",
    "description",
    "program",
    "start_day",
    "start_time",
    "duration",
    "place",
    "regions",
    "topics",
    "capacity",
    "evaluation",
    "preview",
)
EVAL_STEPS = ("evaluation", "q_kind", "q_text", "q_options")


def next_step(dialog: Dialog, done: str) -> str:
    """After `done`: the next question, or the preview when editing one field."""
    if dialog.data.get("editing") and done not in ("start_day", "start_time"):
        return "preview"
    step = ORDER[ORDER.index(done) + 1]
    if step == "regions" and single_region(dialog):
        return next_step(dialog, "regions")
    return step


def single_region(dialog: Dialog) -> bool:
    return not dialog.data.get("federal") and len(dialog.data.get("allowed") or []) == 1


def previous_step(dialog: Dialog) -> str | None:
    if dialog.step in ("preview", "title"):
        return None
    if dialog.step in EVAL_STEPS[1:]:  # a question of their own: back to the questionnaire
        return "evaluation"
    if dialog.step == "edit" or dialog.data.get("editing"):
        return "preview"
    step = ORDER[ORDER.index(dialog.step) - 1]
    if step == "regions" and single_region(dialog):
        step = "place"
    return step


STEPS = (*ORDER, "edit", *EVAL_STEPS[1:])


@dataclass
class EventAnswers(Answers):
    """What /new_event has gathered (times as ISO strings in the organiser's zone)."""

    federal: bool = False  # picks districts or the whole network (else among `allowed`)
    allowed: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    zone: str = "Europe/Moscow"
    secret: str = ""  # of the check-in link
    title: str = ""
    description: str = ""
    program: list[str] = field(default_factory=list)
    day: str | None = None
    start: str | None = None
    end: str | None = None
    place: str | None = None
    online: str | None = None
    capacity: int | None = None
    eval: dict[str, Any] = field(default_factory=dict)  # the questionnaire after the event
    q_kind: str = "text"  # an own question being added: its kind and words
    q_words: str = ""
    editing: bool = False  # one answer changed from the preview: back to it after
    audience: int = 0  # counted for the preview
    unreachable: int = 0
