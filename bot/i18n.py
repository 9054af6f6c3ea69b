"""Translations: TOML catalogs under bot/locales/ (ru is the default), CLDR plural forms.

A catalog value is a string with `{placeholders}`, or a table of plural forms
(one / few / many / other) chosen by Babel's CLDR rules for the number `n`.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from babel import Locale

LANGUAGES = ("ru", "en")
DEFAULT = "ru"


def _flatten(prefix: str, table: dict[str, Any], into: dict[str, Any]) -> None:
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and "other" not in value:
            _flatten(f"{full}.", value, into)
        else:
            into[full] = value


@cache
def catalog(lang: str) -> dict[str, Any]:
    text = resources.files("bot.locales").joinpath(f"{lang}.toml").read_text("utf-8")
    flat: dict[str, Any] = {}
    _flatten("", tomllib.loads(text), flat)
    return flat


def language_for(code: str | None, default: str = DEFAULT) -> str:
    """Our language for a Telegram `language_code` ('en-GB' -> 'en'; unknown -> default)."""
    if code:
        base = code.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return default


def _lookup(lang: str, key: str) -> Any:
    lang = lang if lang in LANGUAGES else DEFAULT
    value = catalog(lang).get(key)
    if value is None:
        value = catalog(DEFAULT).get(key)
    if value is None:
        raise KeyError(f"no translation for {key!r}")
    return value


def t(lang: str, key: str, /, **params: Any) -> str:
    value = _lookup(lang, key)
    if isinstance(value, dict):
        raise KeyError(f"{key!r} has plural forms; use tn()")
    return str(value).format(**params) if params else str(value)


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_form(lang: str, n: int) -> str:
    return str(_locale(lang if lang in LANGUAGES else DEFAULT).plural_form(abs(n)))


def tn(lang: str, key: str, n: int, /, **params: Any) -> str:
    """Plural-aware: tn('ru', 'members.count', 5) -> '5 участников'."""
    value = _lookup(lang, key)
    if not isinstance(value, dict):
        raise KeyError(f"{key!r} has no plural forms")
    form = plural_form(lang, n)
    text = value.get(form) or value["other"]
    return str(text).format(n=n, **params)
