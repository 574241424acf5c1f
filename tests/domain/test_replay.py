"""Replayed signals against the brute-force oracle: any timeline whose signals
reach the server late (queued while offline, delivered in order through
batches of any size, before the next pause or resume) ends with the same
counters and score as the same timeline delivered live, and as the oracle.
Plus each rule, and ids counted once."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focusgql.domain.errors import BadUserInput, Conflict
from focusgql.domain.replay import (
    MAX_SIGNALS_PER_CALL,
    Replayed,
    ReplayLimits,
    Rule,
    SignalKind,
    SignalRefused,
    replay,
)
from focusgql.domain.session import FocusSession, snapshot
from focusgql.domain.timeline import Status, start

from .oracle import Event, Kind, Oracle, expected_score

T0 = datetime(2026, 3, 2, 9, 0, 0, 125_000, tzinfo=UTC)
WIDE = ReplayLimits(leeway=timedelta(seconds=30), max_age=timedelta(days=1))


def new_session(threshold: int) -> FocusSession:
    return FocusSession(
        id="s",
        user_id="u",
        target_minutes=2,
        content_id=None,
        timeline=start(T0, threshold),
        last_activity_at=T0,
        last_signal_at=T0,
    )


def live(session: FocusSession, kind: SignalKind, now: datetime) -> FocusSession:
    """A signal as the live path counts it: at the instant it arrives."""
    activity = kind is SignalKind.ACTIVITY
    return session.with_signals(now, activity, int(not activity))


def toggle(session: FocusSession, now: datetime) -> FocusSession:
    """Pause an active session, resume a paused one (resuming is activity)."""
    if session.status is Status.ACTIVE:
        return replace(session, timeline=session.timeline.pause(now))
    return replace(session, timeline=session.timeline.resume(now), last_activity_at=now)


@dataclass(frozen=True)
class Step:
    gap_ms: int
    what: str  # "ACTIVITY", "TAB_SWITCH" or "TOGGLE"


steps = st.lists(
    st.builds(
        Step,
        st.one_of(st.integers(0, 1500), st.integers(1500, 40_000)),
        st.sampled_from(["ACTIVITY", "ACTIVITY", "TAB_SWITCH", "TOGGLE"]),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps,
    st.integers(5, 20),
    st.lists(st.integers(1, 7), min_size=1, max_size=8),
    st.lists(st.integers(0, 3000), min_size=1, max_size=8),
    st.integers(0, 30_000),
)
def test_late_in_order_counts_as_live(
    plan: list[Step], threshold: int, sizes: list[int], delays: list[int], tail_ms: int
) -> None:
    on_time = late = new_session(threshold)
    events: list[Event] = []
    queue: list[Replayed] = []
    now = T0
    calls = 0

    def deliver(until: datetime) -> None:
        """The queue, in batches of the drawn sizes, each at a later instant up to `until`."""
        nonlocal late, queue, calls
        sent_at = queue[0].at if queue else until
        while queue:
            size = sizes[calls % len(sizes)]
            batch, queue = queue[:size], queue[size:]
            assert batch[-1].at is not None and sent_at is not None
            delay = timedelta(milliseconds=delays[calls % len(delays)])
            sent_at = min(until, max(sent_at, batch[-1].at) + delay)
            late, _ = replay(late, batch, (), sent_at, WIDE, batch=True)
            calls += 1

    for index, step in enumerate(plan):
        now += timedelta(milliseconds=step.gap_ms)
        if step.what == "TOGGLE":
            deliver(now)  # back online: the queue goes before the next change
            change = Kind.PAUSE if on_time.status is Status.ACTIVE else Kind.RESUME
            on_time, late = toggle(on_time, now), toggle(late, now)
            events.append(Event(now, change))
            continue
        signal = SignalKind(step.what)
        events.append(Event(now, Kind.ACTIVITY if step.what == "ACTIVITY" else Kind.TAB_SWITCH))
        on_time = live(on_time, signal, now)
        if late.status is Status.ACTIVE:
            queue.append(Replayed(signal, now, f"signal-{index}"))
        else:
            late = live(late, signal, now)  # nothing to queue: a pause counts none
    end = now + timedelta(milliseconds=tail_ms)
    deliver(end)

    expected = Oracle(T0, threshold).counters(events, end)
    for session in (on_time, late):
        seen = snapshot(session, end)
        assert (seen.elapsed, seen.active, seen.idle, seen.tab_switches) == (
            expected.elapsed,
            expected.active,
            expected.idle,
            expected.tab_switches,
        )
        assert seen.score == expected_score(
            elapsed=expected.elapsed,
            active=expected.active,
            idle=expected.idle,
            tab_switches=expected.tab_switches,
            target_minutes=2,
        )
    assert late.timeline == on_time.timeline
    assert late.last_activity_at == on_time.last_activity_at


def refused(session: FocusSession, at: datetime, now: datetime) -> Rule:
    with pytest.raises(SignalRefused) as error:
        replay(session, [Replayed(SignalKind.ACTIVITY, at)], (), now, LIMITS)
    assert error.value.extensions["code"] == "BAD_USER_INPUT"
    assert error.value.extensions["field"] == "at"
    return error.value.rule


LIMITS = ReplayLimits(leeway=timedelta(seconds=30), max_age=timedelta(seconds=600))


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def test_each_rule_is_named() -> None:
    session = new_session(15)
    assert refused(session, seconds(100 + 31), seconds(100)) is Rule.IN_FUTURE
    assert refused(session, seconds(100), seconds(701)) is Rule.TOO_OLD
    assert refused(session, seconds(-1), seconds(100)) is Rule.BEFORE_START
    paused = toggle(session, seconds(50))
    assert refused(paused, seconds(60), seconds(70)) is Rule.IN_PAUSE
    assert refused(paused, seconds(50), seconds(70)) is Rule.IN_PAUSE
    resumed = toggle(paused, seconds(80))
    assert refused(resumed, seconds(79), seconds(90)) is Rule.BEFORE_LAST_ACTIVITY


def test_edges_that_count() -> None:
    session = new_session(15)
    # Within the leeway counts as now; exactly max_age ago still counts.
    ahead, _ = replay(
        session, [Replayed(SignalKind.ACTIVITY, seconds(130))], (), seconds(100), LIMITS
    )
    assert ahead.last_activity_at == seconds(100)
    old, _ = replay(
        session, [Replayed(SignalKind.ACTIVITY, seconds(100))], (), seconds(700), LIMITS
    )
    assert old.timeline.last_activity_second == 101
    # Before a pause that is still under way: counted on the clock as it ran.
    paused = toggle(session, seconds(50))
    counted, _ = replay(
        paused,
        [Replayed(SignalKind.ACTIVITY, seconds(40)), Replayed(SignalKind.TAB_SWITCH, seconds(45))],
        (),
        seconds(70),
        LIMITS,
    )
    assert counted.timeline.last_activity_second == 41
    assert counted.tab_switches == 1
    assert counted.status is Status.PAUSED and counted.timeline.paused_at == seconds(50)
    # Idle seconds already reported turn active: 40 s idle at 60 s ... then not.
    assert snapshot(session, seconds(60)).idle == 45
    assert snapshot(counted, seconds(60)).idle < snapshot(session, seconds(60)).idle


def test_a_batch_is_all_or_nothing_and_says_where_it_failed() -> None:
    session = new_session(15)
    signals = [
        Replayed(SignalKind.ACTIVITY, seconds(10), "a"),
        Replayed(SignalKind.ACTIVITY, seconds(5), "b"),  # out of order
    ]
    with pytest.raises(SignalRefused) as error:
        replay(session, signals, (), seconds(20), LIMITS, batch=True)
    assert error.value.extensions["index"] == 1
    assert error.value.rule is Rule.BEFORE_LAST_ACTIVITY
    too_many = [Replayed(SignalKind.ACTIVITY, seconds(10))] * (MAX_SIGNALS_PER_CALL + 1)
    with pytest.raises(BadUserInput):
        replay(session, too_many, (), seconds(20), LIMITS, batch=True)
    ended = replace(session, timeline=session.timeline.end(seconds(5), Status.COMPLETED))
    with pytest.raises(Conflict):
        replay(ended, signals[:1], (), seconds(20), LIMITS)


def test_the_same_id_counts_once() -> None:
    session = new_session(15)
    tab = Replayed(SignalKind.TAB_SWITCH, seconds(10), "tab-1")
    once, ids = replay(session, [tab, tab], (), seconds(20), LIMITS, batch=True)
    assert (once.tab_switches, ids) == (1, ["tab-1"])
    again, more = replay(once, [tab], ids, seconds(30), LIMITS)
    assert again is once and more == []
    # Even when the copy would now break a rule: it was counted already.
    late, _ = replay(once, [tab], ids, seconds(900), LIMITS)
    assert late is once
