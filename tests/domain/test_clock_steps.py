"""Read with a clock behind the facts (a step back, another process's clock),
a timeline shows no less than the facts prove was counted; read at or after
them, exactly what the oracle says."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from focusgql.domain.session import FocusSession, snapshot
from focusgql.domain.timeline import MS_PER_SECOND, Status, start

from .oracle import Oracle
from .scenarios import Scenario, scenarios

HOUR_MS = 3_600_000


@given(scenarios(), st.integers(-2 * HOUR_MS, 2 * HOUR_MS))
def test_counters_are_never_negative_nor_below_what_was_counted(
    scenario: Scenario, step_ms: int
) -> None:
    timeline = scenario.states()[-1]
    last = scenario.events[-1].at if scenario.events else scenario.start
    now = last + timedelta(milliseconds=step_ms)  # before the facts, or after them
    elapsed, idle, active = timeline.elapsed(now), timeline.idle(now), timeline.active(now)
    assert min(elapsed, idle, active) >= 0
    assert active + idle == elapsed
    assert elapsed >= timeline.last_activity_second - 1
    assert idle >= timeline.idle_before
    if step_ms >= 0:  # the clamp never changes a reading at or after the facts
        assert elapsed == timeline.session_ms(now) // MS_PER_SECOND
        expected = Oracle(scenario.start, scenario.threshold).counters(scenario.events, now)
        assert (elapsed, active, idle) == (expected.elapsed, expected.active, expected.idle)


@given(scenarios(max_events=12), st.integers(1, 2 * HOUR_MS))
def test_an_end_on_a_clock_stepped_back_stores_sane_final_counters(
    scenario: Scenario, back_ms: int
) -> None:
    timeline = scenario.states()[-1]
    if not timeline.status.is_running:
        return
    last = scenario.events[-1].at if scenario.events else scenario.start
    session = FocusSession("s", "u", 25, None, timeline, last, last)
    ended = session.ended(last - timedelta(milliseconds=back_ms), Status.COMPLETED)
    final = snapshot(ended, last)
    assert min(final.elapsed, final.active, final.idle) >= 0
    assert final.active + final.idle == final.elapsed >= timeline.last_activity_second - 1
    assert ended.focus_score is not None and 0 <= ended.focus_score <= 100
    # Final: later readings, on any clock, show the same.
    later = last + timedelta(hours=5)
    assert snapshot(ended, later).elapsed == final.elapsed


def test_the_issue_s_negative_active_seconds_cannot_happen() -> None:
    """A session at 600 s read an hour earlier showed `elapsed 0 active -576 idle 576`."""
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    timeline = start(t0, 15).record_activity(t0 + timedelta(seconds=600))  # second 601
    assert timeline.idle_before == 600 - 15
    earlier = t0 + timedelta(seconds=600) - timedelta(hours=1)
    assert (timeline.elapsed(earlier), timeline.active(earlier), timeline.idle(earlier)) == (
        600,
        15,
        585,
    )
