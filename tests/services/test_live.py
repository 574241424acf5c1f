"""The live hub against a per-step oracle: every follower gets exactly one frame
per tick its session crosses and one per newer state, each exact at that
instant, whatever mix of sessions shares the beat's timer."""

import asyncio
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start
from focusgql.services.frames import Frame
from focusgql.services.live import BEAT_GRAIN, BURST, LiveHub
from focusgql.services.ports import FollowHandle
from tests.support import ManualClock

T0 = datetime(2026, 3, 2, 9, 0, 0, 137_000, tzinfo=UTC)


def new_session(number: int, at: datetime) -> FocusSession:
    return FocusSession(
        id=f"s{number}",
        user_id="u",
        target_minutes=25,
        content_id=None,
        timeline=start(at, 15),
        last_activity_at=at,
        last_signal_at=at,
    )


@dataclass
class Follower:
    session_id: str
    frames: list[Frame] = field(default_factory=list)
    following: FollowHandle | None = None

    def __call__(self, frame: Frame) -> None:
        self.frames.append(frame)


GRAIN_MS = int(BEAT_GRAIN / timedelta(milliseconds=1))
"""Starts and steps here are whole grains apart. The beat fires at most once a
grain (test_ticks_due_within_a_grain_of_a_firing_wait_for_one_firing checks
that), so a tick crossed less than a grain after the last firing comes with
the next step, which this oracle (a frame per tick crossed in the step) forbids."""

# A step: ("advance", ms) | ("pause"/"resume"/"end", session index) | ("leave", follower index)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(1, 2500 // GRAIN_MS).map(lambda n: n * GRAIN_MS)),
        st.tuples(st.sampled_from(["pause", "resume", "end", "stale"]), st.integers(0, 5)),
        st.tuples(st.just("leave"), st.integers(0, 11)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    offsets=st.lists(
        st.integers(0, 2999 // GRAIN_MS).map(lambda n: n * GRAIN_MS), min_size=1, max_size=6
    ),
    per_session=st.integers(1, 2),
    script=steps,
)
def test_every_follower_gets_each_tick_and_change_once(
    offsets: list[int], per_session: int, script: list[tuple[str, int]]
) -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    sessions: list[FocusSession] = []
    followers: list[Follower] = []
    for number, offset in enumerate(offsets):
        clock.advance(milliseconds=offset)
        session = new_session(number, clock.now())
        sessions.append(session)
        for _ in range(per_session):
            follower = Follower(session.id)
            follower.following = hub.follow(session, follower)
            assert len(follower.frames) == 1  # the frame at once
            followers.append(follower)
    for kind, argument in script:
        before = clock.now()
        counts = [len(f.frames) for f in followers]
        changed: set[str] = set()
        if kind == "advance":
            clock.advance(milliseconds=argument)
            for session in sessions:
                timeline = session.timeline
                if timeline.elapsed(clock.now()) > timeline.elapsed(before):
                    changed.add(session.id)
        elif kind == "leave":
            follower = followers[argument % len(followers)]
            if follower.following is not None:
                follower.following.close()
                follower.following = None
        else:
            index = argument % len(sessions)
            session = sessions[index]
            now = clock.now()
            newer = session
            if kind == "pause" and session.status is Status.ACTIVE:
                newer = replace(session, timeline=session.timeline.pause(now))
            elif kind == "resume" and session.status is Status.PAUSED:
                newer = replace(session, timeline=session.timeline.resume(now))
            elif kind == "end" and session.status.is_running:
                newer = session.ended(now, Status.COMPLETED)
            if kind == "stale":
                hub.publish(replace(session, version=session.version - 1))  # older: ignored
            elif newer is not session:
                newer = replace(newer, version=session.version + 1)
                sessions[index] = newer
                hub.publish(newer)
                changed.add(newer.id)
        now = clock.now()
        for follower, count in zip(followers, counts, strict=True):
            got = follower.frames[count:]
            if follower.following is None:
                assert got == []
                continue
            expected = 1 if follower.session_id in changed else 0
            assert len(got) == expected, (kind, argument, follower.session_id)
            if got:
                (frame,) = got
                current = next(s for s in sessions if s.id == follower.session_id)
                assert frame.session == current
                assert frame.snapshot.elapsed == current.timeline.elapsed(now)
    assert hub.watched == len({f.session_id for f in followers if f.following is not None})


def test_a_failing_follower_costs_others_nothing() -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    first, second = new_session(1, T0), new_session(2, T0)  # due at the same instants
    good = Follower(second.id)

    def broken(frame: Frame) -> None:
        if frame.snapshot.elapsed > 0:
            raise RuntimeError("follower bug")

    hub.follow(first, broken)
    hub.follow(second, good)
    for _ in range(3):
        clock.advance(1)
    assert [f.snapshot.elapsed for f in good.frames] == [0, 1, 2, 3]


def test_a_follower_that_raises_is_dropped_and_its_session_keeps_ticking() -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    session = new_session(1, T0)
    good_before, good_after = Follower(session.id), Follower(session.id)
    calls = 0

    def broken(frame: Frame) -> None:
        nonlocal calls
        calls += 1
        if frame.snapshot.elapsed > 0:
            raise RuntimeError("follower bug")

    hub.follow(session, good_before)
    broken_following = hub.follow(session, broken)
    hub.follow(session, good_after)
    clock.advance(1)  # broken raises here and is dropped
    clock.advance(milliseconds=500)
    paused = replace(session, timeline=session.timeline.pause(clock.now()), version=1)
    hub.publish(paused)
    clock.advance(1)
    hub.publish(replace(paused, timeline=paused.timeline.resume(clock.now()), version=2))
    clock.advance(1)
    clock.advance(1)
    assert calls == 2  # its first frame, then the one that raised
    for follower in (good_before, good_after):
        assert [f.session.version for f in follower.frames] == [0, 0, 1, 2, 2, 2]
        assert [f.snapshot.elapsed for f in follower.frames] == [0, 1, 1, 1, 2, 3]
    broken_following.close()  # closing a dropped follower is harmless
    assert hub.listeners == 2


def test_a_channel_whose_only_follower_raises_is_let_go() -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)

    def broken(frame: Frame) -> None:
        if frame.snapshot.elapsed > 0:
            raise RuntimeError("follower bug")

    following = hub.follow(new_session(1, T0), broken)
    clock.advance(1)
    assert hub.watched == 0
    assert not clock._timers  # nothing left to tick
    following.close()
    assert hub.watched == 0


