"""A person's sessions as rows for export: final counters, score, tags, and
every instant both in UTC and in the person's timezone.

One row per session, oldest first. A running session is exported with its
counters as of the export (its `ended_at` empty); only ended sessions become
calendar events, each a busy block from start to end (pauses included: the
time was spoken for).
"""

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from focusgql.domain.session import FocusSession, snapshot

COLUMNS = (
    "id",
    "status",
    "target_minutes",
    "content_id",
    "tags",
    "started_at_utc",
    "started_at_local",
    "ended_at_utc",
    "ended_at_local",
    "elapsed_seconds",
    "active_seconds",
    "idle_seconds",
    "tab_switches",
    "focus_score",
    "timezone",
)

Row = dict[str, object]


def _utc(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(timespec="seconds")


def _local(t: datetime | None, tz: ZoneInfo) -> str | None:
    return None if t is None else t.astimezone(tz).isoformat(timespec="seconds")


def export_row(session: FocusSession, now: datetime, tz: ZoneInfo) -> Row:
    counted = snapshot(session, now)
    t = session.timeline
    return {
        "id": session.id,
        "status": t.status.value,
        "target_minutes": session.target_minutes,
        "content_id": session.content_id,
        "tags": list(session.tags),
        "started_at_utc": _utc(t.started_at),
        "started_at_local": _local(t.started_at, tz),
        "ended_at_utc": _utc(t.ended_at),
        "ended_at_local": _local(t.ended_at, tz),
        "elapsed_seconds": counted.elapsed,
        "active_seconds": counted.active,
        "idle_seconds": counted.idle,
        "tab_switches": session.tab_switches,
        "focus_score": session.focus_score,
        "timezone": tz.key,
    }


def csv_cells(row: Row) -> Iterator[object]:
    """The row's cells in COLUMNS order: tags joined by `;`, nulls empty."""
    for column in COLUMNS:
        value = row[column]
        if isinstance(value, list):
            yield ";".join(str(v) for v in value)
        else:
            yield "" if value is None else value
