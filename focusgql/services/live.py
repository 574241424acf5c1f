"""The live hub: one frame per watched session per tick, pushed to its followers.

However many subscriptions watch a session, a single channel computes its
frame once per tick (or at once when the session changes) and hands it to
every follower, a plain callback. All channels share one scheduler, the
beat, which waits on a single clock timer for the earliest due tick.

Why push, and why one timer: at thousands of sessions, anything a
subscription re-creates every tick and keeps until the next one (a timer, a
future it awaits, the suspended coroutines of a pull loop) survives young
garbage collections and lands in the oldest generation, whose growth
triggers full collections that stop the process for hundreds of
milliseconds. With push, a tick allocates only what the send itself uses,
and that dies within the same loop iteration.

Changes reach the hub from this process's services (`publish`) and, with
several processes on one database, from the database's change stream (see
`store/changes.py`), whichever comes first: versions keep the order.
"""

import heapq
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from focusgql.clock import Clock, Timer
from focusgql.domain.goals import GoalBaseline
from focusgql.domain.session import FocusSession, is_newer
from focusgql.services.frames import Frame, Sink

log = logging.getLogger(__name__)

Lateness = Callable[[float], None]

BURST = 250
BEAT_GRAIN = timedelta(milliseconds=4)
"""Least time between two firings of the beat. Sessions start at any
millisecond, so without it the beat fires up to a thousand times a second,
each a timer of its own; a tick is at most this much later instead."""
"""Most channels ticked in one go. After a stall (a full garbage collection,
say) many ticks are overdue at once; the rest wait for the next turn of the
event loop, so the sends started so far run first and their frames die young
instead of thousands piling up (and being promoted) before any is sent."""


def shows_only_activity_time(old: FocusSession, new: FocusSession, now: datetime) -> bool:
    """Whether `new` differs from `old`, as seen at `now`, only in when the last
    activity was: an activity that did not end an idle stretch. Counters,
    idleness and everything else read the same."""
    ot, nt = old.timeline, new.timeline
    # Field by field rather than copies compared whole: this runs for every signal.
    same = (
        new.tab_switches == old.tab_switches
        and new.target_minutes == old.target_minutes
        and new.content_id == old.content_id
        and new.tags == old.tags
        and new.focus_score == old.focus_score
        and new.user_id == old.user_id
        and nt.status is ot.status
        and nt.started_at == ot.started_at
        and nt.paused_ms == ot.paused_ms
        and nt.paused_at == ot.paused_at
        and nt.ended_at == ot.ended_at
        and nt.idle_threshold == ot.idle_threshold
    )
    # With all of that equal, two snapshots at `now` differ only where the
    # timeline's counters do (the rest of a snapshot is derived from them).
    return same and ot.counters(now) == nt.counters(now)


