"""Daily streaks in the user's own timezone, against a day-by-day walk."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from focusgql.domain.streaks import (
    STREAK_MIN_ACTIVE_SECONDS,
    CompletedSession,
    Streaks,
    keeps_streak,
    local_day,
    streak_instants,
    streaks,
)

LA = ZoneInfo("America/Los_Angeles")
UTC_ZONE = ZoneInfo("UTC")
ONE_DAY = timedelta(days=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_no_completed_sessions() -> None:
    assert streaks([], LA, utc(2025, 6, 1)) == Streaks(current=0, longest=0, last_day=None)


def test_the_same_instants_fall_on_different_days_in_different_zones() -> None:
    # 01:00Z and 23:00Z on 10 March: one UTC day, two Los Angeles days (9 and 10 March)
    done = [utc(2025, 3, 10, 1), utc(2025, 3, 10, 23)]
    now = utc(2025, 3, 11, 2)  # 11 March UTC, still 10 March in Los Angeles
    assert streaks(done, UTC_ZONE, now) == Streaks(1, 1, date(2025, 3, 10))
    assert streaks(done, LA, now) == Streaks(2, 2, date(2025, 3, 10))


def test_one_evening_in_los_angeles_is_the_next_day_in_utc() -> None:
    # 20:00 on 1 and 2 June in Los Angeles; 03:00Z on 2 and 3 June
    done = [utc(2025, 6, 2, 3), utc(2025, 6, 3, 3)]
    now = utc(2025, 6, 4, 8)  # 01:00 on 4 June in Los Angeles
    assert streaks(done, LA, now) == Streaks(0, 2, date(2025, 6, 2))
    assert streaks(done, UTC_ZONE, now) == Streaks(2, 2, date(2025, 6, 3))


def test_days_across_spring_forward() -> None:
    # 9 March 2025 has 23 hours in Los Angeles; noon each day from the 8th to the 10th
    done = [utc(2025, 3, 8, 20), utc(2025, 3, 9, 19), utc(2025, 3, 10, 19)]
    assert [local_day(t, LA) for t in done] == [date(2025, 3, d) for d in (8, 9, 10)]
    assert streaks(done, LA, utc(2025, 3, 10, 23)) == Streaks(3, 3, date(2025, 3, 10))


def test_days_across_fall_back() -> None:
    # 2 November 2025 has 25 hours: 00:30 PDT and 23:30 PST are both that day
    early, late = utc(2025, 11, 2, 7, 30), utc(2025, 11, 3, 7, 30)
    assert local_day(early, LA) == local_day(late, LA) == date(2025, 11, 2)
    done = [utc(2025, 11, 1, 19), late]
    now = utc(2025, 11, 3, 8, 30)  # 00:30 PST on 3 November
    assert local_day(now, LA) == date(2025, 11, 3)
    assert streaks(done, LA, now) == Streaks(2, 2, date(2025, 11, 2))
    assert streaks([early, late], LA, now) == Streaks(1, 1, date(2025, 11, 2))


def test_current_is_alive_through_yesterday_only() -> None:
    done = [utc(2025, 1, d, 12) for d in (3, 4, 5)]
    assert streaks(done, UTC_ZONE, utc(2025, 1, 5, 23, 59)).current == 3  # today
    assert streaks(done, UTC_ZONE, utc(2025, 1, 6, 0, 0)).current == 3  # yesterday
    assert streaks(done, UTC_ZONE, utc(2025, 1, 6, 23, 59)).current == 3
    gone = streaks(done, UTC_ZONE, utc(2025, 1, 7, 0, 0))  # two days ago
    assert gone == Streaks(0, 3, date(2025, 1, 5))


def test_current_is_the_latest_run_and_longest_the_longest() -> None:
    days = (1, 2, 3, 4, 6, 7, 9, 10)
    done = [utc(2025, 2, d, 9) for d in reversed(days)]
    assert streaks(done, UTC_ZONE, utc(2025, 2, 10, 18)) == Streaks(2, 4, date(2025, 2, 10))


def test_many_sessions_in_one_day_count_once() -> None:
    done = [utc(2025, 4, 1, h) for h in range(0, 24, 3)] + [utc(2025, 4, 2, 5)] * 4
    assert streaks(done, UTC_ZONE, utc(2025, 4, 2, 6)) == Streaks(2, 2, date(2025, 4, 2))


def test_a_gap_day_breaks_the_run() -> None:
    done = [utc(2025, 4, 1, 12), utc(2025, 4, 3, 12)]
    assert streaks(done, UTC_ZONE, utc(2025, 4, 3, 13)) == Streaks(1, 1, date(2025, 4, 3))


def test_runs_cross_month_and_year_ends() -> None:
    done = [utc(2024, 12, 30, 12), utc(2024, 12, 31, 12), utc(2025, 1, 1, 12)]
    assert streaks(iter(done), UTC_ZONE, utc(2025, 1, 1, 13)) == Streaks(3, 3, date(2025, 1, 1))
    leap = [utc(2024, 2, 28, 12), utc(2024, 2, 29, 12), utc(2024, 3, 1, 12)]
    assert streaks(leap, UTC_ZONE, utc(2024, 3, 1, 13)).longest == 3


# -- which sessions keep a streak ---------------------------------------------------


def completed(elapsed: int, active: int, target_minutes: int = 25) -> CompletedSession:
    return CompletedSession(utc(2025, 5, 1, 12), elapsed, active, target_minutes)


def test_a_session_ended_after_seconds_keeps_no_streak() -> None:
    assert STREAK_MIN_ACTIVE_SECONDS == 600
    assert not keeps_streak(completed(elapsed=1, active=1))
    assert not keeps_streak(completed(elapsed=34, active=34))
    assert streak_instants([completed(1, 1), completed(34, 30)]) == []


def test_finishing_early_keeps_the_streak_from_ten_active_minutes() -> None:
    assert not keeps_streak(completed(elapsed=20 * 60, active=599))
    assert keeps_streak(completed(elapsed=20 * 60, active=600))
    assert keeps_streak(completed(elapsed=600, active=600))


def test_reaching_the_target_keeps_the_streak_however_idle() -> None:
    assert keeps_streak(completed(elapsed=60, active=15, target_minutes=1))
    assert not keeps_streak(completed(elapsed=59, active=59, target_minutes=1))
    assert keeps_streak(completed(elapsed=25 * 60, active=0))


def test_only_streak_sessions_make_days() -> None:
    early = CompletedSession(utc(2025, 5, 1, 9), 5, 5, 25)
    full = CompletedSession(utc(2025, 5, 2, 9), 1500, 1400, 25)
    late = CompletedSession(utc(2025, 5, 3, 9), 30, 30, 25)
    assert streak_instants([early, full, late]) == [full.ended_at]
    now = utc(2025, 5, 3, 10)
    assert streaks(streak_instants([early, full, late]), UTC_ZONE, now) == Streaks(
        1, 1, date(2025, 5, 2)
    )


# -- against a calendar walk ----------------------------------------------------


def oracle(completed_at: Iterable[datetime], tz: ZoneInfo, now: datetime) -> Streaks:
    """Walk every calendar day from the first completed one to today."""
    days = {t.astimezone(tz).date() for t in completed_at}
    if not days:
        return Streaks(0, 0, None)
    today = now.astimezone(tz).date()
    longest = run = 0
    day = min(days)
    while day <= max(days):
        run = run + 1 if day in days else 0
        longest = max(longest, run)
        day += ONE_DAY
    # walk back from today (or yesterday) while every day has a completed session
    current = 0
    day = today if today in days else today - ONE_DAY
    while day in days:
        current += 1
        day -= ONE_DAY
    return Streaks(current, longest, max(days))


ZONES = [
    "UTC",
    "America/Los_Angeles",
    "America/St_Johns",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Apia",  # skipped 30 December 2011 entirely
]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[datetime], ZoneInfo, datetime]:
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    base = draw(
        st.sampled_from([datetime(2025, 3, 1), datetime(2025, 10, 20), datetime(2011, 12, 20)])
    )
    minutes = st.integers(0, 40 * 24 * 60)
    done = [
        (base + timedelta(minutes=m)).replace(tzinfo=UTC)
        for m in draw(st.lists(minutes, max_size=40))
    ]
    latest = max(done, default=base.replace(tzinfo=UTC))
    now = latest + timedelta(minutes=draw(st.integers(0, 4 * 24 * 60)))
    return done, tz, now


@settings(max_examples=400, deadline=None)
@given(histories())
def test_streaks_match_a_calendar_walk(history: tuple[list[datetime], ZoneInfo, datetime]) -> None:
    done, tz, now = history
    assert streaks(done, tz, now) == oracle(done, tz, now)


@st.composite
def completed_histories(
    draw: st.DrawFn,
) -> tuple[list[CompletedSession], ZoneInfo, datetime]:
    instants, tz, now = draw(histories())
    sessions = []
    for ended_at in instants:
        target = draw(st.sampled_from([1, 5, 10, 25, 50]))
        elapsed = draw(st.integers(0, 3 * target * 60))
        active = draw(st.integers(0, elapsed))
        sessions.append(CompletedSession(ended_at, elapsed, active, target))
    return sessions, tz, now


def streak_oracle(sessions: list[CompletedSession], tz: ZoneInfo, now: datetime) -> Streaks:
    """The calendar walk over the days on which some session met its target
    or held ten active minutes, decided second by second of its run."""
    kept = []
    for session in sessions:
        met = any(
            second >= session.target_minutes * 60 or min(second, session.active_seconds) >= 600
            for second in range(session.elapsed_seconds + 1)
        )
        if met:
            kept.append(session.ended_at)
    return oracle(kept, tz, now)


@settings(max_examples=200, deadline=None)
@given(completed_histories())
def test_streak_sessions_match_a_calendar_walk(
    history: tuple[list[CompletedSession], ZoneInfo, datetime],
) -> None:
    sessions, tz, now = history
    assert streaks(streak_instants(sessions), tz, now) == streak_oracle(sessions, tz, now)
