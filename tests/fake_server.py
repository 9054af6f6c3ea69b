"""A FakeTelegram served over real HTTP, like the Bot API, for the end-to-end suite.

`FakeBotApiServer(telegram, token)` answers `POST|GET /bot<token>/<method>` with the body
decoded from JSON, urlencoded or multipart form data (as PTB's HTTPXRequest sends it) into the
params and files that `FakeTelegram.handle` takes. A wrong token gets 401 like Telegram.
getUpdates long-polls: it waits for `push_update` up to its `timeout` (capped, to stay fast).
`wait_for(predicate)` waits, event-driven, until the predicate holds after some call.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fake_telegram import FakeTelegram

MAX_LONG_POLL_SECONDS = 2.0
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}


class FakeBotApiServer:
    def __init__(
        self,
        telegram: FakeTelegram,
        token: str,
        *,
        max_long_poll: float = MAX_LONG_POLL_SECONDS,
    ) -> None:
        self.telegram = telegram
        self.token = token
        self.max_long_poll = max_long_poll
        self.root_url = ""
        self.base_url = ""
        self.rejected = 0  # requests with a wrong token
        self.timeout_delay = 30.0  # how long a planned timeout keeps the client waiting
        self.confirmed_offset = 0  # the highest getUpdates offset seen (updates below it are gone)
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (a free port, or `port` to come back after an outage); return
        the Bot API base URL (…/bot)."""
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        port = self._runner.addresses[0][1]
        self.root_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root_url}/bot"
        return self.base_url

    @property
    def port(self) -> int:
        return int(self.root_url.rsplit(":", 1)[1])

    @property
    def file_url(self) -> str:
        return f"{self.root_url}/file/bot"

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ feeding and waiting

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update (it needs an update_id) and wake a waiting getUpdates."""
        self.telegram.push_update(update)
        self._notify()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 20.0,
        what: str = "",
    ) -> None:
        """Wait until predicate() holds, checking again whenever the server handles something."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            if predicate():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout:g} s waiting for {what or predicate!r}; "
                    f"last texts sent:\n{self.last_texts()}"
                )
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    def last_texts(self, count: int = 5) -> str:
        calls = [c for c in self.telegram.calls if "text" in c.params]
        lines = [f"  {c.method}({c.params.get('chat_id')}): {c.params['text']!r}" for c in calls]
        return "\n".join(lines[-count:]) or "  (none)"

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            self.rejected += 1
            self._notify()
            return web.json_response(UNAUTHORIZED, status=401)
        method = request.match_info["method"]
        params, files = await _read_params(request)
        if method == "getUpdates":
            await self._long_poll(params)
        status, body = self.telegram.handle(method, params, files)
        self._notify()
        if status == 0:  # a planned timeout: answer too late for the client
            await asyncio.sleep(self.timeout_delay)
            return web.json_response({"ok": False, "error_code": 504}, status=504)
        return web.json_response(body, status=status)

    async def _long_poll(self, params: dict[str, Any]) -> None:
        offset = int(params.get("offset") or 0)
        if offset:
            # Telegram forgets the confirmed updates as soon as the request arrives.
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self.telegram.updates = [u for u in self.telegram.updates if u["update_id"] >= offset]
            self._notify()
        try:
            timeout = float(params.get("timeout") or 0)
        except ValueError:
            timeout = 0.0
        deadline = time.monotonic() + min(max(timeout, 0.0), self.max_long_poll)
        while not self._closing:
            changed = self._changed
            if any(u["update_id"] >= offset for u in self.telegram.updates):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(UNAUTHORIZED, status=401)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )


async def _read_params(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """The call's parameters (query string and body) and uploaded files."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, tuple[str, bytes]] = {}
    if not request.can_read_body:
        return params, files
    content_type = request.content_type
    if content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                files[part.name] = (part.filename, bytes(await part.read()))
            else:
                params[part.name] = await part.text()
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    else:
        raw = await request.text()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if isinstance(body, dict):
                params.update(body)
    return params, files
