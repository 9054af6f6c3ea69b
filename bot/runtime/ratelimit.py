"""Telegram's flood limits for everything the bot sends (one limiter for replies and outbox).

- Overall: MAX_MESSAGES_PER_SECOND, as a sliding second (bot/runtime/pace.py): the whole budget
  is used and a late tick caught up, never more in any one second. A 429 that shows the overall
  limit is the problem (a refused send to a chat not sent to just before) lowers the rate, and
  it rises again step by step (additive increase, multiplicative decrease), so a bot that
  Telegram allows less than configured settles just under what it is allowed.
- Per chat: a 429 for a chat sent to just before (a person writing while being answered, a
  busy group) pauses that chat only, for the time Telegram asks; everyone else goes on.
- Groups: 20 messages a minute per group.
- Replies are retried after a 429 (up to twice); outbox rows pass NO_RETRY and are rescheduled
  by the delivery engine, which also skips chats that must still wait (`paused_chats`).
- A reply that meets a passing network fault (5xx, a timeout, a refused connection) is sent
  again after a short wait, up to twice and within RETRY_BUDGET seconds, so the person is not
  left without an answer. After a
  timeout Telegram may have taken the first attempt: an edit or button answer it already has is
  taken as done; a new message may, rarely, arrive twice (better than never).
Button answers and menu updates are not messages and are not throttled. The delivery engine
queues its sends here one at a time, so a reply to a person waits behind one of them at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.runtime.pace import WAIT_FOR_ANSWER, WINDOW, Chats, Pace

log = logging.getLogger(__name__)
JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]
Call = Callable[[], Coroutine[Any, Any, Result]]  # one Bot API request, ready to send
UNTHROTTLED = frozenset(
    {
        "answerCallbackQuery",
        "setMyCommands",
        "deleteMyCommands",
        "getMe",
        "getUpdates",
        "deleteWebhook",
        "getChatMember",
    }
)
# Calls with retries of their own (polling, the start) or that are best effort (menus).
NOT_RETRIED = frozenset(
    {"getUpdates", "getMe", "setMyCommands", "deleteMyCommands", "deleteWebhook", "setWebhook"}
)
GROUP_PER_MINUTE = 20
# an overall 429 asking for longer than this holds the outbox (not the replies) as long
LONG_WAIT = 2.0
REPLY_FIRST = 0.002  # an outbox send looks again this soon while a reply takes the free place
NO_RETRY = -1  # rate_limit_args of a call that must not be retried here (the outbox reschedules)
TRANSIENT_BACKOFF = (0.5, 2.0)  # seconds before the 2nd and 3rd attempt of a reply
# No new attempt of a reply this long after the first: updates are handled one at a time, and
# everyone waits behind a reply that keeps timing out. A timeout alone takes 5 s: two of them
# and the pauses still leave room for the third attempt.
RETRY_BUDGET = 15.0
SHORT_WAIT = 3.0  # a button answer asked to wait longer is too late anyway: not retried
# What Telegram answers to an edit or a button answer that an earlier, timed-out attempt made.
ALREADY_DONE = ("message is not modified", "query is too old", "query id is invalid")


_NO_LANE = contextlib.nullcontext()


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: int | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class BotRateLimiter(BaseRateLimiter[int]):
    def __init__(self, per_second: float, max_retries: int = 2) -> None:
        self.clock: Callable[[], float] = time.monotonic  # the event loop's clock; tests set it
        self.pace = Pace(per_second)
        self.chats = Chats()
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        # Outbox sends queue for the overall budget one at a time, so a reply to a person
        # waits behind at most one of them, however many are in flight.
        self._bulk_lane = asyncio.Lock()
        self._bulk_resume_at = 0.0
        self._replies_waiting = 0  # replies waiting for a place in the budget (they go first)
        self._answer = asyncio.Event()  # set at every answer (a place may have come free)
        self.retry_after_count = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _group(self, chat_id: object) -> AsyncLimiter | None:
        if isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0):
            if chat_id not in self._groups:
                if len(self._groups) > 1024:
                    self._groups.clear()
                self._groups[chat_id] = AsyncLimiter(GROUP_PER_MINUTE, 60)
            return self._groups[chat_id]
        return None

    def hold_bulk(self, seconds: float) -> None:
        """Outbox sends wait `seconds` from now (replies do not)."""
        self._bulk_resume_at = max(self._bulk_resume_at, self.clock() + seconds)

    def paused_chats(self) -> list[int]:
        """The chats Telegram asked to wait, for the outbox not to claim their rows."""
        return self.chats.paused(self.clock())

    async def _acquire(self, *, bulk: bool) -> None:
        """Wait for a place in the overall budget, and take it. A reply to a person goes first:
        an outbox send waits while a reply does (the budget's next place is the reply's)."""
        if not bulk:
            self._replies_waiting += 1
        try:
            while (delay := self._delay(bulk)) > 0:
                if delay == WAIT_FOR_ANSWER:  # the whole budget is on its way
                    self._answer.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._answer.wait(), WINDOW)
                else:
                    await asyncio.sleep(delay)
            self.pace.take(self.clock())
        finally:
            if not bulk:
                self._replies_waiting -= 1

    def _delay(self, bulk: bool) -> float:
        delay = self.pace.wait(self.clock())
        if delay == 0 and bulk and self._replies_waiting:
            return REPLY_FIRST  # let the waiting reply take this place
        return delay

    def _answered(self) -> None:
        self.pace.answered(self.clock())
        self._answer.set()

    async def _bulk_held(self) -> None:
        while (delay := self._bulk_resume_at - self.clock()) > 0:  # noqa: ASYNC110 - may grow
            await asyncio.sleep(delay)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        call = functools.partial(callback, *args, **kwargs)
        if endpoint in NOT_RETRIED or rate_limit_args is not None:  # the outbox reschedules
            return await self._throttled(call, endpoint, data, rate_limit_args)
        loop = asyncio.get_running_loop()
        began = loop.time()
        for attempt, backoff in enumerate((*TRANSIENT_BACKOFF, None)):
            try:
                return await self._throttled(call, endpoint, data, None)
            except BadRequest as exc:
                if attempt and any(done in str(exc).lower() for done in ALREADY_DONE):
                    return True  # the timed-out attempt had reached Telegram
                raise
            except NetworkError as exc:  # 5xx, timeouts, refused connections
                if backoff is None or loop.time() - began + backoff > RETRY_BUDGET:
                    raise
                log.warning(
                    "%s failed (%s: %s); trying again in %.1f s",
                    endpoint,
                    type(exc).__name__,
                    exc,
                    backoff,
                )
                await asyncio.sleep(backoff)
        raise AssertionError("unreachable")

    async def _throttled(
        self, call: Call, endpoint: str, data: dict[str, Any], rate_limit_args: int | None
    ) -> Result:
        retries = self._max_retries if rate_limit_args is None else max(0, rate_limit_args)
        if endpoint in UNTHROTTLED:
            return await self._unthrottled(call, endpoint, retries)
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        chat = chat_id if isinstance(chat_id, int) else None
        bulk = rate_limit_args is not None
        group = self._group(chat_id)
        for attempt in range(retries + 1):
            if chat is not None and (wait := self.chats.paused_for(chat, self.clock())) > 0:
                if bulk:  # the outbox puts the row back and sends to the others meanwhile
                    raise RetryAfter(max(1, math.ceil(wait)))
                await asyncio.sleep(wait)
            if bulk:
                await self._bulk_held()
            async with group or contextlib.nullcontext():
                async with self._bulk_lane if bulk else _NO_LANE:
                    await self._acquire(bulk=bulk)
                before = self.chats.sent(chat, self.clock()) if chat is not None else None
                try:
                    result = await call()
                except RetryAfter as exc:
                    self._answered()  # first: the send is no longer on its way
                    self._refused(chat, before, retry_seconds(exc), bulk=bulk)
                    if attempt == retries:
                        raise
                except BaseException:  # any answer, or none (a timeout, a cancel): it ends
                    self._answered()
                    raise
                else:
                    self._answered()
                    return result
        raise AssertionError("unreachable")

    def _refused(
        self, chat: int | None, before: float | None, seconds: float, *, bulk: bool
    ) -> None:
        """Telegram answered 429: the chat's own limit, or the bot's overall rate."""
        self.retry_after_count += 1
        now = self.clock()
        if chat is not None and self.chats.is_about_chat(chat, before, now):
            log.info("Telegram asked to wait %.0f s with one chat (429); only it waits", seconds)
        elif self.pace.too_many(now):
            log.warning(
                "Telegram refused a send for the overall rate (429); now %.1f messages/s",
                self.pace.rate,
            )
            if seconds > LONG_WAIT:
                self._bulk_resume_at = max(self._bulk_resume_at, now + seconds)
        if chat is not None and not bulk:  # the reply waits as asked, whichever limit it met
            self.chats.pause(chat, now + seconds, now)  # (an outbox row: the engine holds it)

    async def _unthrottled(self, call: Call, endpoint: str, retries: int) -> Result:
        """Not a message (a button answer, a menu): a 429 delays only this call."""
        if endpoint == "getUpdates":  # PTB's polling loop waits by itself
            return await call()
        for attempt in range(retries + 1):
            try:
                return await call()
            except RetryAfter as exc:
                self.retry_after_count += 1
                if attempt == retries or retry_seconds(exc) > SHORT_WAIT:
                    raise
                await asyncio.sleep(retry_seconds(exc))
        raise AssertionError("unreachable")
