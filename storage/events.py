"""Events, their target regions and topics, and members' answers (RSVP, waitlist)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.clock import from_db, to_db
from storage.outbox import key_glob
from storage.retention import ANSWERS, kept_counts

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database, Tx


@dataclass(frozen=True)
class NewEvent:
    title: str
    description: str
    program: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    tz: str
    place: str | None
    online_url: str | None
    capacity: int | None
    regions: tuple[str, ...]
    topics: tuple[str, ...]
    created_by: int | None
    checkin_secret: str
    # the questionnaire after the event: template, custom questions, anonymous, followup
    evaluation: dict[str, Any] | None = None


@dataclass(frozen=True)
class Event:
    id: int
    title: str
    description: str
    program: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    tz: str
    place: str | None
    online_url: str | None
    capacity: int | None
    status: str
    created_by: int | None
    checkin_secret: str
    regions: tuple[str, ...]
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Audience:
    member_id: int
    telegram_id: int
    language: str
    region_code: str


@dataclass(frozen=True)
class Counts:
    going: int = 0
    maybe: int = 0
    no: int = 0
    waitlist: int = 0


@dataclass(frozen=True)
class Participant:
    member_id: int
    name: str
    organisation: str
    region_code: str
    answer: str
    answered_at: datetime
    checked_in_at: datetime | None


@dataclass(frozen=True)
class DeliveredCopy:
    chat_id: int
    message_id: int
    member_id: int | None
    language: str
    region_code: str | None


@dataclass(frozen=True)
class RsvpChange:
    answer: str  # what was stored: going, maybe, no, waitlist
    previous: str | None
    promoted: Audience | None  # the first on the waitlist, now going


class EventRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, new: NewEvent, now: datetime) -> Event:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO events (title, description, program, starts_at, ends_at, tz, place,"
                " online_url, capacity, created_by, checkin_secret, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    new.title,
                    new.description,
                    json.dumps(list(new.program), ensure_ascii=False),
                    to_db(new.starts_at),
                    to_db(new.ends_at),
                    new.tz,
                    new.place,
                    new.online_url,
                    new.capacity,
                    new.created_by,
                    new.checkin_secret,
                    to_db(now),
                    to_db(now),
                ),
            )
            assert row is not None
            event_id = int(row["id"])
            await tx.executemany(
                "INSERT INTO event_regions (event_id, region_code) VALUES (?, ?)",
                [(event_id, code) for code in sorted(set(new.regions))],
            )
            await tx.executemany(
                "INSERT INTO event_topics (event_id, topic) VALUES (?, ?)",
                [(event_id, topic) for topic in sorted(set(new.topics))],
            )
            evaluation = new.evaluation or {}
            await tx.execute(
                "INSERT INTO event_evaluations (event_id, template, custom, anonymous, followup)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    event_id,
                    str(evaluation.get("template", "standard")),
                    json.dumps(list(evaluation.get("custom") or []), ensure_ascii=False),
                    int(bool(evaluation.get("anonymous"))),
                    int(bool(evaluation.get("followup"))),
                ),
            )
            event = await self._load(tx, event_id)
            assert event is not None
            return event

    async def _load(self, tx: Tx, event_id: int) -> Event | None:
        row = await tx.fetchone("SELECT * FROM events WHERE id = ?", (event_id,))
        if row is None:
            return None
        regions = await tx.fetchall(
            "SELECT region_code FROM event_regions WHERE event_id = ? ORDER BY region_code",
            (event_id,),
        )
        topics = await tx.fetchall(
            "SELECT topic FROM event_topics WHERE event_id = ? ORDER BY topic", (event_id,)
        )
        return _event(row, [r[0] for r in regions], [t[0] for t in topics])

    async def get(self, event_id: int) -> Event | None:
        async with self._db.transaction() as tx:
            return await self._load(tx, event_id)

    async def upcoming(self, regions: Sequence[str] | None, now: datetime) -> list[Event]:
        """Published events not yet over, for these regions (None: all), soonest first."""
        async with self._db.transaction() as tx:
            if regions is None:
                rows = await tx.fetchall(
                    "SELECT id FROM events WHERE status = 'published' AND ends_at > ?"
                    " ORDER BY starts_at, id",
                    (to_db(now),),
                )
            else:
                marks = ",".join("?" * len(regions)) or "NULL"
                rows = await tx.fetchall(
                    "SELECT DISTINCT e.id, e.starts_at FROM events e"
                    " JOIN event_regions r ON r.event_id = e.id"
                    " WHERE e.status = 'published' AND e.ends_at > ?"
                    f" AND r.region_code IN ({marks})"
                    " ORDER BY e.starts_at, e.id",
                    (to_db(now), *regions),
                )
            events = [await self._load(tx, int(r["id"])) for r in rows]
            return [e for e in events if e is not None]

    async def audience(self, event: Event) -> list[Audience]:
        """Active members of the event's regions (and, if it has topics, with one of them)."""
        return await audience(self._db, event.regions, event.topics)

    async def unreachable(self, event: Event) -> list[Audience]:
        """Members of the audience who blocked the bot: they will not get the announcement."""
        return await audience(self._db, event.regions, event.topics, status="unreachable")

    async def answer(
        self, event_id: int, member_id: int, wanted: str, capacity: int | None, now: datetime
    ) -> RsvpChange:
        """Store a member's answer. 'going' beyond capacity is 'waitlist'; when a place frees,
        the first on the waitlist becomes 'going' (returned as `promoted`)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT answer FROM rsvps WHERE event_id = ? AND member_id = ?",
                (event_id, member_id),
            )
            previous = row["answer"] if row else None
            if wanted == "going" and previous in ("going", "waitlist"):
                return RsvpChange(previous, previous, None)
            if wanted == previous:
                return RsvpChange(wanted, previous, None)
            answer = wanted
            if wanted == "going" and capacity is not None:
                going = await tx.fetchone(
                    "SELECT COUNT(*) FROM rsvps WHERE event_id = ? AND answer = 'going'",
                    (event_id,),
                )
                if going is not None and going[0] >= capacity:
                    answer = "waitlist"
            await tx.execute(
                "INSERT INTO rsvps (event_id, member_id, answer, answered_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (event_id, member_id) DO UPDATE SET answer = excluded.answer,"
                " answered_at = excluded.answered_at",
                (event_id, member_id, answer, to_db(now)),
            )
            promoted = None
            if previous == "going" and capacity is not None:
                promoted = await self._promote(tx, event_id, now)
            return RsvpChange(answer, previous, promoted)

    async def _promote(self, tx: Tx, event_id: int, now: datetime) -> Audience | None:
        row = await tx.fetchone(
            "UPDATE rsvps SET answer = 'going', answered_at = ? WHERE event_id = ? AND member_id ="
            " (SELECT r.member_id FROM rsvps r JOIN members m ON m.id = r.member_id"
            " WHERE r.event_id = ? AND r.answer = 'waitlist' AND m.status = 'active'"
            " ORDER BY r.answered_at, r.member_id LIMIT 1) RETURNING member_id",
            (to_db(now), event_id, event_id),
        )
        if row is None:
            return None
        member = await tx.fetchone(
            "SELECT id, telegram_id, language, region_code FROM members WHERE id = ?",
            (row["member_id"],),
        )
        if member is None or member["telegram_id"] is None:
            return None
        return Audience(member[0], member[1], member[2], member[3])

    async def answer_of(self, event_id: int, member_id: int) -> str | None:
        row = await self._db.fetchone(
            "SELECT answer FROM rsvps WHERE event_id = ? AND member_id = ?", (event_id, member_id)
        )
        return str(row[0]) if row else None

    async def marks(self, event_id: int) -> dict[int, tuple[str, int | None]]:
        """Each member's answer, with their place on the waitlist (1 = next to get a place,
        counted as the promotion goes: first come, members still active)."""
        rows = await self._db.fetchall(
            "SELECT r.member_id, r.answer, m.status FROM rsvps r JOIN members m"
            " ON m.id = r.member_id WHERE r.event_id = ? ORDER BY r.answered_at, m.id",
            (event_id,),
        )
        marks: dict[int, tuple[str, int | None]] = {}
        waiting = 0
        for row in rows:
            position = None
            if row["answer"] == "waitlist" and row["status"] == "active":
                waiting += 1
                position = waiting
            marks[int(row["member_id"])] = (str(row["answer"]), position)
        return marks

    async def counts(self, event_id: int) -> Counts:
        kept = await kept_counts(self._db, event_id)  # past the retention: the numbers kept
        if kept is not None:
            return Counts(**{answer: int(kept.get(answer, 0)) for answer in ANSWERS})
        rows = await self._db.fetchall(
            "SELECT answer, COUNT(*) FROM rsvps WHERE event_id = ? GROUP BY answer", (event_id,)
        )
        return Counts(**{r[0]: r[1] for r in rows})

    async def attendees(
        self, event_id: int, answers: Sequence[str], *, answered_before: datetime | None = None
    ) -> list[Audience]:
        marks = ",".join("?" * len(answers))
        before = "" if answered_before is None else " AND r.answered_at <= ?"
        params: tuple[object, ...] = (event_id, *answers)
        if answered_before is not None:
            params += (to_db(answered_before),)
        rows = await self._db.fetchall(
            "SELECT m.id, m.telegram_id, m.language, m.region_code FROM rsvps r"
            " JOIN members m ON m.id = r.member_id"
            f" WHERE r.event_id = ? AND r.answer IN ({marks}) AND m.status = 'active'{before}"
            " ORDER BY r.answered_at, m.id",
            params,
        )
        return [Audience(r[0], r[1], r[2], r[3]) for r in rows]

    async def participants(self, event_id: int) -> list[Participant]:
        rows = await self._db.fetchall(
            "SELECT m.id, m.name, m.organisation, m.region_code, r.answer, r.answered_at,"
            " r.checked_in_at FROM rsvps r JOIN members m ON m.id = r.member_id"
            " WHERE r.event_id = ? AND m.telegram_id IS NOT NULL"
            " ORDER BY CASE r.answer WHEN 'going' THEN 0 WHEN 'waitlist' THEN 1"
            " WHEN 'maybe' THEN 2 ELSE 3 END, r.answered_at, m.id",
            (event_id,),
        )
        return [
            Participant(
                member_id=r[0],
                name=r[1],
                organisation=r[2],
                region_code=r[3],
                answer=r[4],
                answered_at=from_db(r[5]),
                checked_in_at=from_db(r[6]) if r[6] else None,
            )
            for r in rows
        ]

    async def check_in(self, event_id: int, member_id: int, now: datetime) -> bool:
        """Record attendance (also for someone who never answered); True the first time."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT checked_in_at FROM rsvps WHERE event_id = ? AND member_id = ?",
                (event_id, member_id),
            )
            if row is not None and row[0] is not None:
                return False
            await tx.execute(
                "INSERT INTO rsvps (event_id, member_id, answer, answered_at, checked_in_at)"
                " VALUES (?, ?, 'going', ?, ?) ON CONFLICT (event_id, member_id) DO UPDATE"
                " SET checked_in_at = excluded.checked_in_at",
                (event_id, member_id, to_db(now), to_db(now)),
            )
            return True

    async def cancel(self, event_id: int, now: datetime) -> bool:
        return (
            await self._db.execute(
                "UPDATE events SET status = 'cancelled', updated_at = ?"
                " WHERE id = ? AND status = 'published'",
                (to_db(now), event_id),
            )
            > 0
        )

    async def update(self, event_id: int, now: datetime, **changes: object) -> Event | None:
        """Change fields of a published event (None clears an optional one); None if the
        event is not published any more."""
        unknown = set(changes) - EDITABLE_COLUMNS
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        values = {k: _to_column(v) for k, v in changes.items()}
        async with self._db.transaction() as tx:
            assignments = "".join(f"{column} = :{column}, " for column in values)
            changed = await tx.execute(
                f"UPDATE events SET {assignments}updated_at = :now"
                " WHERE id = :id AND status = 'published'",
                {**values, "now": to_db(now), "id": event_id},
            )
            return await self._load(tx, event_id) if changed else None

    async def add_regions(self, event_id: int, codes: Sequence[str], now: datetime) -> Event | None:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE events SET updated_at = ? WHERE id = ? AND status = 'published'",
                (to_db(now), event_id),
            )
            if not changed:
                return None
            await tx.executemany(
                "INSERT OR IGNORE INTO event_regions (event_id, region_code) VALUES (?, ?)",
                [(event_id, code) for code in sorted(set(codes))],
            )
            return await self._load(tx, event_id)

    async def promote_waiting(
        self, event_id: int, capacity: int | None, now: datetime
    ) -> list[Audience]:
        """Move people from the waitlist to 'going' while there are places (all of them
        when there is no limit any more), first come first served."""
        promoted: list[Audience] = []
        async with self._db.transaction() as tx:
            while True:
                if capacity is not None:
                    going = await tx.fetchone(
                        "SELECT COUNT(*) FROM rsvps WHERE event_id = ? AND answer = 'going'",
                        (event_id,),
                    )
                    if going is not None and going[0] >= capacity:
                        break
                person = await self._promote(tx, event_id, now)
                if person is None:
                    break
                promoted.append(person)
        return promoted

    async def delivered_copies(self, event_id: int) -> list[DeliveredCopy]:
        """Every announcement of this event that reached a chat (to edit them all)."""
        rows = await self._db.fetchall(
            "SELECT o.chat_id, o.message_id, o.member_id, m.language,"
            " COALESCE(m.region_code, g.region_code)"
            " FROM outbox o LEFT JOIN members m ON m.id = o.member_id"
            " LEFT JOIN region_groups g ON g.chat_id = o.chat_id"
            " WHERE o.dedupe_key GLOB ? AND +o.status = 'sent' AND o.message_id IS NOT NULL"
            " ORDER BY o.id",
            (key_glob(f"ev{event_id}:%"),),
        )
        return [DeliveredCopy(r[0], r[1], r[2], r[3] or "ru", r[4]) for r in rows]

    async def starting_between(self, start: datetime, end: datetime) -> list[Event]:
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id FROM events WHERE status = 'published' AND starts_at > ?"
                " AND starts_at <= ? ORDER BY starts_at",
                (to_db(start), to_db(end)),
            )
            events = [await self._load(tx, int(r["id"])) for r in rows]
            return [e for e in events if e is not None]


