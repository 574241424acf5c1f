"""Where a page of sessions ends, found from the person's history.

A query for the 100 sessions after a cursor, sorted and limited, is served by
the database walking its index in order, but the embedded one (SecantusDB)
reads every session the filter matches before it sorts, 5,000 for a year. So
a page's query also bounds `started_at` by where its last session starts,
which the history (store/history.py) tells: then the database reads about a
page. The bound only narrows what is read, never what is answered: a bounded
query that finds a whole page has found the page (whatever lies beyond the
bound sorts after it); one that finds less is asked again without the bound.
"""

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from focusgql.domain.history import EndedRecord
from focusgql.domain.timeline import Status
from focusgql.services.records import PageCursor, SessionFilter

SLACK = timedelta(milliseconds=1)
"""How much wider than the keys a bounded query's range is made: SecantusDB
0.7.0b3 was seen leaving out a session starting exactly on a `$gte` bound of
its compound index, and a wider range only reads a little more."""

Key = tuple[datetime, str]
"""(started_at, id): the order of pages, newest first."""


def matches(
    where: SessionFilter, status: Status, tags: Iterable[str], started_at: datetime
) -> bool:
    """Whether a session with these is one `where` asks for (as the query would say)."""
    if where.status is not None and where.status is not status:
        return False
    if where.tag is not None and where.tag not in tags:
        return False
    if where.started_after is not None and started_at < where.started_after:
        return False
    return where.started_before is None or started_at < where.started_before


def record_matches(record: EndedRecord, where: SessionFilter) -> bool:
    status = Status.COMPLETED if record.completed else Status.ABANDONED
    return matches(where, status, record.tags, record.started_at)


@dataclass(frozen=True, slots=True)
class Bound:
    started_at: datetime | None
    """Where the page's farthest session starts; None when fewer than a page remain."""
    ties: int
    """Sessions starting at the cursor's instant (within SLACK) that are not
    beyond it, the cursor's own among them: a range on `started_at` alone
    reads them too."""


def page_bound(keys: Iterable[Key], cursor: PageCursor | None, limit: int, backward: bool) -> Bound:
    """Where the `limit`-th key beyond `cursor` in the page's direction (older,
    or newer when `backward`) starts."""
    ties = 0
    if cursor is not None:
        at = (cursor.started_at, cursor.session_id)
        beyond = []
        for key in keys:
            if key > at if backward else key < at:
                beyond.append(key)
            elif abs(key[0] - cursor.started_at) <= SLACK:
                ties += 1
        keys = beyond
    nearest = heapq.nsmallest(limit, keys) if backward else heapq.nlargest(limit, keys)
    return Bound(nearest[-1][0] if len(nearest) == limit else None, ties)


def is_beyond(key: Key, cursor: PageCursor | None, backward: bool) -> bool:
    if cursor is None:
        return True
    at = (cursor.started_at, cursor.session_id)
    return key > at if backward else key < at
