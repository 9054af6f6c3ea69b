"""Running the bot: preflight (database, token, Telegram reachable), long polling, clean stop."""

from __future__ import annotations

import asyncio
import logging
import signal

from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.app import ALLOWED_UPDATES, build_application
from bot.context import BotApp
from bot.settings import Settings
from storage.db import Storage

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; `key` is the catalog text for the operator, `params` its values."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


async def initialize_with_retries(app: BotApp, retries: int) -> None:
    """getMe with exponential backoff on network errors; a rejected token fails at once."""
    delay = 1.0
    for attempt in range(retries + 1):
        try:
            await app.initialize()
            return
        except InvalidToken:
            raise StartupError("cli.token_rejected") from None
        except (NetworkError, TimedOut) as exc:
            if attempt == retries:
                raise StartupError("cli.telegram_unreachable", error=str(exc)) from None
            log.warning("Telegram not reachable (%s); retrying in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)


async def run(settings: Settings) -> None:
    storage = await Storage.open(settings.database_path)
    app = build_application(settings, storage=storage)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await initialize_with_retries(app, settings.startup_retries)
        assert app.post_init is not None
        await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES,
            timeout=settings.polling_timeout_seconds,
            bootstrap_retries=-1,
        )
        await app.start()
        log.info("bot @%s is running (long polling)", app.bot.username)
        await stop.wait()
        log.info("stopping")
        await app.updater.stop()
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
    finally:
        if app._initialized:
            await app.shutdown()
        await storage.close()
        log.info("stopped")
