"""Pieces of the coordinators' evaluation messages kept beside bot/evaluations/reports.py: the
written answers under their question, the captions that say what each chart shows, and the
labels that tell events apart (two on the same day, even with the same title)."""

from __future__ import annotations

import html
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.i18n import t

if TYPE_CHECKING:
    from storage.events import Event

TEXTS_SHOWN = 30  # written answers listed in the chat per question (all are in the export)
TEXT_SHOWN_MAX = 1000  # characters of one answer in the chat (the export has all of it)


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def written_answers(texts: list[str], lang: str) -> list[str]:
    """The written answers to one question, one line each, to go right under it."""
    lines = [
        "— " + esc(text if len(text) <= TEXT_SHOWN_MAX else text[: TEXT_SHOWN_MAX - 1] + "…")
        for text in texts[:TEXTS_SHOWN]
    ]
    if len(texts) > TEXTS_SHOWN:
        lines.append(t(lang, "evaluation.report.more_in_file", n=len(texts) - TEXTS_SHOWN))
    return lines


def event_label(event: Event, zone: ZoneInfo) -> str:
    """An event in a table or on a chart: its number (as /evaluation takes it), day, title."""
    return f"№{event.id} {event.starts_at.astimezone(zone):%d.%m} {event.title}"


def events_key(events: list[Event], zone: ZoneInfo, lang: str) -> list[str]:
    """Under the table: each number with its full title and start, for the labels cut short."""
    return [
        t(
            lang,
            "evaluation.compare.event_key",
            id=event.id,
            title=esc(event.title),
            when=f"{event.starts_at.astimezone(zone):%d.%m %H:%M}",
        )
        for event in events
    ]


def event_chart_caption(title: str, day: str, restricted: bool, lang: str, *, most: int) -> str:
    """What the event chart shows, said under it."""
    caption = t(lang, "evaluation.chart.caption", title=esc(title[:200]), date=day)
    if restricted:
        caption += "\n" + t(lang, "evaluation.chart.caption_yours", most=most)
    return caption


def comparison_chart_caption(start: date, end: date, lang: str, *, most: int) -> str:
    return t(
        lang,
        "evaluation.compare.chart_caption",
        start=f"{start:%d.%m.%Y}",
        end=f"{end:%d.%m.%Y}",
        most=most,
    )
