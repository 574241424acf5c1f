"""Which of two states of a session is the newer (states reach a process in any
order: its own writes, another's through the change stream)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from focusgql.domain.session import FocusSession, is_newer
from focusgql.domain.timeline import Status, start

T0 = datetime(2025, 5, 17, 8, 0, tzinfo=UTC)

RUNNING = FocusSession(
    id="s1",
    user_id="u1",
    target_minutes=25,
    content_id=None,
    timeline=start(T0, 15),
    last_activity_at=T0,
    last_signal_at=T0,
    version=3,
)


def test_an_end_wins_over_any_running_state_and_never_loses_to_one() -> None:
    ended = replace(RUNNING.ended(T0 + timedelta(minutes=5), Status.ABANDONED), version=1)
    assert is_newer(ended, RUNNING)
    assert not is_newer(replace(RUNNING, version=9), ended)


def test_a_higher_revision_is_newer() -> None:
    assert is_newer(replace(RUNNING, version=4), RUNNING)
    assert not is_newer(replace(RUNNING, version=2), RUNNING)
    assert not is_newer(RUNNING, RUNNING)


def test_at_one_revision_more_stored_signals_is_newer() -> None:
    some = replace(RUNNING, journal_marks=(("p1", 0),))
    more = replace(RUNNING, journal_marks=(("p1", 1), ("p2", 0)))
    assert is_newer(some, RUNNING)
    assert is_newer(more, some)
    assert not is_newer(some, more)
