"""Batched refresh of the stored counters of running sessions.

Ticking writes nothing: counters are computed. So that readers of the raw
collection (reports, exports, another tool) see values at most `interval`
seconds old, once per interval this refreshes the stored counters of every
ACTIVE session in one statement, which the database computes from each
session's stored clock (PAUSED and ended sessions' counters stand still and
were stored by the change that stopped them).

One statement rather than a bulk of per-session updates: the database reads
each session's current state, so no batch is built from a stale one, and the
process allocates nothing per session. At thousands of live sessions a
per-session batch held across its round trip was the main thing promoting
garbage into the oldest generation, whose full collections stall every tick.
Each refresh sets absolute values and only where the stored ones are older
than half an interval, so a retried or replayed batch changes nothing, and
several processes on one database share the work instead of repeating it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from focusgql.clock import Clock
from focusgql.domain.session import FocusSession, is_newer
from focusgql.faults import Retries
from focusgql.services.ports import SessionRepository

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(
        self, repo: SessionRepository, clock: Clock, interval: float, lapse_after: timedelta
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.interval = interval
        self.lapse_after = lapse_after
        self._running: dict[str, FocusSession] = {}
        self.retries = Retries("checkpoint", log)
        self.fold: Callable[..., Awaitable[int]] | None = None
        """Stores journalled signals in their sessions first (SignalCommitter.fold),
        so the refresh after it finds their counters fresh and skips them."""

    def track(self, session: FocusSession) -> None:
        """Note the newest known state of a session (ended ones are dropped)."""
        known = self._running.get(session.id)
        if known is not None and not is_newer(session, known):
            return
        if session.status.is_running:
            self._running[session.id] = session
        else:
            self._running.pop(session.id, None)

    def known(self, session_id: str) -> FocusSession | None:
        return self._running.get(session_id)

    def tracked_ids(self) -> list[str]:
        return list(self._running)

    @property
    def tracked(self) -> int:
        return len(self._running)

    async def flush(self, *, everything: bool = False) -> int:
        """Refresh now the counters older than half an interval (or all of them);
        how many sessions changed."""
        began = self.clock.now()
        if self.fold is not None:
            await self.fold(everything=everything)
        now = self.clock.now()
        # The fold is paced and may take longer than an interval; what it
        # stored has fresh counters. Measured from its start, the refresh
        # skips those and touches only sessions no signal came to, instead of
        # rewriting most documents in one long statement that stalls the
        # database (and every signal commit behind it).
        older_than = now if everything else began - timedelta(seconds=self.interval / 2)
        return await self.repo.refresh_counters(now, older_than, self.lapse_after)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception as error:  # the database may be away; the next batch catches up
                self.retries.failed(error)
            else:
                self.retries.succeeded()
