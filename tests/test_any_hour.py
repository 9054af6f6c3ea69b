"""The end-to-end tests pass whatever the clock says.

`tests/test_e2e.py` runs again in a child pytest whose clock, and the clock of every bot process
it starts, is set by libfaketime (`LD_PRELOAD` + `FAKETIME`, inherited by the children) to
moments where an hour-dependent test would fail: half a minute before the new year in Moscow
(00:59 at night in Samara, where the test network's coordinators are; the date changes during
the run), and the night Europe moves its clocks forward (with the machine's own zone set to
Berlin; 04:59 in Samara). The offset is the same for every process, so the test and the bot
agree on the time. Monotonic clocks are left alone (asyncio's timers keep working).

A failure here with the plain run green means a test or the bot depends on the real clock:
fixed `now` in-process, and fixed settings such as QUIET_HOURS for the real process.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "test_e2e.py"
NESTED = "NGO_BOT_FAKETIME_RUN"  # set in the child run: it does not start this test again
CHILD_SECONDS = 1800

MOMENTS = {
    # 20:59:30 UTC on 31 December: 23:59:30 in Moscow, 00:59:30 on 1 January in Samara
    "new-year-in-moscow": (datetime(2026, 12, 31, 20, 59, 30, tzinfo=UTC), "Europe/Moscow"),
    # Europe/Berlin goes from 02:00 to 03:00 at 01:00 UTC; 04:59 in Samara
    "dst-abroad": (datetime(2027, 3, 28, 0, 59, 0, tzinfo=UTC), "Europe/Berlin"),
}


def e2e_tests() -> set[str]:
    """The names of the test functions in tests/test_e2e.py, read from its source."""
    tree = ast.parse(E2E.read_text("utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and node.name.startswith("test_")
    }


def faketime_env(moment: datetime, zone: str) -> dict[str, str]:
    import libfaketime

    _, additions = libfaketime.get_reload_information()
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)  # a -k or --deselect from outside would make it vacuous
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
def test_end_to_end_suite_passes_at_night_and_across_new_year_and_dst(
    name: str, tmp_path: Path
) -> None:
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

    report = tmp_path / "e2e.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}"]
    child = subprocess.Popen(  # its own session: on a timeout the bots it started go too
        [*command, str(E2E)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = child.communicate(timeout=CHILD_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        pytest.fail(
            f"e2e at {moment.isoformat()} ({zone}) ran over {CHILD_SECONDS} s:\n{output[-6000:]}"
        )
    tail = output[-6000:]
    assert child.returncode == 0, f"e2e at {moment.isoformat()} ({zone}) failed:\n{tail}"
    # every test of the file ran and passed (none skipped or deselected)
    cases = ET.parse(report).getroot().iter("testcase")  # noqa: S314 (our own child's report)
    passed = {
        case.get("name", "").split("[")[0]
        for case in cases
        if not any(part.tag in ("failure", "error", "skipped") for part in case)
    }
    assert passed == e2e_tests(), tail
    assert "test_incident_escalation_survives_kill_9_each_step_once" in passed
