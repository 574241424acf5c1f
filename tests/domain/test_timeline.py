"""The session clock against the brute-force oracle, plus the worked examples."""

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focusgql.domain.timeline import (
    InvalidTransition,
    Status,
    Timeline,
    millis,
    start,
    truncate_to_ms,
)

from .oracle import ENDINGS, ONE_MS, Counters, Oracle
from .scenarios import Scenario, scenarios

T0 = datetime(2025, 3, 9, 9, 59, 59, 250_000, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus `seconds`, to the millisecond."""
    return T0 + timedelta(milliseconds=round(seconds * 1000))


def counters(timeline: Timeline, now: datetime) -> tuple[int, int, int]:
    return timeline.elapsed(now), timeline.active(now), timeline.idle(now)


def observed(timeline: Timeline, now: datetime) -> Counters:
    return Counters(
        tau_ms=timeline.session_ms(now),
        elapsed=timeline.elapsed(now),
        active=timeline.active(now),
        idle=timeline.idle(now),
        tab_switches=0,
        status=timeline.status.value,
        is_idle=timeline.is_idle(now),
    )


def replay(scenario: Scenario) -> list[tuple[datetime, int, Counters]]:
    """(query time, events known, counters the Timeline reports) for every query."""
    states = scenario.states()
    result = []
    for now in scenario.queries:
        n = scenario.known(now)
        result.append((now, n, observed(states[n], now)))
    return result


ORACLE_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@ORACLE_SETTINGS
@given(scenarios())
def test_timeline_matches_the_oracle(scenario: Scenario) -> None:
    oracle = Oracle(scenario.start, scenario.threshold)
    for now, n, seen in replay(scenario):
        expected = oracle.counters(scenario.events[:n], now)
        assert seen == Counters(
            tau_ms=expected.tau_ms,
            elapsed=expected.elapsed,
            active=expected.active,
            idle=expected.idle,
            tab_switches=0,
            status=expected.status,
            is_idle=expected.is_idle,
        ), f"at {now} after {n} events"
        assert seen.active + seen.idle == seen.elapsed


@ORACLE_SETTINGS
@given(scenarios())
def test_counters_never_go_back_and_stand_still_when_stopped(scenario: Scenario) -> None:
    seen = replay(scenario)
    for (_, n1, c1), (_, n2, c2) in itertools.pairwise(seen):
        assert c1.elapsed <= c2.elapsed
        assert c1.tau_ms <= c2.tau_ms
        assert c1.active <= c2.active
        assert c1.idle <= c2.idle
        if c1.status != "ACTIVE" and n1 == n2:
            assert c1 == c2, "counters move while paused"
        if c1.status in ENDINGS:
            assert c1 == c2, "counters move after the end"


@ORACLE_SETTINGS
@given(scenarios(max_events=12), st.integers(0, 3))
def test_next_tick_due_is_when_elapsed_increments(scenario: Scenario, ahead: int) -> None:
    states = scenario.states()
    for now in scenario.queries:
        timeline = states[scenario.known(now)]
        due = timeline.next_tick_due(now)
        if timeline.status is not Status.ACTIVE:
            assert due is None
            assert timeline.tick_due(1) is None
            continue
        assert due is not None
        k = timeline.elapsed(now) + 1
        assert due > now
        assert timeline.elapsed(due - ONE_MS) == k - 1
        assert timeline.elapsed(due) == k
        later = timeline.tick_due(k + ahead)
        assert later == due + timedelta(seconds=ahead)
        assert timeline.elapsed(later - ONE_MS) == k + ahead - 1
        assert timeline.elapsed(later) == k + ahead


# -- worked examples ------------------------------------------------------------


def test_no_activity_for_20s_with_threshold_15_is_5_idle_seconds() -> None:
    timeline = start(T0, 15)
    assert counters(timeline, at(15)) == (15, 15, 0)
    assert not timeline.is_idle(at(15))
    assert counters(timeline, at(16)) == (16, 15, 1)
    assert timeline.is_idle(at(16))
    assert counters(timeline, at(20)) == (20, 15, 5)
    assert counters(timeline, at(20.999)) == (20, 15, 5)


def test_elapsed_is_whole_seconds_of_session_time() -> None:
    timeline = start(T0, 15)
    assert timeline.elapsed(at(0.999)) == 0
    assert timeline.elapsed(at(1)) == 1
    assert timeline.session_ms(at(1.234)) == 1234


@pytest.mark.parametrize(
    ("activity_at", "idle_at_16", "idle_at_40"),
    [
        (14.999, 0, 10),  # a = 15: ticks 31..40 idle
        (15.0, 0, 9),  # a = 16: tick 15 has already happened; ticks 32..40 idle
        (15.001, 0, 9),  # a = 16: ticks 32..40 idle
        (16.0, 1, 9),  # a = 17: tick 16 (16 - 0 > 15) was counted idle at 16.0
        (16.001, 1, 9),  # a = 17: tick 16 was idle; ticks 33..40 idle
    ],
)
def test_an_activity_marks_the_second_it_falls_in(
    activity_at: float, idle_at_16: int, idle_at_40: int
) -> None:
    timeline = start(T0, 15).record_activity(at(activity_at))
    assert timeline.idle(at(16)) == idle_at_16
    assert timeline.idle(at(40)) == idle_at_40
    assert timeline.active(at(40)) == 40 - idle_at_40


def test_activity_in_the_same_second_as_the_last_changes_nothing() -> None:
    timeline = start(T0, 5).record_activity(at(30.2))
    again = timeline.record_activity(at(30.9)).record_activity(at(30.999))
    assert counters(again, at(100)) == counters(timeline, at(100)) == (100, 11, 89)


def test_a_recent_activity_clears_is_idle_before_the_next_tick() -> None:
    timeline = start(T0, 15)
    assert timeline.is_idle(at(20.5))
    after = timeline.record_activity(at(20.5))
    # tick 20 stays counted as idle; the person is back, so not idle any more
    assert counters(after, at(20.5)) == (20, 15, 5)
    assert not after.is_idle(at(20.5))
    assert not after.is_idle(at(36.9))
    assert after.is_idle(at(37))  # tick 37: 37 - 21 > 15
    assert counters(after, at(37)) == (37, 31, 6)


def test_pause_freezes_and_resume_counts_as_activity() -> None:
    timeline = start(T0, 15).pause(at(10.5))
    assert timeline.status is Status.PAUSED
    for now in (10.5, 11, 100, 5000):
        assert counters(timeline, at(now)) == (10, 10, 0)
        assert not timeline.is_idle(at(now))
    resumed = timeline.resume(at(100.5))  # tau 10.5 -> activity second 11
    assert resumed.status is Status.ACTIVE
    assert counters(resumed, at(100.5)) == (10, 10, 0)
    assert counters(resumed, at(116.5)) == (26, 26, 0)  # 26 - 11 = 15: not idle yet
    assert counters(resumed, at(130.5)) == (40, 26, 14)


def test_a_long_pause_makes_no_idle_time() -> None:
    timeline = start(T0, 15).record_activity(at(5)).pause(at(6))
    resumed = timeline.resume(at(6 + 8 * 3600))
    assert counters(resumed, at(6 + 8 * 3600 + 10)) == (16, 16, 0)


def test_idle_before_a_pause_stays_idle() -> None:
    timeline = start(T0, 15).pause(at(30.5))
    assert counters(timeline, at(60)) == (30, 15, 15)
    resumed = timeline.resume(at(60.25))  # tau 30.5 frozen, activity second 31
    assert counters(resumed, at(70.25)) == (40, 25, 15)


def test_end_makes_counters_final() -> None:
    timeline = start(T0, 15).record_activity(at(3)).end(at(25.7), Status.COMPLETED)
    assert timeline.status is Status.COMPLETED
    assert timeline.ended_at == at(25.7)
    for now in (25.7, 26, 10_000):
        assert counters(timeline, at(now)) == (25, 19, 6)  # a = 4: ticks 20..25 idle
        assert not timeline.is_idle(at(now))


def test_end_while_paused_freezes_at_the_pause() -> None:
    timeline = start(T0, 15).pause(at(20.5)).end(at(3600), Status.ABANDONED)
    assert timeline.status is Status.ABANDONED
    assert counters(timeline, at(3600)) == (20, 15, 5)
    assert counters(timeline, at(99_999)) == (20, 15, 5)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.ABANDONED])
def test_invalid_transitions_raise(status: Status) -> None:
    active = start(T0, 15)
    paused = active.pause(at(1))
    ended = active.end(at(2), status)
    attempts: list[tuple[Callable[[], Timeline], Status, Status]] = [
        (lambda: paused.pause(at(3)), Status.PAUSED, Status.PAUSED),
        (lambda: active.resume(at(3)), Status.ACTIVE, Status.ACTIVE),
        (lambda: ended.pause(at(3)), status, Status.PAUSED),
        (lambda: ended.resume(at(3)), status, Status.ACTIVE),
        (lambda: ended.end(at(3), Status.COMPLETED), status, Status.COMPLETED),
        (lambda: ended.end(at(3), Status.ABANDONED), status, Status.ABANDONED),
        (lambda: active.end(at(3), Status.ACTIVE), Status.ACTIVE, Status.ACTIVE),
        (lambda: active.end(at(3), Status.PAUSED), Status.ACTIVE, Status.PAUSED),
        (lambda: paused.end(at(3), Status.PAUSED), Status.PAUSED, Status.PAUSED),
    ]
    for attempt, current, wanted in attempts:
        with pytest.raises(InvalidTransition) as raised:
            attempt()
        assert (raised.value.current, raised.value.wanted) == (current, wanted)
        assert current.value in str(raised.value)


def test_activity_while_paused_or_ended_is_a_no_op() -> None:
    paused = start(T0, 15).pause(at(20))
    assert paused.record_activity(at(25)) == paused
    ended = start(T0, 15).end(at(20), Status.COMPLETED)
    assert ended.record_activity(at(25)) == ended


def test_tick_due_gives_the_instant_elapsed_reaches_k() -> None:
    timeline = start(T0, 15).pause(at(2.3)).resume(at(7.8))  # 5.5 s paused
    assert timeline.tick_due(3) == at(8.5)
    # From the resume on: before it, the facts (the resume marked second 3
    # active at tau 2.3) already prove two seconds counted.
    for k in range(3, 6):
        due = timeline.tick_due(k)
        assert due is not None
        assert timeline.elapsed(due - ONE_MS) == k - 1
        assert timeline.elapsed(due) == k
    assert timeline.next_tick_due(at(7.8)) == at(8.5)
    assert timeline.next_tick_due(at(8.5)) == at(9.5)
    assert timeline.next_tick_due(at(8.499)) == at(8.5)
    assert timeline.pause(at(9)).next_tick_due(at(9)) is None
    assert timeline.end(at(9), Status.COMPLETED).tick_due(10) is None


def test_clock_skew_before_the_start_counts_nothing() -> None:
    timeline = start(T0, 15)
    assert timeline.session_ms(at(-3)) == 0
    assert counters(timeline, at(-3)) == (0, 0, 0)
    assert not timeline.is_idle(at(-3))
    assert timeline.next_tick_due(at(-3)) == at(1)
    assert timeline.record_activity(at(-3)) == timeline
    paused = timeline.pause(at(-3))
    assert paused.paused_at == T0
    assert counters(paused, at(50)) == (0, 0, 0)
    ended = timeline.end(at(-3), Status.ABANDONED)
    assert ended.ended_at == T0
    assert counters(ended, at(50)) == (0, 0, 0)


def test_resume_before_the_pause_adds_no_paused_time() -> None:
    timeline = start(T0, 15).pause(at(10)).resume(at(9))
    assert timeline.paused_ms == 0
    assert timeline.elapsed(at(12)) == 12


def test_resume_after_a_pause_at_a_whole_second_keeps_idle_monotone() -> None:
    """Counters shown while paused must not be taken back by the resume.

    Paused at tau = 20.000 with no activity since the start (T = 15), tick 20 is
    idle and the frozen counters say idle 5. With DESIGN's a = ceil(tau) the
    resume would mark second 20 and turn tick 20 active after the fact; the
    activity marks floor(tau) + 1 = 21 instead.
    """
    paused = start(T0, 15).pause(at(20))
    assert counters(paused, at(500)) == (20, 15, 5)
    resumed = paused.resume(at(1000))
    assert counters(resumed, at(1000)) == (20, 15, 5)


def test_status_is_running() -> None:
    assert Status.ACTIVE.is_running
    assert Status.PAUSED.is_running
    assert not Status.COMPLETED.is_running
    assert not Status.ABANDONED.is_running


def test_times_are_whole_milliseconds() -> None:
    t = datetime(2025, 1, 1, 0, 0, 0, 123_999, tzinfo=UTC)
    assert truncate_to_ms(t) == datetime(2025, 1, 1, 0, 0, 0, 123_000, tzinfo=UTC)
    assert millis(timedelta(milliseconds=-1)) == -1
    assert millis(timedelta(days=2, seconds=3, microseconds=4_999)) == 172_803_004
