"""Plain values that cross the ports (services/ports.py): what a read of
sessions is narrowed by, and what the store hands back."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from focusgql.domain.streaks import Completed
from focusgql.domain.timeline import Status
from focusgql.services.frames import Frame


@dataclass(frozen=True, slots=True)
class SignalEntry:
    """One session's signals in one commit window, as the journal stores them."""

    session_id: str
    activity: bool
    tab_switches: int


@dataclass(frozen=True, slots=True)
class SessionFilter:
    status: Status | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    tag: str | None = None
    """Only sessions carrying this (normalized) tag."""


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Position after which a newest-first page continues."""

    started_at: datetime
    session_id: str


@dataclass(frozen=True, slots=True)
class SessionTotals:
    total_sessions: int
    ended_sessions: int
    completed_sessions: int
    total_focus_seconds: int
    score_sum: int
    last_focus_score: int | None
    completed: Sequence[Completed]


Answer = Frame | str
"""What a keyed mutation answered: a session as of then, or an id (a delete)."""


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """A request already made with an idempotency key."""

    fingerprint: str
    answer: Answer | None
    """None while the first request is still being handled."""
