"""Evaluations after events: the questionnaire of each event, who is asked, drafts, answers.

Rounds: 'main' (after the event) and 'followup' (some days later). Changes that must happen
once are conditional UPDATEs (a round is opened once, a reminder claimed once, a draft saved
only over the draft it was read from), so a double tap or two sweeps change nothing twice.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.clock import from_db, from_db_opt, to_db
from storage.retention import kept_counts

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database


@dataclass(frozen=True)
class EvaluationConfig:
    event_id: int
    template: str
    custom: tuple[dict[str, Any], ...]
    anonymous: bool
    followup: bool
    requested_at: datetime | None = None
    closes_at: datetime | None = None
    followup_requested_at: datetime | None = None
    followup_closes_at: datetime | None = None

    def opened(self, round_: str) -> datetime | None:
        return self.requested_at if round_ == "main" else self.followup_requested_at

    def closes(self, round_: str) -> datetime | None:
        return self.closes_at if round_ == "main" else self.followup_closes_at


@dataclass(frozen=True)
class Asked:
    """A participant asked in a round (the row that prevents answering twice)."""

    event_id: int
    member_id: int
    round: str
    asked_at: datetime
    remind_at: datetime | None
    draft: dict[str, Any] | None
    answered: bool
    raw_draft: str | None = None


@dataclass(frozen=True)
class Due:
    """A reminder that is due: the person, and the draft so far."""

    event_id: int
    member_id: int
    round: str
    telegram_id: int
    language: str
    region_code: str
    draft: dict[str, Any] | None


@dataclass(frozen=True)
class Answer:
    number: int | None = None
    choice: str | None = None
    text: str | None = None
    voice: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Response:
    id: int
    event_id: int
    round: str
    member_id: int | None
    region_code: str | None
    submitted_on: str
    answers: dict[str, Answer] = field(default_factory=dict)


@dataclass(frozen=True)
class Invitee:
    member_id: int
    telegram_id: int
    language: str
    region_code: str


class EvaluationRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------ the questionnaire

    async def config(self, event_id: int) -> EvaluationConfig | None:
        row = await self._db.fetchone(
            "SELECT * FROM event_evaluations WHERE event_id = ?", (event_id,)
        )
        return _config(row) if row else None

    # ------------------------------------------------------------ opening rounds

    async def due_main(self, now: datetime) -> list[int]:
        """Events that ended, have a questionnaire and were not asked about yet."""
        rows = await self._db.fetchall(
            "SELECT e.id FROM events e JOIN event_evaluations v ON v.event_id = e.id"
            " WHERE e.status = 'published' AND e.ends_at <= ? AND v.template != 'none'"
            " AND v.requested_at IS NULL ORDER BY e.ends_at",
            (to_db(now),),
        )
        return [int(r[0]) for r in rows]

    async def due_followup(self, ended_before: datetime) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT e.id FROM events e JOIN event_evaluations v ON v.event_id = e.id"
            " WHERE e.status = 'published' AND e.ends_at <= ? AND v.followup = 1"
            " AND v.template != 'none' AND v.requested_at IS NOT NULL"
            " AND v.followup_requested_at IS NULL ORDER BY e.ends_at",
            (to_db(ended_before),),
        )
        return [int(r[0]) for r in rows]

    async def invitees(self, event_id: int) -> list[Invitee]:
        """Who is asked: those who checked in; if nobody did, those who said "Пойду"."""
        sql = (
            "SELECT m.id, m.telegram_id, m.language, m.region_code FROM rsvps r"
            " JOIN members m ON m.id = r.member_id WHERE r.event_id = ? AND {cond}"
            " AND m.status = 'active' AND m.telegram_id IS NOT NULL ORDER BY m.id"
        )
        for cond in ("r.checked_in_at IS NOT NULL", "r.answer = 'going'"):
            rows = await self._db.fetchall(sql.format(cond=cond), (event_id,))
            if rows:
                return [Invitee(r[0], r[1], r[2], r[3]) for r in rows]
        return []

    async def asked_members(self, event_id: int, round_: str) -> list[Invitee]:
        """Who was asked in a round (the follow-up asks the same people again)."""
        rows = await self._db.fetchall(
            "SELECT m.id, m.telegram_id, m.language, m.region_code"
            " FROM evaluation_participants p JOIN members m ON m.id = p.member_id"
            " WHERE p.event_id = ? AND p.round = ? AND m.status = 'active'"
            " AND m.telegram_id IS NOT NULL ORDER BY m.id",
            (event_id, round_),
        )
        return [Invitee(r[0], r[1], r[2], r[3]) for r in rows]

    async def open_round(
        self, event_id: int, round_: str, now: datetime, closes_at: datetime
    ) -> bool:
        """Claim the round (once): False if another sweep opened it already."""
        column = "requested_at" if round_ == "main" else "followup_requested_at"
        closes = "closes_at" if round_ == "main" else "followup_closes_at"
        changed = await self._db.execute(
            f"UPDATE event_evaluations SET {column} = ?, {closes} = ?"
            f" WHERE event_id = ? AND {column} IS NULL",
            (to_db(now), to_db(closes_at), event_id),
        )
        return changed == 1

    async def ask(
        self,
        event_id: int,
        member_id: int,
        round_: str,
        asked_at: datetime,
        remind_at: datetime | None,
    ) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO evaluation_participants"
            " (event_id, member_id, round, asked_at, remind_at) VALUES (?, ?, ?, ?, ?)",
            (event_id, member_id, round_, to_db(asked_at), to_db(remind_at) if remind_at else None),
        )

    # ------------------------------------------------------------ answering

    async def asked(self, event_id: int, member_id: int, round_: str) -> Asked | None:
        row = await self._db.fetchone(
            "SELECT * FROM evaluation_participants WHERE event_id = ? AND member_id = ?"
            " AND round = ?",
            (event_id, member_id, round_),
        )
        return _asked(row) if row else None

    async def save_draft(self, asked: Asked, draft: dict[str, Any] | None) -> bool:
        """Replace the draft, only if it is still the one `asked` was read with."""
        changed = await self._db.execute(
            "UPDATE evaluation_participants SET draft = ? WHERE event_id = ? AND member_id = ?"
            " AND round = ? AND draft IS ? AND answered = ?",
            (
                json.dumps(draft, ensure_ascii=False) if draft is not None else None,
                asked.event_id,
                asked.member_id,
                asked.round,
                asked.raw_draft,
                int(asked.answered),
            ),
        )
        return changed == 1

    async def finish(
        self,
        asked: Asked,
        answers: dict[str, Answer],
        *,
        anonymous: bool,
        region_code: str | None,
        now: datetime,
    ) -> bool:
        """Store the finished answer set (replacing the person's earlier one if named) and
        mark them answered, in one transaction, only over the draft that was read."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE evaluation_participants SET draft = NULL, answered = 1,"
                " remind_at = NULL WHERE event_id = ? AND member_id = ? AND round = ?"
                " AND draft IS ?",
                (asked.event_id, asked.member_id, asked.round, asked.raw_draft),
            )
            if changed != 1:
                return False
            if anonymous:
                response_id = secrets.randbits(62) + 1
                member_id, submitted = None, now.date().isoformat()
            else:
                await tx.execute(
                    "DELETE FROM evaluation_responses WHERE event_id = ? AND round = ?"
                    " AND member_id = ?",
                    (asked.event_id, asked.round, asked.member_id),
                )
                response_id, member_id, submitted = None, asked.member_id, to_db(now)
            row = await tx.fetchone(
                "INSERT INTO evaluation_responses"
                " (id, event_id, round, member_id, region_code, submitted_on)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (response_id, asked.event_id, asked.round, member_id, region_code, submitted),
            )
            assert row is not None
            await tx.executemany(
                "INSERT INTO evaluation_answers (response_id, question, number, choice, text,"
                " voice) VALUES (?, ?, ?, ?, ?, ?)",
                [(row[0], key, a.number, a.choice, a.text, a.voice) for key, a in answers.items()],
            )
            return True

    async def waiting(self, member_id: int, now: datetime) -> tuple[int, str] | None:
        """The latest open questionnaire this member was asked and has not finished."""
        row = await self._db.fetchone(
            "SELECT p.event_id, p.round FROM evaluation_participants p"
            " JOIN event_evaluations v ON v.event_id = p.event_id"
            " WHERE p.member_id = ? AND (p.answered = 0 OR p.draft IS NOT NULL)"
            " AND p.asked_at <= ? AND ((p.round = 'main' AND v.closes_at > ?)"
            " OR (p.round = 'followup' AND v.followup_closes_at > ?))"
            " ORDER BY p.asked_at DESC LIMIT 1",
            (member_id, to_db(now), to_db(now), to_db(now)),
        )
        return (int(row[0]), str(row[1])) if row else None

    async def closed_unfinished(
        self, member_id: int, now: datetime, since: datetime
    ) -> tuple[int, str, bool] | None:
        """The latest questionnaire this member left unfinished and that closed in
        (since, now], and whether they had begun answering it."""
        row = await self._db.fetchone(
            "SELECT p.event_id, p.round, p.draft IS NOT NULL FROM evaluation_participants p"
            " JOIN event_evaluations v ON v.event_id = p.event_id"
            " WHERE p.member_id = ? AND (p.answered = 0 OR p.draft IS NOT NULL)"
            " AND ((p.round = 'main' AND v.closes_at <= ? AND v.closes_at > ?)"
            " OR (p.round = 'followup' AND v.followup_closes_at <= ?"
            " AND v.followup_closes_at > ?))"
            " ORDER BY p.asked_at DESC LIMIT 1",
            (member_id, to_db(now), to_db(since), to_db(now), to_db(since)),
        )
        return (int(row[0]), str(row[1]), bool(row[2])) if row else None

    # ------------------------------------------------------------ reminders

    async def due_reminders(self, now: datetime) -> list[Due]:
        rows = await self._db.fetchall(
            "SELECT p.event_id, p.member_id, p.round, m.telegram_id, m.language, m.region_code,"
            " p.draft FROM evaluation_participants p"
            " JOIN members m ON m.id = p.member_id"
            " JOIN event_evaluations v ON v.event_id = p.event_id"
            " WHERE p.answered = 0 AND p.remind_at IS NOT NULL AND p.remind_at <= ?"
            " AND m.status = 'active' AND m.telegram_id IS NOT NULL"
            " AND ((p.round = 'main' AND v.closes_at > ?)"
            " OR (p.round = 'followup' AND v.followup_closes_at > ?))",
            (to_db(now), to_db(now), to_db(now)),
        )
        return [
            Due(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]) if r[6] else None)
            for r in rows
        ]

    async def claim_reminder(self, due: Due) -> bool:
        changed = await self._db.execute(
            "UPDATE evaluation_participants SET remind_at = NULL WHERE event_id = ?"
            " AND member_id = ? AND round = ? AND remind_at IS NOT NULL AND answered = 0",
            (due.event_id, due.member_id, due.round),
        )
        return changed == 1

    # ------------------------------------------------------------ reading results

    async def counts(self, event_id: int, round_: str) -> tuple[int, int]:
        """(asked, answered) in a round."""
        kept = await kept_counts(self._db, event_id)  # past the retention: the numbers kept
        if kept is not None:
            asked, answered = kept.get("evaluation", {}).get(round_, [0, 0])
            return int(asked), int(answered)
        row = await self._db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM evaluation_participants"
            " WHERE event_id = ? AND round = ?",
            (event_id, round_),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def asked_by_region(self, event_id: int, round_: str) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT m.region_code, COUNT(*) FROM evaluation_participants p"
            " JOIN members m ON m.id = p.member_id WHERE p.event_id = ? AND p.round = ?"
            " GROUP BY m.region_code",
            (event_id, round_),
        )
        return {r[0]: int(r[1]) for r in rows}

    async def by_region(self, event_id: int, round_: str) -> dict[str, tuple[int, int]]:
        """(asked, answered) per region, both counted from the same rows: the people asked,
        by their region (an anonymous answer set may keep no region; its person still has one)."""
        rows = await self._db.fetchall(
            "SELECT m.region_code, COUNT(*), COALESCE(SUM(p.answered), 0)"
            " FROM evaluation_participants p JOIN members m ON m.id = p.member_id"
            " WHERE p.event_id = ? AND p.round = ? GROUP BY m.region_code",
            (event_id, round_),
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    async def responses(self, event_id: int, round_: str) -> list[Response]:
        rows = await self._db.fetchall(
            "SELECT * FROM evaluation_responses WHERE event_id = ? AND round = ?"
            " ORDER BY submitted_on, id",
            (event_id, round_),
        )
        answers: dict[int, dict[str, Answer]] = {int(r["id"]): {} for r in rows}
        if rows:
            for a in await self._db.fetchall(
                "SELECT a.* FROM evaluation_answers a JOIN evaluation_responses r"
                " ON r.id = a.response_id WHERE r.event_id = ? AND r.round = ?",
                (event_id, round_),
            ):
                answers[int(a["response_id"])][a["question"]] = Answer(
                    a["number"], a["choice"], a["text"], a["voice"]
                )
        return [
            Response(
                id=int(r["id"]),
                event_id=r["event_id"],
                round=r["round"],
                member_id=r["member_id"],
                region_code=r["region_code"],
                submitted_on=r["submitted_on"],
                answers=answers[int(r["id"])],
            )
            for r in rows
        ]

    async def of_member(self, member_id: int) -> list[Response]:
        """A member's own (named) answer sets, for /mydata."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT event_id, round FROM evaluation_responses WHERE member_id = ?",
            (member_id,),
        )
        mine: list[Response] = []
        for event_id, round_ in rows:
            mine += [r for r in await self.responses(event_id, round_) if r.member_id == member_id]
        return mine

    async def evaluated_between(self, start: datetime, end: datetime) -> list[int]:
        """Events with a questionnaire that ended in [start, end), oldest first."""
        rows = await self._db.fetchall(
            "SELECT e.id FROM events e JOIN event_evaluations v ON v.event_id = e.id"
            " WHERE e.status = 'published' AND v.template != 'none'"
            " AND e.ends_at >= ? AND e.ends_at < ? ORDER BY e.ends_at, e.id",
            (to_db(start), to_db(end)),
        )
        return [int(r[0]) for r in rows]


def _config(row: aiosqlite.Row) -> EvaluationConfig:
    return EvaluationConfig(
        event_id=row["event_id"],
        template=row["template"],
        custom=tuple(json.loads(row["custom"] or "[]")),
        anonymous=bool(row["anonymous"]),
        followup=bool(row["followup"]),
        requested_at=from_db_opt(row["requested_at"]),
        closes_at=from_db_opt(row["closes_at"]),
        followup_requested_at=from_db_opt(row["followup_requested_at"]),
        followup_closes_at=from_db_opt(row["followup_closes_at"]),
    )


def _asked(row: aiosqlite.Row) -> Asked:
    return Asked(
        event_id=row["event_id"],
        member_id=row["member_id"],
        round=row["round"],
        asked_at=from_db(row["asked_at"]),
        remind_at=from_db_opt(row["remind_at"]),
        draft=json.loads(row["draft"]) if row["draft"] else None,
        answered=bool(row["answered"]),
        raw_draft=row["draft"],
    )
