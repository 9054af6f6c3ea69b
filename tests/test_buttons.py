"""Button data, once per prefix (bot/buttons.py): what `pack` makes `parse` reads back, and
anything else (forged, cut, too long, of an older version) is a WrongInput, never a crash."""

from __future__ import annotations

import pytest

from bot.buttons import BACK, CANCEL, Choices, Codec, Num, Token, Word, parse_any
from bot.refusals import NotAllowed, Refused, WrongInput

CARD = Codec("inc", Word("ack", "res"), Num())
SNOOZE = Codec("inc", Word("snz"), Num(), Token(4))


def test_what_is_packed_parses_back() -> None:
    assert CARD.pack("ack", 12) == "inc:ack:12"
    assert CARD.parse("inc:ack:12") == ("ack", 12)
    assert SNOOZE.parse(SNOOZE.pack("snz", 7, "1h")) == ("snz", 7, "1h")
    assert CARD.matches("inc:res:0") and not CARD.matches("inc:snz:1:1h")
    assert CARD.pattern == "^inc:"


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "inc",
        "inc:ack",
        "inc:ack:12:extra",
        "inc:del:12",  # an action this prefix does not have
        "inc:ack:-1",
        "inc:ack:1e3",
        "inc:ack:²",  # a digit, but not an ASCII one
        "inc:ack:" + "9" * 10,  # longer than the database's ids
        "evt:ack:12",  # another prefix
        "inc:ACK:12",
    ],
)
def test_anything_else_is_wrong_input(data: str | None) -> None:
    with pytest.raises(WrongInput) as caught:
        CARD.parse(data)
    assert caught.value.key == "dialog.stale"
    assert not isinstance(caught.value, NotAllowed)


def test_several_shapes_of_one_prefix() -> None:
    assert parse_any("inc:snz:3:2h", CARD, SNOOZE) == (SNOOZE, ("snz", 3, "2h"))
    assert parse_any("inc:ack:3", CARD, SNOOZE) == (CARD, ("ack", 3))
    with pytest.raises(WrongInput):
        parse_any("inc:snz:3:a b", CARD, SNOOZE)  # a token is never free text


def test_a_button_that_cannot_be_made_fails_when_made() -> None:
    with pytest.raises(ValueError):
        CARD.pack("ack")  # a value missing
    with pytest.raises(ValueError):
        CARD.pack("del", 1)
    with pytest.raises(ValueError):
        CARD.pack("ack", -5)
    with pytest.raises(ValueError):
        CARD.pack("ack", True)
    with pytest.raises(ValueError):
        Codec("x" * 40, Token(30)).pack("y" * 30)  # over Telegram's 64 bytes


def test_the_two_refusals_are_different_kinds() -> None:
    assert issubclass(WrongInput, Refused) and issubclass(NotAllowed, Refused)
    assert not issubclass(WrongInput, NotAllowed) and not issubclass(NotAllowed, WrongInput)
    refusal = NotAllowed("denied.admin_only", region="RU-SAM")
    assert (refusal.key, refusal.params) == ("denied.admin_only", {"region": "RU-SAM"})


def test_a_dialogues_buttons_have_one_shape() -> None:
    """Choices: the buttons of a dialogue (and the shared dlg: ones) are short tokens; the
    flow's match arms check what each value may be at the open step."""
    rep = Choices("rep")
    assert rep.pack("cat", "hate_speech") == "rep:cat:hate_speech"
    assert rep.parse("rep:region:RU-SAM") == ["rep", "region", "RU-SAM"]
    assert rep.parse(BACK) == ["dlg", "back"] and rep.parse(CANCEL) == ["dlg", "cancel"]
    assert rep.pattern == "^rep:"
    for forged in (
        None,
        "",
        "rep",
        "rep:",
        "evt:cat:x",
        "rep:a:b:c:d",
        "rep:cat:a b",
        "rep:cat:<b>",
        "rep:" + "x" * 30,
        "rep::x",
    ):
        with pytest.raises(WrongInput):
            rep.parse(forged)
    with pytest.raises(WrongInput):
        rep.parse(CANCEL, shared=False)
    with pytest.raises(ValueError):
        rep.pack("cat", "two words")
    with pytest.raises(ValueError):
        rep.pack()
    with pytest.raises(ValueError):
        Choices("rep", most=9).pack(*["x" * 20] * 4)  # over Telegram's 64 bytes
