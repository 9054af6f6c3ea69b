"""The outbox of messages to send and the broadcasts they belong to."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from storage.clock import from_db, from_db_opt, to_db

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database, Tx


UNREACHABLE = "unreachable before sending"  # the error of a row never tried


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    member_id: int | None
    payload: dict[str, Any]
    key: str | None = None  # dedupe key: the same key is queued once
    unreachable: bool = False  # known to have blocked the bot: counted, never sent


@dataclass(frozen=True)
class OutboxRow:
    id: int
    broadcast_id: int | None
    chat_id: int
    member_id: int | None
    priority: int
    method: str
    payload: dict[str, Any]
    status: str
    attempts: int
    due_at: datetime
    message_id: int | None
    error: str | None
    key: str | None = None  # the dedupe key


@dataclass(frozen=True)
class Broadcast:
    id: int
    kind: str
    priority: int
    created_by: int | None
    status_chat_id: int | None
    status_message_id: int | None
    status_language: str
    total: int
    created_at: datetime
    progress_at: datetime | None
    reported_at: datetime | None


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    sent: int
    blocked: int
    failed: int

    @property
    def done(self) -> bool:
        return self.pending == 0


def key_glob(pattern: str) -> str:
    """A dedupe-key pattern with `%` for "anything" as a GLOB pattern, the rest taken literally.

    GLOB, not LIKE: LIKE is case-insensitive, so it cannot use the unique index of dedupe_key and
    walks the table (kept for a year); a GLOB pattern that starts with a fixed prefix is a range
    search of that index. Queries pair it with `+status` so that the status index is not chosen.
    """
    literal = re.sub(r"([*?\[])", r"[\1]", pattern)
    return literal.replace("%", "*")


def _row(row: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        broadcast_id=row["broadcast_id"],
        chat_id=row["chat_id"],
        member_id=row["member_id"],
        priority=row["priority"],
        method=row["method"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        due_at=from_db(row["due_at"]),
        message_id=row["message_id"],
        error=row["error"],
        key=row["dedupe_key"],
    )


def _broadcast(row: aiosqlite.Row) -> Broadcast:
    return Broadcast(
        id=row["id"],
        kind=row["kind"],
        priority=row["priority"],
        created_by=row["created_by"],
        status_chat_id=row["status_chat_id"],
        status_message_id=row["status_message_id"],
        status_language=row["status_language"],
        total=row["total"],
        created_at=from_db(row["created_at"]),
        progress_at=from_db_opt(row["progress_at"]),
        reported_at=from_db_opt(row["reported_at"]),
    )


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(
        self,
        recipients: Sequence[Recipient],
        *,
        method: str,
        priority: int,
        now: datetime,
        due_at: datetime | None = None,
        kind: str | None = None,
        created_by: int | None = None,
        status_language: str = "ru",
    ) -> int | None:
        """Queue one message per recipient, in one transaction (the caller's, if one is open,
        so the messages are queued together with the change that causes them). With `kind`,
        the rows form a broadcast (progress and a final report); returns its id. Keys
        already queued are skipped, so queueing the same thing twice sends it once."""
        async with self._db.unit() as tx:
            return await self._enqueue(
                tx, recipients, method, priority, now, due_at, kind, created_by, status_language
            )

    async def _enqueue(
        self,
        tx: Tx,
        recipients: Sequence[Recipient],
        method: str,
        priority: int,
        now: datetime,
        due_at: datetime | None,
        kind: str | None,
        created_by: int | None,
        status_language: str,
    ) -> int | None:
        due = to_db(due_at or now)
        broadcast_id = None
        if kind is not None:
            row = await tx.fetchone(
                "INSERT INTO broadcasts (kind, priority, created_by, status_language,"
                " created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (kind, priority, created_by, status_language, to_db(now)),
            )
            assert row is not None
            broadcast_id = int(row["id"])
        await tx.executemany(
            "INSERT INTO outbox (broadcast_id, dedupe_key, chat_id, member_id, priority,"
            " method, payload, due_at, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (dedupe_key) DO NOTHING",
            [
                (
                    broadcast_id,
                    r.key,
                    r.chat_id,
                    r.member_id,
                    priority,
                    method,
                    # a message never sent keeps no text
                    "{}" if r.unreachable else json.dumps(r.payload, ensure_ascii=False),
                    due,
                    "blocked" if r.unreachable else "pending",
                    UNREACHABLE if r.unreachable else None,
                )
                for r in recipients
            ],
        )
        if broadcast_id is not None:
            await tx.execute(
                "UPDATE broadcasts SET total ="
                " (SELECT COUNT(*) FROM outbox WHERE broadcast_id = ?) WHERE id = ?",
                (broadcast_id, broadcast_id),
            )
        return broadcast_id

    async def claim(
        self, now: datetime, limit: int, *, exclude_chats: Sequence[int] = ()
    ) -> list[OutboxRow]:
        """Take due rows, most urgent first; each row is taken by one claim only."""
        excluded = ",".join(str(int(c)) for c in exclude_chats)
        skip = f" AND chat_id NOT IN ({excluded})" if excluded else ""
        rows = await self._db.fetchall(
            "UPDATE outbox SET status = 'sending', claimed_at = ?, attempts = attempts + 1"
            " WHERE rowid IN (SELECT id FROM outbox WHERE status = 'pending' AND due_at <= ?"
            f"{skip} ORDER BY priority, due_at, id LIMIT ?)"
            # `+status`: the ids drive the lookup (the status index would walk every pending row)
            " AND +status = 'pending' RETURNING *",
            (to_db(now), to_db(now), limit),
        )
        return sorted((_row(r) for r in rows), key=lambda r: (r.priority, r.due_at, r.id))

    async def mark_sent(self, row_id: int, message_id: int | None, now: datetime) -> None:
        await self._db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL"
            " WHERE id = ? AND status = 'sending'",
            (to_db(now), message_id, row_id),
        )

    async def mark_final(self, row_id: int, status: str, error: str) -> None:
        """blocked (the person blocked the bot) or failed (Telegram refused the message)."""
        await self._db.execute(
            "UPDATE outbox SET status = ?, error = ? WHERE id = ? AND status = 'sending'",
            (status, error[:500], row_id),
        )

    async def retry_later(
        self, row_id: int, due_at: datetime, error: str, *, count_attempt: bool = True
    ) -> None:
        await self._db.execute(
            "UPDATE outbox SET status = 'pending', due_at = ?, error = ?,"
            " attempts = attempts - ? WHERE id = ? AND status = 'sending'",
            (to_db(due_at), error[:500], 0 if count_attempt else 1, row_id),
        )

    async def block_pending_for_chat(self, chat_id: int, error: str) -> int:
        """The person blocked the bot: their other queued messages will not be sent either."""
        return await self._db.execute(
            "UPDATE outbox SET status = 'blocked', error = ?"
            " WHERE chat_id = ? AND status = 'pending'",
            (error[:500], chat_id),
        )

    async def release_stale(self, before: datetime) -> int:
        """Rows claimed before a crash go back to pending (they may have been sent: at most
        the messages in flight at the moment of the crash are sent twice)."""
        return await self._db.execute(
            "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND claimed_at < ?",
            (to_db(before),),
        )

    async def cancel_pending(self, key_pattern: str) -> int:
        """Queued rows whose dedupe key matches the pattern (`%` for anything) that must not go
        out any more."""
        sql = (
            "UPDATE outbox SET status = 'cancelled', error = 'cancelled'"
            " WHERE dedupe_key GLOB ? AND +status = 'pending'"
        )
        return await self._db.execute(sql, (key_glob(key_pattern),))

    async def forget_with_key(self, key_pattern: str) -> int:
        """Rows whose dedupe key matches the pattern (`%` for anything) deleted whatever became
        of them, except one being sent right now: what was about someone who left no trace must
        not stay behind."""
        sql = "DELETE FROM outbox WHERE dedupe_key GLOB ? AND +status <> 'sending'"
        return await self._db.execute(sql, (key_glob(key_pattern),))

    async def pending_with_key(self, key_prefix: str) -> list[OutboxRow]:
        rows = await self._db.fetchall(
            "SELECT * FROM outbox WHERE dedupe_key GLOB ? AND +status = 'pending' ORDER BY id",
            (key_glob(f"{key_prefix}%"),),
        )
        return [_row(r) for r in rows]

    async def record_sent(
        self,
        *,
        chat_id: int,
        member_id: int | None,
        method: str,
        key: str,
        message_id: int,
        now: datetime,
    ) -> None:
        """A message the bot sent directly (a reply), kept like one sent from the outbox so
        later edits reach it; purged and erased with the others. No text is kept."""
        await self._db.execute(
            "INSERT INTO outbox (dedupe_key, chat_id, member_id, priority, method, payload,"
            " status, attempts, due_at, sent_at, message_id)"
            " VALUES (?, ?, ?, 0, ?, '{}', 'sent', 1, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
            (key, chat_id, member_id, method, to_db(now), to_db(now), message_id),
        )

    async def due_with_key(self, key_prefix: str, now: datetime) -> list[OutboxRow]:
        """Queued messages with this key prefix that may go out now."""
        rows = await self._db.fetchall(
            "SELECT * FROM outbox WHERE dedupe_key GLOB ? AND +status = 'pending'"
            " AND due_at <= ? ORDER BY id",
            (key_glob(f"{key_prefix}%"), to_db(now)),
        )
        return [_row(r) for r in rows]

    async def line_up(self, row_ids: Sequence[int], now: datetime) -> None:
        """These queued rows go out in this order, before anything else of their priority
        (each a microsecond before the next, all already due)."""
        first = now - timedelta(microseconds=len(row_ids))
        async with self._db.unit() as tx:
            await tx.executemany(
                "UPDATE outbox SET due_at = ? WHERE id = ? AND status = 'pending'",
                [(to_db(first + timedelta(microseconds=n)), i) for n, i in enumerate(row_ids)],
            )

    async def delivered_with_key(self, key_prefix: str) -> list[OutboxRow]:
        """Messages with this key prefix that reached their chat (to edit or answer them)."""
        rows = await self._db.fetchall(
            "SELECT * FROM outbox WHERE dedupe_key GLOB ? AND +status = 'sent'"
            " AND message_id IS NOT NULL ORDER BY id",
            (key_glob(f"{key_prefix}%"),),
        )
        return [_row(r) for r in rows]

    async def key_exists(self, key: str) -> bool:
        row = await self._db.fetchone("SELECT 1 FROM outbox WHERE dedupe_key = ?", (key,))
        return row is not None

    async def replace_payload(self, row_id: int, payload: dict[str, Any]) -> bool:
        """A queued message changed before it went out (an event was edited)."""
        sql = "UPDATE outbox SET payload = ? WHERE id = ? AND status = 'pending'"
        params = (json.dumps(payload, ensure_ascii=False), row_id)
        return (await self._db.execute(sql, params)) > 0

    async def bring_forward(self, key_pattern: str, now: datetime) -> int:
        """Queued rows (dedupe key matching the pattern, `%` for anything) waiting for later go
        out now."""
        return await self._db.execute(
            "UPDATE outbox SET due_at = ? WHERE dedupe_key GLOB ? AND +status = 'pending'"
            " AND due_at > ?",
            (to_db(now), key_glob(key_pattern), to_db(now)),
        )

    async def retarget(self, row_id: int, chat_id: int) -> None:
        """Send this row to another chat (a group that became a supergroup), now."""
        await self._db.execute(
            "UPDATE outbox SET chat_id = ?, status = 'pending', attempts = attempts - 1"
            " WHERE id = ? AND status = 'sending'",
            (chat_id, row_id),
        )

    async def next_due(self) -> datetime | None:
        row = await self._db.fetchone("SELECT MIN(due_at) FROM outbox WHERE status = 'pending'")
        return from_db(row[0]) if row and row[0] else None

    async def get(self, row_id: int) -> OutboxRow | None:
        row = await self._db.fetchone("SELECT * FROM outbox WHERE id = ?", (row_id,))
        return _row(row) if row else None

    async def for_broadcast(self, broadcast_id: int) -> list[OutboxRow]:
        rows = await self._db.fetchall(
            "SELECT * FROM outbox WHERE broadcast_id = ? ORDER BY id", (broadcast_id,)
        )
        return [_row(r) for r in rows]

    async def broadcast(self, broadcast_id: int) -> Broadcast | None:
        row = await self._db.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return _broadcast(row) if row else None

    async def set_status_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        await self._db.execute(
            "UPDATE broadcasts SET status_chat_id = ?, status_message_id = ? WHERE id = ?",
            (chat_id, message_id, broadcast_id),
        )

    async def progress(self, broadcast_id: int) -> Progress:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS total,"
            " SUM(status IN ('pending', 'sending')) AS pending, SUM(status = 'sent') AS sent,"
            " SUM(status = 'blocked') AS blocked, SUM(status IN ('failed', 'cancelled')) AS failed"
            " FROM outbox WHERE broadcast_id = ?",
            (broadcast_id,),
        )
        assert row is not None
        return Progress(
            row["total"],
            row["pending"] or 0,
            row["sent"] or 0,
            row["blocked"] or 0,
            row["failed"] or 0,
        )

    async def active_broadcasts(self) -> list[Broadcast]:
        rows = await self._db.fetchall(
            "SELECT * FROM broadcasts WHERE reported_at IS NULL ORDER BY id"
        )
        return [_broadcast(r) for r in rows]

    async def touch_progress(self, broadcast_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE broadcasts SET progress_at = ? WHERE id = ?", (to_db(now), broadcast_id)
        )

    async def mark_reported(self, broadcast_id: int, now: datetime) -> bool:
        """True once: the final report is sent by whoever marks it first."""
        return (
            await self._db.execute(
                "UPDATE broadcasts SET reported_at = ? WHERE id = ? AND reported_at IS NULL",
                (to_db(now), broadcast_id),
            )
            > 0
        )

    async def purge_finished(self, due_before: datetime) -> int:
        """Messages long finished (sent, blocked, failed, cancelled): their texts and recipients
        are not kept for ever."""
        return await self._db.execute(
            "DELETE FROM outbox WHERE status IN ('sent', 'blocked', 'failed', 'cancelled')"
            " AND due_at < ?",
            (to_db(due_before),),
        )
