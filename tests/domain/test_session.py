"""A session's snapshot, its end and score, and the checks on what a client sends."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings

from focusgql.domain.errors import BadUserInput, FocusError
from focusgql.domain.session import (
    FocusSession,
    check_content_id,
    check_idle_threshold,
    check_target_minutes,
    snapshot,
)
from focusgql.domain.timeline import InvalidTransition, Status, Timeline, start

from .oracle import Kind, Oracle, expected_score
from .scenarios import Scenario, scenarios

T0 = datetime(2025, 5, 17, 8, 0, 0, 500_000, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(milliseconds=round(seconds * 1000))


def session(
    timeline: Timeline | None = None, *, target_minutes: int = 25, tab_switches: int = 0
) -> FocusSession:
    return FocusSession(
        id="s1",
        user_id="u1",
        target_minutes=target_minutes,
        content_id="chapter-3",
        timeline=start(T0, 15) if timeline is None else timeline,
        last_activity_at=T0,
        last_signal_at=T0,
        tab_switches=tab_switches,
    )


# -- snapshot -------------------------------------------------------------------


def test_snapshot_of_a_live_session() -> None:
    shot = snapshot(session(tab_switches=1), at(20.5))
    assert shot.at == at(20.5)
    assert (shot.elapsed, shot.active, shot.idle) == (20, 15, 5)
    assert shot.is_idle
    assert shot.remaining == 25 * 60 - 20
    # 100 * 20/1500 * 15/20 - 2 - 5/30 < 0
    assert shot.breakdown.score == 0
    assert shot.breakdown.completion == Fraction(20, 1500)
    assert shot.breakdown.tab_switch_penalty == 2


def test_remaining_counts_down_to_zero_and_stays_there() -> None:
    s = session(target_minutes=1)
    assert snapshot(s, at(0)).remaining == 60
    assert snapshot(s, at(59.999)).remaining == 1
    assert snapshot(s, at(60)).remaining == 0
    assert snapshot(s, at(3600)).remaining == 0


def test_snapshot_while_paused_is_frozen_and_not_idle() -> None:
    s = session(start(T0, 15).pause(at(40.2)))
    first, later = snapshot(s, at(41)), snapshot(s, at(4000))
    assert (first.elapsed, first.active, first.idle, first.remaining) == (40, 15, 25, 1460)
    assert (later.elapsed, later.active, later.idle, later.remaining) == (40, 15, 25, 1460)
    assert not first.is_idle
    assert first.breakdown == later.breakdown


def test_projected_score_uses_the_live_counters() -> None:
    s = session(start(T0, 15).record_activity(at(59.5)), target_minutes=1, tab_switches=2)
    shot = snapshot(s, at(60))
    # ticks 16..59 idle (44), tick 60 active; 100 * 1 * 16/60 - 4 - 44/30 = 21.2
    assert (shot.elapsed, shot.active, shot.idle) == (60, 16, 44)
    assert shot.breakdown.score == 21


# -- ending ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.ABANDONED])
def test_ended_scores_the_final_counters(status: Status) -> None:
    timeline = start(T0, 15).record_activity(at(50)).pause(at(70.5)).resume(at(500))
    s = session(timeline, target_minutes=1, tab_switches=2)
    end = at(500 + 10.75)  # tau 81.25
    done = s.ended(end, status)
    assert done.status is status
    assert done.timeline.ended_at == end
    # a_last 71 after the resume: ticks 16..49 and 66..70 idle
    final = snapshot(done, end)
    assert (final.elapsed, final.active, final.idle) == (81, 42, 39)
    assert done.focus_score == expected_score(
        elapsed=81, active=42, idle=39, tab_switches=2, target_minutes=1
    )
    assert done.focus_score == 47  # 100 * 1 * 42/81 - 4 - 1.3 = 46.55...
    assert s.focus_score is None  # the session it came from is unchanged
    assert replace(done, timeline=s.timeline, focus_score=None) == s


def test_ended_score_does_not_move_afterwards() -> None:
    done = session(target_minutes=1).ended(at(45), Status.COMPLETED)
    assert done.focus_score == snapshot(done, at(45)).breakdown.score
    assert done.focus_score == snapshot(done, at(10_000)).breakdown.score
    assert snapshot(done, at(10_000)).elapsed == 45
    assert not snapshot(done, at(10_000)).is_idle


def test_ended_while_paused_scores_the_paused_counters() -> None:
    s = session(start(T0, 15).pause(at(30.5)), target_minutes=1)
    done = s.ended(at(900), Status.ABANDONED)
    final = snapshot(done, at(900))
    assert (final.elapsed, final.active, final.idle) == (30, 15, 15)
    # 100 * 30/60 * 15/30 - 15/30 = 24.5, half up
    assert done.focus_score == 25


def test_ending_twice_or_to_a_running_status_is_invalid() -> None:
    done = session().ended(at(10), Status.COMPLETED)
    with pytest.raises(InvalidTransition):
        done.ended(at(20), Status.ABANDONED)
    with pytest.raises(InvalidTransition):
        session().ended(at(10), Status.PAUSED)


def test_abandon_at_is_the_last_signal_plus_the_grace() -> None:
    s = replace(session(), last_signal_at=at(42.5))
    assert s.abandon_at(1800) == at(1842.5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_events=15))
def test_snapshots_and_scores_match_the_oracle(scenario: Scenario) -> None:
    oracle = Oracle(scenario.start, scenario.threshold)
    states = scenario.states()
    target = 1 + scenario.threshold % 30
    for now in scenario.queries:
        n = scenario.known(now)
        expected = oracle.counters(scenario.events[:n], now)
        s = replace(session(states[n], target_minutes=target), tab_switches=expected.tab_switches)
        shot = snapshot(s, now)
        assert (shot.elapsed, shot.active, shot.idle, shot.is_idle) == (
            expected.elapsed,
            expected.active,
            expected.idle,
            expected.is_idle,
        )
        assert shot.remaining == max(0, target * 60 - expected.elapsed)
        assert shot.breakdown.score == expected_score(
            elapsed=expected.elapsed,
            active=expected.active,
            idle=expected.idle,
            tab_switches=expected.tab_switches,
            target_minutes=target,
        )
    for i, event in enumerate(scenario.events):
        if event.kind is Kind.END:
            assert event.end_status is not None
            before = session(states[i], target_minutes=target)
            done = before.ended(event.at, Status(event.end_status))
            final = oracle.counters(scenario.events[: i + 1], event.at)
            assert done.focus_score == expected_score(
                elapsed=final.elapsed,
                active=final.active,
                idle=final.idle,
                tab_switches=0,
                target_minutes=target,
            )


# -- checks on client input -------------------------------------------------------


def assert_bad_input(error: BadUserInput, field: str) -> None:
    assert isinstance(error, FocusError)
    assert error.code == "BAD_USER_INPUT"
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert str(error)


@pytest.mark.parametrize("value", [1, 25, 1440])
def test_target_minutes_in_range(value: int) -> None:
    assert check_target_minutes(value) == value


@pytest.mark.parametrize("value", [-25, 0, 1441, 10**9])
def test_target_minutes_out_of_range(value: int) -> None:
    with pytest.raises(BadUserInput) as raised:
        check_target_minutes(value)
    assert_bad_input(raised.value, "targetMinutes")
    assert "1" in str(raised.value)
    assert "1440" in str(raised.value)


@pytest.mark.parametrize("value", [5, 15, 3600])
def test_idle_threshold_in_range(value: int) -> None:
    assert check_idle_threshold(value) == value


@pytest.mark.parametrize("value", [0, 4, 3601])
def test_idle_threshold_out_of_range(value: int) -> None:
    with pytest.raises(BadUserInput) as raised:
        check_idle_threshold(value)
    assert_bad_input(raised.value, "idleThresholdSeconds")


@pytest.mark.parametrize("value", [None, "x", "chapter 3", " padded ", "é" * 200])
def test_content_id_accepted(value: str | None) -> None:
    assert check_content_id(value) == value


@pytest.mark.parametrize("value", ["", " ", "\t\n", "x" * 201])
def test_content_id_rejected(value: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        check_content_id(value)
    assert_bad_input(raised.value, "contentId")
