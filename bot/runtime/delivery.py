"""The one way many messages leave the bot: a durable outbox in SQLite and the engine that
empties it within Telegram's limits.

Guarantee: every queued message is sent or ends as blocked/failed with a reason; none is lost
on a crash or restart. Rows claimed but not confirmed when the process died go back to the
queue at the next start, so at most the messages in flight at the moment of a crash (a handful:
DELIVERY_WORKERS) may arrive twice.

Limits: all sends pass the bot's rate limiter (bot/runtime/ratelimit.py: overall per sliding
second, adapting to Telegram's 429s; 20/min per group); on top of it the engine keeps one
message per second per private chat, and a chat Telegram asked to wait (429) waits alone.
Priorities: a person's reply is sent directly and never waits behind the outbox (the engine has
at most DELIVERY_WORKERS sends waiting in the limiter); inside the outbox, incident alerts go
before reminders, reminders before bulk.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from bot.i18n import t
from bot.outbox import ERASED_META
from bot.runtime.pace import WINDOW
from bot.runtime.ratelimit import NO_RETRY, BotRateLimiter, retry_seconds
from storage.db import Storage
from storage.outbox import Broadcast, OutboxRow, Progress

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20  # with the pauses below: about four hours of trying before 'failed'
BACKOFF_SECONDS = (5, 15, 60, 300, 900)
LEASE = timedelta(minutes=5)  # a row 'sending' for longer was lost by a failed round: requeue
TOKEN_PAUSE_SECONDS = 60.0
PRIVATE_CHAT_SPACING = 1.0  # seconds between two messages to one person
PROGRESS_EVERY = timedelta(seconds=3)
IDLE_POLL_SECONDS = 1.0
_GONE = ("chat not found", "user is deactivated", "bot was blocked", "bot was kicked")


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


class DeliveryEngine:
    """Empties the outbox: claims due rows, sends them, records each outcome."""

    def __init__(
        self,
        storage: Storage,
        bot: ExtBot[None],
        clock: Callable[[], datetime],
        *,
        workers: int = 8,
        paid_broadcast: bool = False,
    ) -> None:
        self.storage = storage
        self.bot = bot
        self.clock = clock
        self.workers = workers
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.paid_broadcast = paid_broadcast
        # person -> their last send, oldest first; only the last PRIVATE_CHAT_SPACING kept
        self._last_private: OrderedDict[int, float] = OrderedDict()
        self._paused_until = 0.0
        # chats Telegram asked to wait (429), each until when by the engine's clock
        self._held: dict[int, datetime] = {}
        self.sent_count = 0

    # ---------------------------------------------------------------- lifecycle

    @property
    def alive(self) -> bool:
        """Running (or not started, as in tests), not crashed."""
        return self._task is None or not self._task.done()

    async def start(self) -> None:
        """Requeue what a crash left claimed, then run in the background."""
        released = await self.storage.outbox.release_stale(self.clock() + timedelta(seconds=1))
        if released:
            log.warning(
                "%d outbox messages were in flight at the last stop; sending again", released
            )
            # the process before was sending until a moment ago, and Telegram still counts
            # those sends for a second: the outbox waits that second out (replies do not)
            limiter = getattr(self.bot, "rate_limiter", None)
            if isinstance(limiter, BotRateLimiter):
                limiter.hold_bulk(WINDOW)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="delivery-engine")

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the sends in flight and stop (what is still queued waits in SQLite). A round
        stuck longer than `grace` (a long 429 pause) is cancelled: its rows are requeued at the
        next start."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        """A pool of up to `workers` sends in flight. A free slot is filled as soon as a send
        finishes, so one slow chat (a timeout, a big file) never holds the others back."""
        in_flight: dict[asyncio.Task[None], OutboxRow] = {}
        touched: set[int] = set()  # broadcasts with sends since their last report
        loop = asyncio.get_running_loop()
        reported_at = loop.time()
        try:
            await self._pool(in_flight, touched, reported_at)
        finally:  # cancelled by stop(): what is in flight is requeued at the next start
            for task in in_flight:
                task.cancel()

    async def _pool(
        self,
        in_flight: dict[asyncio.Task[None], OutboxRow],
        touched: set[int],
        reported_at: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping or in_flight:
            try:
                claimed = [] if self._stopping else await self._claim_free(in_flight)
                for row in claimed:
                    in_flight[asyncio.create_task(self._deliver(row))] = row
                if in_flight:
                    done, _ = await asyncio.wait(
                        in_flight, timeout=IDLE_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        row = in_flight.pop(task)
                        if row.broadcast_id is not None:
                            touched.add(row.broadcast_id)
                if touched and (not in_flight or loop.time() - reported_at >= 1.0):
                    reported_at = loop.time()
                    ids, touched = touched, set()
                    await self._report(ids)
                if in_flight or claimed:
                    continue
                await self.housekeeping()
            except Exception:
                log.exception("delivery loop failed; trying again shortly")
            if self._stopping:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_wait())

    async def _claim_free(self, in_flight: dict[asyncio.Task[None], OutboxRow]) -> list[OutboxRow]:
        """Claim due rows for the free slots: never two for one chat at once, never a person
        messaged within the last second."""
        free = self.workers - len(in_flight)
        loop = asyncio.get_running_loop()
        if free <= 0 or loop.time() < self._paused_until:
            return []
        busy = self._busy(loop.time()) | {row.chat_id for row in in_flight.values()}
        rows = await self.storage.outbox.claim(self.clock(), free, exclude_chats=sorted(busy))
        return await self._one_per_chat(rows)

    async def _one_per_chat(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        batch: list[OutboxRow] = []
        chats: set[int] = set()
        for row in rows:
            if row.chat_id in chats:  # the next claim skips chats sent to within the last second
                await self.storage.outbox.retry_later(
                    row.id, row.due_at, "spacing", count_attempt=False
                )
            else:
                chats.add(row.chat_id)
                batch.append(row)
        return batch

    def _idle_wait(self) -> float:
        loop = asyncio.get_running_loop()
        return max(IDLE_POLL_SECONDS, self._paused_until - loop.time())

    async def housekeeping(self) -> None:
        """When idle: requeue rows a failed round left claimed, and finish the reports of
        broadcasts that ended without a send of theirs in the last round."""
        released = await self.storage.outbox.release_stale(self.clock() - LEASE)
        if released:
            log.warning("%d outbox rows were stuck in sending; queued again", released)
        for broadcast in await self.storage.outbox.active_broadcasts():
            progress = await self.storage.outbox.progress(broadcast.id)
            if not progress.done:
                continue
            if broadcast.status_chat_id is None and self.clock() - broadcast.created_at < LEASE:
                continue  # the coordinator's status message may still be on its way
            await self._report({broadcast.id})

    # ---------------------------------------------------------------- one round

    async def run_once(self) -> int:
        """One round, for tests and tools: claim up to `workers` due rows, send them together,
        report; returns how many were tried. The running engine uses the pool in `_run`."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._paused_until:
            return 0
        busy = sorted(self._busy(loop.time()))
        rows = await self.storage.outbox.claim(self.clock(), self.workers, exclude_chats=busy)
        if not rows:
            return 0
        batch = await self._one_per_chat(rows)
        results = await asyncio.gather(
            *(self._deliver(row) for row in batch), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                log.error("delivering an outbox row failed", exc_info=result)
        await self._report({row.broadcast_id for row in batch if row.broadcast_id is not None})
        return len(batch)

    async def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Send everything that is due now (tests and tools); returns the number of sends."""
        total = 0
        for _ in range(max_rounds):
            sent = await self.run_once()
            if not sent:
                self._last_private.clear()
                sent = await self.run_once()
                if not sent:
                    await self.housekeeping()
                    return total
            total += sent
        return total

    def _busy(self, now: float) -> set[int]:
        """Chats not to claim now: people sent to within the last PRIVATE_CHAT_SPACING, and
        chats Telegram asked to wait (the limiter's). Older entries are dropped as they age,
        so the map holds the last second's people, not every recipient."""
        recent = self._last_private
        while recent and now - next(iter(recent.values())) >= PRIVATE_CHAT_SPACING:
            recent.popitem(last=False)
        limiter = getattr(self.bot, "rate_limiter", None)
        paused = limiter.paused_chats() if isinstance(limiter, BotRateLimiter) else []
        clock = self.clock()
        self._held = {c: until for c, until in self._held.items() if until > clock}
        return set(recent) | set(paused) | set(self._held)

    async def _call(self, row: OutboxRow) -> Message | bool:
        data = row.payload
        markup = (
            InlineKeyboardMarkup.de_json(data["markup"], self.bot) if "markup" in data else None
        )
        common: dict[str, Any] = {"rate_limit_args": NO_RETRY}
        sending: dict[str, Any] = {"allow_paid_broadcast": True} if self.paid_broadcast else {}
        if "reply_to" in data and row.method != "editMessageText":
            common["reply_parameters"] = ReplyParameters(
                data["reply_to"], allow_sending_without_reply=True
            )
        if row.method == "sendMessage":
            return await self.bot.send_message(
                row.chat_id, data["text"], reply_markup=markup, **common, **sending
            )
        if row.method == "sendDocument":
            return await self.bot.send_document(
                row.chat_id,
                data["file_id"] if "file_id" in data else base64.b64decode(data["file"]),
                filename=data.get("filename"),
                caption=data.get("text"),
                reply_markup=markup,
                **common,
                **sending,
            )
        if row.method == "sendPhoto":
            return await self.bot.send_photo(
                row.chat_id,
                data["file_id"] if "file_id" in data else base64.b64decode(data["file"]),
                caption=data.get("text"),
                reply_markup=markup,
                **common,
                **sending,
            )
        if row.method == "sendVoice":
            return await self.bot.send_voice(
                row.chat_id, data["file_id"], caption=data.get("text"), **common, **sending
            )
        if row.method == "editMessageText":
            return await self.bot.edit_message_text(
                data["text"],
                chat_id=row.chat_id,
                message_id=data["message_id"],
                reply_markup=markup,
                **common,
            )
        if row.method == "deleteMessage":
            return await self.bot.delete_message(row.chat_id, data["message_id"], **common)
        raise ValueError(f"unknown outbox method {row.method}")

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            await self._deliver_once(row)
            if (row.payload.get("meta") or {}).get(ERASED_META):
                await self.storage.revocation.drop_if_tried(row.id)
        except Exception as exc:  # our own bookkeeping failed: try the row again later
            log.exception("outbox row %s: unexpected error", row.id)
            with contextlib.suppress(Exception):
                await self.storage.outbox.retry_later(
                    row.id, self.clock() + _backoff(row.attempts), type(exc).__name__
                )

    async def _deliver_once(self, row: OutboxRow) -> None:
        outbox = self.storage.outbox
        if row.chat_id > 0:
            self._last_private.pop(row.chat_id, None)
            self._last_private[row.chat_id] = asyncio.get_running_loop().time()
        try:
            result = await self._call(row)
        except InvalidToken:  # the whole bot is refused: stop sending, lose nothing
            log.critical("Telegram rejects the bot token; outbox paused (check BOT_TOKEN)")
            self._paused_until = asyncio.get_running_loop().time() + TOKEN_PAUSE_SECONDS
            await outbox.retry_later(row.id, self.clock(), "token", count_attempt=False)
        except RetryAfter as exc:  # this chat waits as asked; the others go on
            wait = timedelta(seconds=retry_seconds(exc))
            self._held[row.chat_id] = self.clock() + wait
            await outbox.retry_later(row.id, self.clock() + wait, "429", count_attempt=False)
        except Forbidden as exc:
            await self._gone(row, str(exc))
        except ChatMigrated as exc:  # the group became a supergroup with a new id
            new_id = int(exc.new_chat_id)
            await self.storage.groups.migrate(row.chat_id, new_id)
            await outbox.retarget(row.id, new_id)
        except BadRequest as exc:
            reason = str(exc)
            if "not modified" in reason.lower():
                await outbox.mark_sent(row.id, row.payload.get("message_id"), self.clock())
            elif any(gone in reason.lower() for gone in _GONE):
                await self._gone(row, reason)
            else:
                await outbox.mark_final(row.id, "failed", reason)
        except TelegramError as exc:  # network trouble, timeouts, 5xx: try again later
            if row.attempts >= MAX_ATTEMPTS:
                await outbox.mark_final(row.id, "failed", str(exc))
            else:
                await outbox.retry_later(row.id, self.clock() + _backoff(row.attempts), str(exc))
        else:
            message_id = result.message_id if isinstance(result, Message) else None
            await outbox.mark_sent(row.id, message_id, self.clock())
            self.sent_count += 1

    async def _gone(self, row: OutboxRow, reason: str) -> None:
        """The person blocked the bot (or the bot left the group): skip their queue."""
        await self.storage.outbox.mark_final(row.id, "blocked", reason)
        await self.storage.outbox.block_pending_for_chat(row.chat_id, reason)
        if row.chat_id > 0:
            await self.storage.members.set_reachable(row.chat_id, False, self.clock())
            await self.storage.incidents.hurry_for_chat(row.chat_id, self.clock())
        else:
            await self.storage.groups.set_active(row.chat_id, False)

    # ---------------------------------------------------------------- progress and reports

    async def _report(self, broadcast_ids: set[int]) -> None:
        for broadcast_id in sorted(broadcast_ids):
            broadcast = await self.storage.outbox.broadcast(broadcast_id)
            if broadcast is None:
                continue
            progress = await self.storage.outbox.progress(broadcast_id)
            now = self.clock()
            if progress.done:
                reported = await self.storage.outbox.mark_reported(broadcast_id, now)
                if reported and broadcast.status_chat_id is not None:
                    await self._edit_status(broadcast, "delivery.progress", progress)
                    await self._send_report(broadcast, progress)
            elif broadcast.status_chat_id is None:
                continue
            elif broadcast.progress_at is None or now - broadcast.progress_at >= PROGRESS_EVERY:
                await self.storage.outbox.touch_progress(broadcast_id, now)
                await self._edit_status(broadcast, "delivery.progress", progress)

    async def _edit_status(self, broadcast: Broadcast, key: str, progress: Progress) -> None:
        if broadcast.status_chat_id is None or broadcast.status_message_id is None:
            return
        text = t(broadcast.status_language, key, sent=progress.sent, total=progress.total)
        try:
            await self.bot.edit_message_text(
                text, chat_id=broadcast.status_chat_id, message_id=broadcast.status_message_id
            )
        except TelegramError as exc:
            log.info("could not update the progress of broadcast %s: %s", broadcast.id, exc)

    async def _send_report(self, broadcast: Broadcast, progress: Progress) -> None:
        if broadcast.status_chat_id is None:
            return
        lang = broadcast.status_language
        lines = [t(lang, "delivery.report", sent=progress.sent, total=progress.total)]
        if progress.blocked:  # blocked the bot before the broadcast or during it
            lines.append(t(lang, "delivery.report_blocked", n=progress.blocked))
        if progress.failed:
            lines.append(t(lang, "delivery.report_failed", n=progress.failed))
        text = "\n".join(lines)
        try:
            await self.bot.send_message(broadcast.status_chat_id, text)
        except TelegramError as exc:
            log.info("could not send the report of broadcast %s: %s", broadcast.id, exc)
