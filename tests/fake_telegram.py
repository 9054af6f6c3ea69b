"""A fake Telegram Bot API that answers like Telegram and records every call.

`FakeTelegram` holds the state (chats, messages, queued updates, planned failures) and answers
method calls. Two transports use it: `FakeRequest` (PTB's request layer, in-process tests) and
`tests/fake_server.py` (real HTTP, for the end-to-end suite).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

BOT_ID = 7000001
BOT_USERNAME = "ngo_network_test_bot"
TOKEN = f"{BOT_ID}:AAE_fake-token-for-tests-only_0123456789"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class Failure:
    method: str
    code: int
    description: str
    chat_id: int | None = None
    times: int = 1
    retry_after: int | None = None
    migrate_to: int | None = None
    applied: bool = False  # a timeout after Telegram did what was asked (the answer is lost)
    after: int = 0  # matching calls that go through before the failures start


SENDING = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "sendVoice", "sendLocation", "editMessageText"}
)

# the fields Telegram sends with each status of a chat member (besides status and user)
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
)
CHAT_MEMBER_STATUSES: dict[str, dict[str, Any]] = {
    "creator": {"is_anonymous": False},
    "administrator": {
        "can_be_edited": False,
        "is_anonymous": False,
        "can_promote_members": False,
        "can_post_stories": False,
        "can_edit_stories": False,
        "can_delete_stories": False,
        **dict.fromkeys(_ADMIN_RIGHTS, True),
    },
    "member": {},
    "left": {},
    "kicked": {"until_date": 0},
}


@dataclass
class Limits:
    """Telegram's flood limits, enforced like Telegram does: 429 with retry_after."""

    per_second: int = 30
    paid_per_second: int = 1000  # with allow_paid_broadcast (Telegram's paid broadcasts)
    per_chat_per_second: int = 1
    group_per_minute: int = 20
    retry_after: int = 1
    clock: Any = time.monotonic
    sends: list[float] = field(default_factory=list)
    by_chat: dict[int, list[float]] = field(default_factory=dict)
    rejected: int = 0

    def allow(self, chat_id: int, paid: bool = False) -> bool:
        now = self.clock()
        self.sends = [at for at in self.sends if now - at < 1]
        window = 60 if chat_id < 0 else 1
        allowed = self.group_per_minute if chat_id < 0 else self.per_chat_per_second
        recent = [at for at in self.by_chat.get(chat_id, []) if now - at < window]
        overall = self.paid_per_second if paid else self.per_second
        if len(self.sends) >= overall or len(recent) >= allowed:
            self.rejected += 1
            return False
        self.sends.append(now)
        recent.append(now)
        self.by_chat[chat_id] = recent
        return True


STORM_FAULTS = (
    # (weight, HTTP status, description); status 0 is a timeout (no answer in time)
    (35, 429, "Too Many Requests: retry after 1"),
    (20, 500, "Internal Server Error"),
    (25, 502, "Bad Gateway"),
    (20, 0, "timeout"),
)


