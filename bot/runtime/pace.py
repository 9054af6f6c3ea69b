"""How fast the bot may send, as plain arithmetic on times passed in (no clock, no sleeping:
bot/runtime/ratelimit.py waits; tests give the times).

- `Pace`: the overall budget. At most `rate` sends in any window of WINDOW seconds (a sliding
  log of the last sends), so the whole per-second budget is used, a late tick is caught up at
  once, and no one-second window ever holds more than the limit. A send counts from the moment
  it leaves until a window after its answer came back: Telegram counts it somewhere in between
  (when it arrived), so however the network delays a request or its answer, no window of
  Telegram's holds more sends than one of ours. That costs one round trip a window (a few
  milliseconds), not a fixed share of the budget. The rate adapts to Telegram's
  answers: a 429 that shows the overall limit is the problem lowers it (multiplicative
  decrease, once per window), and every second without one raises it again by a step, up to
  the configured ceiling (additive increase).
- `Chats`: the per-chat side. When each chat was last sent to (to tell a 429 for one chat from
  a 429 for the whole bot) and which chats Telegram asked to wait, each until when. Both maps are
  bounded: they keep the chats of the last minute, not every recipient of a broadcast.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

WINDOW = 1.0  # Telegram counts a bot's messages over a sliding second
TICK = 0.0001  # the shortest wait when the window is full
WAIT_FOR_ANSWER = math.inf  # Pace.wait: the whole budget is on its way; the next answer frees it
CUT = 0.9  # multiplicative decrease after an overall 429
RAISE_SHARE = 1 / 60  # additive increase per second without one, as a share of the ceiling
LOWEST = 1.0  # messages per second: never below
PRIVATE_RECENT = 2.0  # a 429 this soon after a send to the same person is about that person
GROUP_RECENT = 60.0  # ... and to the same group (20 a minute), about that group
KEEP_CHATS = 4096  # the chats remembered at most (the most recent ones)


class Pace:
    """The overall budget: how long the next send must wait, and how the rate adapts."""

    def __init__(self, ceiling: float) -> None:
        self.ceiling = ceiling
        self.rate = ceiling
        self._answered: deque[float] = deque()  # when the answers of the last window came
        self.in_flight = 0  # sends that left and have no answer yet
        self._changed_at = float("-inf")  # the last cut (increases wait a window after it)
        self._raised_at = float("-inf")
        self.cuts = 0

    @property
    def allowed(self) -> int:
        """Sends allowed in one window at the current rate."""
        return max(1, int(self.rate))

    def wait(self, now: float) -> float:
        """Seconds until the next send may leave (0: now; WAIT_FOR_ANSWER: when a send on its
        way is answered)."""
        self._forget(now)
        allowed = self.allowed
        used = self.in_flight + len(self._answered)
        if used < allowed:
            return 0.0
        if self.in_flight >= allowed:
            return WAIT_FOR_ANSWER
        # the answer that must drop out of the window first (never 0 here: in floating point
        # `a + WINDOW - now` can come out as 0 where `now - a >= WINDOW` does not hold yet)
        return max(TICK, self._answered[used - allowed] + WINDOW - now)

    def take(self, now: float) -> None:
        """A send leaves now."""
        self._raise(now)
        self.in_flight += 1

    def answered(self, now: float) -> None:
        """A send's answer came now (whatever it was: Telegram counted the send, or might have).
        Times given here only grow (one monotonic clock)."""
        self.in_flight = max(0, self.in_flight - 1)
        self._answered.append(now)

    def too_many(self, now: float) -> bool:
        """Telegram refused a send for the bot's overall rate: lower it (once per window, as
        the sends already on their way were made at the old rate). True if it was lowered."""
        if now - self._changed_at < WINDOW:
            return False
        self.rate = max(LOWEST, self.rate * CUT)
        self._changed_at = now
        self._raised_at = now
        self.cuts += 1
        return True

    def _raise(self, now: float) -> None:
        if self.rate >= self.ceiling or now - self._changed_at < WINDOW:
            return
        if self._raised_at == float("-inf"):
            self._raised_at = now
            return
        seconds = now - self._raised_at
        if seconds >= WINDOW:
            self.rate = min(self.ceiling, self.rate + self.ceiling * RAISE_SHARE * seconds)
            self._raised_at = now

    def _forget(self, now: float) -> None:
        while self._answered and now - self._answered[0] >= WINDOW:
            self._answered.popleft()


class Chats:
    """When each chat was last sent to, and the chats Telegram asked to wait."""

    def __init__(self, keep: int = KEEP_CHATS) -> None:
        self.keep = keep
        self._last: OrderedDict[int, float] = OrderedDict()  # chat -> its last send
        self._paused: dict[int, float] = {}  # chat -> when it may be sent to again

    def sent(self, chat_id: int, now: float) -> float | None:
        """A send to the chat leaves now; returns when the one before it left (None: none we
        remember)."""
        before = self._last.pop(chat_id, None)
        self._last[chat_id] = now
        while len(self._last) > self.keep:
            self._last.popitem(last=False)
        return before

    def is_about_chat(self, chat_id: int, before: float | None, now: float) -> bool:
        """A 429 for this chat comes from its own limit (it was sent to shortly before: one
        message a second to a person, 20 a minute to a group), not from the bot's overall
        rate."""
        if before is None:
            return False
        return now - before < (GROUP_RECENT if chat_id < 0 else PRIVATE_RECENT)

    def pause(self, chat_id: int, until: float, now: float) -> None:
        """Telegram asked to wait with this chat until `until`."""
        self._paused[chat_id] = max(until, self._paused.get(chat_id, 0.0))
        if len(self._paused) > self.keep:
            self._paused = {c: at for c, at in self._paused.items() if at > now}

    def paused_for(self, chat_id: int, now: float) -> float:
        """Seconds this chat must still wait (0: it may be sent to)."""
        until = self._paused.get(chat_id)
        if until is None:
            return 0.0
        if until <= now:
            del self._paused[chat_id]
            return 0.0
        return until - now

    def paused(self, now: float) -> list[int]:
        """The chats that must still wait (for the engine not to claim their rows)."""
        for chat_id in [c for c, at in self._paused.items() if at <= now]:
            del self._paused[chat_id]
        return sorted(self._paused)
