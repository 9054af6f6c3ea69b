"""Telegram's flood limits for the bot's own replies (PTB's AIORateLimiter, configured).

Button answers and menu updates are not messages and are not throttled; sends and edits share
MAX_MESSAGES_PER_SECOND overall and 20 per minute per group. RetryAfter is obeyed (retried up
to twice) for the whole bot.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import AIORateLimiter

UNTHROTTLED = frozenset(
    {"answerCallbackQuery", "setMyCommands", "deleteMyCommands", "getMe", "deleteWebhook"}
)


class BotRateLimiter(AIORateLimiter):
    def __init__(self, per_second: float) -> None:
        super().__init__(overall_max_rate=per_second, overall_time_period=1, max_retries=2)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if endpoint in UNTHROTTLED:
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
