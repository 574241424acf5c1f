"""A person's stats, derived from their ended sessions on every read.

Deriving rather than accumulating keeps them exact through deletes and
concurrent ends: deleting a session leaves the stats as if it never existed.
Averages and the last score cover every ended session (COMPLETED or
ABANDONED, both are scored); streaks count COMPLETED sessions that reached
their target or held ten active minutes (domain/streaks.py). Daily
totals break the same figures down by the local day each session ended on.

They are derived from the person's history (one record per ended session,
kept in the same writes as the sessions: store/history.py), read in a few
documents whatever its length; `from_history=False` derives them from the
sessions themselves instead, the way it was done before the history existed
(benchmarks compare the two; the figures are the same). A running session
counts in `totalSessions` only.

The running session is read through `read_running` (SessionService.running),
which also ends one whose abandon deadline has passed unread: so a lapsed
session counts as the ended session it is, not as running.
"""

from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any, TypeVar

from focusgql.clock import Clock
from focusgql.domain.daily import DayTotals, Ended, check_range, daily_totals, utc_span
from focusgql.domain.goals import GoalBaseline, goal_streak, meets_goal
from focusgql.domain.history import EndedRecord, carrying, ended_in, summarize
from focusgql.domain.session import FocusSession
from focusgql.domain.streaks import local_day, streak_instants, streaks
from focusgql.domain.user import User
from focusgql.services.frames import Frame
from focusgql.services.ports import SessionRepository, UserRepository
from focusgql.services.records import SessionTotals

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


ReadRunning = Callable[[str], Awaitable[Frame | None]]
"""The user's running session's frame, if one still runs; one whose abandon
deadline has passed is ended by the read."""


T = TypeVar("T")

MEMO_SIZE = 512


class _Memo:
    """Figures derived from one read of a history, kept while reads return that
    same read: the history store hands out one tuple per version (store/history.py),
    so a new end, edit or delete anywhere means a new tuple and a miss."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, tuple[Sequence[EndedRecord], Any]] = OrderedDict()

    def get(self, history: Sequence[EndedRecord], key: Hashable, compute: Callable[[], T]) -> T:
        hit = self._entries.get(key)
        if hit is not None and hit[0] is history:
            self._entries.move_to_end(key)
            value: T = hit[1]
            return value
        value = compute()
        self._entries[key] = (history, value)
        self._entries.move_to_end(key)
        while len(self._entries) > MEMO_SIZE:
            self._entries.popitem(last=False)
        return value


class StatsService:
    def __init__(
        self,
        repo: SessionRepository,
        clock: Clock,
        read_running: ReadRunning | None = None,
        users: UserRepository | None = None,
        *,
        from_history: bool = True,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.read_running = read_running
        self.users = users
        self.from_history = from_history
        self._memo = _Memo()

    async def _running(self, user_id: str) -> Frame | None:
        return await self.read_running(user_id) if self.read_running is not None else None

    async def for_user(self, user: User, tag: str | None = None) -> Stats:
        """Over all the user's sessions, or only those carrying `tag`."""
        running = await self._running(user.id)
        now = self.clock.now()
        if not self.from_history:
            return await self._recomputed(user, tag, now)
        history = await self.repo.history(user.id)
        # Streaks read the clock only for today's date: the same history, tag,
        # timezone, goal and today give the same figures.
        today = local_day(now, user.zone)
        key = ("stats", user.id, tag, user.timezone, user.daily_goal_minutes, today)
        ended = self._memo.get(history, key, lambda: _stats(history, tag, user, now))
        session = _unrecorded(running, history)
        counts_running = session is not None and (tag is None or tag in session.tags)
        return replace(ended, total_sessions=ended.total_sessions + counts_running)

    async def _recomputed(self, user: User, tag: str | None, now: datetime) -> Stats:
        """`for_user` from the sessions themselves (the baseline)."""
        totals = await self.repo.totals(user.id, tag)
        every = None
        if user.daily_goal_minutes > 0:
            every = await self.repo.ended_between(user.id, EVER, now + timedelta(days=1))
        return _figures(totals, every, user, now)

    async def daily(
        self, user: User, first: date, last: date, tag: str | None = None
    ) -> list[DayTotals]:
        """One entry per day of first..last (inclusive) in the user's timezone,
        over the sessions carrying `tag` if one is given."""
        check_range(first, last)
        await self._running(user.id)  # only to end a lapsed session, so its day counts it
        start, end = utc_span(first, last, user.zone)
        if not self.from_history:
            ended = await self.repo.ended_between(user.id, start, end, tag)
            return daily_totals(ended, first, last, user.zone)
        history = await self.repo.history(user.id)
        return self._memo.get(
            history,
            ("daily", user.id, tag, user.timezone, first, last),
            lambda: daily_totals(
                ended_in(carrying(history, tag), start, end), first, last, user.zone
            ),
        )

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
        # One day's sessions by their index, not the history: this runs as a
        # sessionTicks subscription starts, where a first read would build it.
        ended = await self.repo.ended_between(user_id, start, end)
        return GoalBaseline(
            goal_minutes=user.daily_goal_minutes,
            ended_today=sum(s.active_seconds for s in ended),
            day_ends_at=end,
        )

    async def tags(self, user: User) -> list[tuple[str, int]]:
        """The user's tags with how many sessions carry each, most used first."""
        if not self.from_history:
            return await self.repo.tag_counts(user.id)
        running = await self._running(user.id)
        history = await self.repo.history(user.id)
        counts = Counter(tag for record in history for tag in record.tags)
        if (session := _unrecorded(running, history)) is not None:
            counts.update(session.tags)
        # The order must not depend on how counts break ties.
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _figures(
    totals: SessionTotals, every: Sequence[Ended] | None, user: User, now: datetime
) -> Stats:
    """The stats from these totals and (for the goal streak) every ended session."""
    days = streaks(streak_instants(totals.completed), user.zone, now)
    goal_days = 0
    if user.daily_goal_minutes > 0 and every is not None:
        # The goal is about whole days, so every session counts, whatever the tag.
        goal_days = goal_streak(every, user.daily_goal_minutes, user.zone, now)
    average = Fraction(totals.score_sum, totals.ended_sessions) if totals.ended_sessions else None
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


def _stats(history: Sequence[EndedRecord], tag: str | None, user: User, now: datetime) -> Stats:
    """The stats over the ended sessions alone (a running one is added by the caller)."""
    return _figures(_totals(history, tag, None), history, user, now)


def _unrecorded(running: Frame | None, history: Sequence[EndedRecord]) -> FocusSession | None:
    """The running session, unless it ended since it was read (then its record counts)."""
    if running is None or any(r.session_id == running.session.id for r in history):
        return None
    return running.session


def _totals(
    history: Sequence[EndedRecord], tag: str | None, running: Frame | None
) -> SessionTotals:
    records = carrying(history, tag)
    summary = summarize(records)
    session = _unrecorded(running, history)
    counts_running = session is not None and (tag is None or tag in session.tags)
    return SessionTotals(
        total_sessions=summary.ended_sessions + counts_running,
        ended_sessions=summary.ended_sessions,
        completed_sessions=summary.completed_sessions,
        total_focus_seconds=summary.total_focus_seconds,
        score_sum=summary.score_sum,
        last_focus_score=summary.last_focus_score,
        completed=summary.completed,
    )
