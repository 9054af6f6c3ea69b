"""Evaluations after events: which questions, who is asked and when, answering, reminders.

When an event ends, everyone who checked in (or, if nobody did, everyone who said "Пойду") is
asked in their private chat, one question per message, through the outbox: at the end time in
their own zone, or in the morning when that falls in QUIET_HOURS. One reminder after
EVALUATION_REMIND_HOURS to those who have not finished; the round closes after
EVALUATION_CLOSE_DAYS. An optional follow-up round asks EVALUATION_FOLLOWUP_DAYS after the end
whether the knowledge could be applied. One pause, one nudge: in the main round the reminder
(an answering dialogue left idle closes without a note); the follow-up, which has no reminder,
gets one idle note, not at night.

The answers so far live in the participant's row (the draft) so that a half-answered
questionnaire resumes where it stopped, whenever the person comes back. The finished set is
stored in one transaction; for an anonymous evaluation without any link to the member.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.dialogs import TIMEOUT_KEY, TIMEOUT_SILENT, TIMEOUT_ZONE
from bot.i18n import t
from bot.outbox import Outgoing, Priority, send_to_many
from bot.regions import Regions
from bot.roles.access import Caller, Denied, is_number, require_member
from bot.settings import Settings
from bot.timefmt import MOSCOW, moment, quiet_until
from storage.db import Storage
from storage.evaluations import Answer, Asked, EvaluationConfig, Invitee
from storage.events import Event

ROUND_CODES = {"m": "main", "f": "followup"}
CODE_OF = {v: k for k, v in ROUND_CODES.items()}
SCALE = (5, 4, 3, 2, 1)
SCALE_FACES = {5: "😃", 4: "🙂", 3: "😐", 2: "🙁", 1: "😞"}
TEXT_MAX = 2000
CUSTOM_MAX = 3
CUSTOM_TEXT_MAX = 200
CUSTOM_OPTIONS_MAX = 6
CUSTOM_OPTION_MAX = 40
KINDS = ("scale", "choice", "text")
LANGS = ("ru", "en")  # typed words are recognised in either catalog's wording
SMALL_CELL = 5  # fewer answers than this: figures are hidden, an anonymous answer has no region


@dataclass(frozen=True)
class Question:
    key: str
    kind: str  # scale | choice | block | text
    options: tuple[str, ...] = ()  # built-in: option keys; custom: the coordinator's words
    text: str | None = None  # a custom question's own words (shown as written)

    @property
    def custom(self) -> bool:
        return self.text is not None

    @property
    def skippable(self) -> bool:
        return self.kind in ("text", "block")


BUILTIN = {
    "relevance": Question("relevance", "scale"),
    "usefulness": Question("usefulness", "scale"),
    "organisation": Question("organisation", "scale"),
    "practice": Question("practice", "choice", ("little", "right", "much")),
    "best_block": Question("best_block", "block"),
    "improve": Question("improve", "text"),
    "recommend": Question("recommend", "choice", ("yes", "maybe", "no")),
    "applied": Question("applied", "choice", ("yes", "partly", "no")),
    "applied_comment": Question("applied_comment", "text"),
}
TEMPLATES: dict[str, tuple[str, ...]] = {
    "standard": (
        "relevance",
        "usefulness",
        "organisation",
        "practice",
        "best_block",
        "improve",
        "recommend",
    ),
    "short": ("relevance", "usefulness", "improve"),
    "conference": ("relevance", "organisation", "best_block", "improve", "recommend"),
    "none": (),
}
FOLLOWUP = ("applied", "applied_comment")
SCALE_KEYS = tuple(k for k, q in BUILTIN.items() if q.kind == "scale")


def questions_of(config: EvaluationConfig, round_: str) -> list[Question]:
    """The questions of a round: the template's, then the coordinator's own."""
    if round_ == "followup":
        return [BUILTIN[k] for k in FOLLOWUP]
    chosen = [BUILTIN[k] for k in TEMPLATES.get(config.template, TEMPLATES["standard"])]
    for n, custom in enumerate(config.custom, start=1):
        chosen.append(
            Question(
                f"custom{n}",
                str(custom.get("kind", "text")),
                tuple(str(o) for o in custom.get("options") or ()),
                str(custom.get("text", "")),
            )
        )
    return chosen


def valid_custom(kind: str, text: str, options: list[str]) -> dict[str, Any]:
    """A coordinator's own question, checked (Denied with a hint when it does not fit)."""
    text = " ".join(text.split())
    if kind not in KINDS:
        raise Denied("dialog.stale")
    if not 3 <= len(text) <= CUSTOM_TEXT_MAX:
        raise Denied("evaluation.hint.custom_text", limit=CUSTOM_TEXT_MAX)
    if kind != "choice":
        return {"kind": kind, "text": text}
    cleaned = [" ".join(o.split()) for o in options if o.strip()]
    if not 2 <= len(cleaned) <= CUSTOM_OPTIONS_MAX or any(
        len(o) > CUSTOM_OPTION_MAX for o in cleaned
    ):
        raise Denied(
            "evaluation.hint.custom_options", most=CUSTOM_OPTIONS_MAX, limit=CUSTOM_OPTION_MAX
        )
    return {"kind": kind, "text": text, "options": cleaned}


