"""A focus session: its clock plus what the client reported, and its rules.

A person has at most one running session. A running session with no client
signal for `abandon_after` seconds ends as ABANDONED at exactly
`last_signal_at + abandon_after`, whoever notices, so every process agrees.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from focusgql.domain.errors import BadUserInput
from focusgql.domain.scoring import ScoreBreakdown, focus_score, score
from focusgql.domain.timeline import Status, Timeline

TARGET_MINUTES_RANGE = (1, 1440)
IDLE_THRESHOLD_RANGE = (5, 3600)
DEFAULT_IDLE_THRESHOLD = 15
"""Seconds without activity before a second counts as idle, unless the server or
the session says otherwise."""
CONTENT_ID_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class FocusSession:
    id: str
    user_id: str
    target_minutes: int
    content_id: str | None
    timeline: Timeline
    last_activity_at: datetime
    last_signal_at: datetime
    tab_switches: int = 0
    focus_score: int | None = None
    version: int = 0
    """The storage revision this value was read at; opaque to the domain."""
    journal_marks: tuple[tuple[str, int], ...] = ()
    """Which stored signals this value includes beyond that revision; opaque to
    the domain (storage bookkeeping, like `version`)."""
    tags: tuple[str, ...] = ()
    """Normalized labels (domain/tags.py), at most ten."""

    @property
    def status(self) -> Status:
        return self.timeline.status

    def abandon_at(self, abandon_after: int) -> datetime:
        return self.last_signal_at + timedelta(seconds=abandon_after)

    def with_signals(self, at: datetime, activity: bool, tab_switches: int) -> "FocusSession":
        """This session after a client's signals at `at`: activity marks the
        current second active and tab switches count, both only while ACTIVE;
        any signal moves `last_signal_at`. Signals older than what is already
        counted change no counter (activity is monotone), so applying one late,
        after a change made meanwhile, is safe."""
        status = self.status
        if not status.is_running:
            return self
        timeline, last_activity_at, tabs = self.timeline, self.last_activity_at, self.tab_switches
        if status is Status.ACTIVE:
            if activity:
                timeline = timeline.record_activity(at)
                if timeline is not self.timeline:
                    last_activity_at = max(at, last_activity_at)
            tabs += tab_switches
        last_signal_at = max(at, self.last_signal_at)
        if (
            timeline is self.timeline
            and tabs == self.tab_switches
            and last_signal_at == self.last_signal_at
        ):
            return self
        # One constructor call, not dataclasses.replace: this runs for every
        # signal, and replace looks the fields up each time.
        return FocusSession(
            self.id,
            self.user_id,
            self.target_minutes,
            self.content_id,
            timeline,
            last_activity_at,
            last_signal_at,
            tabs,
            self.focus_score,
            self.version,
            self.journal_marks,
            self.tags,
        )

    def ended(self, now: datetime, status: Status) -> "FocusSession":
        """This session ended at `now`, scored on its final counters."""
        timeline = self.timeline.end(now, status)
        final = snapshot(replace(self, timeline=timeline), now)
        return replace(self, timeline=timeline, focus_score=final.score)


class Snapshot(NamedTuple):
    """Everything a client sees of a session's counters at one instant.

    A named tuple rather than a frozen dataclass: every tick of every live
    session makes one, and a tuple is built in C, not by a setattr per field."""

    at: datetime
    elapsed: int
    active: int
    idle: int
    is_idle: bool
    remaining: int
    tab_switches: int
    target_minutes: int
    score: int
    """The focus score these counters give (the final one once ended)."""

    @property
    def breakdown(self) -> ScoreBreakdown:
        """The score's parts, worked out only when a client asks for them."""
        return score(
            elapsed=self.elapsed,
            active=self.active,
            idle=self.idle,
            tab_switches=self.tab_switches,
            target_minutes=self.target_minutes,
        )


def snapshot(session: FocusSession, now: datetime) -> Snapshot:
    elapsed, idle, is_idle = session.timeline.counters(now)
    active = elapsed - idle
    target_minutes = session.target_minutes
    tab_switches = session.tab_switches
    return Snapshot(
        now,
        elapsed,
        active,
        idle,
        is_idle,
        max(0, target_minutes * 60 - elapsed),
        tab_switches,
        target_minutes,
        focus_score(
            elapsed=elapsed,
            active=active,
            idle=idle,
            tab_switches=tab_switches,
            target_minutes=target_minutes,
        ),
    )


def _check_range(name: str, value: int, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise BadUserInput(f"{name} must be between {low} and {high}", field=name)
    return value


def check_target_minutes(value: int) -> int:
    return _check_range("targetMinutes", value, TARGET_MINUTES_RANGE)


def check_idle_threshold(value: int) -> int:
    return _check_range("idleThresholdSeconds", value, IDLE_THRESHOLD_RANGE)


def check_content_id(value: str | None) -> str | None:
    if value is not None and (len(value) > CONTENT_ID_MAX_LENGTH or not value.strip()):
        raise BadUserInput(
            f"contentId must be 1 to {CONTENT_ID_MAX_LENGTH} non-blank characters",
            field="contentId",
        )
    return value


def is_newer(candidate: FocusSession, current: FocusSession) -> bool:
    """Whether `candidate` is a later state of the session than `current`, so
    that states arriving in any order (this process's writes, another's
    through the change stream) settle on the newest: an end always wins over
    a running state, then the higher storage revision, and at the same
    revision the one that includes more stored signals."""
    if current.status.is_running and not candidate.status.is_running:
        return True  # an end (or a delete) always wins
    if candidate.status.is_running != current.status.is_running:
        return False
    if candidate.version != current.version:
        return candidate.version > current.version
    # The same stored revision: newer if it includes more journalled signals.
    return _signals_in(candidate) > _signals_in(current)


def _signals_in(session: FocusSession) -> int:
    return sum(seq + 1 for _, seq in session.journal_marks)
