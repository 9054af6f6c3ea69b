"""Factories of real PTB `Update` objects, as Telegram would send them."""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Bot, Update

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)
_query_ids = itertools.count(1)


def user_dict(
    user_id: int, first_name: str = "Person", language_code: str | None = "ru"
) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        user["language_code"] = language_code
    return user


def chat_dict(chat_id: int, kind: str = "private") -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": kind}
    if kind == "private":
        chat["first_name"] = "Person"
    else:
        chat["title"] = "Regional group"
    return chat


def message_dict(
    user: dict[str, Any], text: str | None = None, chat: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat or chat_dict(user["id"]),
        "from": user,
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return message


def message_update(bot: Bot, user: dict[str, Any], text: str | None = None, **kw: Any) -> Update:
    data = {"update_id": next(_update_ids), "message": message_dict(user, text, **kw)}
    return Update.de_json(data, bot)


def callback_update(bot: Bot, user: dict[str, Any], data: str, message: dict[str, Any]) -> Update:
    payload = {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_query_ids)),
            "from": user,
            "chat_instance": "ci-1",
            "data": data,
            "message": message,
        },
    }
    return Update.de_json(payload, bot)


def my_chat_member_update(
    bot: Bot, user: dict[str, Any], old: str, new: str, chat: dict[str, Any] | None = None
) -> Update:
    bot_user = {"id": bot.id, "is_bot": True, "first_name": "NGO Network"}
    payload = {
        "update_id": next(_update_ids),
        "my_chat_member": {
            "chat": chat or chat_dict(user["id"]),
            "from": user,
            "date": int(time.time()),
            "old_chat_member": _member(bot_user, old),
            "new_chat_member": _member(bot_user, new),
        },
    }
    return Update.de_json(payload, bot)


def _member(user: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"user": user, "status": status}
    if status == "kicked":
        member["until_date"] = 0
    return member
