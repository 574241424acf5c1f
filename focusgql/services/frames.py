"""What a read or a tick shows of a session: a frame, and where the live hub
(services/live.py) pushes them."""

from collections.abc import Callable
from datetime import datetime

from focusgql.domain.goals import GoalBaseline
from focusgql.domain.session import FocusSession, Snapshot, snapshot


class Frame:
    """A session and its counters at one instant: what a read or a tick shows.

    One frame is built per session per tick and shared by all its watchers;
    `encoded` caches its serialized forms so each is built once too.
    """

    __slots__ = ("encoded", "goal", "session", "snapshot")

    def __init__(
        self, session: FocusSession, snapshot: Snapshot, goal: GoalBaseline | None = None
    ) -> None:
        self.session = session
        self.snapshot = snapshot
        self.goal = goal
        """Set on live frames: what today's goal progress adds this session to."""
        self.encoded: dict[object, str] = {}

    @classmethod
    def at(cls, session: FocusSession, now: datetime, goal: GoalBaseline | None = None) -> "Frame":
        return cls(session, snapshot(session, now), goal)

    @property
    def goal_progress(self) -> int | None:
        """Today's focus seconds with this session counted as if it ended now."""
        goal = self.goal
        return None if goal is None else goal.progress(self.snapshot.active, self.snapshot.at)


Sink = Callable[[Frame], None]
"""Where the live hub pushes a watched session's frames."""
