"""How light the start is: the real bot process (`python -m bot run`) against the local fake Bot
API over HTTP, with an empty database. Prints one line: the seconds from the process's start to
its first getUpdates, and its memory (resident set) at that moment. The libraries that only make
files (openpyxl with numpy and PIL, segno, icalendar, matplotlib) are imported when a file is
made, not here.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from tests.fake_server import FakeBotApiServer
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.test_e2e import BotProcess, bot_env


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run() -> str:
    server = FakeBotApiServer(FakeTelegram(), TOKEN)
    await server.start()
    with tempfile.TemporaryDirectory() as tmp:
        env = bot_env(Path(tmp) / "bot.sqlite3", server, LOG_LEVEL="INFO")
        process = BotProcess(Path(tmp), env)
        started = time.perf_counter()
        await process.start()
        try:
            await server.wait_for(
                lambda: any(c.method == "getUpdates" for c in server.telegram.calls),
                timeout=60,
                what="the first getUpdates",
            )
            seconds = time.perf_counter() - started
            assert process.proc is not None
            memory = resident_mb(process.proc.pid)
        finally:
            await process.terminate()
    await server.stop()
    return (
        f"start: first getUpdates {seconds:.2f} s after the process started, "
        f"resident memory then {memory:.0f} MB"
    )


if __name__ == "__main__":
    print(asyncio.run(run()), flush=True)
