"""The callback context of every handler and job: typed access to storage and settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.incidents.report import CODE_TRIES_PER_HOUR, Quota
from bot.limits import Reporters, Watchers
from bot.regions import Regions, Topic
from bot.runtime.delivery import DeliveryEngine
from bot.settings import Settings
from storage.db import Storage


def utc_now() -> datetime:
    return datetime.now(UTC)


class BotData:
    """Shared per-application objects; filled in by build_application and post_init."""

    def __init__(self) -> None:
        self._storage: Storage | None = None
        self.owns_storage = False
        self.settings: Settings | None = None
        self.regions: Regions | None = None
        self.topics: list[Topic] = []
        self.clock: Callable[[], datetime] = utc_now
        self.bot_username: str = ""
        self.error_notices: dict[str, float] = {}  # error type -> when admins were last told
        self.delivery: DeliveryEngine | None = None
        self.start_delivery = True
        # flow name -> its Flow record (handlers/dialog.py), registered by bot/runtime/app.py
        self.flows: dict[str, Any] = {}
        # deep-link kind (event, checkin) -> handler (context, caller, value, lang)
        self.link_handlers: dict[str, Callable[..., Any]] = {}
        # abuse limits kept in memory only (nothing stored links a person to an anonymous report)
        self.report_quota = Quota(5)
        self.code_quota = Quota(CODE_TRIES_PER_HOUR)
        self.reporters = Reporters()  # who sent recent anonymous reports: memory only
        self.watchers = Watchers()  # who has an anonymous report's /status open: memory only
        self.flood = Quota(20, timedelta(minutes=1))  # updates per person per minute
        self.flood_warned: dict[int, datetime] = {}  # who was asked to slow down, when
        # set by a handler whose update leaves nothing to keep (an anonymous report, an
        # erasure): once the update is marked handled, the -wal file is checkpointed and cut
        self.checkpoint_wanted = False
        self.sweeps: dict[str, datetime] = {}  # sweep job -> when it last ran (for heartbeat)

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            raise RuntimeError("storage is not open yet (post_init has not run)")
        return self._storage

    @storage.setter
    def storage(self, value: Storage | None) -> None:
        self._storage = value


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    @property
    def storage(self) -> Storage:
        return self.bot_data.storage

    @property
    def settings(self) -> Settings:
        assert self.bot_data.settings is not None
        return self.bot_data.settings

    @property
    def regions(self) -> Regions:
        assert self.bot_data.regions is not None
        return self.bot_data.regions

    @property
    def topics(self) -> list[Topic]:
        return self.bot_data.topics

    def now(self) -> datetime:
        return self.bot_data.clock()


BotApp = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]