EDITABLE_COLUMNS = frozenset(
    {"title", "description", "place", "online_url", "program", "starts_at", "ends_at", "capacity"}
)


def _to_column(value: object) -> object:
    if isinstance(value, datetime):
        return to_db(value)
    if isinstance(value, tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return value


def _event(row: aiosqlite.Row, regions: list[str], topics: list[str]) -> Event:
    return Event(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        program=tuple(json.loads(row["program"])),
        starts_at=from_db(row["starts_at"]),
        ends_at=from_db(row["ends_at"]),
        tz=row["tz"],
        place=row["place"],
        online_url=row["online_url"],
        capacity=row["capacity"],
        status=row["status"],
        created_by=row["created_by"],
        checkin_secret=row["checkin_secret"],
        regions=tuple(regions),
        topics=tuple(topics),
    )


async def audience(
    db: Database, regions: Sequence[str], topics: Sequence[str] = (), *, status: str = "active"
) -> list[Audience]:
    """Active, approved members of these regions (and, if topics are given, with one of
    them): a member waiting for approval gets no announcements. With status 'unreachable':
    those of them who blocked the bot (counted, not sent to)."""
    if not regions:
        return []
    marks = ",".join("?" * len(regions))
    sql = (
        "SELECT m.id, m.telegram_id, m.language, m.region_code FROM members m"
        f" WHERE m.status = ? AND m.approval = 'approved' AND m.region_code IN ({marks})"
    )
    params: list[object] = [status, *regions]
    if topics:
        topic_marks = ",".join("?" * len(topics))
        sql += (
            " AND EXISTS (SELECT 1 FROM member_topics t WHERE t.member_id = m.id"
            f" AND t.topic IN ({topic_marks}))"
        )
        params += list(topics)
    rows = await db.fetchall(sql + " ORDER BY m.id", params)
    return [Audience(r[0], r[1], r[2], r[3]) for r in rows]