def test_a_follower_that_refuses_its_first_frame_never_joins() -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)

    def refuses(frame: Frame) -> None:
        raise RuntimeError("refused")

    try:
        hub.follow(new_session(1, T0), refuses)
    except RuntimeError:
        pass
    else:
        raise AssertionError("follow should pass the sink's error on")
    assert hub.watched == 0 and hub.listeners == 0
    clock.advance(3)
    assert not clock._timers


def test_closing_the_hub_stops_every_tick() -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    follower = Follower("s1")
    hub.follow(new_session(1, T0), follower)
    clock.advance(1)
    hub.close()
    clock.advance(5)
    assert len(follower.frames) == 2
    assert hub.watched == 0


def test_one_clock_timer_serves_any_number_of_sessions() -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    for number in range(200):
        hub.follow(new_session(number, T0 + timedelta(milliseconds=number * 5)), Follower(""))
    assert len(clock._timers) == 1  # the beat waits for the earliest due tick only


async def test_a_burst_of_overdue_ticks_is_spread_over_turns_of_the_loop() -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    followers = [Follower(f"s{n}") for n in range(3 * BURST)]
    for number, follower in enumerate(followers):
        hub.follow(new_session(number, T0 - timedelta(milliseconds=number % 7)), follower)
    clock.advance(1)
    assert BURST <= sum(len(f.frames) == 2 for f in followers) < len(followers)
    for _ in range(10):
        await asyncio.sleep(0)
    assert all(len(f.frames) == 2 for f in followers)  # each ticked exactly once
    hub.close()


def test_ticks_due_within_a_grain_of_a_firing_wait_for_one_firing() -> None:
    """Sessions started a millisecond apart: the beat fires once per grain, not
    once per millisecond, and no tick is later than the grain or early."""
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    grain_ms = int(BEAT_GRAIN / timedelta(milliseconds=1))
    followers = [Follower(f"s{n}") for n in range(3 * grain_ms)]
    for number, follower in enumerate(followers):
        hub.follow(new_session(number, T0 + timedelta(milliseconds=number)), follower)
    clock.advance(1)  # session 0's first tick is due
    assert [len(f.frames) for f in followers[:2]] == [2, 1]
    ticked_at: dict[int, int] = {0: 0}
    for ms in range(1, 4 * grain_ms):
        clock.advance(0.001)
        for number, follower in enumerate(followers):
            if len(follower.frames) == 2 and number not in ticked_at:
                ticked_at[number] = ms
    assert sorted(ticked_at) == list(range(len(followers)))
    for number, ms in ticked_at.items():
        assert number <= ms < number + grain_ms, (number, ms)
    firings = sorted(set(ticked_at.values()))
    assert all(b - a >= grain_ms for a, b in itertools.pairwise(firings))
    hub.close()


async def test_a_quiet_change_that_comes_before_a_late_tick_still_ticks() -> None:
    """The beat's timer is late (a busy loop): a tick is due, and an activity that
    moves no counter arrives first. The frame it makes is that tick for everyone,
    including followers spared quiet changes; else they would skip a second."""
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    session = new_session(0, T0)
    blind, sighted = Follower(session.id), Follower(session.id)
    hub.follow(session, blind, shows_activity_time=False)
    hub.follow(session, sighted)
    clock._now += timedelta(seconds=1)  # the tick is due; its timer has not run yet
    active = replace(
        session,
        timeline=session.timeline.record_activity(clock.now()),
        last_activity_at=clock.now(),
        version=1,
    )
    hub.publish(active)
    assert [f.snapshot.elapsed for f in blind.frames] == [0, 1]
    assert [f.snapshot.elapsed for f in sighted.frames] == [0, 1]
    await asyncio.sleep(0)  # the late timer runs now: it was re-armed, so it sends nothing
    clock.advance(0)
    assert [f.snapshot.elapsed for f in blind.frames] == [0, 1]
    clock.advance(1)
    assert [f.snapshot.elapsed for f in blind.frames] == [0, 1, 2]
    hub.close()
