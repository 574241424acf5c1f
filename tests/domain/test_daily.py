"""Daily totals by local day, against a day-by-day brute force, across DST changes."""

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from focusgql.domain.daily import (
    MAX_DAYS,
    DayTotals,
    EndedSession,
    check_range,
    daily_totals,
    utc_span,
)
from focusgql.domain.errors import BadUserInput

NEW_YORK = ZoneInfo("America/New_York")
# Zones whose DST changes happen at local midnight (Havana, Santiago), a
# half-hour change (Lord Howe), a skipped day (Apia, 30 December 2011), and
# offsets far from UTC either way.
ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/Havana",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Europe/London",
]
STEP = timedelta(minutes=15)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def ended(at: datetime, active: int = 60, score: int = 100, completed: bool = True) -> EndedSession:
    return EndedSession(ended_at=at, active_seconds=active, focus_score=score, completed=completed)


def brute_force(
    sessions: list[EndedSession], first: date, last: date, tz: ZoneInfo
) -> list[DayTotals]:
    """Walk the days; for each, look at every session and keep those local to it."""
    days = []
    day = first
    while day <= last:
        mine = [s for s in sessions if s.ended_at.astimezone(tz).date() == day]
        days.append(
            DayTotals(
                day=day,
                focus_seconds=sum(s.active_seconds for s in mine),
                sessions=len(mine),
                completed_sessions=sum(1 for s in mine if s.completed),
                score_sum=sum(s.focus_score for s in mine),
            )
        )
        day += timedelta(days=1)
    return days


# -- the range --------------------------------------------------------------------


def test_a_range_is_one_to_366_days() -> None:
    assert check_range(date(2026, 3, 1), date(2026, 3, 1)) == 1
    assert check_range(date(2024, 1, 1), date(2024, 12, 31)) == MAX_DAYS == 366


def test_a_backwards_range_is_bad_input() -> None:
    with pytest.raises(BadUserInput, match="on or before") as raised:
        check_range(date(2026, 3, 2), date(2026, 3, 1))
    assert raised.value.extensions == {"code": "BAD_USER_INPUT", "field": "from"}


def test_a_range_longer_than_366_days_is_bad_input() -> None:
    with pytest.raises(BadUserInput, match="366") as raised:
        daily_totals([], date(2025, 1, 1), date(2026, 1, 2), NEW_YORK)
    assert raised.value.extensions == {"code": "BAD_USER_INPUT", "field": "to"}


# -- buckets ----------------------------------------------------------------------


def test_every_day_is_there_even_without_sessions() -> None:
    days = daily_totals([], date(2026, 2, 27), date(2026, 3, 2), NEW_YORK)
    assert [d.day for d in days] == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert all(d == DayTotals(day=d.day) for d in days)
    assert all(d.average_focus_score is None for d in days)


def test_a_day_sums_its_sessions() -> None:
    sessions = [
        ended(utc(2026, 3, 3, 14), active=600, score=90),
        ended(utc(2026, 3, 3, 18), active=300, score=25, completed=False),
        ended(utc(2026, 3, 3, 20), active=1200, score=100),
        ended(utc(2026, 3, 5, 12), active=45, score=70),
    ]
    days = daily_totals(sessions, date(2026, 3, 3), date(2026, 3, 5), NEW_YORK)
    assert days == [
        DayTotals(date(2026, 3, 3), 2100, 3, 2, 215),
        DayTotals(date(2026, 3, 4)),
        DayTotals(date(2026, 3, 5), 45, 1, 1, 70),
    ]
    assert days[0].average_focus_score == Fraction(215, 3)


def test_sessions_outside_the_range_are_left_out() -> None:
    # 03:59Z on 3 March is 22:59 on 2 March in New York; 05:00Z on the 4th is midnight there.
    sessions = [ended(utc(2026, 3, 3, 3, 59)), ended(utc(2026, 3, 4, 5)), ended(utc(2026, 3, 4, 4))]
    (day,) = daily_totals(sessions, date(2026, 3, 3), date(2026, 3, 3), NEW_YORK)
    assert (day.day, day.sessions) == (date(2026, 3, 3), 1)


def test_the_same_instants_fall_on_different_days_in_different_zones() -> None:
    sessions = [ended(utc(2026, 6, 10, 1)), ended(utc(2026, 6, 10, 23))]
    first, last = date(2026, 6, 9), date(2026, 6, 10)
    in_utc = daily_totals(sessions, first, last, ZoneInfo("UTC"))
    in_new_york = daily_totals(sessions, first, last, NEW_YORK)
    assert [d.sessions for d in in_utc] == [0, 2]
    assert [d.sessions for d in in_new_york] == [1, 1]


# -- DST in New York ----------------------------------------------------------------


def test_spring_forward_makes_a_23_hour_day() -> None:
    # 8 March 2026: 02:00 EST becomes 03:00 EDT.
    start, end = utc_span(date(2026, 3, 8), date(2026, 3, 8), NEW_YORK)
    assert (start, end) == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    sessions = [
        ended(utc(2026, 3, 8, 5)),  # 00:00 EST, the first instant of the day
        ended(utc(2026, 3, 8, 6, 59)),  # 01:59 EST
        ended(utc(2026, 3, 8, 7)),  # 03:00 EDT, a minute later on the wall clock
        ended(utc(2026, 3, 9, 3, 59)),  # 23:59 EDT
        ended(utc(2026, 3, 9, 4)),  # 00:00 EDT on the 9th
    ]
    days = daily_totals(sessions, date(2026, 3, 8), date(2026, 3, 9), NEW_YORK)
    assert [d.sessions for d in days] == [4, 1]


