"""Evaluations: a participant answers the questionnaire (buttons, typed text, voice:
answering.py), and coordinators read the results (/evaluation, /evaluations: results.py).
Rules live in bot/evaluations/."""

from handlers.evaluations.answering import (
    ANSWER_PATTERN,
    EVL,
    FLOW,
    answer_typed,
    press_answer,
    show_again,
    typed_without_dialogue,
)
from handlers.evaluations.results import (
    COMPARE_PATTERN,
    REPORT_PATTERN,
    compare_evaluations,
    press_compare,
    press_report,
    show_evaluation,
)

__all__ = [
    "ANSWER_PATTERN",
    "COMPARE_PATTERN",
    "EVL",
    "FLOW",
    "REPORT_PATTERN",
    "answer_typed",
    "compare_evaluations",
    "press_answer",
    "press_compare",
    "press_report",
    "show_again",
    "show_evaluation",
    "typed_without_dialogue",
]
