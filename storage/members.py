"""Members and their topics of interest."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from storage.clock import from_db, from_db_opt, to_db
from storage.events import Audience, audience
from storage.incidents import ERASED_ASKER

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database, Tx


@dataclass(frozen=True)
class Profile:
    """What a person tells about themselves during registration."""

    name: str
    organisation: str
    region_code: str
    language: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    id: int
    telegram_id: int | None
    name: str | None
    organisation: str | None
    region_code: str
    language: str
    consent_version: str | None
    consent_at: datetime | None
    status: str
    created_at: datetime
    updated_at: datetime
    topics: tuple[str, ...]
    approval: str = "approved"  # waiting | approved | declined (MEMBER_APPROVAL)

    @property
    def approved(self) -> bool:
        return self.approval == "approved"


@dataclass(frozen=True)
class RegionCount:
    region_code: str
    active: int
    unreachable: int


_COLUMNS = (
    "id, telegram_id, name, organisation, region_code, language, consent_version, consent_at, "
    "status, created_at, updated_at, approval"
)


def _member(row: aiosqlite.Row, topics: Sequence[str]) -> Member:
    return Member(
        id=row["id"],
        telegram_id=row["telegram_id"],
        name=row["name"],
        organisation=row["organisation"],
        region_code=row["region_code"],
        language=row["language"],
        consent_version=row["consent_version"],
        consent_at=from_db_opt(row["consent_at"]),
        status=row["status"],
        created_at=from_db(row["created_at"]),
        updated_at=from_db(row["updated_at"]),
        topics=tuple(sorted(topics)),
        approval=row["approval"],
    )


class MemberRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _load(self, tx: Tx, where: str, params: Sequence[object]) -> Member | None:
        row = await tx.fetchone(f"SELECT {_COLUMNS} FROM members WHERE {where}", params)
        if row is None:
            return None
        topics = await tx.fetchall(
            "SELECT topic FROM member_topics WHERE member_id = ?", (row["id"],)
        )
        return _member(row, [t["topic"] for t in topics])

    async def by_telegram_id(self, telegram_id: int) -> Member | None:
        async with self._db.transaction() as tx:
            return await self._load(tx, "telegram_id = ?", (telegram_id,))

    async def by_id(self, member_id: int) -> Member | None:
        async with self._db.transaction() as tx:
            return await self._load(tx, "id = ?", (member_id,))

    async def upsert(
        self,
        telegram_id: int,
        profile: Profile,
        *,
        consent_version: str,
        consent_at: datetime,
        now: datetime,
        approval: str = "approved",
    ) -> tuple[Member, bool]:
        """Register or re-register: one member per Telegram user. Returns (member, created).
        `approval` is that of a new member; a registered one keeps theirs."""
        async with self._db.transaction() as tx:
            existing = await tx.fetchone(
                "SELECT id FROM members WHERE telegram_id = ?", (telegram_id,)
            )
            params = {
                "tid": telegram_id,
                "name": profile.name,
                "org": profile.organisation,
                "region": profile.region_code,
                "lang": profile.language,
                "cv": consent_version,
                "ca": to_db(consent_at),
                "now": to_db(now),
                "approval": approval,
            }
            if existing is None:
                row = await tx.fetchone(
                    "INSERT INTO members (telegram_id, name, organisation, region_code, language,"
                    " consent_version, consent_at, status, created_at, updated_at, approval)"
                    " VALUES (:tid, :name, :org, :region, :lang, :cv, :ca, 'active', :now, :now,"
                    " :approval)"
                    " RETURNING id",
                    params,
                )
                assert row is not None
                member_id = int(row["id"])
            else:
                member_id = int(existing["id"])
                await tx.execute(
                    "UPDATE members SET name = :name, organisation = :org, region_code = :region,"
                    " language = :lang, consent_version = :cv, consent_at = :ca,"
                    " status = 'active', updated_at = :now WHERE id = :id",
                    {**params, "id": member_id},
                )
            await self._replace_topics(tx, member_id, profile.topics)
            member = await self._load(tx, "id = ?", (member_id,))
            assert member is not None
            return member, existing is None

    @staticmethod
    async def _replace_topics(tx: Tx, member_id: int, topics: Sequence[str]) -> None:
        await tx.execute("DELETE FROM member_topics WHERE member_id = ?", (member_id,))
        await tx.executemany(
            "INSERT INTO member_topics (member_id, topic) VALUES (?, ?)",
            [(member_id, topic) for topic in sorted(set(topics))],
        )

    async def update_profile(
        self,
        member_id: int,
        now: datetime,
        *,
        name: str | None = None,
        organisation: str | None = None,
        region_code: str | None = None,
        language: str | None = None,
        topics: Sequence[str] | None = None,
    ) -> Member | None:
        """Change the given fields of an active member; None if there is no such member."""
        fields = {
            "name": name,
            "organisation": organisation,
            "region_code": region_code,
            "language": language,
        }
        changes = {k: v for k, v in fields.items() if v is not None}
        async with self._db.transaction() as tx:
            assignments = "".join(f"{column} = :{column}, " for column in changes)
            changed = await tx.execute(
                f"UPDATE members SET {assignments}updated_at = :now"
                " WHERE id = :id AND telegram_id IS NOT NULL",
                {**changes, "now": to_db(now), "id": member_id},
            )
            if not changed:
                return None
            if topics is not None:
                await self._replace_topics(tx, member_id, topics)
            return await self._load(tx, "id = ?", (member_id,))

    async def set_reachable(self, telegram_id: int, reachable: bool, now: datetime) -> bool:
        """Mark a member unreachable (blocked the bot) or active again. True if it changed."""
        new, old = ("active", "unreachable") if reachable else ("unreachable", "active")
        changed = await self._db.execute(
            "UPDATE members SET status = ?, updated_at = ? WHERE telegram_id = ? AND status = ?",
            (new, to_db(now), telegram_id, old),
        )
        return changed > 0

    async def erase(self, member_id: int, now: datetime) -> bool:
        """Erase personal data. Kept, anonymous: the region and the month of registration. In
        the caller's transaction if one is open."""
        async with self._db.unit() as tx:
            return await self._erase(tx, member_id, now)

    async def _erase(self, tx: Tx, member_id: int, now: datetime) -> bool:
        row = await tx.fetchone(
            "SELECT telegram_id, created_at, name, organisation FROM members WHERE id = ?",
            (member_id,),
        )
        if row is None or row["telegram_id"] is None:
            return False
        roles = await tx.fetchall(
            "SELECT role, region_code FROM roles WHERE member_id = ?", (member_id,)
        )
        await tx.executemany(
            "INSERT INTO audit_log (at, actor_telegram_id, action, member_id, role,"
            " region_code, details) VALUES (?, NULL, 'role_removed_by_erasure', ?, ?, ?, NULL)",
            [(to_db(now), member_id, r["role"], r["region_code"]) for r in roles],
        )
        await tx.execute("DELETE FROM roles WHERE member_id = ?", (member_id,))
        await tx.execute("DELETE FROM member_topics WHERE member_id = ?", (member_id,))
        await tx.execute("DELETE FROM rsvps WHERE member_id = ?", (member_id,))
        await tx.execute(
            "UPDATE invites SET used_by_member_id = NULL WHERE used_by_member_id = ?",
            (member_id,),
        )
        await tx.execute("DELETE FROM dialogs WHERE telegram_id = ?", (row["telegram_id"],))
        # a request for approval and the cards that name them; their own sign-up links
        await tx.execute("DELETE FROM approval_requests WHERE member_id = ?", (member_id,))
        await tx.execute("DELETE FROM signup_links WHERE member_id = ?", (member_id,))
        # their reporting limits (a named reporter's count in the hour, a lowered limit)
        await tx.execute("DELETE FROM report_penalties WHERE member_id = ?", (member_id,))
        await tx.execute("DELETE FROM guard_counters WHERE name = ?", (f"report:{member_id}",))
        await tx.execute("DELETE FROM outbox WHERE dedupe_key GLOB ?", (f"apv{member_id}:*",))
        await _unlink_incidents(tx, member_id, row["telegram_id"])
        # evaluation answers stay in the figures, without the person (and only the day)
        await tx.execute(
            "UPDATE evaluation_responses SET member_id = NULL,"
            " submitted_on = substr(submitted_on, 1, 10) WHERE member_id = ?",
            (member_id,),
        )
        await tx.execute("DELETE FROM evaluation_participants WHERE member_id = ?", (member_id,))
        # messages to them (queued or sent): their chat id and texts meant for them
        await tx.execute(
            "DELETE FROM outbox WHERE member_id = ? OR chat_id = ?",
            (member_id, row["telegram_id"]),
        )
        await _unlink_everywhere(
            tx, member_id, row["telegram_id"], [row["name"], row["organisation"]]
        )
        month = from_db(row["created_at"]).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        await tx.execute(
            "UPDATE members SET telegram_id = NULL, name = NULL, organisation = NULL,"
            " consent_version = NULL, consent_at = NULL, status = 'erased',"
            " created_at = ?, updated_at = ?, erased_at = ? WHERE id = ?",
            (to_db(month), to_db(now), to_db(now), member_id),
        )
        await tx.execute(
            "INSERT INTO audit_log (at, actor_telegram_id, action, member_id)"
            " VALUES (?, NULL, 'member_erased', ?)",
            (to_db(now), member_id),
        )
        return True

    async def audience(self, regions: Sequence[str], topics: Sequence[str] = ()) -> list[Audience]:
        """Active members of these regions (and, if topics are given, with one of them)."""
        return await audience(self._db, regions, topics)

    async def unreachable(
        self, regions: Sequence[str], topics: Sequence[str] = ()
    ) -> list[Audience]:
        """Members of these regions (and topics) who blocked the bot or deleted their account."""
        return await audience(self._db, regions, topics, status="unreachable")

    async def counts_by_region(self) -> list[RegionCount]:
        rows = await self._db.fetchall(
            "SELECT region_code,"
            " SUM(status = 'active') AS active, SUM(status = 'unreachable') AS unreachable"
            " FROM members WHERE status != 'erased' GROUP BY region_code ORDER BY region_code"
        )
        return [RegionCount(r["region_code"], r["active"], r["unreachable"]) for r in rows]

    async def totals(self) -> dict[str, int]:
        """Members by status, including anonymous rows of erased members."""
        rows = await self._db.fetchall("SELECT status, COUNT(*) AS n FROM members GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    async def registered_since(self, since: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM members WHERE status != 'erased' AND created_at >= ?",
            (to_db(since),),
        )
        return int(row[0]) if row else 0

    async def topic_counts(self) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT topic, COUNT(*) AS n FROM member_topics GROUP BY topic ORDER BY n DESC"
        )
        return {r["topic"]: r["n"] for r in rows}


