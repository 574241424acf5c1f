"""The wall clock steps an hour back, then two hours forward, during a live session.

A real server in this process, on SystemClock over a wall clock the test
steps (tests/support.py SteppingWall) and the real monotonic clock; a person
works through HTTP and two sessionTicks subscriptions (the tick fast path and
Strawberry's execution) watch over real WebSockets. The reaper runs twice a
second with the default abandon window (30 min): on the wall clock alone, the
forward step would end the session as ABANDONED at once, and the backward one
would stop its ticks for an hour and drive activeSeconds negative.
"""

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from focusgql.clock import SystemClock
from focusgql.settings import Settings
from tests.domain.oracle import Event, Kind, Oracle
from tests.e2e.test_fault import ACTIVITY, CREATE, END, PAUSE, RESUME, SESSION, TAB, TICKS, Watcher
from tests.support import Client, RunningServer, SteppingWall, serve

HOUR = 3600.0
KINDS = {ACTIVITY: Kind.ACTIVITY, TAB: Kind.TAB_SWITCH, PAUSE: Kind.PAUSE, RESUME: Kind.RESUME}


@dataclass
class Run:
    watchers: list[Watcher]
    events: list[Event]
    started: datetime
    final: dict[str, Any]
    warnings: list[str]
    real_seconds: float


@pytest.fixture(scope="module")
async def stepping_server(settings: Settings) -> AsyncIterator[tuple[RunningServer, SteppingWall]]:
    """A database of its own: its reaper runs on today's date (see live_server)."""
    wall = SteppingWall()
    own = settings.model_copy(
        update={"database": f"{settings.database}_steps", "reaper_interval_seconds": 0.5}
    )
    async with serve(own, SystemClock(wall=wall)) as running:
        yield running, wall


@pytest.fixture(scope="module")
async def run(
    stepping_server: tuple[RunningServer, SteppingWall], caplog_module: list[logging.LogRecord]
) -> Run:
    server, wall = stepping_server
    began = time.monotonic()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        client = await Client(http).register()
        created = (await client.execute(CREATE))["createSession"]
        sid = created["id"]
        events: list[Event] = []

        async def do(query: str) -> None:
            (view,) = (await client.execute(query, {"id": sid})).values()
            events.append(Event(datetime.fromisoformat(view["asOf"]), KINDS[query]))

        watchers = [Watcher(label) for label in TICKS]
        tasks = [
            asyncio.create_task(w.run(server.ws_url, client.token or "", TICKS[w.label], sid))
            for w in watchers
        ]
        try:
            async with asyncio.timeout(10):
                for watcher in watchers:
                    await watcher.first.wait()
            await asyncio.sleep(1.6)
            await do(ACTIVITY)
            await do(TAB)
            wall.step(-HOUR)  # the token was issued an hour "in the future" now
            await asyncio.sleep(1.4)
            await do(ACTIVITY)
            await do(TAB)
            await asyncio.sleep(0.8)
            await do(PAUSE)
            wall.step(2 * HOUR)  # an hour ahead of where it began
            await asyncio.sleep(1.4)
            await do(RESUME)
            await asyncio.sleep(1.3)
            await do(ACTIVITY)
            await asyncio.sleep(1.2)
            ended = (await client.execute(END, {"id": sid}))["endSession"]
            events.append(Event(datetime.fromisoformat(ended["asOf"]), Kind.END, "COMPLETED"))
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)  # each completes
            final = (await client.execute(SESSION, {"id": sid}))["session"]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    warnings = [
        r.getMessage()
        for r in caplog_module
        if r.name == "focusgql.clock" and r.levelno == logging.WARNING
    ]
    return Run(
        watchers=watchers,
        events=events,
        started=datetime.fromisoformat(created["startedAt"]),
        final=final,
        warnings=warnings,
        real_seconds=time.monotonic() - began,
    )


@pytest.fixture(scope="module")
def caplog_module() -> Iterator[list[logging.LogRecord]]:
    """The clock's log records over the whole module (caplog is per test)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    logger = logging.getLogger("focusgql.clock")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def frames(watcher: Watcher) -> list[tuple[float, dict[str, Any]]]:
    return watcher.views()


def test_ticks_keep_their_cadence_through_both_steps(run: Run) -> None:
    for watcher in run.watchers:
        views = frames(watcher)
        active = [
            (b_t - a_t)
            for (a_t, a), (b_t, b) in itertools.pairwise(views)
            if a["status"] == "ACTIVE" and b["status"] == "ACTIVE"
        ]
        assert len(active) >= 6, (watcher.label, views)
        assert max(active) < 1.5, (watcher.label, [round(g, 2) for g in active])


def test_no_counter_is_ever_negative_or_lower_than_one_already_sent(run: Run) -> None:
    for watcher in run.watchers:
        seconds = [v["elapsedSeconds"] for _, v in frames(watcher)]
        tabs = [v["tabSwitches"] for _, v in frames(watcher)]
        assert all(isinstance(s, int) and s >= 0 for s in seconds), seconds
        assert seconds == sorted(seconds) and tabs == sorted(tabs), (watcher.label, seconds)
        # a second or two at a time (a busy machine may delay one tick past the
        # next): no hour-long burst
        assert all(b - a <= 2 for a, b in itertools.pairwise(seconds)), seconds


def test_the_session_is_not_abandoned_by_the_step(run: Run) -> None:
    assert run.final["status"] == "COMPLETED", run.final
    for watcher in run.watchers:
        assert frames(watcher)[-1][1]["status"] == "COMPLETED", watcher.label
        assert watcher.finish is not None and watcher.finish.startswith("complete"), watcher.finish


def test_final_counters_are_the_oracle_s_for_the_time_that_truly_passed(run: Run) -> None:
    at = datetime.fromisoformat(run.final["asOf"])
    expected = Oracle(run.started, threshold=15).counters(run.events, at)
    assert (
        run.final["elapsedSeconds"],
        run.final["activeSeconds"],
        run.final["idleSeconds"],
        run.final["tabSwitches"],
    ) == (expected.elapsed, expected.active, expected.idle, expected.tab_switches)
    # the session lasted seconds of real time, not an hour either way
    assert 0 < run.final["elapsedSeconds"] <= run.real_seconds


def test_each_step_is_logged_once_at_warning(run: Run) -> None:
    assert len(run.warnings) == 2, run.warnings
    assert "backwards by 3600" in run.warnings[0], run.warnings
    assert "forwards by 7200" in run.warnings[1], run.warnings
