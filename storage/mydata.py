"""Everything stored about one person beyond their profile, for /mydata: answers to events and
check-ins, questionnaires, and what they did as a coordinator (reports taken, actions, questions
to reporters, events created, broadcasts made, groups linked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database


@dataclass(frozen=True)
class Record:
    rsvps: list[dict[str, object]]
    evaluations: list[dict[str, object]]
    taken: list[dict[str, object]]
    incident_actions: list[dict[str, object]]
    questions: list[dict[str, object]]
    events_created: list[dict[str, object]]
    broadcasts: list[dict[str, object]]
    groups: list[dict[str, object]]


def _dicts(rows: list[aiosqlite.Row]) -> list[dict[str, object]]:
    return [dict(zip(row.keys(), tuple(row), strict=True)) for row in rows]


async def gather(db: Database, member_id: int, telegram_id: int) -> Record:
    async def rows(sql: str, *params: object) -> list[dict[str, object]]:
        return _dicts(await db.fetchall(sql, params))

    return Record(
        rsvps=await rows(
            "SELECT r.event_id, e.title, r.answer, r.answered_at, r.checked_in_at"
            " FROM rsvps r JOIN events e ON e.id = r.event_id WHERE r.member_id = ?"
            " ORDER BY e.starts_at",
            member_id,
        ),
        evaluations=await rows(
            "SELECT p.event_id, e.title, p.round, p.asked_at, p.answered,"
            " p.draft IS NOT NULL AS started FROM evaluation_participants p"
            " JOIN events e ON e.id = p.event_id WHERE p.member_id = ?"
            " ORDER BY p.asked_at",
            member_id,
        ),
        taken=await rows(
            "SELECT id, state, acknowledged_at FROM incidents WHERE assignee_telegram_id = ?"
            " ORDER BY id",
            telegram_id,
        ),
        incident_actions=await rows(
            "SELECT incident_id, at, action, detail FROM incident_timeline WHERE actor = ?"
            " ORDER BY id",
            telegram_id,
        ),
        # their own questions, not the reporters' answers: those belong to the report (and
        # to whoever may see it now, which a former coordinator may not)
        questions=await rows(
            "SELECT incident_id, question, asked_at, answered_at"
            " FROM incident_questions WHERE asked_by = ? ORDER BY id",
            telegram_id,
        ),
        events_created=await rows(
            "SELECT id, title, starts_at, status FROM events WHERE created_by = ? ORDER BY id",
            member_id,
        ),
        broadcasts=await rows(
            "SELECT id, kind, created_at, total FROM broadcasts WHERE created_by = ? ORDER BY id",
            telegram_id,
        ),
        groups=await rows(
            "SELECT chat_id, title, region_code, linked_at, active FROM region_groups"
            " WHERE linked_by = ? ORDER BY linked_at",
            member_id,
        ),
    )
