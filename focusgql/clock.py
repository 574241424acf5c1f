"""Where time comes from. Services take a Clock so tests can drive time by hand.

Session time, ticks and the abandon window are durations, and the wall clock
is a poor source of durations: NTP steps it, a resumed VM or a woken laptop
jumps it, an operator sets it. Read naively, a step of an hour backwards froze
every subscription's ticks for an hour and drove counters negative, and one
forwards added an hour of idle time and abandoned every running session.

So `SystemClock` reads the wall clock once, when it is made, and from then on
advances that reading by the monotonic clock, the one the event loop's
timers run on: `now()` never steps, and a timer set for an instant fires when
that much monotonic time has passed. A step of the wall clock is detected
(`check`, each second while the app runs) and logged at WARNING once, with
how far this process's time now is from the wall clock's. The process keeps
its own time until it restarts (then it reads the wall clock again), so a
wrong wall clock that NTP corrects shows in new timestamps after a restart.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from focusgql.domain.timeline import truncate_to_ms

log = logging.getLogger(__name__)

STEP_TOLERANCE_SECONDS = 2.0
"""A disagreement of the wall clock with the monotonic one smaller than this
is not a step (NTP slews both clocks alike; a check may be late by a GC pause)."""
CHECK_EVERY_SECONDS = 1.0


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC time, whole milliseconds (what MongoDB keeps)."""
        ...

    def call_at(self, deadline: datetime, callback: Callable[[], None]) -> Timer:
        """Run `callback` once the clock reads `deadline` or later."""
        ...

    async def sleep_until(self, deadline: datetime) -> None: ...


def _wall_now() -> datetime:
    return datetime.now(UTC)


class SystemClock:
    """The wall time at the start, carried on by the monotonic clock (see above).
    `wall` and `monotonic` are the sources (tests step a wall of their own);
    `monotonic` must be the event loop's, `time.monotonic`, for its timers."""

    def __init__(
        self,
        wall: Callable[[], datetime] = _wall_now,
        monotonic: Callable[[], float] = time.monotonic,
        tolerance: float = STEP_TOLERANCE_SECONDS,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._base_mono = monotonic()
        self._base_wall = wall()
        self.tolerance = tolerance
        self.offset = 0.0
        """Seconds the wall clock reads ahead of `now()` (negative: behind), as of
        the last step found."""
        self.steps = 0

    def now(self) -> datetime:
        return truncate_to_ms(
            self._base_wall + timedelta(seconds=self._monotonic() - self._base_mono)
        )

    def call_at(self, deadline: datetime, callback: Callable[[], None]) -> Timer:
        return _LoopTimer(self, deadline, callback)

    async def sleep_until(self, deadline: datetime) -> None:
        # The loop's timer may wake a hair before the deadline (now() is in
        # whole milliseconds): loop until the clock agrees.
        while (delay := (deadline - self.now()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    def check(self) -> float | None:
        """The wall clock's step since the last one found, in seconds (positive:
        forwards), or None if it has not stepped; each step is logged once."""
        offset = (self._wall() - self.now()).total_seconds()
        step = offset - self.offset
        if abs(step) < self.tolerance:
            return None
        self.offset = offset
        self.steps += 1
        log.warning(
            "the wall clock stepped %s by %.1f s (NTP, a resumed VM or laptop, or a manual "
            "change); session time, ticks and the abandon window follow the monotonic "
            "clock, so this process's time is now %.1f s %s the wall clock's until it "
            "restarts",
            "forwards" if step > 0 else "backwards",
            abs(step),
            abs(offset),
            "behind" if offset > 0 else "ahead of",
        )
        return step

    async def watch(self, every: float = CHECK_EVERY_SECONDS) -> None:
        while True:
            await asyncio.sleep(every)
            self.check()


class _LoopTimer:
    """A loop timer (asyncio keeps one heap for all of them) that re-arms if it
    fires before the clock reads the deadline."""

    __slots__ = ("_callback", "_clock", "_deadline", "_handle")

    def __init__(
        self, clock: SystemClock, deadline: datetime, callback: Callable[[], None]
    ) -> None:
        self._clock = clock
        self._deadline = deadline
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        delay = (self._deadline - self._clock.now()).total_seconds()
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(max(0.0, delay), self._fire)

    def _fire(self) -> None:
        if self._clock.now() < self._deadline:
            self._arm()
            return
        self._handle = None
        self._callback()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
