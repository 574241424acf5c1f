"""The focus score, computed when a session ends and live as a projection.

    completion    = min(1, elapsed / (target_minutes * 60))
    activityRatio = active / max(elapsed, 1)
    penalty       = tab_switches * 2 + idle / 30
    score         = clamp(round_half_up(100 * completion * activityRatio - penalty), 0, 100)

The original capped nothing (a session past its target scored above 100) and
rounded with JavaScript's Math.round, half up; Python's round() is banker's
rounding, so the arithmetic here is exact (Fraction) and rounds half up itself.
"""

from dataclasses import dataclass
from fractions import Fraction
from math import floor

TAB_SWITCH_PENALTY = 2
IDLE_SECONDS_PER_POINT = 30


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    completion: Fraction
    activity_ratio: Fraction
    tab_switch_penalty: Fraction
    idle_penalty: Fraction
    score: int

    @property
    def base(self) -> Fraction:
        """100 * completion * activityRatio: the score before penalties."""
        return 100 * self.completion * self.activity_ratio

    @property
    def raw(self) -> Fraction:
        """The score before rounding and clamping: base minus the penalties."""
        return self.base - self.tab_switch_penalty - self.idle_penalty


def round_half_up(x: Fraction) -> int:
    return floor(x + Fraction(1, 2))


def focus_score(
    *, elapsed: int, active: int, idle: int, tab_switches: int, target_minutes: int
) -> int:
    """The score alone, in integers: every tick of every live session computes it.

    Over the common denominator d = target * max(elapsed, 1) * 30 the raw score is
    n / d, and floor(n / d + 1/2) = (2n + d) // 2d rounds half up, negatives too.
    """
    target = max(target_minutes * 60, 1)
    ticks = max(elapsed, 1)
    d = target * ticks * IDLE_SECONDS_PER_POINT
    n = (
        100 * min(elapsed, target) * active * IDLE_SECONDS_PER_POINT
        - tab_switches * TAB_SWITCH_PENALTY * d
        - idle * target * ticks
    )
    return min(100, max(0, (2 * n + d) // (2 * d)))


def score(
    *, elapsed: int, active: int, idle: int, tab_switches: int, target_minutes: int
) -> ScoreBreakdown:
    completion = min(Fraction(1), Fraction(elapsed, max(target_minutes * 60, 1)))
    activity_ratio = Fraction(active, max(elapsed, 1))
    tab_penalty = Fraction(tab_switches * TAB_SWITCH_PENALTY)
    idle_penalty = Fraction(idle, IDLE_SECONDS_PER_POINT)
    raw = 100 * completion * activity_ratio - tab_penalty - idle_penalty
    return ScoreBreakdown(
        completion=completion,
        activity_ratio=activity_ratio,
        tab_switch_penalty=tab_penalty,
        idle_penalty=idle_penalty,
        score=min(100, max(0, round_half_up(raw))),
    )
