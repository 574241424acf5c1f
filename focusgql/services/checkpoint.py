"""Batched refresh of the stored counters of running sessions.

Ticking writes nothing: counters are computed. So that readers of the raw
collection (reports, exports, another tool) see values at most `interval`
seconds old, this writes the counters of every running session this process
knows, in one bulk write per interval. Each write sets absolute values and is
guarded by the session's version, so a retried or replayed batch changes
nothing, and a batch built from a stale state writes nothing.
"""

import asyncio
import logging

from focusgql.clock import Clock
from focusgql.domain.session import FocusSession
from focusgql.services.live import is_newer
from focusgql.services.ports import SessionRepository

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(self, repo: SessionRepository, clock: Clock, interval: float) -> None:
        self.repo = repo
        self.clock = clock
        self.interval = interval
        self._running: dict[str, FocusSession] = {}

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

    async def flush(self) -> int:
        """Write one batch now; how many sessions it updated."""
        if not self._running:
            return 0
        return await self.repo.checkpoint(list(self._running.values()), self.clock.now())

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:  # the database may be away; the next batch catches up
                log.exception("checkpoint failed")
