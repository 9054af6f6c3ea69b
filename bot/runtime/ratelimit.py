"""Telegram's flood limits for everything the bot sends (one limiter for replies and outbox).

- Overall: MAX_MESSAGES_PER_SECOND (about 30/s is what Telegram allows a bot).
- Groups: 20 messages a minute per group.
- RetryAfter (429) pauses every request of the bot for the time Telegram asks, then the request
  is retried (replies: up to twice; outbox rows pass NO_RETRY and are rescheduled).
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
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

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
PACING = 0.9
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
        # Evenly spaced, no bursts, at 90% of the limit: Telegram counts over a sliding
        # second, and a send at the very edge of that window would otherwise be refused.
        self._overall = AsyncLimiter(1, 1 / (per_second * PACING))
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        # Outbox sends queue for the overall budget one at a time, so a reply to a person
        # waits behind at most one of them, however many are in flight.
        self._bulk_lane = asyncio.Lock()
        self._resume_at = 0.0
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

    async def _paused(self) -> None:
        loop = asyncio.get_running_loop()
        while (delay := self._resume_at - loop.time()) > 0:  # noqa: ASYNC110 - may grow
            await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every request of the bot for `seconds` (Telegram said: retry after)."""
        loop = asyncio.get_running_loop()
        self._resume_at = max(self._resume_at, loop.time() + seconds)

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
        group = self._group(chat_id)
        for attempt in range(retries + 1):
            await self._paused()
            try:
                async with group or contextlib.nullcontext():
                    lane = self._bulk_lane if rate_limit_args is not None else _NO_LANE
                    async with lane:
                        await self._overall.acquire()
                    await self._paused()
                    return await call()
            except RetryAfter as exc:
                self.retry_after_count += 1
                seconds = retry_seconds(exc)
                self.pause(seconds)
                log.warning("Telegram asked to wait %.0f s (429); all sending paused", seconds)
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")

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
