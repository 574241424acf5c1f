"""Daily streaks: consecutive local days with at least one COMPLETED session.

Days are the user's own (an IANA timezone), taken from when each completed
session ended. The current streak is alive while its last day is today or
yesterday; otherwise it is 0. The longest streak is the longest run ever.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Streaks:
    current: int
    longest: int
    last_day: date | None


def local_day(t: datetime, tz: ZoneInfo) -> date:
    return t.astimezone(tz).date()


def streaks(completed_at: Iterable[datetime], tz: ZoneInfo, now: datetime) -> Streaks:
    days = sorted({local_day(t, tz) for t in completed_at})
    if not days:
        return Streaks(current=0, longest=0, last_day=None)
    longest = run = 1
    for previous, day in pairwise(days):
        run = run + 1 if day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
    today = local_day(now, tz)
    alive = today - days[-1] <= timedelta(days=1)
    return Streaks(current=run if alive else 0, longest=longest, last_day=days[-1])