def test_fall_back_makes_a_25_hour_day() -> None:
    # 1 November 2026: 02:00 EDT becomes 01:00 EST, so 01:30 happens twice.
    start, end = utc_span(date(2026, 11, 1), date(2026, 11, 1), NEW_YORK)
    assert (start, end) == (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    sessions = [
        ended(utc(2026, 11, 1, 3, 59)),  # 23:59 EDT on 31 October
        ended(utc(2026, 11, 1, 5, 30)),  # 01:30 EDT
        ended(utc(2026, 11, 1, 6, 30)),  # 01:30 EST
        ended(utc(2026, 11, 2, 4, 59)),  # 23:59 EST
        ended(utc(2026, 11, 2, 5)),  # 00:00 EST on 2 November
    ]
    days = daily_totals(sessions, date(2026, 10, 31), date(2026, 11, 2), NEW_YORK)
    assert [d.sessions for d in days] == [1, 3, 1]


def test_a_range_across_both_changes_covers_exactly_its_local_days() -> None:
    start, end = utc_span(date(2026, 1, 1), date(2026, 12, 31), NEW_YORK)
    assert (start, end) == (utc(2026, 1, 1, 5), utc(2027, 1, 1, 5))


# -- against the brute force --------------------------------------------------------


zones = st.sampled_from(ZONES).map(ZoneInfo)
firsts = st.dates(min_value=date(1995, 1, 1), max_value=date(2036, 12, 1))


@settings(max_examples=300, deadline=None)
@given(
    tz=zones,
    first=firsts,
    length=st.integers(0, 40),
    data=st.data(),
)
def test_daily_totals_match_the_day_by_day_walk(
    tz: ZoneInfo, first: date, length: int, data: st.DataObject
) -> None:
    last = first + timedelta(days=length)
    around = datetime.combine(first, datetime.min.time(), tzinfo=UTC) - timedelta(days=2)
    offsets = st.integers(0, (length + 4) * 86400)
    sessions = data.draw(
        st.lists(
            st.builds(
                ended,
                offsets.map(lambda s: around + timedelta(seconds=s)),
                st.integers(0, 86400),
                st.integers(0, 100),
                st.booleans(),
            ),
            max_size=30,
        )
    )
    days = daily_totals(sessions, first, last, tz)
    assert days == brute_force(sessions, first, last, tz)
    start, end = utc_span(first, last, tz)
    # The store only fetches [start, end): that must hold every session counted.
    fetched = [s for s in sessions if start <= s.ended_at < end]
    assert daily_totals(fetched, first, last, tz) == days


@settings(max_examples=150, deadline=None)
@given(tz=zones, first=firsts, length=st.integers(0, 2))
def test_the_utc_span_is_exactly_the_local_days(tz: ZoneInfo, first: date, length: int) -> None:
    last = first + timedelta(days=length)
    start, end = utc_span(first, last, tz)
    # Walk every quarter hour (every offset and change since 1995 is on one) from
    # well before to well after, and find where the local days really begin and end.
    t = datetime.combine(first, datetime.min.time(), tzinfo=UTC) - timedelta(hours=30)
    inside = []
    while t < datetime.combine(last, datetime.min.time(), tzinfo=UTC) + timedelta(hours=54):
        if first <= t.astimezone(tz).date() <= last:
            inside.append(t)
        t += STEP
    if not inside:  # a day skipped altogether (Apia, 30 December 2011)
        assert start == end
        return
    assert (start, end) == (inside[0], inside[-1] + STEP)
    assert inside == sorted(inside) and len(inside) == (end - start) // STEP


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/New_York", date(2026, 3, 8)),
        ("America/New_York", date(2026, 11, 1)),
        ("America/Havana", date(2025, 3, 9)),  # midnight skipped
        ("America/Havana", date(2025, 11, 2)),  # midnight hour repeated
        ("America/Santiago", date(2024, 9, 8)),
        ("Australia/Lord_Howe", date(2025, 10, 5)),
        ("Pacific/Apia", date(2011, 12, 29)),
        ("Pacific/Apia", date(2011, 12, 30)),  # never happened there
        ("Pacific/Apia", date(2011, 12, 31)),
    ],
)
def test_every_minute_of_a_dst_day_lands_in_its_bucket(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    start, end = utc_span(day, day, tz)
    t = start - timedelta(hours=3)
    minutes = []
    while t < end + timedelta(hours=3):
        minutes.append(ended(t, active=1))
        t += timedelta(minutes=1)
    (totals,) = daily_totals(minutes, day, day, tz)
    local = [m for m in minutes if m.ended_at.astimezone(tz).date() == day]
    assert totals.sessions == len(local) == totals.focus_seconds
    assert local == [m for m in minutes if start <= m.ended_at < end]
