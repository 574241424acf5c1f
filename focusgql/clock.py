"""Where time comes from. Services take a Clock so tests can drive time by hand."""

import asyncio
from datetime import UTC, datetime
from typing import Protocol

from focusgql.domain.timeline import truncate_to_ms


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC time, whole milliseconds (what MongoDB keeps)."""
        ...

    async def sleep_until(self, deadline: datetime) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return truncate_to_ms(datetime.now(UTC))

    async def sleep_until(self, deadline: datetime) -> None:
        # The event loop's timer is monotonic and may wake a hair before the
        # wall-clock deadline; loop until the wall clock agrees.
        while (delay := (deadline - datetime.now(UTC)).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
