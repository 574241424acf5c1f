"""Exporting a person's sessions, a batch at a time so that no export holds
all of them in memory (100,000 sessions are a few hundred batches)."""

from collections.abc import AsyncIterator

from focusgql.clock import Clock
from focusgql.domain.export import Row, export_row
from focusgql.domain.user import User
from focusgql.services.ports import SessionRepository


class ExportService:
    def __init__(self, repo: SessionRepository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def rows(self, user: User) -> AsyncIterator[Row]:
        now = self.clock.now()
        zone = user.zone
        async for session in self.repo.all_for_user(user.id):
            yield export_row(session, now, zone)
