"""Logging: one format, the HTTP client quiet, and the bot token never written."""

from __future__ import annotations

import logging
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


class RedactToken(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secret:
            message = record.getMessage()
            if self._secret in message:
                record.msg = message.replace(self._secret, "<BOT_TOKEN>")
                record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = _FORMATTER.formatException(record.exc_info)
            if record.exc_text and self._secret in record.exc_text:
                record.exc_text = record.exc_text.replace(self._secret, "<BOT_TOKEN>")
        return True


_FORMATTER = logging.Formatter()


def setup_logging(level: str, token: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and the URL contains the token: keep it at WARNING.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # PTB logs request parameters (message texts) at DEBUG: never below INFO.
    for name in ("telegram", "aiosqlite"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level)))
    # APScheduler logs every run of every job at INFO.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))


class Throttle:
    """At most one log line per `every` seconds for a kind of event that anyone on the network
    can cause (a refused webhook request): the lines in between are counted, and the count goes
    into the next line, so a flood cannot fill the disk with the log."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._last: float | None = None
        self._skipped = 0

    def warning(self, logger: logging.Logger, message: str, *args: object) -> bool:
        """Log the line unless one was logged less than `every` seconds ago; True if logged."""
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            self._skipped += 1
            return False
        if self._skipped:
            message += f" (and {self._skipped} more like it since the last such line)"
        self._last, self._skipped = now, 0
        logger.warning(message, *args)
        return True


def warn_if_exposed(path: Path, holds: str = "the bot token") -> bool:
    """A file or folder that others on the machine can read gives them what it holds (the
    config: the bot token; the database: people's data): say so at start. The bot still runs:
    the owner may have reasons, e.g. a group of operators."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return False
    fix = "chmod 700" if path.is_dir() else "chmod 600"
    log.warning(
        "%s can be read by other users of this machine (mode %s) and holds %s: %s %s",
        path,
        oct(stat.S_IMODE(mode)),
        holds,
        fix,
        path,
    )
    return True
