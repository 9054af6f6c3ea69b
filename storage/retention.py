"""Retention of events: RETENTION_DAYS after an event ended, who answered, came, waited or was
asked for an evaluation is removed; the numbers stay on the event (kept_counts), so reports
still show them. Named evaluation answers lose their member (and keep the day only), as on
erasure: the figures stay."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.clock import to_db

if TYPE_CHECKING:
    from storage.db import Database, Tx

ANSWERS = ("going", "maybe", "no", "waitlist")


async def _counts(tx: Tx, event_id: int) -> dict[str, Any]:
    kept: dict[str, Any] = dict.fromkeys(ANSWERS, 0)
    for row in await tx.fetchall(
        "SELECT answer, COUNT(*) FROM rsvps WHERE event_id = ? GROUP BY answer", (event_id,)
    ):
        kept[str(row[0])] = int(row[1])
    came = await tx.fetchone(
        "SELECT COUNT(*) FROM rsvps WHERE event_id = ? AND checked_in_at IS NOT NULL", (event_id,)
    )
    kept["checked_in"] = int(came[0]) if came else 0
    evaluation: dict[str, list[int]] = {}
    for row in await tx.fetchall(
        "SELECT round, COUNT(*), COALESCE(SUM(answered), 0) FROM evaluation_participants"
        " WHERE event_id = ? GROUP BY round",
        (event_id,),
    ):
        evaluation[str(row[0])] = [int(row[1]), int(row[2])]
    kept["evaluation"] = evaluation  # round -> [asked, answered]
    return kept


async def purge_events(db: Database, ended_before: datetime, now: datetime) -> int:
    """Events that ended before `ended_before`: personal links removed, counts kept. Returns
    how many events were purged (each once)."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT id FROM events WHERE ends_at < ? AND purged_at IS NULL",
            (to_db(ended_before),),
        )
        for row in rows:
            event_id = int(row[0])
            kept = await _counts(tx, event_id)
            await tx.execute(
                "UPDATE events SET kept_counts = ?, purged_at = ? WHERE id = ?",
                (json.dumps(kept), to_db(now), event_id),
            )
            await tx.execute("DELETE FROM rsvps WHERE event_id = ?", (event_id,))
            await tx.execute("DELETE FROM evaluation_participants WHERE event_id = ?", (event_id,))
            await tx.execute(
                "UPDATE evaluation_responses SET member_id = NULL,"
                " submitted_on = substr(submitted_on, 1, 10)"
                " WHERE event_id = ? AND member_id IS NOT NULL",
                (event_id,),
            )
        return len(rows)


async def kept_counts(db: Database, event_id: int) -> dict[str, Any] | None:
    """The numbers of a purged event; None while its personal links are still there."""
    row = await db.fetchone(
        "SELECT kept_counts FROM events WHERE id = ? AND purged_at IS NOT NULL", (event_id,)
    )
    return json.loads(row[0]) if row and row[0] else None
