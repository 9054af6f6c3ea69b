"""The end-to-end tests pass whatever the clock says.

`tests/test_e2e.py` runs again in a child pytest whose clock, and the clock of every bot process
it starts, is set by libfaketime (`LD_PRELOAD` + `FAKETIME`, inherited by the children) to
moments where an hour-dependent test would fail: New Year's night (02:58 in Samara, where the
test network's coordinators are, and the date changes during the run), and the night Europe
moves its clocks forward (with the machine's own zone set to Berlin). The offset is the same for
every process, so the test and the bot agree on the time. Monotonic clocks are left alone
(asyncio's timers keep working).

A failure here with the plain run green means a test or the bot depends on the real clock:
fixed `now` in-process, and fixed settings such as QUIET_HOURS for the real process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NESTED = "NGO_BOT_FAKETIME_RUN"  # set in the child run: it does not start this test again

MOMENTS = {
    # 23:58:30 UTC on 31 December: 02:58 in Samara and Moscow's 02:58, the new year on the way
    "new-year-night": (datetime(2026, 12, 31, 23, 58, 30, tzinfo=UTC), "UTC"),
    # Europe/Berlin goes from 02:00 to 03:00 at 01:00 UTC; 04:59 in Samara
    "dst-abroad": (datetime(2027, 3, 28, 0, 59, 0, tzinfo=UTC), "Europe/Berlin"),
}


def faketime_env(moment: datetime, zone: str) -> dict[str, str]:
    import libfaketime

    _, additions = libfaketime.get_reload_information()
    env = dict(os.environ)
    env.update(additions)
    env.update(
        FAKETIME=f"{moment.timestamp() - time.time():+.3f}",  # an offset: the same everywhere
        DONT_FAKE_MONOTONIC="1",
        TZ=zone,
        PYTHONUNBUFFERED="1",
    )
    env[NESTED] = "1"
    return env


@pytest.mark.skipif(os.environ.get(NESTED) == "1", reason="already inside the faked run")
@pytest.mark.parametrize("name", sorted(MOMENTS))
def test_end_to_end_suite_passes_at_night_and_across_new_year_and_dst(name: str) -> None:
    moment, zone = MOMENTS[name]
    env = faketime_env(moment, zone)
    probe = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    faked = float(probe.stdout.strip())
    # the preload works on this machine: the child's clock is within an hour of the moment
    assert abs(faked - moment.timestamp()) < 3600, (probe.stdout, probe.stderr)

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_e2e.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    tail = (run.stdout + run.stderr)[-6000:]
    assert run.returncode == 0, f"e2e at {moment.isoformat()} ({zone}) failed:\n{tail}"
    assert re.search(r"\b\d+ passed\b", run.stdout) and " failed" not in run.stdout, tail
