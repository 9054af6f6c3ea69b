"""Answering: the questionnaire a person has open, resuming it, recording an answer, typed
marks and skips."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.evaluations.questions import (
    LANGS,
    SCALE,
    SMALL_CELL,
    TEXT_MAX,
    Question,
    option_label,
    questions_of,
)
from bot.evaluations.views import esc
from bot.i18n import t
from bot.refusals import NotAllowed, WrongInput
from bot.roles.access import Caller, is_number, require_member
from storage.db import Storage
from storage.evaluations import Answer, Asked, EvaluationConfig
from storage.events import Event

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
        raise WrongInput("evaluation.not_found")
    asked = await storage.evaluations.asked(event_id, member.id, round_)
    if asked is None:
        raise NotAllowed("evaluation.not_participant")
    closes = config.closes(round_)
    if closes is not None and closes <= now:
        raise WrongInput("evaluation.closed", title=esc(event.title))
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
        raise WrongInput("evaluation.anonymous_final")
    questions = questions_of(config, round_)
    if asked.draft is None:
        if not await storage.evaluations.save_draft(asked, {"next": 0, "answers": {}}):
            raise WrongInput("dialog.stale")
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
        raise WrongInput("evaluation.already_done")
    draft = asked.draft or {"next": 0, "answers": {}}
    expected = int(draft.get("next", 0))
    if index != expected or not 0 <= index < len(questions):
        raise WrongInput("evaluation.already_recorded" if index < expected else "dialog.stale")
    answer = _checked(questions[index], event, given)
    answers = dict(draft.get("answers") or {})
    if answer is not None:
        answers[questions[index].key] = answer.as_dict()
    following = index + 1
    if following < len(questions):
        if not await storage.evaluations.save_draft(asked, {"next": following, "answers": answers}):
            raise WrongInput("evaluation.already_recorded")
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
        raise WrongInput("evaluation.already_recorded")
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
            raise WrongInput("dialog.stale")
        return None
    if given.button is None and question.skippable and typed_skip(given.text):
        return None  # never stored as the person's words
    if question.kind == "scale":
        if given.button is None:
            mark = typed_mark(given.text)
            if mark is not None:
                return Answer(number=mark)
            raise WrongInput("evaluation.hint.buttons")
        if given.button in {str(v) for v in SCALE}:
            return Answer(number=int(given.button))
        raise WrongInput("dialog.stale")
    if question.kind == "choice":
        if given.button is not None:
            if is_number(given.button) and int(given.button) < len(question.options):
                return Answer(choice=question.options[int(given.button)])
            raise WrongInput("dialog.stale")
        typed = " ".join((given.text or "").split()).casefold()
        for option in question.options:  # a typed option counts like its button
            labels = {option_label(question, option, lang).casefold() for lang in LANGS}
            if typed in labels or _words(typed) in {_words(label) for label in labels}:
                return Answer(choice=option)
        raise WrongInput("evaluation.hint.buttons")
    if question.kind == "block" and given.button is not None:
        number = given.button[1:]
        if given.button.startswith("b") and is_number(number) and int(number) < len(event.program):
            return Answer(choice=f"block:{number}", text=event.program[int(number)])
        raise WrongInput("dialog.stale")
    if given.button is not None:
        raise WrongInput("dialog.stale")
    if given.voice is not None:
        return Answer(voice=given.voice)
    text = (given.text or "").strip()
    if not text:
        raise WrongInput("evaluation.hint.text")
    if len(text) > TEXT_MAX:
        raise WrongInput("evaluation.hint.too_long", limit=TEXT_MAX)
    return Answer(text=text)
