"""Where time comes from. Services take a Clock so tests can drive time by hand."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from focusgql.domain.timeline import truncate_to_ms


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


class SystemClock:
    def now(self) -> datetime:
        return truncate_to_ms(datetime.now(UTC))

    def call_at(self, deadline: datetime, callback: Callable[[], None]) -> Timer:
        return _WallTimer(self, deadline, callback)

    async def sleep_until(self, deadline: datetime) -> None:
        # The event loop's timer is monotonic and may wake a hair before the
        # wall-clock deadline; loop until the wall clock agrees.
        while (delay := (deadline - datetime.now(UTC)).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)


class _WallTimer:
    """A loop timer (asyncio keeps one heap for all of them) that re-arms if the
    monotonic clock fires before the wall clock reaches the deadline."""

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
        delay = (self._deadline - datetime.now(UTC)).total_seconds()
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
