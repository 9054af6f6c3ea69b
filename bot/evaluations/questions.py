"""The questions of an evaluation (built-in templates and a coordinator's own) and how each
is shown to the person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.buttons import Codec, Num, Token, Word
from bot.evaluations.views import esc
from bot.i18n import t
from bot.refusals import WrongInput
from bot.timefmt import moment
from storage.evaluations import EvaluationConfig
from storage.events import Event

ROUND_CODES = {"m": "main", "f": "followup"}
CODE_OF = {v: k for k, v in ROUND_CODES.items()}
# The questionnaire's buttons: an answer (eva:<event>:<m|f>:<question>:<value>; the value is a
# mark, an option's number, b<block> or s for skip, checked by `record`) and going on / again.
ANSWER = Codec("eva", Num(), Word(*ROUND_CODES), Num(), Token(8))
GO = Codec("eva", Num(), Word(*ROUND_CODES), Word("go", "redo"))
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
    """A coordinator's own question, checked (WrongInput with a hint when it does not fit)."""
    text = " ".join(text.split())
    if kind not in KINDS:
        raise WrongInput("dialog.stale")
    if not 3 <= len(text) <= CUSTOM_TEXT_MAX:
        raise WrongInput("evaluation.hint.custom_text", limit=CUSTOM_TEXT_MAX)
    if kind != "choice":
        return {"kind": kind, "text": text}
    cleaned = [" ".join(o.split()) for o in options if o.strip()]
    if not 2 <= len(cleaned) <= CUSTOM_OPTIONS_MAX or any(
        len(o) > CUSTOM_OPTION_MAX for o in cleaned
    ):
        raise WrongInput(
            "evaluation.hint.custom_options", most=CUSTOM_OPTIONS_MAX, limit=CUSTOM_OPTION_MAX
        )
    return {"kind": kind, "text": text, "options": cleaned}


# ---------------------------------------------------------------- what the person sees


def question_text(question: Question, lang: str) -> str:
    if question.text is not None:
        return esc(question.text)
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

    def data(value: object) -> str:
        return ANSWER.pack(event.id, CODE_OF[round_], index, value)

    header = t(
        lang,
        "evaluation.header",
        title=esc(event.title),
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
            rows.append([{"text": label, "callback_data": data(value)}])
    elif question.kind == "choice":
        for n, option in enumerate(question.options):
            rows.append([{"text": option_label(question, option, lang), "callback_data": data(n)}])
    elif question.kind == "block":
        if event.program:
            lines.append(t(lang, "evaluation.block_hint"))
            for n, block in enumerate(event.program):
                rows.append([{"text": block[:60], "callback_data": data(f"b{n}")}])
        else:
            lines.append(t(lang, "evaluation.text_hint"))
    else:
        key = "evaluation.voice_hint" if question.key == "improve" else "evaluation.text_hint"
        lines.append(t(lang, key))
    if question.skippable:
        rows.append([{"text": t(lang, "evaluation.skip"), "callback_data": data("s")}])
    return "\n\n".join(lines), {"inline_keyboard": rows}


def invitation(
    event: Event, config: EvaluationConfig, round_: str, lang: str, zone: Any
) -> tuple[str, dict[str, Any]]:
    questions = questions_of(config, round_)
    key = "evaluation.invite_followup" if round_ == "followup" else "evaluation.invite"
    intro = t(
        lang,
        key,
        title=esc(event.title),
        date=moment(event.starts_at, lang, zone).split(",")[0],
        total=len(questions),
    )
    if config.anonymous:
        intro += "\n" + t(lang, "evaluation.anonymous_note")
    return render(event, round_, questions, 0, lang, intro=intro)
