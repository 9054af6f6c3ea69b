"""The send budget at Telegram's limit: a sliding second that is used whole and never exceeded,
a rate that adapts to Telegram's 429s (down at once, up step by step), a 429 for one chat that
holds that chat only, and paid broadcasts. Times are given by the tests, never read from a clock.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.outbox import Outgoing, Priority, send_to_many
from bot.runtime.pace import CUT, WAIT_FOR_ANSWER, WINDOW, Chats, Pace
from bot.runtime.ratelimit import NO_RETRY, BotRateLimiter
from bot.settings import Settings
from storage.members import Profile
from tests.conftest import START, Harness, flow_settings

PROFILE = Profile("Анна", "Диалог", "RU-SAM", "ru", ("education",))


def send_as_allowed(pace: Pace, start: float, end: float, step: float = 0.001) -> list[float]:
    """At every tick (each `step` seconds from `start` to `end`), send all the pace allows."""
    sent = []
    now = start
    while now < end:
        while pace.wait(now) == 0:
            pace.take(now)
            pace.answered(now)  # answered at once (see the test with a network in between)
            sent.append(now)
        now = round(now + step, 6)
    return sent


def busiest_second(times: list[float]) -> int:
    window: deque[float] = deque()
    most = 0
    for at in times:
        window.append(at)
        while at - window[0] >= WINDOW:
            window.popleft()
        most = max(most, len(window))
    return most


def test_the_whole_budget_is_used_and_no_second_holds_more() -> None:
    pace = Pace(30)
    sent = send_as_allowed(pace, 0.0, 20.0)
    assert busiest_second(sent) == 30  # the whole budget, never one more
    assert len(sent) >= 0.99 * 30 * 20


def test_a_late_tick_is_caught_up_at_once() -> None:
    pace = Pace(30)
    steady = send_as_allowed(pace, 0.0, 3.0, step=1 / 30)  # the engine's loop, on time
    # the loop is half a second late (a slow moment): what it could not send meanwhile goes
    # at the next tick, so the second's budget is not lost
    caught = send_as_allowed(pace, 3.5, 3.5001)
    assert len(caught) >= 14
    later = send_as_allowed(pace, 3.5001, 6.0, step=1 / 30)
    assert busiest_second(steady + caught + later) <= 30
    assert len(steady + caught + later) >= 0.97 * 30 * 6 - 30  # the first window is free


def test_an_overall_429_lowers_the_rate_once_a_window_and_it_rises_again_step_by_step() -> None:
    pace = Pace(30)
    send_as_allowed(pace, 0.0, 1.0)
    assert pace.too_many(1.0) is True
    lowered = pace.rate
    assert lowered == pytest.approx(30 * CUT)
    assert pace.too_many(1.2) is False  # the sends already on their way met the same limit
    assert pace.rate == lowered
    sent = send_as_allowed(pace, 1.2, 4.0)
    assert busiest_second([t for t in sent if t > 2.1]) <= int(pace.rate) + 1
    assert lowered < pace.rate < 30  # rising, not jumping back
    send_as_allowed(pace, 4.0, 120.0, step=0.01)
    assert pace.rate == 30  # back at the ceiling, never above it


def simulate(ceiling: float, allowed: int, seconds: float) -> tuple[int, int]:
    """The bot's pace against a Telegram that allows `allowed` a second: (delivered, 429s)."""
    pace = Pace(ceiling)
    arrived: deque[float] = deque()
    delivered = refused = 0
    now = 0.0
    while now < seconds:
        if pace.wait(now) == 0:
            pace.take(now)
            pace.answered(now)
            while arrived and now - arrived[0] >= 1.0:
                arrived.popleft()
            if len(arrived) >= allowed:
                refused += 1
                pace.too_many(now)
            else:
                arrived.append(now)
                delivered += 1
        now = round(now + 0.001, 6)
    return delivered, refused


def test_when_telegram_allows_less_than_configured_the_bot_settles_just_under_it() -> None:
    delivered, refused = simulate(ceiling=30, allowed=20, seconds=120)
    assert delivered >= 0.9 * 20 * 120
    assert refused <= 0.02 * delivered
    delivered, refused = simulate(ceiling=30, allowed=30, seconds=60)
    assert refused == 0 and delivered >= 0.97 * 30 * 60


