"""Oracles: a brute-force session clock and an integer-only focus score.

The session clock: the per-second rule of DESIGN.md section 1, walked.

Nothing here comes from `focusgql.domain.timeline`. The oracle replays the event
list, computes session time tau (in whole milliseconds) for every event, turns
each activity into the session-second a = floor(tau) + 1 it marks (the first
tick not yet counted; creation marks second 0), and then walks the
ticks k = 1..floor(tau(now)) one at a time:

    tick k is idle  iff  k - a_last(k) > T,   a_last(k) = max activity second <= k.

Activity seconds: creating the session (second 0), every activity while ACTIVE,
and every resume (at the resume's tau). Tab switches are not activity. While
PAUSED and after the end the counters are frozen (DESIGN: "counters freeze",
"counters are final"), so an activity reported then marks nothing.

Only the events at or before the query time are known to the oracle, exactly as
a server would only know what has happened so far.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


class Kind(Enum):
    ACTIVITY = "activity"
    TAB_SWITCH = "tab_switch"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"


RUNNING = ("ACTIVE", "PAUSED")
ENDINGS = ("COMPLETED", "ABANDONED")
ONE_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    kind: Kind
    end_status: str | None = None
    """COMPLETED or ABANDONED, for an END event only."""


@dataclass(frozen=True, slots=True)
class Counters:
    tau_ms: int
    elapsed: int
    active: int
    idle: int
    tab_switches: int
    status: str
    is_idle: bool
    """ACTIVE, the latest tick was idle, and no activity has come since it."""


@dataclass(frozen=True, slots=True)
class _Replay:
    tau_ms: int
    status: str
    activity_seconds: tuple[int, ...]
    tab_switches: int


def activity_second(tau_ms: int) -> int:
    """The tick an activity at tau marks: the next one, since tick floor(tau) has
    already happened (ticks at an instant precede events at that instant)."""
    return tau_ms // 1000 + 1 if tau_ms > 0 else 0


def wall_ms(start: datetime, t: datetime) -> int:
    """Whole milliseconds from `start` to `t` (both whole-millisecond instants)."""
    delta = t - start
    assert delta % ONE_MS == timedelta(0), "times must have whole-millisecond precision"
    return delta // ONE_MS


class Oracle:
    """Brute-force counters of one session started at `start` with threshold `threshold`."""

    def __init__(self, start: datetime, threshold: int) -> None:
        assert start.tzinfo is not None
        self.start = start
        self.threshold = threshold
        # activity seconds -> idle flag of tick k at index k - 1, grown on demand
        self._walks: dict[tuple[int, ...], list[bool]] = {}

    def replay(self, events: Sequence[Event], now: datetime) -> _Replay:
        status = "ACTIVE"
        frozen_tau = 0  # tau when the clock last stopped (or 0 before it ever ran)
        running_since = 0  # wall ms when the clock last started running
        activity = [0]
        tabs = 0

        def tau_at(w: int) -> int:
            if status == "ACTIVE":
                # clock skew: wall time before the start never counts
                return frozen_tau + max(0, w - running_since)
            return frozen_tau

        for event in events:
            w = wall_ms(self.start, event.at)
            if event.at > now:
                raise ValueError("the oracle is only told what has happened by `now`")
            if event.kind is Kind.ACTIVITY:
                if status == "ACTIVE":
                    activity.append(activity_second(tau_at(w)))
            elif event.kind is Kind.TAB_SWITCH:
                if status == "ACTIVE":  # not while PAUSED: a paused person may leave
                    tabs += 1
            elif event.kind is Kind.PAUSE:
                if status != "ACTIVE":
                    raise ValueError(f"pause while {status}")
                frozen_tau = tau_at(w)
                status = "PAUSED"
            elif event.kind is Kind.RESUME:
                if status != "PAUSED":
                    raise ValueError(f"resume while {status}")
                status = "ACTIVE"
                running_since = w
                activity.append(activity_second(frozen_tau))
            else:
                if status not in RUNNING or event.end_status not in ENDINGS:
                    raise ValueError(f"end as {event.end_status} while {status}")
                frozen_tau = tau_at(w)
                status = event.end_status
        tau = tau_at(wall_ms(self.start, now))
        return _Replay(tau, status, tuple(sorted(set(activity))), tabs)

    def _idle_flags(self, activity_seconds: tuple[int, ...], ticks: int) -> list[bool]:
        flags = self._walks.setdefault(activity_seconds, [])
        marked = set(activity_seconds)
        k = len(flags)
        a_last = max((a for a in activity_seconds if a <= k), default=0)
        while k < ticks:
            k += 1
            if k in marked:
                a_last = k
            flags.append(k - a_last > self.threshold)
        return flags

    def counters(self, events: Sequence[Event], now: datetime) -> Counters:
        """The counters at wall time `now`, knowing `events` (all at or before `now`)."""
        replay = self.replay(events, now)
        ticks = replay.tau_ms // 1000
        flags = self._idle_flags(replay.activity_seconds, ticks)[:ticks]
        idle = sum(flags)
        active = sum(not f for f in flags)
        is_idle = (
            replay.status == "ACTIVE"
            and ticks >= 1
            and flags[-1]
            and max(replay.activity_seconds) <= ticks
        )
        return Counters(
            tau_ms=replay.tau_ms,
            elapsed=ticks,
            active=active,
            idle=idle,
            tab_switches=replay.tab_switches,
            status=replay.status,
            is_idle=is_idle,
        )


def expected_score(
    *, elapsed: int, active: int, idle: int, tab_switches: int, target_minutes: int
) -> int:
    """The DESIGN formula in integers only: raw = N / D with D > 0, then half up."""
    target = target_minutes * 60
    completion_num, completion_den = min(elapsed, target), target
    ratio_num, ratio_den = active, max(elapsed, 1)
    d = completion_den * ratio_den * 30
    n = (
        100 * completion_num * ratio_num * 30
        - tab_switches * 2 * d
        - idle * completion_den * ratio_den
    )
    half_up = (2 * n + d) // (2 * d)  # floor(n/d + 1/2)
    return min(100, max(0, half_up))
