"""Running the bot: preflight (database, token, Telegram reachable), long polling or a webhook,
clean stop."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import sqlite3
from collections.abc import Callable
from http import HTTPStatus

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from bot.logs import Throttle
from bot.runtime.app import ALLOWED_UPDATES, build_application
from bot.runtime.context import BotApp
from bot.runtime.inbox import keep, replay
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
        await replay(app)  # updates received before a crash, not handled yet
        assert app.updater is not None
        server = None
        if settings.webhook_url:
            server = await start_webhook(app, settings)
        else:
            await app.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES,
                timeout=settings.polling_timeout_seconds,
                bootstrap_retries=-1,
                error_callback=_polling_failed,
            )
        await app.start()
        mode = "webhook" if server else "long polling"
        log.info("bot @%s is running (%s)", app.bot.username, mode)
        await stop.wait()
        log.info("stopping")
        if server is not None:
            server.stop()  # Telegram keeps the updates until the bot is back
        else:
            await app.updater.stop()
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
    finally:
        if app._initialized:
            await app.shutdown()
        await storage.close()
        log.info("stopped")


def _polling_failed(error: TelegramError) -> None:
    """Telegram unreachable while polling: one line each time (PTB retries with backoff), not a
    traceback per attempt."""
    log.warning("getUpdates failed (%s: %s); retrying", type(error).__name__, error)


# ---------------------------------------------------------------- webhook mode

MAX_UPDATE_BYTES = 1 << 20  # an update is a few kilobytes; anything much larger is not Telegram


class _TelegramPost(tornado.web.RequestHandler):
    """POST <path>: an update from Telegram, accepted only with the secret (compared in
    constant time); anything else gets 403 and is never looked at."""

    def initialize(self, app: BotApp, secret: bytes) -> None:
        self.app = app
        self.secret = secret

    def check_xsrf_cookie(self) -> None:  # Telegram sends no cookies; the secret is the check
        return

    async def post(self) -> None:
        given = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.secret):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, self.app.bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError):
            update = None
        if update is None:
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST)
        try:  # stored before Telegram gets its 200; without it Telegram sends it again later
            await keep(self.app.bot_data, [data])
        except sqlite3.Error as exc:  # a full or read-only disk
            log.error("a received update cannot be stored (%s); Telegram will send it again", exc)
            raise tornado.web.HTTPError(HTTPStatus.SERVICE_UNAVAILABLE) from None
        await self.app.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args: object) -> None:  # 403/400 are logged above, without bodies
        return


def _access_log(refused: Throttle) -> Callable[[tornado.web.RequestHandler], None]:
    """Tornado's own line per request, replaced: nothing for Telegram's accepted posts, and
    for refused ones (anyone on the network can send them) at most one line a minute."""

    def log_request(handler: tornado.web.RequestHandler) -> None:
        status = handler.get_status()
        if status < HTTPStatus.BAD_REQUEST:
            return
        request = handler.request
        if status == HTTPStatus.FORBIDDEN:
            refused.warning(
                log, "webhook request without the right secret from %s", request.remote_ip
            )
        else:
            refused.warning(
                log,
                "webhook request refused (%s %s %s) from %s",
                status,
                request.method,
                request.path[:100],
                request.remote_ip,
            )

    return log_request


async def start_webhook(app: BotApp, settings: Settings) -> tornado.httpserver.HTTPServer:
    """Our own small web server (the secret checked in constant time, bodies never logged),
    then setWebhook so that Telegram posts updates to WEBHOOK_URL."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    web = tornado.web.Application(
        [(settings.webhook_path, _TelegramPost, {"app": app, "secret": secret.encode()})],
        log_function=_access_log(Throttle(60.0)),
    )
    server = tornado.httpserver.HTTPServer(web, max_body_size=MAX_UPDATE_BYTES, xheaders=True)
    server.listen(settings.webhook_port, address=settings.webhook_listen)
    await app.bot.set_webhook(
        settings.webhook_url,
        secret_token=secret,
        allowed_updates=ALLOWED_UPDATES,
        max_connections=40,
    )
    log.info(
        "webhook: listening on %s:%s%s",
        settings.webhook_listen,
        settings.webhook_port,
        settings.webhook_path,
    )
    return server
