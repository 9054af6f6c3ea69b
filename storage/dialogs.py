"""Dialogues in progress, persisted so that a restart loses nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.clock import from_db, to_db

if TYPE_CHECKING:
    import aiosqlite

    from storage.db import Database, Tx


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


class DialogRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, telegram_id: int) -> Dialog | None:
        row = await self._db.fetchone("SELECT * FROM dialogs WHERE telegram_id = ?", (telegram_id,))
        return _dialog(row) if row else None

    async def save(self, dialog: Dialog, *, now: datetime, expires_at: datetime) -> Dialog:
        await self._db.execute(
            "INSERT INTO dialogs (telegram_id, chat_id, flow, step, data, message_id,"
            " updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (telegram_id) DO UPDATE SET chat_id = excluded.chat_id,"
            " flow = excluded.flow, step = excluded.step, data = excluded.data,"
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
        return Dialog(
            dialog.telegram_id,
            dialog.chat_id,
            dialog.flow,
            dialog.step,
            dialog.data,
            dialog.message_id,
            now,
            expires_at,
        )

    async def delete(
        self, telegram_id: int, *, flow: str | None = None, tx: Tx | None = None
    ) -> bool:
        """Remove the person's dialogue (only if it is of `flow`, when given); inside `tx`, it
        goes together with what the dialogue produced."""
        sql = "DELETE FROM dialogs WHERE telegram_id = ?"
        params: list[object] = [telegram_id]
        if flow is not None:
            sql += " AND flow = ?"
            params.append(flow)
        if tx is not None:
            return await tx.execute(sql, params) > 0
        return await self._db.execute(sql, params) > 0

    async def take_expired(self, now: datetime, limit: int = 100) -> list[Dialog]:
        """Remove and return dialogues idle past their expiry (each is taken once)."""
        rows = await self._db.fetchall(
            "DELETE FROM dialogs WHERE telegram_id IN (SELECT telegram_id FROM dialogs"
            " WHERE expires_at <= ? ORDER BY expires_at LIMIT ?) RETURNING *",
            (to_db(now), limit),
        )
        return [_dialog(r) for r in rows]
