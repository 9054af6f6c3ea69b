"""Access follows the role: what a person may still receive about incidents, and the queued and
delivered messages of someone who lost a role (revoked, a region taken away, erased, no longer
an admin). `RevocationRepo` (`storage.revocation`) joins the caller's transaction, so the
loss of the role and the end of what it brought happen together."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.clock import to_db
from storage.roles import ALL_REGIONS

if TYPE_CHECKING:
    from storage.db import Database, Tx

# Outbox keys of messages someone gets because of a role, with the incident they are about.
_INCIDENT_KEY = re.compile(r"^inc(card|file|edit|rem|stale|more|morefile|broken|view)(\d+):")
_ANSWER_KEY = re.compile(r"^incans(\d+):")
_DIGEST_KEY = "digest:"
# A member's request for approval: the card, its reminders and the notice of a region change,
# sent to those who may decide for the member's region.
_APPROVAL_KEY = re.compile(r"^apv(\d+):(c|r\d+|moved\d+):")
# Delivered messages that show what a report says: texts (the card itself, details, relayed
# answers) are replaced by a stub; files sent with it (photos, documents, voice) are deleted
# (Telegram lets a bot delete its messages for 48 hours; an older one stays).
_SHOWS_REPORT = re.compile(r"^inc(card|more|ans|view)\d+:")  # view: /incident's pages, files
_FILE_OF_REPORT = re.compile(r"^inc(file|morefile)\d+:")
RETIRED = "gone"  # the key of a retired row becomes gone<row id>-<key>


@dataclass(frozen=True)
class Entitlement:
    """What someone may receive about incidents now."""

    regions: frozenset[str]  # regions coordinated; ALL_REGIONS for federal
    is_admin: bool

    def sees(self, region_code: str) -> bool:
        return self.is_admin or ALL_REGIONS in self.regions or region_code in self.regions

    @property
    def any_role(self) -> bool:
        return self.is_admin or bool(self.regions)


@dataclass(frozen=True)
class Shown:
    """A delivered message of a report in a chat whose reader lost the right to it."""

    incident_id: int
    chat_id: int
    member_id: int | None
    message_id: int
    meta: dict[str, Any]
    file: bool = False  # a file of the report: deleted rather than replaced


async def _incident_regions(tx: Tx, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await tx.fetchall(
        f"SELECT id, region_code FROM incidents WHERE id IN ({marks})", sorted(ids)
    )
    return {int(r[0]): str(r[1]) for r in rows}


async def _question_incidents(tx: Tx, ids: set[int]) -> dict[int, int]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await tx.fetchall(
        f"SELECT id, incident_id FROM incident_questions WHERE id IN ({marks})", sorted(ids)
    )
    return {int(r[0]): int(r[1]) for r in rows}


async def _about(tx: Tx, keys: list[str]) -> dict[str, tuple[str, int]]:
    """For each incident key: (kind, incident id)."""
    found: dict[str, tuple[str, int]] = {}
    questions: dict[str, int] = {}
    for key in keys:
        if match := _INCIDENT_KEY.match(key):
            found[key] = (match[1], int(match[2]))
        elif match := _ANSWER_KEY.match(key):
            questions[key] = int(match[1])
    of_question = await _question_incidents(tx, set(questions.values()))
    for key, question_id in questions.items():
        if question_id in of_question:
            found[key] = ("ans", of_question[question_id])
    return found


async def _withdraw(tx: Tx, telegram_id: int, now: Entitlement, at: datetime | None) -> list[Shown]:
    pending = await tx.fetchall(
        "SELECT id, dedupe_key FROM outbox WHERE chat_id = ? AND status = 'pending'"
        " AND dedupe_key IS NOT NULL",
        (telegram_id,),
    )
    delivered = await tx.fetchall(
        "SELECT id, dedupe_key, member_id, message_id, payload FROM outbox"
        " WHERE chat_id = ? AND status = 'sent' AND message_id IS NOT NULL"
        " AND dedupe_key GLOB 'inc*'",
        (telegram_id,),
    )
    about = await _about(tx, [r["dedupe_key"] for r in pending + delivered])
    regions = await _incident_regions(tx, {incident for _, incident in about.values()})

    def lost(key: str) -> bool:
        kind, incident = about[key]
        if kind == "broken":  # an admin's notice of a level nobody can be reached at
            return not now.is_admin
        region = regions.get(incident)
        return region is None or not now.sees(region)

    cancel = [r["id"] for r in pending if r["dedupe_key"] in about and lost(r["dedupe_key"])]
    cancel += await _lost_approvals(tx, pending, now)
    await tx.executemany(
        "UPDATE outbox SET status = 'cancelled', error = 'role'"
        " WHERE id = ? AND status = 'pending'",
        [(row_id,) for row_id in cancel],
    )
    await tx.execute(
        "DELETE FROM outbox WHERE chat_id = ? AND +status = 'pending' AND dedupe_key GLOB ?",
        (telegram_id, f"{_DIGEST_KEY}*"),
    )
    if not now.any_role:
        await tx.execute(
            "UPDATE broadcasts SET status_chat_id = NULL, status_message_id = NULL"
            " WHERE status_chat_id = ? AND reported_at IS NULL",
            (telegram_id,),
        )
    if at is not None:
        taken = await tx.fetchall(
            "SELECT id, region_code, level FROM incidents"
            " WHERE assignee_telegram_id = ? AND state = 'acknowledged'",
            (telegram_id,),
        )
        await tx.executemany(
            "INSERT INTO incident_steps (incident_id, kind, level, due_at)"
            " VALUES (?, 'unassign', ?, ?)",
            [(r["id"], r["level"], to_db(at)) for r in taken if not now.sees(r["region_code"])],
        )
    shown: list[Shown] = []
    for row in delivered:
        key = row["dedupe_key"]
        if key not in about or not lost(key):
            continue
        await tx.execute(
            "UPDATE outbox SET dedupe_key = ? WHERE id = ?",
            (f"{RETIRED}{row['id']}-{key}", row["id"]),
        )
        if _SHOWS_REPORT.match(key) or _FILE_OF_REPORT.match(key):
            payload = json.loads(row["payload"])
            shown.append(
                Shown(
                    about[key][1],
                    telegram_id,
                    row["member_id"],
                    int(row["message_id"]),
                    dict(payload.get("meta") or {}),
                    file=_FILE_OF_REPORT.match(key) is not None or "file_id" in payload,
                )
            )
    return shown


async def _lost_approvals(tx: Tx, pending: list[Any], now: Entitlement) -> list[int]:
    """Queued approval cards (name, organisation, region of a newcomer) and their reminders for
    members of regions the person may no longer decide for."""
    wanted = {
        int(r["id"]): int(match[1])
        for r in pending
        if (match := _APPROVAL_KEY.match(str(r["dedupe_key"])))
    }
    if not wanted:
        return []
    members = sorted(set(wanted.values()))
    marks = ",".join("?" * len(members))
    rows = await tx.fetchall(f"SELECT id, region_code FROM members WHERE id IN ({marks})", members)
    region = {int(r["id"]): str(r["region_code"] or "") for r in rows}
    return [row for row, member in wanted.items() if not now.sees(region.get(member, ""))]


class RevocationRepo:
    """What someone may still receive, and the end of what a lost role brought."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def regions_of(self, telegram_id: int) -> frozenset[str]:
        rows = await self._db.fetchall(
            "SELECT r.region_code FROM roles r JOIN members m ON m.id = r.member_id"
            " WHERE m.telegram_id = ? AND m.status != 'erased'",
            (telegram_id,),
        )
        return frozenset(r[0] for r in rows)

    async def holders(self, region_code: str) -> frozenset[int]:
        """Telegram ids of the coordinators of this region and the federal ones, now."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT m.telegram_id FROM roles r JOIN members m ON m.id = r.member_id"
            " WHERE r.region_code IN (?, ?) AND m.telegram_id IS NOT NULL"
            " AND m.status != 'erased'",
            (region_code, ALL_REGIONS),
        )
        return frozenset(int(r[0]) for r in rows)

    async def withdraw(
        self, telegram_id: int, now: Entitlement, at: datetime | None = None
    ) -> list[Shown]:
        """The person keeps only what `now` allows: queued incident messages (cards, files,
        reminders, details, answers, edits) about reports they may no longer see are cancelled,
        a queued digest is dropped (the sweep queues a new one with what they may still see),
        reports of broadcasts they started stop when they hold no role at all. Returns the
        delivered cards (and details, answers) that still show such a report, once: their rows are
        retired, so they are neither edited again nor returned by a second call. A report they
        had taken and may no longer see is handed back at once (an 'unassign' step due `at`: the
        sweep makes it untaken and tells the next level), rather than waiting for the no-progress
        check."""
        async with self._db.unit() as tx:
            return await _withdraw(tx, telegram_id, now, at)

    async def drop_if_tried(self, row_id: int) -> None:
        """An outbox row to an erased person (a stub over a card) leaves no trace once it was
        sent or given up: it is deleted instead of kept until the retention."""
        await self._db.execute(
            "DELETE FROM outbox WHERE id = ? AND status NOT IN ('pending', 'sending')", (row_id,)
        )