class _Beat:
    """Every channel's next tick, on one clock timer set for the earliest.

    Channels due at the same instant share a slot. A channel that re-arms
    elsewhere (or closes) is not searched for: its old slot skips it when it
    fires, because the channel no longer expects a tick then.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._slots: dict[datetime, list[_Channel]] = {}
        self._instants: list[datetime] = []  # a heap of the slots' keys
        self._timer: Timer | None = None
        self._timer_due: datetime | None = None
        self._firing = False

    def schedule(self, due: datetime, channel: "_Channel") -> None:
        slot = self._slots.get(due)
        if slot is not None:
            slot.append(channel)
            return
        self._slots[due] = [channel]
        heapq.heappush(self._instants, due)
        if not self._firing and (self._timer_due is None or due < self._timer_due):
            self._wait_for(due)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_due = None
        self._slots.clear()
        self._instants.clear()

    def _wait_for(self, due: datetime) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_due = None
        self._timer = self.clock.call_at(due, self._fire)
        self._timer_due = due

    def _fire(self) -> None:
        self._timer = self._timer_due = None
        now = self.clock.now()
        self._firing = True
        ticked = 0
        try:
            while self._instants and self._instants[0] <= now and ticked < BURST:
                due = heapq.heappop(self._instants)
                ticked += len(self._slots[due])
                for channel in self._slots.pop(due):
                    try:
                        channel.tick(due, now)
                    except Exception:
                        # One broken follower must not cost the others their ticks.
                        log.exception("tick of session %s failed", channel.session.id)
        finally:
            self._firing = False
            if self._instants:
                # Overdue ones past a burst go on at once (next loop turn).
                soonest = self._instants[0] if ticked >= BURST else now + BEAT_GRAIN
                self._wait_for(max(self._instants[0], soonest))


class _Channel:
    __slots__ = (
        "_beat",
        "_due",
        "_lateness",
        "_missed",
        "_open",
        "_vacate",
        "blind",
        "followers",
        "goal",
        "held",
        "session",
    )

    def __init__(
        self,
        session: FocusSession,
        beat: _Beat,
        lateness: Lateness | None,
        vacate: "Callable[[_Channel], None]",
    ) -> None:
        self.session = session
        self.followers: list[Sink] = []
        self.blind: set[int] = set()
        """Followers (by id: sinks need not be hashable) that show nothing of an
        activity that changes no counter."""
        self.held = False
        self.goal: GoalBaseline | None = None
        self._missed = False
        self._beat = beat
        self._due: datetime | None = None
        self._lateness = lateness
        self._vacate = vacate
        """Called when the last follower is gone (dropped for raising)."""
        self._open = True
        self._arm(beat.clock.now())

    def update(self, session: FocusSession) -> None:
        if is_newer(session, self.session):
            old, self.session = self.session, session
            now = self._beat.clock.now()
            # A tick due and not sent yet (its timer is late, or held) goes out
            # as this frame, to everyone: sparing anyone would skip a second.
            due = self._missed or (self._due is not None and self._due <= now)
            # Only what changed goes out: an activity that moved no counter
            # reaches only those who show its time (often nobody, and then no
            # frame is made).
            quiet = not due and bool(self.blind) and shows_only_activity_time(old, session, now)
            self._missed = False
            try:
                self._broadcast(now, skip=self.blind if quiet else None)
            finally:
                self._arm(now)

    def hold(self, held: bool) -> None:
        """While held (a signal for this session is being stored), ticks wait:
        the one due meanwhile goes out with the stored state, or at release."""
        self.held = held
        if not held and self._missed:
            self._missed = False
            now = self._beat.clock.now()
            try:
                self._broadcast(now)
            finally:
                self._arm(now)

    def follow(self, sink: Sink, shows_activity_time: bool) -> None:
        # Joins only once its first frame is taken: a sink that raises now is
        # the caller's error, not a follower to tick.
        sink(Frame.at(self.session, self._beat.clock.now(), self.goal))
        self.followers.append(sink)
        if not shows_activity_time:
            self.blind.add(id(sink))

    def leave(self, sink: Sink) -> None:
        if sink in self.followers:  # not if it was dropped for raising
            self.followers.remove(sink)
        self.blind.discard(id(sink))

    def close(self) -> None:
        self._open = False
        self._due = None

    def tick(self, due: datetime, now: datetime) -> None:
        if due != self._due:
            return  # re-armed for another instant since, or closed
        if self.held:
            self._missed = True
            self._due = None  # re-armed when the hold ends
            return
        try:
            self._broadcast(now)
            if self._lateness is not None:
                self._lateness((now - due).total_seconds())
        finally:
            # Whatever failed above, the session keeps ticking for the others.
            self._arm(now)

    def _arm(self, now: datetime) -> None:
        if not self._open:
            return
        due = self.session.timeline.next_tick_due(now)
        if due != self._due:
            self._due = due
            if due is not None:
                self._beat.schedule(due, self)

    def _broadcast(self, now: datetime, skip: set[int] | None = None) -> None:
        frame: Frame | None = None  # made for the first follower that takes it
        broken: list[Sink] | None = None  # made only on failure: this runs every tick
        for sink in tuple(self.followers):
            if skip and id(sink) in skip:
                continue
            if frame is None:
                frame = Frame.at(self.session, now, self.goal)
            try:
                sink(frame)
            except Exception:
                # Sinks only hand frames on; one that raises is a bug that would
                # raise again every second, so it is logged once and dropped
                # rather than cost the other followers their frames.
                log.exception("follower of session %s failed; dropped", self.session.id)
                broken = [*(broken or ()), sink]
        if broken:
            for sink in broken:
                self.leave(sink)
            if not self.followers:
                self._vacate(self)


class Following:
    """One follower's place on a channel; `close` it when done (idempotent)."""

    __slots__ = ("_channel", "_hub", "_sink")

    def __init__(self, hub: "LiveHub", channel: _Channel, sink: Sink) -> None:
        self._hub = hub
        self._channel: _Channel | None = channel
        self._sink = sink

    def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            self._hub._leave(channel, self._sink)


class LiveHub:
    def __init__(self, clock: Clock, lateness: Lateness | None = None) -> None:
        self.clock = clock
        self.lateness = lateness
        """Told how late (seconds) each tick was computed, for the metrics."""
        self._beat = _Beat(clock)
        self._channels: dict[str, _Channel] = {}

    @property
    def watched(self) -> int:
        return len(self._channels)

    @property
    def listeners(self) -> int:
        return sum(len(channel.followers) for channel in self._channels.values())

    def watched_ids(self) -> list[str]:
        return list(self._channels)

    def known(self, session_id: str) -> FocusSession | None:
        channel = self._channels.get(session_id)
        return channel.session if channel is not None else None

    def publish(self, session: FocusSession) -> None:
        channel = self._channels.get(session.id)
        if channel is not None:
            channel.update(session)

    def hold(self, session_id: str, held: bool) -> None:
        """Hold (or release) a session's ticks while a change to it is being stored."""
        channel = self._channels.get(session_id)
        if channel is not None:
            channel.hold(held)

    def set_goal(self, session_id: str, goal: GoalBaseline) -> None:
        channel = self._channels.get(session_id)
        if channel is not None:
            channel.goal = goal
            channel._broadcast(self.clock.now())

    def follow(
        self,
        session: FocusSession,
        sink: Sink,
        shows_activity_time: bool = True,
        goal: GoalBaseline | None = None,
    ) -> Following:
        """`sink` gets a frame now (before this returns), then one on every tick
        and change; the last is the ended session's. A follower that does not
        show `lastActivityAt` is spared the frames of activities that change
        no counter. Never call back into the hub from `sink`: hand the frame
        on and return."""
        channel = self._channels.get(session.id)
        if channel is None:
            channel = self._channels[session.id] = _Channel(
                session, self._beat, self.lateness, self._vacate
            )
        else:
            channel.update(session)
        if goal is not None:
            channel.goal = goal  # the newest reading of the person's day wins
        try:
            channel.follow(sink, shows_activity_time)
        finally:
            if not channel.followers:
                self._vacate(channel)
        return Following(self, channel, sink)

    def _leave(self, channel: _Channel, sink: Sink) -> None:
        channel.leave(sink)
        if not channel.followers:
            self._vacate(channel)

    def _vacate(self, channel: _Channel) -> None:
        if self._channels.get(channel.session.id) is channel:
            del self._channels[channel.session.id]
        channel.close()

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
        self._beat.close()
