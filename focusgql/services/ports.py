"""What the services need from storage and the live hub, as Protocols: `store/`
and services/live.py implement these. The values they pass are in
services/records.py and services/frames.py; their errors in domain/errors.py.

Every store method raises DatabaseUnavailable (an outage) or DatabaseError
(any other failure of the database) rather than the driver's errors.
"""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from focusgql.domain.daily import EndedSession
from focusgql.domain.goals import GoalBaseline
from focusgql.domain.history import EndedRecord
from focusgql.domain.session import FocusSession
from focusgql.domain.user import User
from focusgql.services.frames import Sink
from focusgql.services.outbox import OutboxEvent
from focusgql.services.records import (
    Answer,
    KeyedRequest,
    PageCursor,
    SessionFilter,
    SessionTotals,
    SignalEntry,
)


class SessionRepository(Protocol):
    def new_id(self) -> str: ...

    async def signal_ids(self, session_id: str) -> list[str]:
        """The client signal ids the session has counted lately (domain/replay.py)."""
        ...

    async def add(self, session: FocusSession, events: Sequence[OutboxEvent] = ()) -> FocusSession:
        """Insert, with `events` in the session's outbox; RunningSessionExists
        if the user has a running one."""
        ...

    async def get(self, session_id: str) -> FocusSession | None: ...

    async def running_for(self, user_id: str) -> FocusSession | None: ...

    async def save(
        self,
        session: FocusSession,
        now: datetime,
        *,
        signal_ids: Sequence[str] = (),
        events: Sequence[OutboxEvent] = (),
    ) -> FocusSession | None:
        """Write if still at `session.version`, adding `events` to the session's
        outbox in the same write; the stored value, or None if it moved on.
        `signal_ids`: client signal ids counted by this write, remembered with it."""
        ...

    async def append_signals(
        self, at: datetime, entries: list[SignalEntry], within: float
    ) -> tuple[str, int]:
        """Store one commit window's signals durably (one write); the mark that
        sessions including them carry in `journal_marks`."""
        ...

    def unfolded(self, foreign_before: datetime) -> list[str]:
        """Sessions whose stored signals their documents do not include yet."""
        ...

    def sessions_with_signals(self) -> int:
        """How many sessions have stored signals their documents may not include."""
        ...

    def has_unfolded(self, session_id: str) -> bool:
        """Whether this session has stored signals its document does not include
        (as far as this process knows)."""
        ...

    async def fold(self, sessions: list[FocusSession], now: datetime) -> list[bool]:
        """Store each session (read with its signals) if still at its version."""
        ...

    async def drop_folded(self, within: float) -> int:
        """Let go of stored signals every session includes."""
        ...

    def discard_signals(self, session_id: str) -> None: ...

    async def refresh_counters(
        self, now: datetime, older_than: datetime, lapse_after: timedelta
    ) -> int:
        """Store the counters as of `now` of every ACTIVE session whose stored
        ones were counted before `older_than` (one statement, computed by the
        store from each session's stored clock; a session silent for longer than
        `lapse_after` is counted at its abandon deadline). How many changed."""
        ...

    async def touch(self, session_id: str, now: datetime, signal_after: datetime) -> None:
        """Record a client signal on a running session whose last signal is after
        `signal_after` (one that has lapsed is not revived)."""
        ...

    async def touch_many(
        self, session_ids: list[str], now: datetime, signal_after: datetime
    ) -> int:
        """`touch` for many sessions in one write; how many it changed."""
        ...

    async def delete(self, session_id: str, user_id: str) -> bool: ...

    async def page(
        self,
        user_id: str,
        where: SessionFilter,
        cursor: PageCursor | None,
        limit: int,
        *,
        backward: bool = False,
    ) -> list[FocusSession]:
        """Up to `limit` sessions nearest to `cursor` in newest-first order:
        after it (older), or with `backward` before it (newer; without a cursor,
        the oldest), nearest to it first."""
        ...

    async def count(self, user_id: str, where: SessionFilter) -> int: ...

    async def silent_since(self, deadline: datetime, limit: int) -> list[FocusSession]:
        """Running sessions whose last signal is at or before `deadline`."""
        ...

    async def totals(self, user_id: str, tag: str | None = None) -> SessionTotals:
        """Over the user's sessions, or only those carrying `tag`."""
        ...

    async def ended_between(
        self, user_id: str, start: datetime, end: datetime, tag: str | None = None
    ) -> list[EndedSession]:
        """The user's ended sessions with start <= ended_at < end (carrying `tag`, if given)."""
        ...

    async def history(self, user_id: str) -> Sequence[EndedRecord]:
        """A record of each of the user's ended sessions, exact as of the read
        (kept in the same writes as the sessions; built on first read)."""
        ...

    async def delete_for_user(self, user_id: str) -> list[str]:
        """Remove every session of the user and their unfolded signals; their ids."""
        ...

    def all_for_user(self, user_id: str) -> AsyncIterator[FocusSession]:
        """Every session of the user, oldest first, read lazily in batches."""
        ...

    async def tag_counts(self, user_id: str) -> list[tuple[str, int]]:
        """Each tag of the user's sessions and how many carry it, most used first."""
        ...


