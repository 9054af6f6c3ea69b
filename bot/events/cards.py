"""How an event is shown: its time in the reader's zone, the announcement, and the reader's own
answer on their copy (a line in the text and the marked button: "✅ Пойду", "⏳ Лист ожидания,
№1"), so that it stays visible after the pop-up is gone and after the event is edited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.buttons import Codec, Num, Word
from bot.i18n import t, tn
from bot.regions import Regions, Topic
from bot.timefmt import MOSCOW, zone_name
from storage.events import Event


@dataclass(frozen=True)
class Mark:
    """A member's answer as their copy shows it."""

    answer: str  # going, maybe, no, waitlist
    position: int | None = None  # on the waitlist: 1 is the next to get a place


LONGEST = Mark("waitlist", 99_999)  # for the length check of an announcement


# the buttons of an event's card: an answer, the calendar file, the card opened from /events
RSVP = Codec("ev", Num(), Word("going", "maybe", "no", "ics", "open"))


def mark_line(lang: str, mark: Mark | None) -> str | None:
    """'Ваш ответ: ✅ Пойду — …' at the end of the announcement; None before any answer."""
    if mark is None:
        return None
    if mark.answer == "waitlist":
        return t(lang, "events.mark.waitlist", position=mark.position or "?")
    return t(lang, f"events.mark.{mark.answer}")


def rsvp_markup(event_id: int, lang: str, mark: Mark | None = None) -> dict[str, object]:
    """The buttons under an announcement (as Bot API JSON, for the outbox): the chosen answer
    marked; a place on the waitlist is not shown as a seat."""

    def label(answer: str) -> str:
        if mark is not None and mark.answer == "waitlist" and answer == "going":
            return t(lang, "events.waitlist_button", position=mark.position or "?")
        chosen = mark is not None and mark.answer == answer
        return ("✅ " if chosen else "") + t(lang, f"events.answer.{answer}")

    return {
        "inline_keyboard": [
            [
                {"text": label("going"), "callback_data": RSVP.pack(event_id, "going")},
                {"text": label("maybe"), "callback_data": RSVP.pack(event_id, "maybe")},
            ],
            [{"text": label("no"), "callback_data": RSVP.pack(event_id, "no")}],
            [
                {
                    "text": t(lang, "events.add_to_calendar"),
                    "callback_data": RSVP.pack(event_id, "ics"),
                }
            ],
        ]
    }


def when_text(start: datetime, end: datetime, lang: str, zone: ZoneInfo) -> str:
    """'25 декабря 2026, 14:00–18:00 по Иркутску (09:00–13:00 МСК)'."""
    loc = lang if lang in ("ru", "en") else "ru"
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = format_datetime(local_start, "d MMMM y", locale=loc)
    if local_end.date() == local_start.date():
        span = f"{local_start:%H:%M}–{local_end:%H:%M}"
    else:
        end_day = format_datetime(local_end, "d MMMM, HH:mm", locale=loc)
        span = f"{local_start:%H:%M} – {end_day}"
    if start.astimezone(zone).utcoffset() == start.astimezone(MOSCOW).utcoffset():
        return t(lang, "events.when_moscow", day=day, span=span)
    msk_start, msk_end = start.astimezone(MOSCOW), end.astimezone(MOSCOW)
    msk = f"{msk_start:%H:%M}–{msk_end:%H:%M}"
    if msk_start.date() != local_start.date() or msk_end.date() != msk_start.date():
        first = format_datetime(msk_start, "d MMMM, HH:mm", locale=loc)
        last = format_datetime(msk_end, "d MMMM, HH:mm", locale=loc)
        msk = (
            f"{first} – {last}"
            if msk_end.date() != msk_start.date()
            else (f"{first}–{msk_end:%H:%M}")
        )
    return t(
        lang, "events.when_local", day=day, span=span, zone=zone_name(zone, lang, start), msk=msk
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def announcement(
    event: Event,
    lang: str,
    zone: ZoneInfo,
    regions: Regions,
    topics: list[Topic],
    *,
    places_left: int | None = None,
    mark: Mark | None = None,
) -> str:
    """The announcement exactly as a member reads it (with their own answer, if any)."""
    lines = [
        t(lang, "events.card_title", title=_esc(event.title)),
        t(lang, "events.card_when", when=when_text(event.starts_at, event.ends_at, lang, zone)),
    ]
    if event.place:
        lines.append(t(lang, "events.card_place", place=_esc(event.place)))
    if event.online_url:
        lines.append(t(lang, "events.card_online", url=_esc(event.online_url)))
    lines.append("")
    lines.append(_esc(event.description))
    if event.program:
        lines.append("")
        lines.append(t(lang, "events.card_program"))
        lines.extend(f"• {_esc(block)}" for block in event.program)
    footer: list[str] = []
    names = [r.name(lang) for code in event.regions if (r := regions.get(code))]
    if len(names) <= 5:
        footer.append(t(lang, "events.card_regions", regions=_esc(", ".join(names))))
    else:
        footer.append(tn(lang, "events.card_many_regions", len(names)))
    if event.topics:
        chosen = [tp.name(lang) for tp in topics if tp.code in event.topics]
        footer.append(t(lang, "events.card_topics", topics=_esc(", ".join(chosen))))
    if event.capacity is not None:
        if places_left is None:
            footer.append(tn(lang, "events.card_capacity", event.capacity))
        else:
            footer.append(tn(lang, "events.card_places_left", max(places_left, 0)))
    lines.append("")
    lines.extend(footer)
    answered = mark_line(lang, mark)
    if answered:
        lines += ["", answered]
    return "\n".join(lines)
