"""A person's stats, derived from their sessions on every read.

Deriving rather than accumulating keeps them exact through deletes and
concurrent ends: deleting a session leaves the stats as if it never existed.
Averages and the last score cover every ended session (COMPLETED or
ABANDONED, both are scored); streaks count COMPLETED sessions that reached
their target or held ten active minutes (domain/streaks.py). Daily
totals break the same figures down by the local day each session ended on.

A running session whose abandon deadline has passed but which nobody has read
since is ended first (`settle`), so it counts as the ended session it is.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from focusgql.clock import Clock
from focusgql.domain.daily import DayTotals, check_range, daily_totals, utc_span
from focusgql.domain.goals import GoalBaseline, goal_streak, meets_goal
from focusgql.domain.streaks import local_day, streak_instants, streaks
from focusgql.domain.user import User
from focusgql.services.ports import SessionRepository, UserRepository

EVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Stats:
    total_sessions: int
    completed_sessions: int
    total_focus_seconds: int
    average_focus_score: Fraction | None
    last_focus_score: int | None
    current_streak: int
    longest_streak: int
    goal_streak: int = 0


@dataclass(frozen=True, slots=True)
class DayWithGoal:
    totals: DayTotals
    goal_minutes: int
    met: bool
    """Whether the whole day (every session, whatever the tag filter) met the goal."""


Settle = Callable[[str], Awaitable[object]]
"""End the user's running session if its abandon deadline has passed."""


class StatsService:
    def __init__(
        self,
        repo: SessionRepository,
        clock: Clock,
        settle: Settle | None = None,
        users: UserRepository | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.settle = settle
        self.users = users

    async def for_user(self, user: User, tag: str | None = None) -> Stats:
        """Over all the user's sessions, or only those carrying `tag`."""
        if self.settle is not None:
            await self.settle(user.id)
        totals = await self.repo.totals(user.id, tag)
        now = self.clock.now()
        days = streaks(streak_instants(totals.completed), user.zone, now)
        goal_days = 0
        if user.daily_goal_minutes > 0:
            # The goal is about whole days, so every session counts, whatever the tag.
            ended = await self.repo.ended_between(user.id, EVER, now + timedelta(days=1))
            goal_days = goal_streak(ended, user.daily_goal_minutes, user.zone, now)
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
            goal_streak=goal_days,
        )

    async def daily(
        self, user: User, first: date, last: date, tag: str | None = None
    ) -> list[DayTotals]:
        """One entry per day of first..last (inclusive) in the user's timezone,
        over the sessions carrying `tag` if one is given."""
        check_range(first, last)
        if self.settle is not None:
            await self.settle(user.id)
        start, end = utc_span(first, last, user.zone)
        ended = await self.repo.ended_between(user.id, start, end, tag)
        return daily_totals(ended, first, last, user.zone)

    async def daily_with_goal(
        self, user: User, first: date, last: date, tag: str | None = None
    ) -> list[DayWithGoal]:
        """`daily`, each day saying the goal and whether the whole day met it."""
        days = await self.daily(user, first, last, tag)
        whole = days if tag is None else await self.daily(user, first, last)
        goal = user.daily_goal_minutes
        return [
            DayWithGoal(day, goal, meets_goal(every.focus_seconds, goal))
            for day, every in zip(days, whole, strict=True)
        ]

    async def goal_baseline(self, user_id: str) -> GoalBaseline | None:
        """What ended today, for a running session's live goal progress."""
        user = await self.users.get(user_id) if self.users is not None else None
        if user is None:
            return None
        today = local_day(self.clock.now(), user.zone)
        start, end = utc_span(today, today, user.zone)
        ended = await self.repo.ended_between(user_id, start, end)
        return GoalBaseline(
            goal_minutes=user.daily_goal_minutes,
            ended_today=sum(s.active_seconds for s in ended),
            day_ends_at=end,
        )

    async def tags(self, user: User) -> list[tuple[str, int]]:
        """The user's tags with how many sessions carry each, most used first."""
        return await self.repo.tag_counts(user.id)