# ---------------------------------------------------------------- what the person sees


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def question_text(question: Question, lang: str) -> str:
    if question.text is not None:
        return _esc(question.text)
    return t(lang, f"evaluation.q.{question.key}")


def plain_question(question: Question, lang: str) -> str:
    """The question as text (not HTML), for files."""
    return question.text if question.text is not None else t(lang, f"evaluation.q.{question.key}")


def option_label(question: Question, option: str, lang: str) -> str:
    if question.custom:
        return option
    return t(lang, f"evaluation.opt.{question.key}.{option}")


def render(
    event: Event,
    round_: str,
    questions: list[Question],
    index: int,
    lang: str,
    *,
    intro: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Question `index` of a round as a message: text and buttons (Bot API JSON)."""
    question = questions[index]
    prefix = f"eva:{event.id}:{CODE_OF[round_]}:{index}"
    header = t(
        lang,
        "evaluation.header",
        title=_esc(event.title),
        n=index + 1,
        total=len(questions),
    )
    lines = [intro, header] if intro else [header]
    lines.append(f"<b>{question_text(question, lang)}</b>")
    rows: list[list[dict[str, str]]] = []
    if question.kind == "scale":
        lines.append(t(lang, "evaluation.scale_hint"))
        for value in SCALE:
            label = f"{SCALE_FACES[value]} {value}"
            label += " — " + t(lang, f"evaluation.scale_word.{value}")
            rows.append([{"text": label, "callback_data": f"{prefix}:{value}"}])
    elif question.kind == "choice":
        for n, option in enumerate(question.options):
            rows.append(
                [{"text": option_label(question, option, lang), "callback_data": f"{prefix}:{n}"}]
            )
    elif question.kind == "block":
        if event.program:
            lines.append(t(lang, "evaluation.block_hint"))
            for n, block in enumerate(event.program):
                rows.append([{"text": block[:60], "callback_data": f"{prefix}:b{n}"}])
        else:
            lines.append(t(lang, "evaluation.text_hint"))
    else:
        key = "evaluation.voice_hint" if question.key == "improve" else "evaluation.text_hint"
        lines.append(t(lang, key))
    if question.skippable:
        rows.append([{"text": t(lang, "evaluation.skip"), "callback_data": f"{prefix}:s"}])
    return "\n\n".join(lines), {"inline_keyboard": rows}


def invitation(
    event: Event, config: EvaluationConfig, round_: str, lang: str, zone: Any
) -> tuple[str, dict[str, Any]]:
    questions = questions_of(config, round_)
    key = "evaluation.invite_followup" if round_ == "followup" else "evaluation.invite"
    intro = t(
        lang,
        key,
        title=_esc(event.title),
        date=moment(event.starts_at, lang, zone).split(",")[0],
        total=len(questions),
    )
    if config.anonymous:
        intro += "\n" + t(lang, "evaluation.anonymous_note")
    return render(event, round_, questions, 0, lang, intro=intro)


# ---------------------------------------------------------------- the clock


async def run_evaluations(
    storage: Storage, settings: Settings, regions: Regions, now: datetime
) -> int:
    """One sweep: open rounds that are due, send reminders. Returns messages queued."""
    queued = 0
    for event_id in await storage.evaluations.due_main(now):
        queued += await _open_round(storage, settings, regions, event_id, "main", now)
    ended = now - timedelta(days=settings.evaluation_followup_days)
    for event_id in await storage.evaluations.due_followup(ended):
        queued += await _open_round(storage, settings, regions, event_id, "followup", now)
    queued += await _remind(storage, settings, regions, now)
    return queued


async def _open_round(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    event_id: int,
    round_: str,
    now: datetime,
) -> int:
    event = await storage.events.get(event_id)
    config = await storage.evaluations.config(event_id)
    if event is None or config is None:
        return 0
    window = timedelta(days=settings.evaluation_close_days)
    invitees: list[Invitee] = []
    if round_ == "main" and event.ends_at > now - window:
        invitees = await storage.evaluations.invitees(event_id)
    elif round_ == "followup":
        invitees = await storage.evaluations.asked_members(event_id, "main")
    # an event that ended long before (the bot was down, or older than evaluations) is closed
    # without asking anyone
    async with storage.db.transaction() as tx:
        if not await storage.evaluations.open_round(tx, event_id, round_, now, now + window):
            return 0
        for person in invitees:
            zone = _zone(regions, person.region_code)
            at = quiet_until(now, zone, settings.quiet_hours)
            remind = (
                at + timedelta(hours=settings.evaluation_remind_hours) if round_ == "main" else None
            )
            await storage.evaluations.ask(tx, event_id, person.member_id, round_, at, remind)
            text, markup = invitation(event, config, round_, person.language, zone)
            await send_to_many(
                storage,
                [(person.telegram_id, person.member_id)],
                Outgoing(text=text, markup=markup),
                priority=Priority.REMINDER,
                now=now,
                due_at=at,
                key=f"evalask:{event_id}:{round_}",
                tx=tx,
            )
    return len(invitees)


async def _remind(storage: Storage, settings: Settings, regions: Regions, now: datetime) -> int:
    sent = 0
    for due in await storage.evaluations.due_reminders(now):
        event = await storage.events.get(due.event_id)
        config = await storage.evaluations.config(due.event_id)
        if event is None or config is None:
            continue
        zone = _zone(regions, due.region_code)
        questions = questions_of(config, due.round)
        index = min(int((due.draft or {}).get("next", 0)), len(questions) - 1)
        intro = t(
            due.language,
            "evaluation.reminder",
            title=_esc(event.title),
            done=index,
            total=len(questions),
            until=moment(config.closes(due.round) or now, due.language, zone),
        )
        text, markup = render(event, due.round, questions, index, due.language, intro=intro)
        async with storage.db.transaction() as tx:
            if not await storage.evaluations.claim_reminder(tx, due):
                continue
            await send_to_many(
                storage,
                [(due.telegram_id, due.member_id)],
                Outgoing(text=text, markup=markup),
                priority=Priority.REMINDER,
                now=now,
                due_at=quiet_until(now, zone, settings.quiet_hours),
                key=f"evalrem:{due.event_id}:{due.round}",
                tx=tx,
            )
            sent += 1
    return sent


def idle_note(event_id: int, round_: str, zone: Any) -> dict[str, Any]:
    """How an answering dialogue left idle ends (bot/dialogs.py reads these). The main round
    has its one reminder, which is the nudge: the dialogue closes silently. The follow-up has
    none: one note (never twice in a round), outside quiet hours in the person's zone."""
    if round_ == "main":
        return {TIMEOUT_SILENT: True}
    return {
        TIMEOUT_SILENT: False,
        TIMEOUT_ZONE: str(zone),
        TIMEOUT_KEY: f"evalidle:{event_id}:{round_}",
    }


def _zone(regions: Regions, code: str) -> Any:
    region = regions.get(code)
    return region.tz if region else MOSCOW


# ---------------------------------------------------------------- answering


@dataclass(frozen=True)
class Progress:
    """Where a person is in a round after an answer (next is None: finished)."""

    event: Event
    config: EvaluationConfig
    round: str
    questions: list[Question]
    next: int | None


@dataclass(frozen=True)
class Given:
    """What the person did: tapped a button (its value), typed text, or sent a voice."""

    button: str | None = None
    text: str | None = None
    voice: str | None = None


async def _open_for(
    storage: Storage, caller: Caller, event_id: int, round_: str, now: datetime
) -> tuple[Event, EvaluationConfig, Asked]:
    member = require_member(caller)
    event = await storage.events.get(event_id)
    config = await storage.evaluations.config(event_id)
    if event is None or config is None:
        raise Denied("evaluation.not_found")
    asked = await storage.evaluations.asked(event_id, member.id, round_)
    if asked is None:
        raise Denied("evaluation.not_participant")
    closes = config.closes(round_)
    if closes is not None and closes <= now:
        raise Denied("evaluation.closed", title=_esc(event.title))
    return event, config, asked


async def waiting_for(storage: Storage, caller: Caller, now: datetime) -> tuple[int, str] | None:
    """The open questionnaire (event, round) the caller was asked and has not finished."""
    if caller.member is None:
        return None
    return await storage.evaluations.waiting(caller.member.id, now)


async def closed_lately(
    storage: Storage, caller: Caller, now: datetime, within: timedelta, text: str | None
) -> Event | None:
    """The event whose questionnaire the caller left unfinished and that closed less than
    `within` ago, when what they type now reads as a late answer to it (refused as a late
    button is): anything from someone who had begun answering; from someone who never began,
    only a mark (the first question's answer). Other messages are not about the
    questionnaire ("Здравствуйте, когда следующий тренинг?")."""
    if caller.member is None:
        return None
    found = await storage.evaluations.closed_unfinished(caller.member.id, now, now - within)
    if found is None or not (found[2] or typed_mark(text) is not None):
        return None
    return await storage.events.get(found[0])


async def request_message(storage: Storage, event_id: int, round_: str, chat_id: int) -> int | None:
    """The message that put the round's first question to the person (sent through the
    outbox), so that its buttons can be taken off once the question is answered by typing."""
    sent = await storage.outbox.delivered_with_key(f"evalask:{event_id}:{round_}:{chat_id}")
    mine = [row for row in sent if row.chat_id == chat_id]  # the key is matched as a prefix
    return mine[-1].message_id if mine else None


async def typed_goes_to(
    storage: Storage, caller: Caller, now: datetime, fresh_for: timedelta
) -> tuple[int, str] | None:
    """The questionnaire a message typed with no dialogue open answers: only one whose first
    question was just put to the person (asked within `fresh_for`, nothing answered yet).
    Text typed later (after the dialogue closed, or days after the request) belongs to no
    question and is never stored as an answer to one."""
    waiting = await waiting_for(storage, caller, now)
    if waiting is None or caller.member is None:
        return None
    asked = await storage.evaluations.asked(waiting[0], caller.member.id, waiting[1])
    if asked is None or asked.draft is not None or asked.answered:
        return None
    return waiting if now - asked.asked_at <= fresh_for else None


async def resume(
    storage: Storage, caller: Caller, event_id: int, round_: str, now: datetime
) -> Progress:
    """Where the person stopped (the first question if they have not started)."""
    event, config, asked = await _open_for(storage, caller, event_id, round_, now)
    questions = questions_of(config, round_)
    if asked.answered and asked.draft is None:
        return Progress(event, config, round_, questions, None)
    index = int((asked.draft or {}).get("next", 0))
    return Progress(event, config, round_, questions, min(index, len(questions) - 1))


async def start_again(
    storage: Storage, caller: Caller, event_id: int, round_: str, now: datetime
) -> Progress:
    """'Изменить ответы': a named participant answers again until the round closes."""
    event, config, asked = await _open_for(storage, caller, event_id, round_, now)
    if config.anonymous:
        raise Denied("evaluation.anonymous_final")
    questions = questions_of(config, round_)
    if asked.draft is None:
        if not await storage.evaluations.save_draft(asked, {"next": 0, "answers": {}}):
            raise Denied("dialog.stale")
        return Progress(event, config, round_, questions, 0)
    return Progress(event, config, round_, questions, int(asked.draft.get("next", 0)))


async def record(
    storage: Storage,
    caller: Caller,
    event_id: int,
    round_: str,
    index: int,
    given: Given,
    now: datetime,
) -> Progress:
    """An answer to question `index`: checked, saved in the draft; the last one stores the
    whole set. A repeated tap, or a tap on an older question, changes nothing."""
    event, config, asked = await _open_for(storage, caller, event_id, round_, now)
    questions = questions_of(config, round_)
    if asked.answered and asked.draft is None:
        raise Denied("evaluation.already_done")
    draft = asked.draft or {"next": 0, "answers": {}}
    expected = int(draft.get("next", 0))
    if index != expected or not 0 <= index < len(questions):
        raise Denied("evaluation.already_recorded" if index < expected else "dialog.stale")
    answer = _checked(questions[index], event, given)
    answers = dict(draft.get("answers") or {})
    if answer is not None:
        answers[questions[index].key] = answer.as_dict()
    following = index + 1
    if following < len(questions):
        if not await storage.evaluations.save_draft(asked, {"next": following, "answers": answers}):
            raise Denied("evaluation.already_recorded")
        return Progress(event, config, round_, questions, following)
    member = require_member(caller)
    region: str | None = member.region_code
    if config.anonymous:  # a region with few participants would point at the person
        asked_there = await storage.evaluations.asked_by_region(event_id, round_)
        region = region if asked_there.get(member.region_code, 0) >= SMALL_CELL else None
    finished = await storage.evaluations.finish(
        asked,
        {key: Answer(**value) for key, value in answers.items()},
        anonymous=config.anonymous,
        region_code=region,
        now=now,
    )
    if not finished:
        raise Denied("evaluation.already_recorded")
    return Progress(event, config, round_, questions, None)


def _words(text: str) -> str:
    """Typed text as bare words, to compare with a button's label: "😃 5 — Отлично!" and
    "5 отлично" read the same."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold().replace("ё", "е")).split())


def typed_skip(text: str | None) -> bool:
    """The person typed the "Пропустить" button's word (in either language)."""
    words = {_words(t(lang, "evaluation.skip")) for lang in LANGS}
    return text is not None and _words(text) in words


def typed_mark(text: str | None) -> int | None:
    """A mark typed instead of tapped: its digit, its word ("хорошо") or both, as on the
    button; None if the text is not one of them."""
    typed = _words(text or "")
    for value in SCALE:
        for lang in LANGS:
            word = _words(t(lang, f"evaluation.scale_word.{value}"))
            if typed in (str(value), word, f"{value} {word}"):
                return value
    return None


def _checked(question: Question, event: Event, given: Given) -> Answer | None:
    """The answer a button, a text or a voice gives to `question` (None: skipped). Typed
    text that reads like a button (its label, "Пропустить") counts like the button."""
    if given.button == "s":
        if not question.skippable:
            raise Denied("dialog.stale")
        return None
    if given.button is None and question.skippable and typed_skip(given.text):
        return None  # never stored as the person's words
    if question.kind == "scale":
        if given.button is None:
            mark = typed_mark(given.text)
            if mark is not None:
                return Answer(number=mark)
            raise Denied("evaluation.hint.buttons")
        if given.button in {str(v) for v in SCALE}:
            return Answer(number=int(given.button))
        raise Denied("dialog.stale")
    if question.kind == "choice":
        if given.button is not None:
            if is_number(given.button) and int(given.button) < len(question.options):
                return Answer(choice=question.options[int(given.button)])
            raise Denied("dialog.stale")
        typed = " ".join((given.text or "").split()).casefold()
        for option in question.options:  # a typed option counts like its button
            labels = {option_label(question, option, lang).casefold() for lang in LANGS}
            if typed in labels or _words(typed) in {_words(label) for label in labels}:
                return Answer(choice=option)
        raise Denied("evaluation.hint.buttons")
    if question.kind == "block" and given.button is not None:
        number = given.button[1:]
        if given.button.startswith("b") and is_number(number) and int(number) < len(event.program):
            return Answer(choice=f"block:{number}", text=event.program[int(number)])
        raise Denied("dialog.stale")
    if given.button is not None:
        raise Denied("dialog.stale")
    if given.voice is not None:
        return Answer(voice=given.voice)
    text = (given.text or "").strip()
    if not text:
        raise Denied("evaluation.hint.text")
    if len(text) > TEXT_MAX:
        raise Denied("evaluation.hint.too_long", limit=TEXT_MAX)
    return Answer(text=text)