def test_a_network_in_between_never_puts_more_into_telegrams_second() -> None:
    """Requests and answers take 0–60 ms each way, at random: Telegram counts a send when it
    arrives, the bot when it leaves and when it is answered. Counting each send until a
    window after its answer, no second at Telegram's holds more than the limit, and little of
    the budget is lost (a round trip a window)."""
    rng = random.Random(15)
    pace = Pace(30)
    arrived: list[float] = []
    answers: list[float] = []  # when the answers of the sends on their way come back (a heap)
    now = 0.0
    while now < 60.0:
        while answers and answers[0] <= now:
            pace.answered(heapq.heappop(answers))
        while pace.wait(now) == 0:
            pace.take(now)
            at = now + rng.uniform(0, 0.06)
            arrived.append(at)
            heapq.heappush(answers, at + rng.uniform(0, 0.06))
        now = round(now + 0.001, 6)
    assert busiest_second(sorted(arrived)) <= 30
    assert len(arrived) >= 0.9 * 30 * 60


def test_when_the_whole_budget_is_on_its_way_the_next_answer_frees_a_place() -> None:
    pace = Pace(3)
    for _ in range(3):
        pace.take(0.0)
    assert pace.wait(5.0) == WAIT_FOR_ANSWER  # however long: no answer, no place
    pace.answered(5.0)
    assert pace.wait(5.5) == pytest.approx(0.5)  # a window after that answer
    assert pace.wait(6.0) == 0


def test_a_429_soon_after_a_send_to_the_same_chat_is_about_that_chat() -> None:
    chats = Chats()
    assert chats.sent(7, 10.0) is None
    before = chats.sent(7, 10.4)
    assert before == 10.0 and chats.is_about_chat(7, before, 10.4)
    assert not chats.is_about_chat(8, chats.sent(8, 10.4), 10.4)  # a first send: overall
    assert not chats.is_about_chat(7, 1.0, 10.4)  # long ago: overall
    assert chats.is_about_chat(-100, 1.0, 30.0)  # a group: 20 a minute


def test_held_chats_wait_alone_and_the_memory_is_bounded() -> None:
    chats = Chats(keep=10)
    chats.pause(7, 15.0, 10.0)
    assert chats.paused_for(7, 12.0) == 3.0 and chats.paused_for(8, 12.0) == 0
    assert chats.paused(12.0) == [7] and chats.paused(15.0) == []
    for chat_id in range(1000):  # a broadcast to a thousand people
        chats.sent(chat_id, float(chat_id))
        chats.pause(chat_id, chat_id + 0.5, float(chat_id))
    assert len(chats._last) <= 10 and len(chats._paused) <= 11


class Answers:
    """Telegram as the limiter's callback sees it: 429 for the chats in `refuse`."""

    def __init__(self, refuse: set[int]) -> None:
        self.refuse = refuse
        self.calls: list[int] = []

    def call(self, chat_id: int) -> Callable[..., Any]:
        async def send() -> bool:
            self.calls.append(chat_id)
            if chat_id in self.refuse:
                raise RetryAfter(1)
            return True

        return send


async def send(
    limiter: BotRateLimiter, answers: Answers, chat_id: int, *, bulk: bool = True
) -> None:
    await limiter.process_request(
        answers.call(chat_id),
        (),
        {},
        "sendMessage",
        {"chat_id": chat_id},
        NO_RETRY if bulk else None,
    )


