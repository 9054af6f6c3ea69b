"""Does a message read like a call for help? Typed with no question open, such a message is
answered with the emergency number and /report, never stored as an answer to anything."""

from __future__ import annotations

import re

# Word beginnings (Russian stems cover the endings: угрожают, угрожали, угрозы ...).
_STEMS = (
    "помоги",
    "помогит",
    "спасите",
    "спасти",
    "угрож",
    "угроз",
    "избил",
    "избив",
    "избит",
    "бьют",
    "побил",
    "напал",
    "нападен",
    "убива",
    "убить",
    "убьют",
    "убил",
    "поджог",
    "подожг",
    "зарезат",
    "ранен",
    "похитил",
    "преследу",
    "sos",
    "help",
    "threat",
    "attack",
    "beaten",
    "beating",
    "kill",
    "hurt",
    "danger",
    "опасност",
)
_WORD = re.compile(r"\b(" + "|".join(_STEMS) + r")", re.IGNORECASE)


def sounds_like_help(text: str | None) -> bool:
    """True for 'Помогите!', 'нам угрожают', 'вчера избили брата', 'help us' ..."""
    if not text:
        return False
    return _WORD.search(text.replace("ё", "е").replace("Ё", "Е")[:4000]) is not None