async def _unlink_everywhere(
    tx: Tx, member_id: int, telegram_id: int, words: Sequence[str | None]
) -> None:
    """Every other place that names the person or links to them: broadcasts they started,
    events they created, groups they linked, roles and invites they granted as an admin, the
    audit log of what they did, and texts of messages to others (queued, or kept until the
    retention) that name them, such as cards saying who took a report."""
    await tx.execute(
        "UPDATE broadcasts SET created_by = NULL, status_chat_id = NULL, status_message_id = NULL"
        " WHERE created_by = ? OR status_chat_id = ?",
        (telegram_id, telegram_id),
    )
    await tx.execute("UPDATE events SET created_by = NULL WHERE created_by = ?", (member_id,))
    await tx.execute("UPDATE region_groups SET linked_by = NULL WHERE linked_by = ?", (member_id,))
    await tx.execute("UPDATE roles SET granted_by = NULL WHERE granted_by = ?", (telegram_id,))
    await tx.execute(
        "UPDATE invites SET created_by = ? WHERE created_by = ?", (ERASED_ASKER, telegram_id)
    )
    await tx.execute(
        "UPDATE audit_log SET actor_telegram_id = NULL WHERE actor_telegram_id = ?",
        (telegram_id,),
    )
    await tx.execute("DELETE FROM listed_admins WHERE telegram_id = ?", (telegram_id,))
    for word in sorted({w for w in words if w and len(w) >= 3}, key=len, reverse=True):
        for shown in {word, html.escape(word, quote=False)}:
            pattern = json.dumps(shown, ensure_ascii=False)[1:-1]  # as stored in the JSON
            await tx.execute(
                "UPDATE outbox SET payload = replace(payload, ?, '—') WHERE instr(payload, ?) > 0",
                (pattern, pattern),
            )


async def _unlink_incidents(tx: Tx, member_id: int, telegram_id: int) -> None:
    """Erasure and incident reports: the reports stay (others may depend on them) but lose
    every link to this person, as reporter (from then on they read as anonymous) and as the
    coordinator who took them, acted in their timeline or asked the reporter a question."""
    await tx.execute(
        "UPDATE incidents SET reporter_member_id = NULL, anonymous = 1"
        " WHERE reporter_member_id = ?",
        (member_id,),
    )
    await tx.execute(
        "UPDATE incidents SET assignee_telegram_id = NULL, assignee_name = NULL"
        " WHERE assignee_telegram_id = ?",
        (telegram_id,),
    )
    await tx.execute(
        "UPDATE incident_timeline SET actor = NULL, actor_name = NULL WHERE actor = ?",
        (telegram_id,),
    )
    await tx.execute(
        "UPDATE incident_questions SET asked_by = ? WHERE asked_by = ?",
        (ERASED_ASKER, telegram_id),
    )
