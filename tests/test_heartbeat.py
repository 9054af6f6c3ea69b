"""The heartbeat: pings the monitor while every sweep runs; silent (and says why) when stuck."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.conftest import Harness


@pytest.fixture
async def monitor() -> AsyncIterator[tuple[str, list[str]]]:
    pings: list[str] = []

    async def ping(request: web.Request) -> web.Response:
        pings.append(request.path)
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_get("/ping/abc", ping)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/ping/abc", pings
    await runner.cleanup()


async def run_job(h: Harness, name: str) -> None:
    assert h.app.job_queue is not None
    (job,) = [j for j in h.app.job_queue.jobs() if j.name == name]
    await job.run(h.app)


async def test_pings_while_healthy_and_stops_when_a_sweep_is_stuck(
    harness: Harness, monitor: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    url, pings = monitor
    settings = harness.app.bot_data.settings
    assert settings is not None
    harness.app.bot_data.settings = settings.model_copy(update={"heartbeat_url": url})
    await harness.run_jobs()  # every sweep runs, then the heartbeat
    assert pings == ["/ping/abc"]
    harness.clock.advance(minutes=6)  # no sweep has run since
    with caplog.at_level(logging.ERROR):
        await run_job(harness, "heartbeat")
    assert pings == ["/ping/abc"]
    assert "not healthy" in caplog.text and "sweep_incidents" in caplog.text
    await harness.run_jobs()
    assert len(pings) == 2


async def test_a_monitor_that_is_down_is_only_a_warning(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    settings = harness.app.bot_data.settings
    assert settings is not None
    harness.app.bot_data.settings = settings.model_copy(
        update={"heartbeat_url": "http://127.0.0.1:9/ping"}
    )
    with caplog.at_level(logging.WARNING):
        await harness.run_jobs()
    assert "heartbeat to the monitor failed" in caplog.text