class Ticks:
    """The limiter's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_429_for_one_chat_holds_that_chat_only() -> None:
    limiter = BotRateLimiter(30)
    limiter.clock = ticks = Ticks()
    answers = Answers(refuse=set())
    await send(limiter, answers, 7, bulk=False)  # the bot answers a person ...
    ticks.now += 0.3
    answers.refuse = {7}
    with pytest.raises(RetryAfter):  # ... who is sent to again at once: their own limit
        await send(limiter, answers, 7)
    assert limiter.pace.rate == 30 and limiter.pace.cuts == 0  # nobody else slows down
    await send(limiter, answers, 8)
    await send(limiter, answers, 9)
    assert answers.calls == [7, 7, 8, 9]


async def test_an_overall_429_lowers_the_rate_and_recovers() -> None:
    limiter = BotRateLimiter(30)
    limiter.clock = ticks = Ticks()
    answers = Answers(refuse={11})
    with pytest.raises(RetryAfter):  # a chat not sent to before: the bot's overall rate
        await send(limiter, answers, 11)
    assert limiter.pace.cuts == 1 and limiter.pace.rate < 30
    assert limiter.paused_chats() == []  # an outbox row: the engine holds it, not the limiter
    for chat_id in range(100, 400):  # twelve quiet seconds of sends, below the lowered rate
        ticks.now += 1 / 25
        await send(limiter, answers, chat_id)
    assert limiter.pace.rate == 30


async def test_a_reply_refused_for_its_own_chat_holds_that_chat() -> None:
    limiter = BotRateLimiter(30, max_retries=0)  # the 429 comes back at once, no waiting here
    limiter.clock = ticks = Ticks()
    answers = Answers(refuse=set())
    await send(limiter, answers, 7, bulk=False)
    answers.refuse = {7}
    ticks.now += 0.2
    with pytest.raises(RetryAfter):
        await send(limiter, answers, 7, bulk=False)
    assert limiter.paused_chats() == [7]  # the outbox does not claim their rows meanwhile
    assert limiter.pace.cuts == 0
    with pytest.raises(RetryAfter):  # an outbox row for them is put back without a call
        await send(limiter, answers, 7)
    assert answers.calls == [7, 7]
    ticks.now += 1.0
    assert limiter.paused_chats() == []


async def members(h: Harness, *ids: int) -> list[tuple[int, int | None]]:
    out: list[tuple[int, int | None]] = []
    for telegram_id in ids:
        member, _ = await h.storage.members.upsert(
            telegram_id, PROFILE, consent_version="v", consent_at=START, now=START
        )
        out.append((telegram_id, member.id))
    return out


async def test_an_outbox_429_holds_that_chat_while_the_others_are_sent(harness: Harness) -> None:
    recipients = await members(harness, 601, 602, 603)
    harness.telegram.fail(
        "sendMessage",
        code=429,
        description="Too Many Requests: retry after 5",
        chat_id=601,
        retry_after=5,
    )
    await send_to_many(
        harness.storage, recipients, Outgoing(text="Привет"), priority=Priority.BULK, now=START
    )
    await send_to_many(
        harness.storage,
        recipients[:1],
        Outgoing(text="Ещё"),
        priority=Priority.BULK,
        now=START,
        key="more",
    )
    await harness.deliver()
    rows = await harness.storage.db.fetchall(
        "SELECT chat_id, status, due_at FROM outbox ORDER BY id"
    )
    by_chat = [(r["chat_id"], r["status"]) for r in rows]
    assert (602, "sent") in by_chat and (603, "sent") in by_chat
    assert [s for c, s in by_chat if c == 601] == ["pending", "pending"]  # both wait
    harness.clock.advance(seconds=5)
    await harness.deliver()
    statuses = await harness.storage.db.fetchall("SELECT status FROM outbox")
    assert {r["status"] for r in statuses} == {"sent"}
    texts = [c.params.get("text") for c in harness.telegram.sent(chat_id=601)]
    assert texts.count("Привет") == 2 and texts.count("Ещё") == 1  # one refused, then each once


@pytest.fixture
def settings(db_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The flow tests' settings; `allow_paid_broadcast` as the test asks (indirect)."""
    return flow_settings(db_path, allow_paid_broadcast=getattr(request, "param", False))


@pytest.mark.parametrize("settings", [False, True], indirect=True)
async def test_paid_broadcasts_are_asked_for_outbox_messages_only(
    harness: Harness, settings: Settings
) -> None:
    paid = settings.allow_paid_broadcast
    recipients = await members(harness, 611, 612)
    await send_to_many(
        harness.storage, recipients, Outgoing(text="Объявление"), priority=Priority.BULK, now=START
    )
    await harness.deliver()
    await harness.person(613).send("/help")  # a reply: never a paid broadcast
    bulk = [c for c in harness.telegram.sent() if c.params.get("chat_id") in (611, 612)]
    reply = [c for c in harness.telegram.sent() if c.params.get("chat_id") == 613]
    assert len(bulk) == 2 and reply
    assert all(bool(c.params.get("allow_paid_broadcast")) is paid for c in bulk)
    assert not any(c.params.get("allow_paid_broadcast") for c in reply)
