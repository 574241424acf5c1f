"""Daily streaks: consecutive local days with at least one streak session.

A streak session is a COMPLETED session that either reached its target
(elapsed >= targetMinutes * 60) or held at least STREAK_MIN_ACTIVE_SECONDS
(10 minutes) of active time. So "Finish early" after a real stretch of work
keeps a streak, and ending a session after a few seconds does not: a streak a
one-second session could keep would say nothing. ABANDONED sessions ("Give
up", the reaper, a new session replacing a running one) never count.

Days are the user's own (an IANA timezone), taken from when each streak
session ended. The current streak is alive while its last day is today or
yesterday; otherwise it is 0. The longest streak is the longest run ever.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Protocol
from zoneinfo import ZoneInfo

STREAK_MIN_ACTIVE_SECONDS = 600


@dataclass(frozen=True, slots=True)
class CompletedSession:
    """What the streak rule needs of one session that ended COMPLETED."""

    ended_at: datetime
    elapsed_seconds: int
    active_seconds: int
    target_minutes: int


class Completed(Protocol):
    """What the rule reads of a COMPLETED session (CompletedSession, or a history record)."""

    @property
    def ended_at(self) -> datetime: ...
    @property
    def elapsed_seconds(self) -> int: ...
    @property
    def active_seconds(self) -> int: ...
    @property
    def target_minutes(self) -> int: ...


def keeps_streak(session: Completed) -> bool:
    reached_target = session.elapsed_seconds >= session.target_minutes * 60
    return reached_target or session.active_seconds >= STREAK_MIN_ACTIVE_SECONDS


def streak_instants(completed: Iterable[Completed]) -> list[datetime]:
    """When each streak session ended: what `streaks` counts days from."""
    return [session.ended_at for session in completed if keeps_streak(session)]


@dataclass(frozen=True, slots=True)
class Streaks:
    current: int
    longest: int
    last_day: date | None


def local_day(t: datetime, tz: ZoneInfo) -> date:
    return t.astimezone(tz).date()


def streaks(ended_at: Iterable[datetime], tz: ZoneInfo, now: datetime) -> Streaks:
    """Streaks over the days of these instants (see streak_instants)."""
    days = sorted({local_day(t, tz) for t in ended_at})
    if not days:
        return Streaks(current=0, longest=0, last_day=None)
    longest = run = 1
    for previous, day in pairwise(days):
        run = run + 1 if day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
    today = local_day(now, tz)
    alive = today - days[-1] <= timedelta(days=1)
    return Streaks(current=run if alive else 0, longest=longest, last_day=days[-1])
