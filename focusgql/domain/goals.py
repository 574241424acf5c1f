"""The daily goal: minutes of focus a person aims for each local day.

A day meets the goal when the goal is set (1..1440 minutes; 0 means none) and
the day's focus seconds, the active seconds of the sessions that ended that
local day (domain/daily.py), reach `goal * 60`. The goal streak counts
consecutive local days that met it, alive while its last day is today or
yesterday, as the other streak is; past days are judged by the goal as it is
now (no history of goals is kept).

While a session runs, today's progress is what ended today plus the running
session's active seconds, because it would count today if it ended now. A
session running across midnight counts on the day it ends, so from midnight
on the progress is that session alone (no other session of the person can
have ended since: one runs at a time).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from focusgql.domain.daily import Ended
from focusgql.domain.errors import BadUserInput
from focusgql.domain.streaks import local_day, streaks

GOAL_MINUTES_RANGE = (0, 1440)


def check_daily_goal(minutes: int) -> int:
    low, high = GOAL_MINUTES_RANGE
    if not low <= minutes <= high:
        raise BadUserInput(
            f"dailyGoalMinutes must be between {low} and {high}", field="dailyGoalMinutes"
        )
    return minutes


def meets_goal(focus_seconds: int, goal_minutes: int) -> bool:
    return goal_minutes > 0 and focus_seconds >= goal_minutes * 60


def focus_by_day(sessions: Iterable[Ended], tz: ZoneInfo) -> dict[date, int]:
    days: dict[date, int] = defaultdict(int)
    for session in sessions:
        days[local_day(session.ended_at, tz)] += session.active_seconds
    return days


def goal_streak(sessions: Iterable[Ended], goal_minutes: int, tz: ZoneInfo, now: datetime) -> int:
    """Consecutive local days meeting the goal, ending today or yesterday; 0 otherwise."""
    if goal_minutes <= 0:
        return 0
    instants: list[datetime] = []
    last_of_day: dict[date, datetime] = {}
    focus: dict[date, int] = defaultdict(int)
    for session in sessions:
        day = local_day(session.ended_at, tz)
        focus[day] += session.active_seconds
        last_of_day[day] = max(session.ended_at, last_of_day.get(day, session.ended_at))
    instants = [
        last_of_day[day] for day, seconds in focus.items() if meets_goal(seconds, goal_minutes)
    ]
    return streaks(instants, tz, now).current


@dataclass(frozen=True, slots=True)
class GoalBaseline:
    """What a running session's live progress adds its active seconds to."""

    goal_minutes: int
    ended_today: int
    """Focus seconds of the sessions that ended today before this one."""
    day_ends_at: datetime
    """The first instant of tomorrow (local): from then on `ended_today` is 0."""

    def progress(self, active_seconds: int, now: datetime) -> int:
        """Today's focus seconds if the session ended now with these active seconds."""
        return active_seconds + (self.ended_today if now < self.day_ends_at else 0)