class UserRepository(Protocol):
    def new_id(self) -> str: ...

    async def add(self, user: User, password_hash: str) -> User:
        """Insert; EmailTaken if the email is already registered."""
        ...

    async def get(self, user_id: str) -> User | None: ...

    async def credentials(self, email: str) -> tuple[User, str] | None:
        """The user with this (normalized) email and their password hash."""
        ...

    async def update(self, user: User) -> User: ...

    async def password_hash(self, user_id: str) -> str | None: ...

    async def next_token_generation(
        self, user_id: str, password_hash: str | None = None
    ) -> User | None:
        """Revoke every token issued so far (setting a new password hash too,
        if given): the person with their new generation, or None if gone."""
        ...

    async def delete(self, user_id: str) -> bool:
        """Remove the user; whether they were there."""
        ...


class LiveUpdates(Protocol):
    """The live hub as the services use it (services/live.py's LiveHub)."""

    def watched_ids(self) -> list[str]: ...

    def known(self, session_id: str) -> FocusSession | None:
        """The newest state of a session someone here watches."""
        ...

    def publish(self, session: FocusSession) -> None:
        """Tell every watcher of this session its new state."""
        ...

    def hold(self, session_id: str, held: bool) -> None:
        """Hold (or release) a session's ticks while a change to it is being stored."""
        ...

    def set_goal(self, session_id: str, goal: GoalBaseline) -> None:
        """A new goal baseline for a watched session; its watchers get a frame."""
        ...

    def follow(
        self,
        session: FocusSession,
        sink: Sink,
        shows_activity_time: bool = True,
        goal: GoalBaseline | None = None,
    ) -> "FollowHandle":
        """`sink` gets a frame at once, then one on every tick and change, the
        last being the ended session's, until the following is closed; unless
        `shows_activity_time`, not for an activity that changes no counter.
        With `goal`, frames carry today's goal progress."""
        ...


class FollowHandle(Protocol):
    """One follower's place on the hub (services/live.py's Following)."""

    def close(self) -> None: ...


class IdempotencyStore(Protocol):
    async def claim(
        self,
        user_id: str,
        key: str,
        fingerprint: str,
        now: datetime,
        expired_before: datetime,
        abandoned_before: datetime,
    ) -> KeyedRequest | None:
        """Take the key for a new request (None), or the request it was taken
        for. A key taken before `expired_before` counts as free, and so does
        one still unanswered since before `abandoned_before` (its process died)."""
        ...

    async def complete(self, user_id: str, key: str, answer: Answer) -> None: ...

    async def release(self, user_id: str, key: str) -> None:
        """Free the key of a request that failed, so that a retry runs it."""
        ...

    async def delete_for_user(self, user_id: str) -> int: ...
