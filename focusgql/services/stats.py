"""A person's stats, derived from their sessions on every read.

Deriving rather than accumulating keeps them exact through deletes and
concurrent ends: deleting a session leaves the stats as if it never existed.
Averages and the last score cover every ended session (COMPLETED or
ABANDONED, both are scored); streaks count COMPLETED sessions only.
"""

from dataclasses import dataclass
from fractions import Fraction

from focusgql.clock import Clock
from focusgql.domain.streaks import streaks
from focusgql.domain.user import User
from focusgql.services.ports import SessionRepository


@dataclass(frozen=True, slots=True)
class Stats:
    total_sessions: int
    completed_sessions: int
    total_focus_seconds: int
    average_focus_score: Fraction | None
    last_focus_score: int | None
    current_streak: int
    longest_streak: int


class StatsService:
    def __init__(self, repo: SessionRepository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def for_user(self, user: User) -> Stats:
        totals = await self.repo.totals(user.id)
        days = streaks(totals.completed_at, user.zone, self.clock.now())
        average = (
            Fraction(totals.score_sum, totals.ended_sessions) if totals.ended_sessions else None
        )
        return Stats(
            total_sessions=totals.total_sessions,
            completed_sessions=totals.completed_sessions,
            total_focus_seconds=totals.total_focus_seconds,
            average_focus_score=average,
            last_focus_score=totals.last_focus_score,
            current_streak=days.current,
            longest_streak=days.longest,
        )
