"""/mydata beyond the profile: event answers and check-ins, questionnaires, actions as a
coordinator and groups linked, for the JSON file and for the readable list in the person's
language (sent as a file when it does not fit one message)."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

from bot.i18n import t
from bot.regions import Regions
from bot.timefmt import moment
from storage.clock import from_db
from storage.db import Storage
from storage.members import Member
from storage.mydata import Record, gather
from storage.roles import ALL_REGIONS

MESSAGE_LIMIT = 4096  # Telegram's limit of one message


async def record(storage: Storage, member: Member, telegram_id: int) -> Record:
    return await gather(storage.db, member.id, telegram_id)


def sections(found: Record) -> dict[str, Any]:
    """The JSON file's sections (ids, times and texts as stored)."""

    def plain(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        out = []
        for row in rows:
            item = dict(row)
            if "draft" in item:
                item.pop("draft")
            for key in ("answered", "started", "active"):
                if key in item:
                    item[key] = bool(item[key])
            out.append(item)
        return out

    return {
        "event_answers": plain(found.rsvps),
        "questionnaires": plain(found.evaluations),
        "as_coordinator": {
            "reports_taken": plain(found.taken),
            "report_actions": plain(found.incident_actions),
            "questions_to_reporters": plain(found.questions),
            "events_created": plain(found.events_created),
            "broadcasts": plain(found.broadcasts),
        },
        "groups_linked": plain(found.groups),
    }


def _esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def _day(value: object, lang: str, regions: Regions, member: Member) -> str:
    """A stored moment (or a datetime) in the reader's time, with the zone named."""
    when = value if isinstance(value, datetime) else from_db(str(value))
    return moment(when, lang, regions.zone(member.region_code))


def _roles(lang: str, roles: list[str], regions: Regions, is_admin: bool) -> list[str]:
    names = [t(lang, "mydata.role_admin")] if is_admin else []
    for code in roles:
        if code == ALL_REGIONS:
            names.append(t(lang, "mydata.role_federal"))
        else:
            place = regions.get(code)
            names.append(
                t(lang, "mydata.role_regional", region=_esc(place.name(lang) if place else code))
            )
    return names


def _events(lang: str, found: Record, regions: Regions, member: Member) -> list[str]:
    lines = []
    for row in found.rsvps:
        checked = (
            t(lang, "mydata.checked_in", at=_day(row["checked_in_at"], lang, regions, member))
            if row["checked_in_at"]
            else ""
        )
        lines.append(
            t(
                lang,
                "mydata.event_line",
                title=_esc(row["title"]),
                answer=t(lang, f"events.answer.{row['answer']}")
                if row["answer"] != "waitlist"
                else t(lang, "mydata.waitlist"),
                checked=checked,
            )
        )
    return lines


def _evaluations(lang: str, found: Record) -> list[str]:
    lines = []
    for row in found.evaluations:
        state = "answered" if row["answered"] else ("started" if row["started"] else "asked")
        lines.append(
            t(
                lang,
                "mydata.evaluation_line",
                title=_esc(row["title"]),
                round=t(lang, f"mydata.round.{row['round']}"),
                state=t(lang, f"mydata.evaluation_state.{state}"),
            )
        )
    return lines


def _groups(lang: str, found: Record, regions: Regions) -> list[str]:
    lines = []
    for row in found.groups:
        place = regions.get(str(row["region_code"]))
        lines.append(
            t(
                lang,
                "mydata.group_line",
                title=_esc(row["title"] or row["chat_id"]),
                region=_esc(place.name(lang) if place else row["region_code"]),
            )
        )
    return lines


def summary(
    member: Member,
    roles: list[str],
    reports: int,
    found: Record,
    regions: Regions,
    *,
    profile: str,
    is_admin: bool,
) -> str:
    """Everything stored, in words, in the person's language (`profile`: the /me card)."""
    lang = member.language
    none = [t(lang, "mydata.none")]
    lines = [
        t(lang, "mydata.title"),
        profile,
        t(
            lang,
            "mydata.consent",
            version=_esc(member.consent_version or "—"),
            at=_day(member.consent_at, lang, regions, member) if member.consent_at else "—",
        ),
    ]
    role_names = _roles(lang, roles, regions, is_admin)
    lines.append(t(lang, "mydata.roles", roles=", ".join(role_names) or none[0]))
    lines.append("\n" + t(lang, "mydata.events_title"))
    lines += _events(lang, found, regions, member) or none
    lines.append("\n" + t(lang, "mydata.evaluations_title"))
    lines += _evaluations(lang, found) or none
    lines.append("\n" + t(lang, "mydata.reports", n=reports))
    lines.append(
        t(
            lang,
            "mydata.coordinator",
            taken=len(found.taken),
            actions=len(found.incident_actions),
            questions=len(found.questions),
            events=len(found.events_created),
            broadcasts=len(found.broadcasts),
        )
    )
    lines.append("\n" + t(lang, "mydata.groups_title"))
    lines += _groups(lang, found, regions) or none
    lines.append("\n" + t(lang, "mydata.file_note"))
    return "\n".join(lines)


def as_file(text: str) -> bytes:
    """The readable list as a plain text file (no markup), for when it is too long."""
    plain = html.unescape(text.replace("<b>", "").replace("</b>", ""))
    return plain.encode("utf-8")


def dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