@dataclass
class Storm:
    """Random Telegram trouble: a share `rate` of the calls of `methods` get a 429, a 5xx or no
    answer in time (half of those timeouts after doing the call, as Telegram sometimes does).
    A fault is passing: one call (method and chat) fails at most `max_in_a_row` times running.
    Seeded, so a failing run can be repeated."""

    seed: int
    rate: float = 0.2
    methods: frozenset[str] = frozenset()
    max_in_a_row: int = 2
    timeouts: bool = True
    faults: Counter[str] = field(default_factory=Counter)  # how many of each were injected
    applied: Counter[int] = field(default_factory=Counter)  # applied timeouts per chat
    _rng: random.Random = field(init=False)
    _running: dict[tuple[str, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def strike(self, method: str, chat_id: int) -> tuple[int, str, bool] | None:
        """The fault for this call, or None: (status, description, applied)."""
        if method not in self.methods:
            return None
        key = (method, chat_id)
        if self._running.get(key, 0) >= self.max_in_a_row or self._rng.random() >= self.rate:
            self._running.pop(key, None)
            return None
        # a timed-out long poll is PTB's own business; timeouts go to the calls that send
        timeouts = self.timeouts and method != "getUpdates"
        faults = [f for f in STORM_FAULTS if timeouts or f[1] != 0]
        _weight, status, description = self._rng.choices(faults, [f[0] for f in faults])[0]
        self._running[key] = self._running.get(key, 0) + 1
        applied = status == 0 and method != "getUpdates" and self._rng.random() < 0.5
        self.faults[f"{status or 'timeout'}{' (applied)' if applied else ''}"] += 1
        if applied:
            self.applied[chat_id] += 1
        return status, description, applied


class FakeTelegram:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        self._message_ids = itertools.count(1000)
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None  # what setWebhook was given
        self.updates: list[dict[str, Any]] = []
        self.answered_queries: set[str] = set()
        # (chat, user) -> status in that group, for getChatMember (not set: "member")
        self.chat_members: dict[tuple[int, int], str] = {}
        self.storm: Storm | None = None
        self._update_ids = itertools.count(1)
        self.held: dict[int, asyncio.Event] = {}  # chats whose sends hang until released
        self._activity: asyncio.Event | None = None
        self.bot_user = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "NGO Network",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # ------------------------------------------------------------------ planning errors

    def fail(
        self,
        method: str,
        *,
        code: int = 403,
        description: str = "Forbidden: bot was blocked by the user",
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
        migrate_to: int | None = None,
    ) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) fail like Telegram."""
        self.failures.append(
            Failure(method, code, description, chat_id, times, retry_after, migrate_to)
        )

    def time_out(
        self,
        method: str,
        times: int = 1,
        chat_id: int | None = None,
        *,
        applied: bool = False,
        after: int = 0,
    ) -> None:
        """The next calls (past the first `after`) get no answer in time: the client gives up
        (TimedOut). With `applied`, Telegram has done what was asked all the same."""
        self.failures.append(
            Failure(method, 0, "timeout", chat_id, times, None, None, applied=applied, after=after)
        )

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """The person's status in a group, as getChatMember will tell it."""
        if status not in CHAT_MEMBER_STATUSES:
            raise ValueError(f"not a chat member status: {status}")
        self.chat_members[(chat_id, user_id)] = status

    def hold(self, chat_id: int) -> asyncio.Event:
        """Sends to `chat_id` hang (a slow network, a big upload) until the event is set."""
        gate = asyncio.Event()
        self.held[chat_id] = gate
        return gate

    async def until(self, condition: Callable[[], bool], limit: float = 30.0) -> None:
        """Wait until the calls seen make `condition` true (`limit` only guards a hang)."""
        async with asyncio.timeout(limit):
            while not condition():
                self._activity = self._activity or asyncio.Event()
                self._activity.clear()
                await self._activity.wait()

    def retry_after(self, method: str, seconds: int, times: int = 1) -> None:
        self.fail(
            method,
            code=429,
            description=f"Too Many Requests: retry after {seconds}",
            retry_after=seconds,
            times=times,
        )

    def _planned_failure(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        for failure in self.failures:
            if failure.method != method or failure.times <= 0:
                continue
            if failure.chat_id is not None and _int(params.get("chat_id")) != failure.chat_id:
                continue
            if failure.after > 0:
                failure.after -= 1
                continue
            failure.times -= 1
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.code,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            if failure.migrate_to is not None:
                body["parameters"] = {"migrate_to_chat_id": failure.migrate_to}
            if failure.applied:
                body["applied"] = True
            return body
        return None

    # ------------------------------------------------------------------ answering

    def handle(
        self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        self.calls.append(Call(method, params, files or {}))
        if self._activity is not None:
            self._activity.set()
        planned = self._planned_failure(method, params) or self._storm_fault(method, params)
        if planned is not None:
            if planned.pop("applied", False):
                self._answer(method, params)
            return planned["error_code"], planned
        return self._answer(method, params)

    def _storm_fault(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        fault = self.storm.strike(method, _int(params.get("chat_id"))) if self.storm else None
        if fault is None:
            return None
        status, description, applied = fault
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if status == 429:
            body["parameters"] = {"retry_after": 1}
        if applied:
            body["applied"] = True
        return body

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        limits = self.limits if method in SENDING else None
        paid = str(params.get("allow_paid_broadcast", "")).lower() == "true"
        if limits is not None and not limits.allow(_int(params.get("chat_id")), paid):
            seconds = limits.retry_after
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            }
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        try:
            result = handler(params)
        except _ApiError as exc:
            return exc.code, {"ok": False, "error_code": exc.code, "description": exc.description}
        return 200, {"ok": True, "result": result}

    def _message(self, chat_id: int, **fields: Any) -> dict[str, Any]:
        message_id = next(self._message_ids)
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "Group"
        else:
            chat["first_name"] = "Person"
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            **{k: v for k, v in fields.items() if v is not None},
        }
        self.messages[(chat_id, message_id)] = message
        return message

    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._message(
            _int(params["chat_id"]),
            text=text,
            reply_markup=_json(params.get("reply_markup")),
            reply_to=_json(params.get("reply_parameters")),
        )

    def _m_sendVoice(self, params: dict[str, Any]) -> dict[str, Any]:
        voice = {"file_id": str(params.get("voice")), "file_unique_id": "voice-u", "duration": 1}
        return self._message(_int(params["chat_id"]), voice=voice, caption=params.get("caption"))

    def _m_sendLocation(self, params: dict[str, Any]) -> dict[str, Any]:
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        return self._message(_int(params["chat_id"]), location=location)

    def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = [{"file_id": "photo-id", "file_unique_id": "photo-u", "width": 1, "height": 1}]
        return self._message(_int(params["chat_id"]), photo=photo, caption=params.get("caption"))

    def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        if caption is not None and len(str(caption)) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        document = {"file_id": "doc-file-id", "file_unique_id": "doc-unique", "file_name": "file"}
        return self._message(_int(params["chat_id"]), document=document, caption=caption)

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (_int(params["chat_id"]), _int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        markup = _json(params.get("reply_markup"))
        if message.get("text") == params["text"] and message.get("reply_markup") == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = params["text"]
        message["edit_date"] = int(time.time())
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return message

    def _m_deleteMessage(self, params: dict[str, Any]) -> bool:
        key = (_int(params["chat_id"]), _int(params["message_id"]))
        if self.messages.pop(key, None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (_int(params["chat_id"]), _int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        markup = _json(params.get("reply_markup"))
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return message

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id in self.answered_queries:  # a button press is answered once
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.answered_queries.add(query_id)
        return True

    def _m_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        """A ChatMember as Telegram gives it: creator, administrator, member, left, kicked."""
        chat_id, user = params.get("chat_id"), params.get("user_id")
        if not str(chat_id).lstrip("-").isdigit() or int(str(chat_id)) == 0:
            raise _ApiError(400, "Bad Request: chat not found")
        if not str(user).isdigit() or int(str(user)) == 0:
            raise _ApiError(400, "Bad Request: invalid user_id specified")
        status = self.chat_members.get((int(str(chat_id)), int(str(user))), "member")
        member: dict[str, Any] = {
            "status": status,
            "user": {"id": int(str(user)), "is_bot": False, "first_name": "Person"},
            **CHAT_MEMBER_STATUSES[status],
        }
        return member

    def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        scope = json.dumps(_json(params.get("scope")) or {"type": "default"}, sort_keys=True)
        self.commands[(scope, str(params.get("language_code", "")))] = _json(params["commands"])
        return True

    def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        scope = json.dumps(_json(params.get("scope")) or {"type": "default"}, sort_keys=True)
        self.commands.pop((scope, str(params.get("language_code", ""))), None)
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = dict(params)  # url, secret_token, allowed_updates ...
        return True

    def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params.get("offset", 0))
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return list(self.updates)

    def _m_close(self, params: dict[str, Any]) -> bool:
        return True

    # ------------------------------------------------------------------ feeding updates

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def push_update(self, update: dict[str, Any]) -> None:
        self.updates.append(update)

    # ------------------------------------------------------------------ looking at calls

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or _int(c.params.get("chat_id")) == chat_id)
        ]

    def menu(self, scope: dict[str, Any], language_code: str = "") -> list[str] | None:
        commands = self.commands.get((json.dumps(scope, sort_keys=True), language_code))
        return None if commands is None else [c["command"] for c in commands]


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeRequest(BaseRequest):
    """PTB's request layer answered by a FakeTelegram: the whole PTB stack, no network."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        gate = self.telegram.held.get(_int(params.get("chat_id")) or 0)
        if gate is not None:
            await gate.wait()
        files: dict[str, tuple[str, bytes]] = {}
        if request_data is not None and request_data.contains_files:
            for name, part in request_data.multipart_data.items():
                filename, content = part[0], part[1]
                data = content if isinstance(content, bytes) else content.read()
                files[name] = (str(filename), data)
        status, body = self.telegram.handle(api_method, params, files)
        if status == 0:  # a planned timeout
            raise TimedOut("Timed out")
        return status, json.dumps(body).encode()
