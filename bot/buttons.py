"""Button data, once per prefix: a `Codec` packs the values of a button into its callback data
and parses them back, checking each part, so that no handler splits strings by hand.

    CARD = Codec("inc", Word("ack", "snz", "res"), Num())
    CARD.pack("ack", 12)          -> "inc:ack:12"
    CARD.parse("inc:ack:12")      -> ("ack", 12)
    CARD.parse("inc:ack:12abc")   -> raises WrongInput("dialog.stale")

Button data comes from the person's client and may be forged or from an older version of the
bot: `parse` refuses anything that is not exactly what `pack` makes (the number of parts, digits
only and short for numbers, one of the known words). Telegram allows 64 bytes; `pack` refuses
more, so a long value fails when the button is made, not when it is pressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.refusals import WrongInput

MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
STALE = "dialog.stale"  # 'this button no longer works': the text for data that does not parse
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


class Field:
    """One part of the data between colons."""

    def pack(self, value: Any) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """The value, or ValueError."""
        raise NotImplementedError


@dataclass(frozen=True)
class Num(Field):
    """A whole number >= 0 (an id, a page, an index): ASCII digits only, at most `digits`."""

    digits: int = 9

    def pack(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"not a number for a button: {value!r}")
        return str(self.parse(str(value)))

    def parse(self, text: str) -> int:
        if not (text.isascii() and text.isdigit() and len(text) <= self.digits):
            raise ValueError(text)
        return int(text)


class Word(Field):
    """One of a few known words (an action, a choice)."""

    def __init__(self, *choices: str) -> None:
        if not choices or any(not _TOKEN.fullmatch(c) for c in choices):
            raise ValueError(f"bad choices: {choices!r}")
        self.choices = frozenset(choices)

    def pack(self, value: Any) -> str:
        return self.parse(str(value))

    def parse(self, text: str) -> str:
        if text not in self.choices:
            raise ValueError(text)
        return text


@dataclass(frozen=True)
class Token(Field):
    """A short code made of letters, digits, '_' and '-' (a region code such as 'RU-SAM', a
    topic, a span such as '1h'); never free text."""

    longest: int = 24

    def pack(self, value: Any) -> str:
        return self.parse(str(value))

    def parse(self, text: str) -> str:
        if len(text) > self.longest or not _TOKEN.fullmatch(text):
            raise ValueError(text)
        return text


class Codec:
    """The callback data of one prefix: `prefix:field1:field2...`."""

    def __init__(self, prefix: str, *fields: Field) -> None:
        if not _TOKEN.fullmatch(prefix):
            raise ValueError(f"bad prefix: {prefix!r}")
        self.prefix = prefix
        self.fields = fields

    @property
    def pattern(self) -> str:
        """For CallbackQueryHandler: every button of this prefix (the codec then checks it)."""
        return f"^{re.escape(self.prefix)}:"

    def pack(self, *values: Any) -> str:
        if len(values) != len(self.fields):
            raise ValueError(f"{self.prefix}: {len(values)} values for {len(self.fields)} fields")
        data = ":".join(
            [self.prefix, *(f.pack(v) for f, v in zip(self.fields, values, strict=True))]
        )
        if len(data.encode()) > MAX_CALLBACK_DATA:
            raise ValueError(f"callback data too long: {data!r}")
        return data

    def parse(self, data: str | None) -> tuple[Any, ...]:
        """The values, or WrongInput (a forged, cut or outdated button)."""
        parts = (data or "").split(":")
        if parts[0] != self.prefix or len(parts) != len(self.fields) + 1:
            raise WrongInput(STALE)
        try:
            return tuple(f.parse(p) for f, p in zip(self.fields, parts[1:], strict=True))
        except ValueError:
            raise WrongInput(STALE) from None

    def matches(self, data: str | None) -> bool:
        try:
            self.parse(data)
        except WrongInput:
            return False
        return True


def parse_any(data: str | None, *codecs: Codec) -> tuple[Codec, tuple[Any, ...]]:
    """The first of several shapes of one prefix that fits (e.g. 'inc:ack:12' and
    'inc:snz:12:1h'), with its values; WrongInput when none does."""
    for codec in codecs:
        try:
            return codec, codec.parse(data)
        except WrongInput:
            continue
    raise WrongInput(STALE)


class Choices:
    """The buttons of one dialogue: `prefix:word[:value...]`, every part a short Token.

    A dialogue's buttons are read by its match arms, whose guards check each value against the
    step that is open (a region that exists, a choice of this question): the step is known
    there, not here. This codec checks the shape once for all of them, so a forged or cut
    button is stale before any arm sees it, and every button of the flow is made by `pack`.
    The shared Back / Cancel / Clear of every dialogue are DIALOG's ('dlg:back' ...)."""

    def __init__(self, prefix: str, most: int = 3) -> None:
        if not _TOKEN.fullmatch(prefix):
            raise ValueError(f"bad prefix: {prefix!r}")
        self.prefix = prefix
        self.most = most
        self._part = Token()

    @property
    def pattern(self) -> str:
        """For CallbackQueryHandler: every button of this dialogue (the codec then checks it)."""
        return f"^{re.escape(self.prefix)}:"

    def pack(self, *parts: Any) -> str:
        if not 1 <= len(parts) <= self.most:
            raise ValueError(f"{self.prefix}: {len(parts)} parts")
        data = ":".join([self.prefix, *(self._part.pack(p) for p in parts)])
        if len(data.encode()) > MAX_CALLBACK_DATA:
            raise ValueError(f"callback data too long: {data!r}")
        return data

    def parse(self, data: str | None, *, shared: bool = True) -> list[str]:
        """The parts with the prefix first ('rep', 'cat', 'work'), for a match; DIALOG's buttons
        too when `shared`. WrongInput for anything `pack` does not make."""
        parts = (data or "").split(":")
        known = parts[0] == self.prefix or (shared and parts[0] == DIALOG_PREFIX)
        if not known or not 2 <= len(parts) <= self.most + 1:
            raise WrongInput(STALE)
        try:
            for part in parts[1:]:
                self._part.parse(part)
        except ValueError:
            raise WrongInput(STALE) from None
        return parts


DIALOG_PREFIX = "dlg"
DIALOG = Choices(DIALOG_PREFIX, most=1)
BACK = DIALOG.pack("back")
CANCEL = DIALOG.pack("cancel")
CLEAR = DIALOG.pack("clear")
