"""SystemClock: wall time carried on by the monotonic clock; steps found and logged once."""

import asyncio
import logging
import time
from datetime import timedelta

import pytest

from focusgql.clock import SystemClock
from tests.support import SteppingWall

HOUR = 3600.0


def test_a_step_of_the_wall_clock_moves_nothing_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wall = SteppingWall()
    clock = SystemClock(wall=wall)
    before = clock.now()
    assert abs((before - wall()).total_seconds()) < 0.01
    assert clock.check() is None
    wall.step(-HOUR)
    with caplog.at_level(logging.WARNING, "focusgql.clock"):
        step = clock.check()
        assert step is not None and abs(step + HOUR) < 0.1
        assert clock.check() is None  # the same step: once
        wall.step(2 * HOUR)
        again = clock.check()
        assert again is not None and abs(again - 2 * HOUR) < 0.1
    after = clock.now()
    assert timedelta(0) <= after - before < timedelta(seconds=1)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "backwards by 3600.0 s" in warnings[0] and "ahead of the wall" in warnings[0]
    assert "forwards by 7200.0 s" in warnings[1] and "3600.0 s behind" in warnings[1]
    assert clock.steps == 2 and abs(clock.offset - HOUR) < 0.1


async def test_timers_wait_monotonic_time_whatever_the_wall_does() -> None:
    wall = SteppingWall()
    clock = SystemClock(wall=wall)
    fired: list[float] = []
    began = time.monotonic()
    clock.call_at(clock.now() + timedelta(milliseconds=300), lambda: fired.append(time.monotonic()))
    wall.step(-HOUR)  # a wall-clock timer would wait an hour more
    await asyncio.sleep(0.1)
    wall.step(2 * HOUR)  # and one on the wall clock would fire now
    assert fired == []
    await clock.sleep_until(clock.now() + timedelta(milliseconds=400))
    assert len(fired) == 1 and 0.29 <= fired[0] - began < 0.45
    assert time.monotonic() - began >= 0.49
