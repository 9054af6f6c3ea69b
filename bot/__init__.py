"""NGO network bot: the rules of the network (no Telegram objects below `handlers/`)."""

import os

# Opt in to python-telegram-bot's future behaviour: time periods (RetryAfter.retry_after ...)
# are datetime.timedelta, not int. bot/runtime/ratelimit.py reads both.
os.environ.setdefault("PTB_TIMEDELTA", "1")
