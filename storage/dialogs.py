"""Dialogues in progress, persisted so that a restart loses nothing; except the flows that may
carry an anonymous report (the /report dialogue, details and answers typed in /status): those
are kept in memory only, so no row on disk ever links a Telegram id to what they type or to a
receipt code. A restart forgets them (the person starts the report again, or opens /status
CODE again)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.clock import from_db, to_db

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database


@dataclass(frozen=True)
class Dialog:
    telegram_id: int
    chat_id: int
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    message_id: int | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None


def _dialog(row: aiosqlite.Row) -> Dialog:
    return Dialog(
        telegram_id=row["telegram_id"],
        chat_id=row["chat_id"],
        flow=row["flow"],
        step=row["step"],
        data=json.loads(row["data"]),
        message_id=row["message_id"],
        updated_at=from_db(row["updated_at"]),
        expires_at=from_db(row["expires_at"]),
    )


# The flows kept in memory only: the /report dialogue (it may become anonymous at its end, and
# its answers are typed long before), a reporter's input in /status (linked to a code) and the
# optional details after a report sent by the fast path (linked to its code, too).
VOLATILE_FLOWS = frozenset({"rep", "ist", "rpx"})
VOLATILE_LIMIT = 10_000  # dialogues kept in memory at most (the oldest goes first)
# In a dialogue's data: when its one reminder was queued (a registration draft). Kept by every
# later save of the same flow, so an answer saved while the sweep reminds cannot undo it.
REMINDED = "_reminded"


class DialogRepo:
    def __init__(self, db: Database, volatile_flows: frozenset[str] = VOLATILE_FLOWS) -> None:
        self._db = db
        self.volatile_flows = volatile_flows
        self._memory: dict[int, Dialog] = {}  # telegram id -> a dialogue of a volatile flow

    async def get(self, telegram_id: int) -> Dialog | None:
        kept = self._memory.get(telegram_id)
        if kept is not None:
            return kept
        row = await self._db.fetchone("SELECT * FROM dialogs WHERE telegram_id = ?", (telegram_id,))
        return _dialog(row) if row else None

    def in_memory(self) -> int:
        return len(self._memory)

    async def save(self, dialog: Dialog, *, now: datetime, expires_at: datetime) -> Dialog:
        saved = replace(dialog, updated_at=now, expires_at=expires_at)
        if dialog.flow in self.volatile_flows:
            # one dialogue per person: a durable one they had is closed
            await self._db.execute(
                "DELETE FROM dialogs WHERE telegram_id = ?", (dialog.telegram_id,)
            )
            self._memory.pop(dialog.telegram_id, None)
            while len(self._memory) >= VOLATILE_LIMIT:
                self._memory.pop(next(iter(self._memory)))
            self._memory[dialog.telegram_id] = saved
            return saved
        self._memory.pop(dialog.telegram_id, None)
        await self._db.execute(
            "INSERT INTO dialogs (telegram_id, chat_id, flow, step, data, message_id,"
            " updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (telegram_id) DO UPDATE SET chat_id = excluded.chat_id,"
            " flow = excluded.flow, step = excluded.step,"
            " data = CASE WHEN dialogs.flow = excluded.flow"
            f" AND json_extract(dialogs.data, '$.{REMINDED}') IS NOT NULL"
            f" THEN json_set(excluded.data, '$.{REMINDED}',"
            f" json_extract(dialogs.data, '$.{REMINDED}')) ELSE excluded.data END,"
            " message_id = excluded.message_id, updated_at = excluded.updated_at,"
            " expires_at = excluded.expires_at",
            (
                dialog.telegram_id,
                dialog.chat_id,
                dialog.flow,
                dialog.step,
                json.dumps(dialog.data, ensure_ascii=False, sort_keys=True),
                dialog.message_id,
                to_db(now),
                to_db(expires_at),
            ),
        )
        return saved

    def held(self, telegram_id: int) -> Dialog | None:
        """The person's dialogue if it is kept in memory (to put back after a failure)."""
        return self._memory.get(telegram_id)

    def put_back(self, dialog: Dialog) -> None:
        """A dialogue kept in memory again, after the transaction that removed it failed (a
        report that could not be saved keeps its draft: the person sends it again)."""
        if dialog.telegram_id not in self._memory:
            self._memory[dialog.telegram_id] = dialog

    async def delete(self, telegram_id: int, *, flow: str | None = None) -> bool:
        """Remove the person's dialogue (only if it is of `flow`, when given); inside the
        caller's transaction, it goes together with what the dialogue produced. Memory does
        not roll back: a dialogue kept in memory and removed inside a transaction that then
        fails is put back with `put_back` by the caller."""
        kept = self._memory.get(telegram_id)
        if kept is not None and (flow is None or kept.flow == flow):
            del self._memory[telegram_id]
            return True
        sql = "DELETE FROM dialogs WHERE telegram_id = ?"
        params: list[object] = [telegram_id]
        if flow is not None:
            sql += " AND flow = ?"
            params.append(flow)
        return await self._db.execute(sql, params) > 0

    async def idle(
        self, flow: str, *, idle_since: datetime, now: datetime, limit: int = 500
    ) -> list[Dialog]:
        """Live dialogues of `flow` untouched since `idle_since` and not reminded yet (the
        longest idle first)."""
        rows = await self._db.fetchall(
            "SELECT * FROM dialogs WHERE flow = ? AND updated_at <= ? AND expires_at > ?"
            f" AND json_extract(data, '$.{REMINDED}') IS NULL ORDER BY updated_at LIMIT ?",
            (flow, to_db(idle_since), to_db(now), limit),
        )
        return [_dialog(r) for r in rows]

    async def claim_reminder(self, dialog: Dialog, now: datetime) -> bool:
        """Note the dialogue's one reminder, if it is still as it was read: the same flow, not
        touched since, not reminded (so a reminder is claimed once, and never for a dialogue
        the person moved on, finished or cancelled meanwhile)."""
        assert dialog.updated_at is not None
        changed = await self._db.execute(
            f"UPDATE dialogs SET data = json_set(data, '$.{REMINDED}', ?)"
            " WHERE telegram_id = ? AND flow = ? AND updated_at = ?"
            f" AND json_extract(data, '$.{REMINDED}') IS NULL",
            (to_db(now), dialog.telegram_id, dialog.flow, to_db(dialog.updated_at)),
        )
        return changed > 0

    async def take_expired(self, now: datetime, limit: int = 100) -> list[Dialog]:
        """Remove and return dialogues idle past their expiry (each is taken once)."""
        gone = [d for d in self._memory.values() if d.expires_at and d.expires_at <= now][:limit]
        for dialog in gone:
            del self._memory[dialog.telegram_id]
        rows = await self._db.fetchall(
            "DELETE FROM dialogs WHERE telegram_id IN (SELECT telegram_id FROM dialogs"
            " WHERE expires_at <= ? ORDER BY expires_at LIMIT ?) RETURNING *",
            (to_db(now), limit),
        )
        return gone + [_dialog(r) for r in rows]
