"""The escalation sweep with 1,000 open incidents: lateness of steps and the time of a sweep.

1,000 incidents of mixed urgency in 20 regions (a coordinator each, a federal coordinator,
an admin) are reported over a simulated hour through the real service (bot.incidents.report.submit)
while the sweep runs every SWEEP_INTERVAL_SECONDS of simulated time, for 12 hours, on a real
SQLite database (nobody acts on a report, so every reminder and escalation fires). A step's
lateness is the simulated time of the sweep that fired it minus its due time, plus the real
time that sweep took. Then the bot is "down" for 6 hours and one sweep runs: the whole backlog
must fire in it.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.incidents.escalation import run_due_steps
from bot.incidents.report import Report, submit
from bot.regions import Regions, load_regions
from bot.roles.access import identify
from bot.settings import Settings, load_settings
from storage.clock import from_db, to_db
from storage.db import Storage
from storage.members import Profile
from tests.fake_telegram import TOKEN

INCIDENTS = 1_000
REGIONS = 20
ADMIN = 990_000
START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


async def setup(storage: Storage, codes: list[str]) -> list[int]:
    """Coordinators of each region, a federal coordinator; returns reporters' telegram ids."""
    reporters = []
    for n, code in enumerate(codes):
        for telegram_id, role in ((100_000 + n, code), (200_000 + n, None)):
            member, _ = await storage.members.upsert(
                telegram_id,
                Profile(f"Person {telegram_id}", "NGO", code, "ru", ("education",)),
                consent_version="v",
                consent_at=START,
                now=START,
            )
            if role is not None:
                await storage.db.execute(
                    "INSERT INTO roles (member_id, role, region_code, granted_at)"
                    " VALUES (?, 'coordinator', ?, ?)",
                    (member.id, role, to_db(START)),
                )
            else:
                reporters.append(telegram_id)
    federal, _ = await storage.members.upsert(
        300_000,
        Profile("Federal", "NGO", codes[0], "ru", ()),
        consent_version="v",
        consent_at=START,
        now=START,
    )
    await storage.db.execute(
        "INSERT INTO roles (member_id, role, region_code, granted_at)"
        " VALUES (?, 'coordinator', '*', ?)",
        (federal.id, to_db(START)),
    )
    return reporters


async def report(
    storage: Storage,
    settings: Settings,
    regions: Regions,
    rng: random.Random,
    reporters: list[int],
    urgencies: list[str],
    now: datetime,
) -> None:
    caller = await identify(storage, settings, rng.choice(reporters))
    assert caller.member is not None
    urgency = rng.choice(urgencies)
    await submit(
        storage,
        settings,
        regions,
        caller,
        Report(
            danger=urgency == "critical",
            category="threats",
            urgency=urgency,
            region_code=caller.member.region_code,
            place=None,
            latitude=None,
            longitude=None,
            happened_on=now.date(),
            description="bench",
            attachments=(),
            anonymous=rng.random() < 0.3,
        ),
        now,
    )


async def lateness(storage: Storage, since: str) -> list[float]:
    rows = await storage.db.fetchall(
        "SELECT due_at, done_at FROM incident_steps WHERE status = 'done' AND done_at > ?",
        (since,),
    )
    return [(from_db(r[1]) - from_db(r[0])).total_seconds() for r in rows]


async def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        settings = load_settings(
            None, bot_token=TOKEN, database_path=path, admin_ids=str(ADMIN), _env_file=None
        )
        regions = load_regions()
        codes = [r.code for r in regions.regions if r.code.startswith("RU-")][:REGIONS]
        storage = await Storage.open(path)
        reporters = await setup(storage, codes)
        urgencies = ["critical"] * 5 + ["high"] * 25 + ["normal"] * 45 + ["low"] * 25
        arrivals = [START + timedelta(seconds=3.6 * i) for i in range(INCIDENTS)]  # over an hour
        interval = timedelta(seconds=settings.sweep_interval_seconds)
        clock = START
        durations: list[tuple[float, int]] = []
        worst = 0.0
        while clock < START + timedelta(hours=12):
            while arrivals and arrivals[0] <= clock:
                await report(storage, settings, regions, rng, reporters, urgencies, arrivals.pop(0))
            mark = to_db(clock - timedelta(microseconds=1))
            started = time.perf_counter()
            fired = await run_due_steps(storage, settings, regions, clock)
            took = time.perf_counter() - started
            durations.append((took, fired))
            late = await lateness(storage, mark)
            if late:
                worst = max(worst, max(late) + took)
            clock += interval
        busy = [d for d in durations if d[1]]
        busiest = max(busy, key=lambda d: d[1]) if busy else (0.0, 0)
        per_step = sum(d[0] for d in busy) / max(1, sum(d[1] for d in busy))
        print(
            f"escalation [running]: {INCIDENTS} incidents, {sum(d[1] for d in durations)} steps"
            f" over 12 h simulated, sweep every {interval.total_seconds():.0f} s:"
            f" worst lateness {worst:.1f} s; a sweep takes {busiest[0] * 1000:.0f} ms for"
            f" {busiest[1]} steps ({per_step * 1000:.1f} ms a step), an idle sweep"
            f" {min(d[0] for d in durations) * 1000:.1f} ms"
        )
        # the bot is down for 6 hours, then starts: one sweep must fire the whole backlog
        clock += timedelta(hours=6)
        mark = to_db(clock - timedelta(microseconds=1))
        due = await storage.incidents.due_steps(clock, 100_000)
        started = time.perf_counter()
        fired = await run_due_steps(storage, settings, regions, clock)
        took = time.perf_counter() - started
        late = await lateness(storage, mark)
        left = await storage.incidents.due_steps(clock, 100_000)
        print(
            f"escalation [after a 6 h outage]: {len(due)} steps overdue, {fired} fired in the"
            f" first sweep ({took:.1f} s), worst lateness {max(late, default=0) / 3600:.1f} h"
            f" (the outage), still overdue after it: {len(left)}"
        )
        await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
