"""Registration (/start) and profile settings (/settings): one dialogue engine, two flows.

Each step is one question in one message. Button answers edit that message in place; typed
answers get the next question as a new message. Only the buttons of the current question are
live: a button of an old step brings the open question back (handlers/dialog.py). The state is a
row in SQLite (bot/dialogs.py).

- steps.py: the steps and how each is shown (`question`); the flows' records;
- entry.py: /start with its links, /settings; consent.py: the consent question (nothing stored);
- buttons.py, typed.py: what a button and a typed answer do; moves.py: moving between steps.
"""

from handlers.members.registration.buttons import press_button
from handlers.members.registration.entry import open_settings, start_registration
from handlers.members.registration.flows import REG_FLOW, SET_FLOW
from handlers.members.registration.moves import CANCELLED, cancel_dialog
from handlers.members.registration.steps import (
    CALLBACK_PATTERN,
    REG,
    SET,
    member_data,
    profile_text,
    question,
)
from handlers.members.registration.typed import answer_text, typed_button
from handlers.words import ANONYMOUS_WORDS, FINISH_WORDS, NAMED_WORDS, SKIP_WORDS, typed_words

__all__ = [
    "ANONYMOUS_WORDS",  # the incidents' typed words, kept here for handlers/incidents/fast.py
    "CALLBACK_PATTERN",
    "CANCELLED",
    "FINISH_WORDS",
    "NAMED_WORDS",
    "REG",
    "REG_FLOW",
    "SET",
    "SET_FLOW",
    "SKIP_WORDS",
    "answer_text",
    "cancel_dialog",
    "member_data",
    "open_settings",
    "press_button",
    "profile_text",
    "question",
    "start_registration",
    "typed_button",
    "typed_words",
]
