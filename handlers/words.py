"""Typed words that work like buttons, for every dialogue: "отмена", "назад", "да", "готово" ...

The word lists are in the catalogs (bot/locales/*.toml, table `words`, "|" between the words);
the words of every language are accepted, whatever the person's language, so that someone who
types in the other language is understood. A flow maps the words to its own buttons (see
handlers/members/registration/typed.py, handlers/incidents/fast.py); `typed_button` here knows
only the ones every dialogue has: Cancel and Back (dlg:cancel, dlg:back).
"""

from __future__ import annotations

import re

from bot.i18n import LANGUAGES, t
from storage.dialogs import Dialog


def typed_words(text: str) -> str:
    """Typed text as bare lower-case words: "✅ Готово!" reads "готово"."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def words(name: str) -> frozenset[str]:
    """The words of the catalogs' list `words.<name>`, in every language."""
    return frozenset(
        typed_words(word) for lang in LANGUAGES for word in t(lang, f"words.{name}").split("|")
    )


def labels(*keys: str) -> frozenset[str]:
    """The words of these buttons' labels in either catalog (what a person copies)."""
    return frozenset(typed_words(t(lang, key)) for key in keys for lang in LANGUAGES)


CANCEL_WORDS = words("cancel")
BACK_WORDS = words("back")
YES_WORDS = words("yes")
NO_WORDS = words("no")
AGREE_WORDS = words("agree")
DISAGREE_WORDS = words("disagree")
NEXT_WORDS = words("next")
DONE_WORDS = words("done") | NEXT_WORDS
# A question that can be skipped or ended early (the details after a fast report): "дальше"
# there means "skip this one"; "готово" means "that is all", as at the registration's topics.
SKIP_WORDS = labels("incidents.fast_skip") | words("skip") | NEXT_WORDS
FINISH_WORDS = labels("incidents.fast_finish") | (DONE_WORDS - NEXT_WORDS) | words("finish")
# Who sends a report: the words of its two buttons, and their plain forms.
ANONYMOUS_WORDS = labels("incidents.fast_make_anonymous") | words("anonymous")
NAMED_WORDS = labels("incidents.fast_make_named") | words("named")


def yes_or_no(text: str) -> bool:
    word = typed_words(text)
    return word in YES_WORDS or word in NO_WORDS


def typed_button(dialog: Dialog, text: str) -> list[str] | None:
    """The shared button a typed word stands for in any dialogue: Cancel or Back."""
    word = typed_words(text)
    if word in CANCEL_WORDS:
        return ["dlg", "cancel"]
    if word in BACK_WORDS:
        return ["dlg", "back"]
    return None
