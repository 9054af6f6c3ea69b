"""The outbox as the rules see it: a message for many (Outgoing), its priority, and queueing
it (send_to_many). The engine that empties the outbox is bot/runtime/delivery.py."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from bot.i18n import t
from storage.db import Storage
from storage.outbox import Recipient

ERASED_META = "erased"  # a row to an erased person: deleted once it was tried


class Priority(IntEnum):
    REPLY = 0
    ALERT = 1
    REMINDER = 2
    BULK = 3


@dataclass(frozen=True)
class Outgoing:
    """One message for many: a text (optionally with buttons) or a file with a caption."""

    text: str | None = None
    markup: dict[str, Any] | None = None
    document: bytes | None = None
    photo: bytes | None = None
    filename: str | None = None
    edit_message_id: int | None = None  # edit this delivered message instead of sending
    file_id: str | None = None  # a photo or document already on Telegram's servers
    file_kind: str | None = None  # "photo", "document" or "voice", with file_id
    reply_to: int | None = None  # show as a reply to this message of the chat (if it exists)
    meta: dict[str, Any] | None = None  # kept with the row for later (e.g. the reader's zone)
    delete_message_id: int | None = None  # delete this delivered message (a report's file)

    @property
    def method(self) -> str:
        if self.delete_message_id is not None:
            return "deleteMessage"
        if self.edit_message_id is not None:
            return "editMessageText"
        if self.document is not None or self.file_kind == "document":
            return "sendDocument"
        if self.photo is not None or self.file_kind == "photo":
            return "sendPhoto"
        if self.file_kind == "voice":
            return "sendVoice"
        return "sendMessage"

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.text is not None:
            data["text"] = self.text
        if self.markup is not None:
            data["markup"] = self.markup
        if self.document is not None:
            data["file"] = base64.b64encode(self.document).decode()
        if self.photo is not None:
            data["file"] = base64.b64encode(self.photo).decode()
        if self.file_id is not None:
            data["file_id"] = self.file_id
        if self.filename is not None:
            data["filename"] = self.filename
        if self.edit_message_id is not None:
            data["message_id"] = self.edit_message_id
        if self.delete_message_id is not None:
            data["message_id"] = self.delete_message_id
        if self.reply_to is not None:
            data["reply_to"] = self.reply_to
        if self.meta is not None:
            data["meta"] = self.meta
        return data


async def send_to_many(
    storage: Storage,
    recipients: Sequence[tuple[int, int | None]],
    message: Outgoing | Callable[[int, int | None], Outgoing],
    *,
    priority: Priority,
    now: datetime,
    key: str | None = None,
    kind: str | None = None,
    created_by: int | None = None,
    language: str = "ru",
    due_at: datetime | None = None,
    unreachable: Sequence[tuple[int, int | None]] = (),
) -> int | None:
    """Queue a message for each (chat_id, member_id). `message` may be a function of the
    recipient (their language, their time zone). With `key`, queueing again is a no-op per
    recipient. With `kind`, the queue forms a broadcast with progress and a final report;
    `unreachable` are the people of its audience known to have blocked the bot: never sent
    to, they are counted in the report as not reached."""
    rows: list[Recipient] = []
    method = "sendMessage"
    for chat_id, member_id in recipients:
        outgoing = message(chat_id, member_id) if callable(message) else message
        method = outgoing.method
        rows.append(
            Recipient(
                chat_id=chat_id,
                member_id=member_id,
                payload=outgoing.payload(),
                key=f"{key}:{chat_id}" if key else None,
            )
        )
    if kind is not None:
        rows += [Recipient(c, m, {}, unreachable=True) for c, m in unreachable]
    return await storage.outbox.enqueue(
        rows,
        method=method,
        priority=int(priority),
        now=now,
        due_at=due_at,
        kind=kind,
        created_by=created_by,
        status_language=language,
    )


async def progress_text(storage: Storage, broadcast_id: int, lang: str) -> str:
    """'📤 Отправлено 0 из 12' as the engine will update it (those known to have blocked the
    bot count in the total, as in the final report)."""
    progress = await storage.outbox.progress(broadcast_id)
    return t(lang, "delivery.progress", sent=progress.sent, total=progress.total)
