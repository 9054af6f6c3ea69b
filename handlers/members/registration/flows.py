"""The records of the two dialogues (handlers/dialog.py), registered in bot/runtime/app.py."""

from __future__ import annotations

from handlers.dialog import Flow
from handlers.members import drafts
from handlers.members.registration.buttons import press_button
from handlers.members.registration.steps import REG, SET, ProfileAnswers, question
from handlers.members.registration.typed import answer_text

REG_FLOW = Flow(
    REG,
    render=question,
    on_text=drafts.answer_text,  # after a pause: where they stopped
    on_button=press_button,
    prefix="reg",
    steps=(
        "consent",
        "name",
        "org",
        "region_confirm",
        "district",
        "alpha",
        "region",
        "region_pick",
        "topics",
        "summary",
        "edit",
    ),
    data=ProfileAnswers,
)
SET_FLOW = Flow(
    SET,
    render=question,
    on_text=answer_text,
    on_button=press_button,
    prefix="set",
    steps=(
        "settings",
        "name",
        "org",
        "district",
        "alpha",
        "region",
        "region_pick",
        "topics",
        "lang",
    ),
    may_use=lambda caller: caller.is_member,
    data=ProfileAnswers,
)
