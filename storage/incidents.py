"""Incident reports, attachments, escalation steps, the timeline and relayed questions.

State changes are conditional UPDATEs (a second "Беру в работу" changes nothing). Every method
joins the transaction its caller has open (the unit of work), so that a state change, its
notifications (outbox rows) and its timeline entry are written together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from storage.clock import from_db, from_db_opt, to_db

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database, Tx

OPEN_STATES = ("new", "acknowledged")


@dataclass(frozen=True)
class NewIncident:
    code: str
    reporter_member_id: int | None  # None: anonymous
    danger: bool
    category: str
    urgency: str
    region_code: str
    place: str | None
    latitude: float | None
    longitude: float | None
    happened_on: date
    description: str
    language: str
    policy: dict[str, Any]
    attachments: tuple[tuple[str, str], ...] = ()  # (kind, file_id)


@dataclass(frozen=True)
class Incident:
    id: int
    code: str
    reporter_member_id: int | None
    anonymous: bool
    danger: bool
    category: str
    urgency: str
    region_code: str
    place: str | None
    latitude: float | None
    longitude: float | None
    happened_on: date
    description: str
    language: str
    state: str
    level: int
    assignee_telegram_id: int | None
    assignee_name: str | None
    outcome: str | None
    policy: dict[str, Any]
    snoozed_until: datetime | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    progress_at: datetime | None
    closed_at: datetime | None
    abuse: bool = False  # a coordinator marked it as abuse
    purged_at: datetime | None = None  # its personal details were removed (retention)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class Attachment:
    id: int
    kind: str
    file_id: str


@dataclass(frozen=True)
class Step:
    id: int
    incident_id: int
    kind: str
    level: int
    due_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: int | None
    actor_name: str | None
    action: str
    detail: str | None


ERASED_ASKER = 0  # incident_questions.asked_by of a coordinator who used /forget


@dataclass(frozen=True)
class Question:
    id: int
    incident_id: int
    asked_by: int  # the coordinator's Telegram id; ERASED_ASKER once they erased their data
    question: str
    asked_at: datetime
    answer: str | None
    answered_at: datetime | None


class IncidentRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---------------------------------------------------------------- reading

    async def get(self, incident_id: int) -> Incident | None:
        row = await self._db.fetchone("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        return _incident(row) if row else None

    async def by_code(self, code: str) -> Incident | None:
        row = await self._db.fetchone("SELECT * FROM incidents WHERE code = ?", (code,))
        return _incident(row) if row else None

    async def code_exists(self, code: str) -> bool:
        return (
            await self._db.fetchone("SELECT 1 FROM incidents WHERE code = ?", (code,)) is not None
        )

    async def attachments(self, incident_id: int) -> list[Attachment]:
        rows = await self._db.fetchall(
            "SELECT id, kind, file_id FROM incident_attachments WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [Attachment(r[0], r[1], r[2]) for r in rows]

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        rows = await self._db.fetchall(
            "SELECT at, actor, actor_name, action, detail FROM incident_timeline"
            " WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [TimelineEntry(from_db(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    async def actions_since(self, incident_id: int, action: str, since: datetime) -> int:
        """How many timeline entries of `action` the incident has had since `since`."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM incident_timeline WHERE incident_id = ? AND action = ?"
            " AND at > ?",
            (incident_id, action, to_db(since)),
        )
        return int(row[0]) if row else 0

    async def listing(
        self,
        regions: Sequence[str] | None,
        *,
        states: Sequence[str] = OPEN_STATES,
        region: str | None = None,
    ) -> list[Incident]:
        """Incidents in `states` of these regions (None: all), most urgent and oldest first."""
        sql = "SELECT * FROM incidents WHERE state IN ({})".format(",".join("?" * len(states)))
        params: list[object] = list(states)
        if regions is not None:
            sql += " AND region_code IN ({})".format(",".join("?" * len(regions)) or "NULL")
            params += list(regions)
        if region is not None:
            sql += " AND region_code = ?"
            params.append(region)
        sql += (
            " ORDER BY CASE urgency WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
            " WHEN 'normal' THEN 2 ELSE 3 END, created_at, id"
        )
        return [_incident(r) for r in await self._db.fetchall(sql, params)]

    async def of_reporter(self, member_id: int) -> list[Incident]:
        rows = await self._db.fetchall(
            "SELECT * FROM incidents WHERE reporter_member_id = ? ORDER BY id DESC",
            (member_id,),
        )
        return [_incident(r) for r in rows]

    async def created_between(self, start: datetime, end: datetime) -> list[Incident]:
        rows = await self._db.fetchall(
            "SELECT * FROM incidents WHERE created_at >= ? AND created_at < ? ORDER BY id",
            (to_db(start), to_db(end)),
        )
        return [_incident(r) for r in rows]

    async def due_steps(self, now: datetime, limit: int = 500) -> list[Step]:
        rows = await self._db.fetchall(
            "SELECT id, incident_id, kind, level, due_at FROM incident_steps"
            " WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (to_db(now), limit),
        )
        return [Step(r[0], r[1], r[2], r[3], from_db(r[4])) for r in rows]

    async def pending_steps(self, incident_id: int) -> list[Step]:
        rows = await self._db.fetchall(
            "SELECT id, incident_id, kind, level, due_at FROM incident_steps"
            " WHERE incident_id = ? AND status = 'pending' ORDER BY due_at, id",
            (incident_id,),
        )
        return [Step(r[0], r[1], r[2], r[3], from_db(r[4])) for r in rows]

    async def questions(self, incident_id: int) -> list[Question]:
        rows = await self._db.fetchall(
            "SELECT * FROM incident_questions WHERE incident_id = ? ORDER BY id", (incident_id,)
        )
        return [_question(r) for r in rows]

    async def question(self, question_id: int) -> Question | None:
        row = await self._db.fetchone(
            "SELECT * FROM incident_questions WHERE id = ?", (question_id,)
        )
        return _question(row) if row else None

    # ---------------------------------------------------------------- writing (in the caller's
    # transaction if one is open, else in their own)

    async def create(self, new: NewIncident, now: datetime) -> Incident:
        async with self._db.unit() as tx:
            return await self._create(tx, new, now)

    async def _create(self, tx: Tx, new: NewIncident, now: datetime) -> Incident:
        row = await tx.fetchone(
            "INSERT INTO incidents (code, reporter_member_id, anonymous, danger, category,"
            " urgency, region_code, place, latitude, longitude, happened_on, description,"
            " language, policy, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                new.code,
                new.reporter_member_id,
                int(new.reporter_member_id is None),
                int(new.danger),
                new.category,
                new.urgency,
                new.region_code,
                new.place,
                new.latitude,
                new.longitude,
                new.happened_on.isoformat(),
                new.description,
                new.language,
                json.dumps(new.policy),
                to_db(now),
                to_db(now),
            ),
        )
        assert row is not None
        incident = _incident(row)
        await tx.executemany(
            "INSERT INTO incident_attachments (incident_id, kind, file_id, added_at)"
            " VALUES (?, ?, ?, ?)",
            [(incident.id, kind, file_id, to_db(now)) for kind, file_id in new.attachments],
        )
        return incident

    async def note(
        self,
        incident_id: int,
        action: str,
        now: datetime,
        *,
        actor: int | None = None,
        actor_name: str | None = None,
        detail: str | None = None,
    ) -> None:
        """An entry in the incident's timeline."""
        await self._db.execute(
            "INSERT INTO incident_timeline (incident_id, at, actor, actor_name, action, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (incident_id, to_db(now), actor, actor_name, action, detail),
        )

    async def add_step(self, incident_id: int, kind: str, level: int, due_at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO incident_steps (incident_id, kind, level, due_at) VALUES (?, ?, ?, ?)",
            (incident_id, kind, level, to_db(due_at)),
        )

    async def cancel_steps(self, incident_id: int, kinds: Sequence[str] | None = None) -> None:
        sql = "UPDATE incident_steps SET status = 'cancelled' WHERE incident_id = ?"
        sql += " AND status = 'pending'"
        params: list[object] = [incident_id]
        if kinds is not None:
            sql += " AND kind IN ({})".format(",".join("?" * len(kinds)))
            params += list(kinds)
        await self._db.execute(sql, params)

    async def postpone_step(self, step_id: int, due_at: datetime) -> None:
        """A step that failed with an error is tried again later (not in a loop)."""
        await self._db.execute(
            "UPDATE incident_steps SET due_at = ? WHERE id = ? AND status = 'pending'",
            (to_db(due_at), step_id),
        )

    async def hurry_for_chat(self, chat_id: int, now: datetime) -> int:
        """Someone who was sent the card of open, untaken incidents turned out unreachable
        (blocked the bot, deleted the account): bring those incidents' next reminder forward
        to now, so the sweep checks the level again at once and goes up if nobody is left."""
        return await self._db.execute(
            "UPDATE incident_steps SET due_at = ? WHERE kind = 'remind' AND status = 'pending'"
            " AND due_at > ? AND incident_id IN (SELECT i.id FROM incidents i"
            " WHERE i.state = 'new' AND EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = ?"
            " AND o.dedupe_key = 'inccard' || i.id || ':' || ?))",
            (to_db(now), to_db(now), chat_id, chat_id),
        )

    async def purge_closed(self, closed_before: datetime, now: datetime) -> int:
        """Personal details of reports closed (resolved or withdrawn) before `closed_before`:
        gone. What stays is what the network's statistics need: category, region, urgency,
        state, level and the dates. Returns how many reports were purged."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id FROM incidents WHERE state IN ('resolved', 'withdrawn')"
                " AND closed_at < ? AND purged_at IS NULL",
                (to_db(closed_before),),
            )
            ids = [int(r[0]) for r in rows]
            if not ids:
                return 0
            marks = ",".join("?" * len(ids))
            await tx.execute(
                "UPDATE incidents SET description = '', place = NULL, latitude = NULL,"
                " longitude = NULL, outcome = NULL, assignee_telegram_id = NULL,"
                " assignee_name = NULL, reporter_member_id = NULL, purged_at = ?"
                f" WHERE id IN ({marks})",
                (to_db(now), *ids),
            )
            await tx.execute(
                f"DELETE FROM incident_attachments WHERE incident_id IN ({marks})", ids
            )
            await tx.execute(f"DELETE FROM incident_questions WHERE incident_id IN ({marks})", ids)
            await tx.execute(
                "UPDATE incident_timeline SET actor = NULL, actor_name = NULL, detail = NULL"
                f" WHERE incident_id IN ({marks})",
                ids,
            )
            return len(ids)

    async def take_step(self, step_id: int, now: datetime) -> bool:
        """Mark a due step done; False if another sweep (or a cancel) got there first."""
        return (
            await self._db.execute(
                "UPDATE incident_steps SET status = 'done', done_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (to_db(now), step_id),
            )
            > 0
        )

    async def change(
        self, incident_id: int, now: datetime, *, when_state: Sequence[str], **fields: Any
    ) -> Incident | None:
        """Set `fields` if the incident is in one of `when_state`; the changed incident or None."""
        unknown = set(fields) - _CHANGEABLE
        if unknown:
            raise ValueError(f"not changeable: {sorted(unknown)}")
        values = {k: to_db(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        assignments = "".join(f"{column} = :{column}, " for column in values)
        marks = ",".join(f":s{i}" for i in range(len(when_state)))
        row = await self._db.fetchone(
            f"UPDATE incidents SET {assignments}updated_at = :now"
            f" WHERE id = :id AND state IN ({marks}) RETURNING *",
            {
                **values,
                "now": to_db(now),
                "id": incident_id,
                **{f"s{i}": s for i, s in enumerate(when_state)},
            },
        )
        return _incident(row) if row else None

    async def add_attachment(
        self, incident_id: int, kind: str, file_id: str, now: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO incident_attachments (incident_id, kind, file_id, added_at)"
            " VALUES (?, ?, ?, ?)",
            (incident_id, kind, file_id, to_db(now)),
        )

    async def ask(self, incident_id: int, asked_by: int, question: str, now: datetime) -> int:
        row = await self._db.fetchone(
            "INSERT INTO incident_questions (incident_id, asked_by, question, asked_at)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            (incident_id, asked_by, question, to_db(now)),
        )
        assert row is not None
        return int(row[0])

    async def answer(self, question_id: int, answer: str, now: datetime) -> bool:
        return (
            await self._db.execute(
                "UPDATE incident_questions SET answer = ?, answered_at = ?"
                " WHERE id = ? AND answer IS NULL",
                (answer, to_db(now), question_id),
            )
            > 0
        )


_CHANGEABLE = frozenset(
    {
        "state",
        "level",
        "assignee_telegram_id",
        "assignee_name",
        "outcome",
        "snoozed_until",
        "acknowledged_at",
        "progress_at",
        "closed_at",
        "description",
        "abuse",
        "urgency",  # made urgent by the reporter during quiet hours (#13)
        "category",  # the details of a report sent by the fast path (#13)
        "place",
        "latitude",
        "longitude",
    }
)


def _incident(row: aiosqlite.Row) -> Incident:
    return Incident(
        id=row["id"],
        code=row["code"],
        reporter_member_id=row["reporter_member_id"],
        anonymous=bool(row["anonymous"]),
        danger=bool(row["danger"]),
        category=row["category"],
        urgency=row["urgency"],
        region_code=row["region_code"],
        place=row["place"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        happened_on=date.fromisoformat(row["happened_on"]),
        description=row["description"],
        language=row["language"],
        state=row["state"],
        level=row["level"],
        assignee_telegram_id=row["assignee_telegram_id"],
        assignee_name=row["assignee_name"],
        outcome=row["outcome"],
        policy=json.loads(row["policy"]),
        snoozed_until=from_db_opt(row["snoozed_until"]),
        created_at=from_db(row["created_at"]),
        updated_at=from_db(row["updated_at"]),
        acknowledged_at=from_db_opt(row["acknowledged_at"]),
        progress_at=from_db_opt(row["progress_at"]),
        closed_at=from_db_opt(row["closed_at"]),
        abuse=bool(row["abuse"]),
        purged_at=from_db_opt(row["purged_at"]),
    )


def _question(row: aiosqlite.Row) -> Question:
    return Question(
        id=row["id"],
        incident_id=row["incident_id"],
        asked_by=row["asked_by"],
        question=row["question"],
        asked_at=from_db(row["asked_at"]),
        answer=row["answer"],
        answered_at=from_db_opt(row["answered_at"]),
    )
