"""Limits against one person stalling the network, and abuse marks (#12).

What survives a restart, and links nobody to an anonymous report:
- the wrong receipt codes typed in the whole network this hour (a durable counter that belongs
  to no one): past WRONG_CODES_PER_HOUR, /status refuses every code until the hour is over;
- a named reporter's reports this hour and their penalty after an abuse mark (their reports
  carry their member id anyway).
What stays in memory only, because on disk it would say who sent an anonymous report (a count
of a person's reports with its hour, set beside the reports of that hour, does): a person's
count of anonymous reports and wrong codes, and who sent each recent anonymous report (for an
abuse mark). A restart forgets them; nobody can restart the bot at will.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.incidents.actions import actor_name, visible_incident
from bot.incidents.report import Quota, normalise_code
from bot.refusals import WrongInput
from bot.roles.access import Caller
from bot.settings import Settings
from storage.db import Storage
from storage.incidents import Incident

WRONG_CODES_PER_HOUR = 1000  # in the whole network: 44.6-bit codes stay unguessable
# wrong codes of the old 6-character form (about 30 bits) in the whole network an hour: some
# 440,000 guesses a year against a billion codes
WRONG_SHORT_CODES_PER_HOUR = 50
SHORT_CODE_LENGTH = 7  # 'K7-42QX
PENALTY = timedelta(days=30)  # how long an abuse mark lowers the reporter's limit
PENALISED_REPORTS_PER_HOUR = 1
REMEMBERED = 10_000  # anonymous reports whose sender the process keeps for an abuse mark
REMEMBER_FOR = timedelta(days=30)


def hour_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


class Reporters:
    """In memory only: who sent each recent anonymous report, and who was marked for abuse
    through one. Nothing of it is written anywhere; a restart forgets it."""

    def __init__(self) -> None:
        self._sender: dict[int, tuple[int, datetime]] = {}  # incident id -> (telegram id, when)
        self._penalised: dict[int, datetime] = {}  # telegram id -> until

    def remember(self, incident_id: int, telegram_id: int, now: datetime) -> None:
        for key in [k for k, (_, at) in self._sender.items() if now - at > REMEMBER_FOR]:
            del self._sender[key]
        while len(self._sender) >= REMEMBERED:
            self._sender.pop(next(iter(self._sender)))
        self._sender[incident_id] = (telegram_id, now)

    def penalise_sender(self, incident_id: int, until: datetime) -> bool:
        found = self._sender.pop(incident_id, None)
        if found is None:
            return False
        while len(self._penalised) >= REMEMBERED:
            self._penalised.pop(next(iter(self._penalised)))
        self._penalised[found[0]] = until
        return True

    def forget(self, telegram_id: int) -> None:
        """The person erased their data: the process forgets their reports and penalty too."""
        for key in [k for k, (who, _) in self._sender.items() if who == telegram_id]:
            del self._sender[key]
        self._penalised.pop(telegram_id, None)

    def penalised(self, telegram_id: int, now: datetime) -> bool:
        until = self._penalised.get(telegram_id)
        if until is not None and until <= now:
            del self._penalised[telegram_id]
            return False
        return until is not None


async def reports_left(
    storage: Storage,
    settings: Settings,
    quota: Quota,
    reporters: Reporters,
    caller: Caller,
    now: datetime,
) -> tuple[int, int]:
    """How many more reports the caller may send this hour, and their limit (REPORTS_PER_HOUR,
    or 1 after an abuse mark). A named reporter's count and penalty are durable; the rest is
    in memory."""
    limit = settings.reports_per_hour
    named = 0
    if caller.member is not None:
        named = await storage.limits.count(f"report:{caller.member.id}", hour_of(now))
        if await storage.limits.penalised_until(caller.member.id, now) is not None:
            limit = PENALISED_REPORTS_PER_HOUR
    if reporters.penalised(caller.telegram_id, now):
        limit = PENALISED_REPORTS_PER_HOUR
    used = max(quota.limit - quota.left(caller.telegram_id, now), named)
    return limit - used, limit


async def count_report(
    storage: Storage, quota: Quota, caller: Caller, incident: Incident, now: datetime
) -> None:
    quota.spend(caller.telegram_id, now)
    if not incident.anonymous and caller.member is not None:
        await storage.limits.add(f"report:{caller.member.id}", hour_of(now))


def _short(code_text: str) -> bool:
    """A code in the 6-character form of reports made before 44.6-bit codes (about 30 bits)."""
    code = normalise_code(code_text)
    return code is not None and len(code) == SHORT_CODE_LENGTH


async def codes_refused(
    storage: Storage, quota: Quota, telegram_id: int, now: datetime, code_text: str = ""
) -> bool:
    """Too many wrong codes: from this person this hour (in memory), or in the whole network
    this hour (durable, so a restart does not open the door to guessing). Codes of the old,
    short form have a much lower network-wide limit of their own: about 30 bits would not
    hold against WRONG_CODES_PER_HOUR guesses a year long."""
    if quota.left(telegram_id, now) <= 0:
        return True
    if _short(code_text) and (
        await storage.limits.count("wrong_short_code", hour_of(now)) >= WRONG_SHORT_CODES_PER_HOUR
    ):
        return True
    return await storage.limits.count("wrong_code", hour_of(now)) >= WRONG_CODES_PER_HOUR


async def wrong_code(
    storage: Storage, quota: Quota, telegram_id: int, now: datetime, code_text: str = ""
) -> None:
    quota.spend(telegram_id, now)
    await storage.limits.add("wrong_code", hour_of(now))
    if _short(code_text):
        await storage.limits.add("wrong_short_code", hour_of(now))


async def mark_abuse(
    storage: Storage, reporters: Reporters, caller: Caller, incident_id: int, now: datetime
) -> tuple[Incident, bool]:
    """A coordinator of the report's region marks it as abuse (false, spam, insults): the
    reporter's limit drops for PENALTY. The timeline says who marked it. For an anonymous
    report the sender is known only to the running process (if it still remembers), and the
    penalty stays there: no row says who it was. Returns the report and whether a reporter's
    limit dropped (not for an anonymous report sent before the last restart)."""
    incident = await visible_incident(storage, caller, incident_id)
    if incident.abuse:
        raise WrongInput("incidents.abuse_already")
    async with storage.db.transaction():
        marked = await storage.incidents.change(
            incident.id, now, when_state=(incident.state,), abuse=1
        )
        if marked is None:  # changed meanwhile: press again
            raise WrongInput("dialog.stale")
        await storage.incidents.note(
            incident.id, "abuse", now, actor=caller.telegram_id, actor_name=actor_name(caller)
        )
    if incident.reporter_member_id is not None:
        await storage.limits.penalise(incident.reporter_member_id, now + PENALTY)
        return marked, True
    return marked, reporters.penalise_sender(incident.id, now + PENALTY)


WATCH_FOR = timedelta(hours=1)  # after /status CODE, notices of that report come directly


class Watchers:
    """In memory only: the chat of a person who opened an anonymous report's /status lately.
    A question or a change of state of that report is sent to them directly (never through
    the outbox, which would store the chat); otherwise it waits for their next /status."""

    def __init__(self) -> None:
        self._chats: dict[int, tuple[int, str, datetime]] = {}  # incident -> (chat, lang, until)

    def watch(self, incident_id: int, chat_id: int, lang: str, now: datetime) -> None:
        self._chats.pop(incident_id, None)
        while len(self._chats) >= REMEMBERED:
            self._chats.pop(next(iter(self._chats)))
        self._chats[incident_id] = (chat_id, lang, now + WATCH_FOR)

    def chat_of(self, incident_id: int, now: datetime) -> tuple[int, str] | None:
        found = self._chats.get(incident_id)
        if found is None:
            return None
        if found[2] <= now:
            del self._chats[incident_id]
            return None
        return found[0], found[1]

    def forget(self, chat_id: int) -> None:
        for incident_id in [k for k, v in self._chats.items() if v[0] == chat_id]:
            del self._chats[incident_id]
