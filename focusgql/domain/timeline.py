"""The session clock: live counters as a pure function of a few facts and `now`.

Session time tau(t) is the wall time since `started_at` minus all paused time;
it stands still while PAUSED and after the end. Tick k happens when tau reaches
k, so `elapsed = floor(tau)`.

An activity marks as active the session-second a whose tick has not happened
yet: a = floor(tau) + 1, which is ceil(tau) except at a whole second, where
tick tau has just been counted (creation, at tau = 0, marks second 0). DESIGN.md
says ceil(tau); at a whole second that would turn a tick already reported idle
back into active (a resume after a pause at tau = 20.000 did exactly that), so
ticks at an instant come before the events at that instant and counters never
go back. Creating and resuming count as activity; a tab switch does not.
Tick k is idle when k - a_last > T, where a_last is the latest activity second
at or before k and T the idle threshold. Hence active + idle == elapsed, and
with a_last and `idle_before` (idle ticks before a_last) persisted:

    idle(k) = idle_before + max(0, k - a_last - T)        for k >= a_last - 1

A new activity at second a > a_last adds the idle ticks between the two,
max(0, a - 1 - a_last - T): tick a itself carries the new activity, so it is
active. (DESIGN.md writes max(0, a - a_last - T), which counts tick a as idle
and disagrees with its own per-second rule and with the brute-force oracle.)

Times are whole milliseconds, the precision MongoDB stores, so a timeline read
back from the database computes exactly what the process that wrote it did.

A `now` from a clock behind the facts (see `elapsed`) counts no less than they
prove, so active, idle and elapsed are never negative and never below what an
activity has already counted.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

MS_PER_SECOND = 1000


class Status(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    ABANDONED = "ABANDONED"

    @property
    def is_running(self) -> bool:
        # Identity, not `in`: a str enum's == is a string comparison, and this
        # runs several times for every signal and tick.
        return self is Status.ACTIVE or self is Status.PAUSED


def truncate_to_ms(t: datetime) -> datetime:
    """`t` without its sub-millisecond part, as MongoDB would store it."""
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


def millis(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * MS_PER_SECOND + delta.microseconds // 1000


class InvalidTransition(Exception):
    """The timeline cannot go from its status to the one asked for."""

    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"cannot go from {current.value} to {wanted.value}")
        self.current = current
        self.wanted = wanted


@dataclass(frozen=True, slots=True)
class Timeline:
    started_at: datetime
    idle_threshold: int
    status: Status = Status.ACTIVE
    paused_ms: int = 0
    """Wall time spent in finished pauses."""
    paused_at: datetime | None = None
    ended_at: datetime | None = None
    last_activity_second: int = 0
    idle_before: int = 0

    # -- reading ---------------------------------------------------------------

    def session_ms(self, now: datetime) -> int:
        """tau(now) in whole milliseconds; never negative, even on clock skew."""
        stop = self.paused_at or self.ended_at or now
        return max(0, millis(stop - self.started_at) - self.paused_ms)

    def elapsed(self, now: datetime) -> int:
        """floor(tau(now)), and never less than what the facts prove was counted:
        the last activity second a was marked at tau >= a - 1. A `now` earlier
        than that (another process's clock, or this one's before a restart, a
        wall-clock step behind) shows those seconds, not fewer: counters never
        go back or below zero (idle_before counts ticks before a, so idle <= k)."""
        return max(self.session_ms(now) // MS_PER_SECOND, self.last_activity_second - 1)

    def counters(self, now: datetime) -> tuple[int, int, bool]:
        """(elapsed, idle, is_idle) at `now`, reading the clock once: every tick
        of every live session needs all three."""
        k = self.elapsed(now)
        since = k - self.last_activity_second - self.idle_threshold
        if since > 0:
            return k, self.idle_before + since, self.status is Status.ACTIVE
        return k, self.idle_before, False

    def idle(self, now: datetime) -> int:
        return self.counters(now)[1]

    def active(self, now: datetime) -> int:
        elapsed, idle, _ = self.counters(now)
        return elapsed - idle

    def is_idle(self, now: datetime) -> bool:
        """Whether the session is counting and idle: its latest tick was idle and no
        activity has come since."""
        return self.counters(now)[2]

    def tick_due(self, k: int) -> datetime | None:
        """Wall time at which tau reaches k, or None while the clock stands still."""
        if self.status is not Status.ACTIVE:
            return None
        return self.started_at + timedelta(milliseconds=self.paused_ms + k * MS_PER_SECOND)

    def next_tick_due(self, now: datetime) -> datetime | None:
        return self.tick_due(self.elapsed(now) + 1)

    # -- changing --------------------------------------------------------------

    def record_activity(self, now: datetime) -> "Timeline":
        """Mark the current session-second active; a no-op unless ACTIVE."""
        if self.status is not Status.ACTIVE:
            return self
        tau_ms = self.session_ms(now)
        a = tau_ms // MS_PER_SECOND + 1 if tau_ms > 0 else 0
        if a <= self.last_activity_second:
            return self
        gap = max(0, a - 1 - self.last_activity_second - self.idle_threshold)
        # A constructor call, not replace: this runs for nearly every signal.
        return Timeline(
            self.started_at,
            self.idle_threshold,
            self.status,
            self.paused_ms,
            self.paused_at,
            self.ended_at,
            a,
            self.idle_before + gap,
        )

    def pause(self, now: datetime) -> "Timeline":
        if self.status is not Status.ACTIVE:
            raise InvalidTransition(self.status, Status.PAUSED)
        return replace(self, status=Status.PAUSED, paused_at=max(now, self.started_at))

    def resume(self, now: datetime) -> "Timeline":
        if self.status is not Status.PAUSED or self.paused_at is None:
            raise InvalidTransition(self.status, Status.ACTIVE)
        resumed = replace(
            self,
            status=Status.ACTIVE,
            paused_ms=self.paused_ms + max(0, millis(now - self.paused_at)),
            paused_at=None,
        )
        return resumed.record_activity(now)

    def end(self, now: datetime, status: Status) -> "Timeline":
        if status.is_running or not self.status.is_running:
            raise InvalidTransition(self.status, status)
        folded = self
        if self.paused_at is not None:
            folded = replace(
                self,
                paused_ms=self.paused_ms + max(0, millis(now - self.paused_at)),
                paused_at=None,
            )
        return replace(folded, status=status, ended_at=max(now, self.started_at))


def start(now: datetime, idle_threshold: int) -> Timeline:
    """A new ACTIVE timeline; creating a session counts as activity at second 0."""
    return Timeline(started_at=now, idle_threshold=idle_threshold)
