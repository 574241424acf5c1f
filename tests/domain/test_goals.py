"""The goal streak against a day-by-day walk, and live progress across midnight."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from focusgql.domain.daily import EndedSession
from focusgql.domain.errors import BadUserInput
from focusgql.domain.goals import GoalBaseline, check_daily_goal, goal_streak

ZONE = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


def oracle(sessions: list[EndedSession], goal: int, now: datetime) -> int:
    """Walk back from today one local day at a time, summing focus by brute force."""
    if goal == 0:
        return 0

    def met(day: date) -> bool:
        seconds = sum(
            s.active_seconds for s in sessions if s.ended_at.astimezone(ZONE).date() == day
        )
        return seconds >= goal * 60

    today = now.astimezone(ZONE).date()
    day = today if met(today) else today - timedelta(days=1)
    run = 0
    while met(day):
        run += 1
        day -= timedelta(days=1)
    return run


sessions = st.lists(
    st.builds(
        lambda hours, active: EndedSession(
            ended_at=NOW - timedelta(hours=hours),
            active_seconds=active,
            focus_score=0,
            completed=True,
        ),
        st.floats(min_value=0, max_value=24 * 12),
        st.integers(min_value=0, max_value=3600),
    ),
    max_size=40,
)


@given(sessions, st.sampled_from([0, 1, 20, 45, 90]))
def test_goal_streak_matches_a_day_by_day_walk(ended: list[EndedSession], goal: int) -> None:
    assert goal_streak(ended, goal, ZONE, NOW) == oracle(ended, goal, NOW)


def test_progress_adds_what_ended_today_until_midnight() -> None:
    midnight = datetime(2026, 3, 21, 4, 0, tzinfo=UTC)  # New York's midnight, EDT
    baseline = GoalBaseline(goal_minutes=30, ended_today=600, day_ends_at=midnight)
    assert baseline.progress(120, midnight - timedelta(seconds=1)) == 720
    assert baseline.progress(120, midnight) == 120


def test_goal_range() -> None:
    assert check_daily_goal(0) == 0 and check_daily_goal(1440) == 1440
    for bad in (-1, 1441):
        with pytest.raises(BadUserInput):
            check_daily_goal(bad)
