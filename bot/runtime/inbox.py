"""Updates are stored as they arrive, before Telegram is told they were received, so that a
crash (kill -9, power loss) between receiving an update and handling it loses nothing.

With long polling, an update counts as received with the next getUpdates, and PTB sends that as
soon as the updates are queued, not once they are handled. So the answer of getUpdates is
written to the database (`processed_updates` rows with the update's JSON) before PTB sees it, and
at the next start the stored updates not handled yet are handled first. In webhook mode the
update is stored before Telegram gets its 200. The JSON is removed as soon as the update is
handled: it may hold the text of an incident report.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from bot.runtime.context import BotApp, BotData

log = logging.getLogger(__name__)


class InboxRequest(BaseRequest):
    """The request layer of getUpdates: the updates in each answer are stored first."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner
        self.bot_data: BotData | None = None  # set once the application is built

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        status, payload = await self.inner.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if status == 200 and url.endswith("/getUpdates") and self.bot_data is not None:
            body = _json(payload)
            results = body.get("result") if isinstance(body, dict) else None
            if isinstance(results, list):
                try:
                    await keep(self.bot_data, results)
                except sqlite3.Error as exc:  # a full or read-only disk: take nothing yet
                    log.error(
                        "received updates cannot be stored (%s); they stay with Telegram until"
                        " the database can be written",
                        exc,
                    )
                    # PTB's polling loop retries a NetworkError with growing pauses, and does
                    # not confirm what it did not take
                    raise NetworkError("received updates cannot be stored") from exc
        return status, payload


async def keep(bot_data: BotData, updates: list[Any]) -> None:
    """Store updates (as Telegram sent them) before they are confirmed or acknowledged."""
    rows = [
        (u["update_id"], json.dumps(u, ensure_ascii=False))
        for u in updates
        if isinstance(u, dict) and isinstance(u.get("update_id"), int)
    ]
    if rows:
        await bot_data.storage.updates.receive(rows, bot_data.clock())


async def replay(app: BotApp) -> int:
    """Queue the stored updates that were not handled before the process stopped."""
    waiting = await app.bot_data.storage.updates.waiting()
    for body in waiting:
        update = Update.de_json(json.loads(body), app.bot)
        await app.update_queue.put(update)
    if waiting:
        log.info("%d updates received before the restart are handled first", len(waiting))
    return len(waiting)


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None
