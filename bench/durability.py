"""What `synchronous=FULL` costs: the registration dialogues of bench/registration.py and single
commits on a database on disk, with FULL (what the bot uses) and NORMAL (the WAL default)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import storage.db
from bench import registration
from storage.db import Storage

COMMITS = 2000


async def commits(mode: str) -> str:
    """One small transaction after another (an answer stored at a dialogue step)."""
    storage.db.SYNCHRONOUS = mode
    # beside the repository, not in /tmp (a tmpfs on many machines would make fsync free)
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        store = await Storage.open(Path(tmp) / "bench.sqlite3")
        mode_seen = await store.db.fetchone("PRAGMA synchronous")
        assert mode_seen is not None and mode_seen[0] == {"FULL": 2, "NORMAL": 1}[mode]
        await store.db.execute("CREATE TABLE bench (id INTEGER PRIMARY KEY, body TEXT)")
        took: list[float] = []
        for n in range(COMMITS):
            started = time.perf_counter()
            await store.db.execute("INSERT INTO bench (body) VALUES (?)", (f"answer {n}",))
            took.append(time.perf_counter() - started)
        await store.close()
    took.sort()
    p50 = statistics.median(took) * 1000
    p99 = took[int(len(took) * 0.99)] * 1000
    return f"{len(took) / sum(took):.0f} commits/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms"


async def main() -> None:
    figures = {}
    for mode in ("NORMAL", "FULL"):
        figures[mode] = (await commits(mode), await registration.run(per_second=1000))
    storage.db.SYNCHRONOUS = "FULL"
    print(
        "durability: "
        + "; ".join(
            f"{mode}: {single}, registration {reg}" for mode, (single, reg) in figures.items()
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
