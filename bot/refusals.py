"""Refusals: why the bot does not do what was asked, as a catalog key and its placeholders.

Two kinds, kept apart because they mean different things to the person and in the logs:

- `NotAllowed`: the caller may not do this (their role, their region, not their report). The
  answer says who may; nothing about the thing itself is revealed.
- `WrongInput`: what came cannot be used (a forged or outdated button, a date that is no date,
  an unknown code). The answer says what is expected.

The rules raise them; `handlers.common.tell_refusal` renders either in the person's language
(a reply to a message, an alert on a button).
"""

from __future__ import annotations


class Refused(Exception):
    """The request is refused; `key` names the catalog text that explains why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params  # placeholders of the text


class NotAllowed(Refused):
    """The caller may not do this."""


class WrongInput(Refused):
    """The input (typed text, button data, a command's arguments) cannot be used."""
