"""Daily totals: ended sessions bucketed by the local day they ended on.

A session belongs to the day, in the user's IANA timezone, on which it ended
(the same rule streaks use). For each day of an inclusive range:

    focus_seconds      = sum of active seconds of the sessions ended that day
    sessions           = how many ended (COMPLETED or ABANDONED)
    completed_sessions = how many of those are COMPLETED
    average score      = score_sum / sessions, or None on a day without any

so the days of a range add up to what the stats count for the same sessions.
Every day of the range is present, with zeros when nothing ended, so a chart
needs no gap-filling. A range is at most MAX_DAYS days (a leap year).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Protocol
from zoneinfo import ZoneInfo

from focusgql.domain.errors import BadUserInput

MAX_DAYS = 366
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class EndedSession:
    """What a day's totals need of one ended session."""

    ended_at: datetime
    active_seconds: int
    focus_score: int
    completed: bool


class Ended(Protocol):
    """What the totals read of an ended session (EndedSession, or a history record)."""

    @property
    def ended_at(self) -> datetime: ...
    @property
    def active_seconds(self) -> int: ...
    @property
    def focus_score(self) -> int: ...
    @property
    def completed(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class DayTotals:
    day: date
    focus_seconds: int = 0
    sessions: int = 0
    completed_sessions: int = 0
    score_sum: int = 0

    @property
    def average_focus_score(self) -> Fraction | None:
        return Fraction(self.score_sum, self.sessions) if self.sessions else None

    def plus(self, session: Ended) -> "DayTotals":
        return DayTotals(
            day=self.day,
            focus_seconds=self.focus_seconds + session.active_seconds,
            sessions=self.sessions + 1,
            completed_sessions=self.completed_sessions + session.completed,
            score_sum=self.score_sum + session.focus_score,
        )


def check_range(first: date, last: date) -> int:
    """The number of days from `first` to `last` inclusive; BAD_USER_INPUT unless 1..MAX_DAYS."""
    if first > last:
        raise BadUserInput("from must be on or before to", field="from")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise BadUserInput(f"the range may span at most {MAX_DAYS} days", field="to")
    return days


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) whose local day is `day` or later.

    Usually local midnight. When a DST change skips midnight, the day starts at
    the change: midnight read with both offsets brackets it, and a search to the
    second (tz rules change on whole seconds) finds it.
    """
    readings = (datetime.combine(day, time(), tzinfo=tz).replace(fold=f) for f in (0, 1))
    early, late = sorted(t.astimezone(UTC) for t in readings)
    if early.astimezone(tz).date() >= day:
        return early
    low, high = 0, int((late - early).total_seconds())  # before the day at low, in it at high
    while high - low > 1:
        middle = (low + high) // 2
        if (early + timedelta(seconds=middle)).astimezone(tz).date() >= day:
            high = middle
        else:
            low = middle
    return early + timedelta(seconds=high)


def utc_span(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC: exactly the instants whose local day is in first..last."""
    return day_start(first, tz), day_start(last + ONE_DAY, tz)


def daily_totals(
    sessions: Iterable[Ended], first: date, last: date, tz: ZoneInfo
) -> list[DayTotals]:
    """One entry per local day from `first` to `last` inclusive, oldest first."""
    days = check_range(first, last)
    # Sums in lists, each day built once: a year of history is thousands of sessions.
    focus, ended, completed, scores = ([0] * days for _ in range(4))
    for session in sessions:
        index = (session.ended_at.astimezone(tz).date() - first).days
        if 0 <= index < days:
            focus[index] += session.active_seconds
            ended[index] += 1
            completed[index] += session.completed
            scores[index] += session.focus_score
    return [
        DayTotals(first + timedelta(days=i), focus[i], ended[i], completed[i], scores[i])
        for i in range(days)
    ]
