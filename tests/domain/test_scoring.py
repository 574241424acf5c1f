"""The focus score: capped completion, exact arithmetic, half-up rounding, clamping."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from focusgql.domain.scoring import ScoreBreakdown, focus_score, round_half_up, score

from .oracle import expected_score


def scored(
    elapsed: int, active: int, idle: int, tab_switches: int, target_minutes: int
) -> ScoreBreakdown:
    return score(
        elapsed=elapsed,
        active=active,
        idle=idle,
        tab_switches=tab_switches,
        target_minutes=target_minutes,
    )


def test_a_perfect_session() -> None:
    result = scored(1500, 1500, 0, 0, 25)
    assert result.score == 100
    assert result.completion == 1
    assert result.activity_ratio == 1
    assert result.raw == 100


def test_completion_is_capped_at_one() -> None:
    # 120 s of a 1-minute target, half of it active: uncapped it would be 98
    result = scored(120, 60, 60, 0, 1)
    assert result.completion == 1
    assert result.activity_ratio == Fraction(1, 2)
    assert result.idle_penalty == 2
    assert result.score == 48


def test_the_parts_of_the_breakdown() -> None:
    result = scored(900, 600, 300, 3, 25)
    assert result.completion == Fraction(900, 1500)
    assert result.activity_ratio == Fraction(2, 3)
    assert result.tab_switch_penalty == 6
    assert result.idle_penalty == 10
    # The parts add up: base 40, minus 6 and 10.
    assert result.base == 100 * Fraction(900, 1500) * Fraction(2, 3) == 40
    assert result.raw == result.base - 6 - 10 == 24
    assert result.score == 24


@pytest.mark.parametrize(
    ("elapsed", "active", "idle", "tabs", "target", "raw", "expected"),
    [
        # 100 * 45/60 - 15/30 = 74.5: half up gives 75, Python's round() gives 74
        (60, 45, 15, 0, 1, Fraction(149, 2), 75),
        # 100 * 1 * 1 - 2 * 12 - 45/30 = 74.5 again, from the other side
        (60, 60, 45, 12, 1, Fraction(149, 2), 75),
        # 73.5: both roundings agree on 74
        (60, 45, 45, 0, 1, Fraction(147, 2), 74),
        # 100 * (120/120) * (3/120) = 2.5: half up 3, round() 2
        (120, 3, 0, 0, 2, Fraction(5, 2), 3),
        # 100 * (60/120) * (1/60) = 0.8333... - 1/30 * 10 = 0.5: half up 1, round() 0
        (60, 1, 10, 0, 2, Fraction(1, 2), 1),
        # 100 - 2 * 50 - 15/30 = -0.5: half up gives 0, and the clamp keeps it there
        (60, 60, 15, 50, 1, Fraction(-1, 2), 0),
    ],
)
def test_exact_halves_round_up(
    elapsed: int, active: int, idle: int, tabs: int, target: int, raw: Fraction, expected: int
) -> None:
    result = scored(elapsed, active, idle, tabs, target)
    assert result.raw == raw
    assert result.score == expected


def test_half_up_where_python_round_would_differ() -> None:
    result = scored(60, 45, 15, 0, 1)
    assert result.raw == Fraction(149, 2)
    assert round(result.raw) == 74  # what banker's rounding would have said
    assert result.score == 75


def test_round_half_up() -> None:
    assert round_half_up(Fraction(1, 2)) == 1
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-1, 2)) == 0
    assert round_half_up(Fraction(-3, 2)) == -1
    assert round_half_up(Fraction(249999, 100000)) == 2
    assert round_half_up(Fraction(7, 3)) == 2


def test_negative_scores_clamp_to_zero() -> None:
    result = scored(60, 10, 50, 40, 1)
    assert result.raw < 0
    assert result.score == 0


def test_scores_above_100_clamp_to_100() -> None:
    # inconsistent counters (active > elapsed) are the only way past 100
    result = scored(60, 120, 0, 0, 1)
    assert result.raw == 200
    assert result.score == 100


def test_zero_elapsed_scores_zero() -> None:
    result = scored(0, 0, 0, 0, 25)
    assert result.completion == 0
    assert result.activity_ratio == 0
    assert result.score == 0


def test_penalties_alone_with_zero_elapsed_still_clamp() -> None:
    assert scored(0, 0, 0, 3, 25).score == 0


counts = st.integers(0, 200_000)


@settings(max_examples=400, deadline=None)
@given(
    elapsed=counts,
    active_share=st.fractions(0, 1),
    tab_switches=st.integers(0, 60),
    target_minutes=st.integers(1, 1440),
)
def test_score_matches_an_integer_reimplementation(
    elapsed: int, active_share: Fraction, tab_switches: int, target_minutes: int
) -> None:
    active = int(elapsed * active_share)
    idle = elapsed - active
    result = scored(elapsed, active, idle, tab_switches, target_minutes)
    assert result.score == expected_score(
        elapsed=elapsed,
        active=active,
        idle=idle,
        tab_switches=tab_switches,
        target_minutes=target_minutes,
    )
    assert 0 <= result.score <= 100
    assert 0 <= result.completion <= 1


@settings(max_examples=300, deadline=None)
@given(
    elapsed=st.integers(0, 10_000),
    active=st.integers(0, 10_000),
    idle=st.integers(0, 10_000),
    tab_switches=st.integers(0, 60),
    target_minutes=st.integers(1, 200),
)
def test_score_matches_for_any_counters(
    elapsed: int, active: int, idle: int, tab_switches: int, target_minutes: int
) -> None:
    result = scored(elapsed, active, idle, tab_switches, target_minutes)
    assert result.score == expected_score(
        elapsed=elapsed,
        active=active,
        idle=idle,
        tab_switches=tab_switches,
        target_minutes=target_minutes,
    )


@settings(max_examples=400, deadline=None)
@given(
    elapsed=st.integers(0, 100_000),
    active_share=st.fractions(0, 1),
    tab_switches=st.integers(0, 200),
    target_minutes=st.integers(1, 1440),
)
def test_the_fast_integer_score_equals_the_exact_breakdown(
    elapsed: int, active_share: Fraction, tab_switches: int, target_minutes: int
) -> None:
    active = int(elapsed * active_share)
    counters = {
        "elapsed": elapsed,
        "active": active,
        "idle": elapsed - active,
        "tab_switches": tab_switches,
        "target_minutes": target_minutes,
    }
    assert focus_score(**counters) == score(**counters).score == expected_score(**counters)
