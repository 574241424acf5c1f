"""Signals replayed from a client's queue: counted as if they had arrived at `at`.

A client that lost the network keeps its activity and tab switches, each with
the instant it happened (`at`) and an id of its own (`signalId`), and sends
them when it is back. A replayed signal counts exactly as it would have live,
at `at`, when all of these hold (checked in this order, the first broken one
named in the error):

- `IN_FUTURE`: `at` is not later than now plus the token leeway (clock skew;
  an instant within it counts as now);
- `TOO_OLD`: `at` is not older than the maximum signal age (600 s by default);
- `BEFORE_START`: `at` is not before the session started;
- `IN_PAUSE`: `at` is not inside the pause under way;
- `BEFORE_LAST_ACTIVITY`: `at` is not before the session's last counted
  activity (creating and resuming count), so replays arrive in order and no
  pause lies between `at` and now (a resume is an activity).

Under these rules session time at `at` is the wall time since the start minus
the finished pauses, all of which ended before `at`, so marking the second
under way then active is what a live activity at `at` did: counters end the
same as if the signal had come live (tests/domain: against the oracle). Idle
seconds already reported can turn active: a replay can lower `idleSeconds`.

A signal whose id was seen already is counted once: later copies change
nothing (and are not checked against the rules, so a retry of a batch whose
answer was lost succeeds).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from focusgql.domain.errors import BadUserInput, Conflict
from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, truncate_to_ms

MAX_SIGNALS_PER_CALL = 500
SIGNAL_ID_LENGTH_RANGE = (1, 128)
SIGNAL_IDS_KEPT = 1000
"""Ids remembered per session, newest last: more than one call's worth, and
more than a client queues within the maximum signal age at one a second."""


class Rule(StrEnum):
    IN_FUTURE = "IN_FUTURE"
    TOO_OLD = "TOO_OLD"
    BEFORE_START = "BEFORE_START"
    IN_PAUSE = "IN_PAUSE"
    BEFORE_LAST_ACTIVITY = "BEFORE_LAST_ACTIVITY"


class SignalKind(StrEnum):
    ACTIVITY = "ACTIVITY"
    TAB_SWITCH = "TAB_SWITCH"


@dataclass(frozen=True, slots=True)
class Replayed:
    kind: SignalKind
    at: datetime | None
    """When it happened, by the client's clock; None: now."""
    signal_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayLimits:
    leeway: timedelta
    max_age: timedelta


class SignalRefused(BadUserInput):
    """A replayed signal breaks a rule; `rule` names it."""

    def __init__(self, rule: Rule, message: str, index: int | None = None) -> None:
        details: dict[str, object] = {"rule": rule.value}
        if index is not None:
            details["index"] = index
        super().__init__(message, field="at", **details)
        self.rule = rule


def check_signal_id(signal_id: str) -> str:
    low, high = SIGNAL_ID_LENGTH_RANGE
    if not low <= len(signal_id) <= high or not signal_id.isprintable():
        raise BadUserInput(
            f"signalId must be {low} to {high} printable characters", field="signalId"
        )
    return signal_id


def effective_at(
    session: FocusSession, at: datetime, now: datetime, limits: ReplayLimits
) -> datetime:
    """The instant a signal sent with `at` counts at; SignalRefused if it may not."""
    at = truncate_to_ms(at)
    if at > now + limits.leeway:
        raise SignalRefused(Rule.IN_FUTURE, "at is later than now")
    if now - at > limits.max_age:
        seconds = int(limits.max_age.total_seconds())
        raise SignalRefused(Rule.TOO_OLD, f"at is more than {seconds} seconds ago")
    timeline = session.timeline
    if at < timeline.started_at:
        raise SignalRefused(Rule.BEFORE_START, "at is before the session started")
    if timeline.paused_at is not None and at >= timeline.paused_at:
        raise SignalRefused(Rule.IN_PAUSE, "at is inside the session's pause")
    if at < session.last_activity_at:
        raise SignalRefused(
            Rule.BEFORE_LAST_ACTIVITY, "at is before the session's last counted activity"
        )
    return min(at, now)


def signal_at(session: FocusSession, kind: SignalKind, at: datetime) -> FocusSession:
    """`session` with one signal counted at `at` (an instant `effective_at` allowed)."""
    timeline = session.timeline
    if timeline.paused_at is not None:
        # Paused since `at`: count it on the clock as it ran then (the pause
        # began after `at` and no earlier pause did, the rules say).
        running = replace(timeline, status=Status.ACTIVE, paused_at=None)
        counted = replace(session, timeline=running).with_signals(
            at, kind is SignalKind.ACTIVITY, int(kind is SignalKind.TAB_SWITCH)
        )
        return replace(
            counted,
            timeline=replace(
                counted.timeline, status=timeline.status, paused_at=timeline.paused_at
            ),
        )
    return session.with_signals(at, kind is SignalKind.ACTIVITY, int(kind is SignalKind.TAB_SWITCH))


def replay(
    session: FocusSession,
    signals: Sequence[Replayed],
    seen: Iterable[str],
    now: datetime,
    limits: ReplayLimits,
    *,
    batch: bool = False,
) -> tuple[FocusSession, list[str]]:
    """`session` with `signals` counted in order, and the ids newly counted.
    All or nothing: the first signal refused raises (with its index in a
    batch) and none counts. Signals without `at` count at `now`."""
    if not session.status.is_running:
        raise Conflict(f"session is {session.status.value}", status=session.status.value)
    if len(signals) > MAX_SIGNALS_PER_CALL:
        raise BadUserInput(f"at most {MAX_SIGNALS_PER_CALL} signals per call", field="signals")
    known = set(seen)
    counted: list[str] = []
    for index, signal in enumerate(signals):
        if signal.signal_id is not None:
            check_signal_id(signal.signal_id)
            if signal.signal_id in known:
                continue
        if signal.at is None:
            # As a live signal (while paused it moves only the silence clock).
            activity = signal.kind is SignalKind.ACTIVITY
            session = session.with_signals(now, activity, int(not activity))
        else:
            try:
                at = effective_at(session, signal.at, now, limits)
            except SignalRefused as refused:
                if not batch:
                    raise
                raise SignalRefused(refused.rule, str(refused), index) from refused
            session = signal_at(session, signal.kind, at)
        if signal.signal_id is not None:
            known.add(signal.signal_id)
            counted.append(signal.signal_id)
    return session, counted
