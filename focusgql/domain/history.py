"""A person's history: one small record per ended session, and the stats over it.

A record keeps what the figures need of an ended session (when it started
and ended, its final counters, score, target and tags), so the stats, the
daily totals and the streaks are computed from the records exactly as they
would be from the sessions themselves (domain/daily.py, streaks.py,
goals.py): the same functions run over the same numbers. Records hold
instants, not local days, so a change of timezone needs no rebuild.

Over the records, for the sessions carrying `tag` (or all of them):

    ended_sessions      = how many records
    completed_sessions  = how many are COMPLETED
    total_focus_seconds = sum of active seconds
    score_sum           = sum of focus scores
    last_focus_score    = the score of the record ended last (ties: highest id)
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from focusgql.domain.streaks import Completed


class EndedRecord(NamedTuple):
    """One ended session, as its history keeps it (a tuple: a year holds thousands)."""

    session_id: str
    started_at: datetime
    ended_at: datetime
    completed: bool
    elapsed_seconds: int
    active_seconds: int
    focus_score: int
    target_minutes: int
    tags: tuple[str, ...]
    """A record is read where an ended session is (domain/daily.py's `Ended`,
    streaks.py's `Completed`) without being copied: a year holds thousands."""


def carrying(records: Iterable[EndedRecord], tag: str | None) -> list[EndedRecord]:
    """The records of sessions carrying `tag` (normalized), or all of them."""
    if tag is None:
        return list(records)
    return [r for r in records if tag in r.tags]


def ended_in(records: Iterable[EndedRecord], start: datetime, end: datetime) -> list[EndedRecord]:
    """The records with start <= ended_at < end."""
    return [r for r in records if start <= r.ended_at < end]


@dataclass(frozen=True, slots=True)
class Summary:
    ended_sessions: int
    completed_sessions: int
    total_focus_seconds: int
    score_sum: int
    last_focus_score: int | None
    completed: list[Completed]


def summarize(records: Sequence[EndedRecord]) -> Summary:
    completed: list[Completed] = [r for r in records if r.completed]
    last = max(records, key=lambda r: (r.ended_at, r.session_id), default=None)
    return Summary(
        ended_sessions=len(records),
        completed_sessions=len(completed),
        total_focus_seconds=sum(r.active_seconds for r in records),
        score_sum=sum(r.focus_score for r in records),
        last_focus_score=None if last is None else last.focus_score,
        completed=completed,
    )
