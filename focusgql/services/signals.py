"""Activity and tab switches: applied in memory, stored by group commit.

A person with the dashboard open reports activity about once a second, so
signals outnumber every other write by far. Each one is applied to the newest
known state of its session (this process keeps one for every running session
it has seen, and the change feed keeps it fresh), and every signal that
arrives within one commit window is stored together: one document appended to
the signal journal (store/journal.py), whatever the number of people. A
caller is answered only once that write is acknowledged, so an answered
signal survives a crash of this process. Session documents take their
signals at the checkpoint interval (`fold`): one bulk of version-guarded
updates in small chunks; until then every read applies them.

Signals take effect at the instant their batch is sealed (its `now`), which is
also the instant their answer shows. Signals for one session in one window
coalesce into a single update: a flood costs no more than one signal, and
nothing queues per signal. While a batch is in flight its sessions' ticks are
held (see LiveHub.hold), so no follower sees a tick computed without a signal
that was already sealed and then sees the counters go back.

When the database falls behind, new signals are refused at once with
UNAVAILABLE and a `retryAfter` instead of growing a queue.

Between processes, a signal counts at its instant on the state its process
knew; one that races a pause or an end made through another process in the
same few milliseconds counts as if it came after it (a no-op).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from time import monotonic

from focusgql.clock import Clock
from focusgql.domain.errors import Conflict, DatabaseError, FocusError, NotFound, Unavailable
from focusgql.domain.session import FocusSession
from focusgql.faults import Retries
from focusgql.services.frames import Frame
from focusgql.services.ports import SessionRepository
from focusgql.services.records import SignalEntry

log = logging.getLogger(__name__)

HOLD_SECONDS = 0.25
"""Longest a tick waits for a signal write: a slow database must not stop ticks
(one that lands later than this may move a second from idle back to active)."""

ATTEMPTS = 5
"""Times a session's signals are re-read after its deadline passed, before CONFLICT."""

FOLD_CHUNK = 25
"""Sessions per fold write: the embedded database takes about a millisecond per
session document, and a signal commit waits behind a long write."""
FOLD_PAUSE_SECONDS = 0.02


class Signal(Enum):
    ACTIVITY = "activity"
    TAB_SWITCH = "tab_switch"


@dataclass(frozen=True, slots=True)
class SignalPolicy:
    window_seconds: float = 0.045
    """Commit window: signals arriving within it share one write (and wait for it)."""
    fold_writes_per_second: float = 2.0
    """Pace of the fold (writes of up to FOLD_CHUNK sessions each). With the commit
    window it bounds the database's write commands per second whatever the
    number of people; at more people a fold round takes longer instead."""
    max_pending: int = 50_000
    """Sessions waiting for a commit beyond which new signals are refused."""
    stall_seconds: float = 2.0
    """A commit in flight this long means the database is behind: refuse new signals."""
    abandon_after: int = 1800
    fold_foreign_after: float = 120.0
    """Signals another process stored are folded here once this old: their
    writer folds them sooner, unless it has gone. Well above a loaded writer's
    fold cycle (interval + the fold itself), or every process repeats the work;
    until then reads apply them anyway."""


@dataclass(slots=True)
class _Pending:
    user_id: str
    base: FocusSession
    """The session as known when its first signal came (or when re-read)."""
    activity: bool = False
    tab_switches: int = 0
    attempts: int = 0
    waiters: list[asyncio.Future[Frame]] = field(default_factory=list)


Load = Callable[[str, str], Awaitable[FocusSession]]
"""Read a session for its owner (NotFound otherwise), with a lapse settled."""
Known = Callable[[str], FocusSession | None]
Observe = Callable[[FocusSession], None]
Hold = Callable[[str, bool], None]


class SignalCommitter:
    def __init__(
        self,
        repo: SessionRepository,
        clock: Clock,
        policy: SignalPolicy,
        known: Known,
        load: Load,
        observe: Observe,
        hold: Hold,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.policy = policy
        self._known = known
        self._load = load
        self._observe = observe
        self._hold = hold
        self._pending: dict[str, _Pending] = {}
        self._in_flight: dict[str, _Pending] = {}
        self._flight: asyncio.Task[None] | None = None
        self._flight_started = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._last_seal = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.commits = 0
        """Batches written (each one bulk write command)."""
        self._failures = Retries("signal commit", log)
        self.coalesced = 0
        """Signals that joined a session already waiting in the batch."""

    @property
    def pending(self) -> int:
        return len(self._pending) + len(self._in_flight)

    async def signal(self, user_id: str, session_id: str, kind: Signal) -> Frame:
        """Record one signal; the session as of the instant it took effect."""
        future = self.submit(user_id, session_id, kind)
        if future is None:
            # Unknown here (or ended): read it; the read settles a lapse and
            # answers NOT_FOUND or CONFLICT exactly as the slow path would.
            known = await self._load(user_id, session_id)
            if not known.status.is_running:
                raise Conflict(f"session is {known.status.value}", status=known.status.value)
            self._observe(known)
            future = self._enqueue(user_id, session_id, known, kind)
        return await future

    def submit(self, user_id: str, session_id: str, kind: Signal) -> asyncio.Future[Frame] | None:
        """`signal` without a coroutine, for a session known here and running:
        the future of its answer, or None when the session must be read first
        (then use `signal`). Raises what `signal` would raise at once."""
        self._refuse_if_behind()
        known = self._known(session_id)
        if known is None or not known.status.is_running:
            return None
        if known.user_id != user_id:
            raise NotFound("session not found")
        return self._enqueue(user_id, session_id, known, kind)

    def _enqueue(
        self, user_id: str, session_id: str, known: FocusSession, kind: Signal
    ) -> asyncio.Future[Frame]:
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        entry = self._pending.get(session_id)
        if entry is None:
            entry = self._pending[session_id] = _Pending(user_id, known)
        else:
            self.coalesced += 1
        if kind is Signal.ACTIVITY:
            entry.activity = True
        else:
            entry.tab_switches += 1
        entry.waiters.append(future)
        self._idle.clear()
        self._schedule()
        return future

    async def settled(self) -> None:
        """Wait until every signal received so far is stored (or refused)."""
        await self._idle.wait()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for entry in self._pending.values():
            self._fail(entry, Unavailable("the server is shutting down; try again", retryAfter=1))
        self._pending.clear()
        if self._flight is not None:
            await asyncio.gather(self._flight, return_exceptions=True)

    # -- batching ----------------------------------------------------------------

    def _refuse_if_behind(self) -> None:
        stalled = self._flight is not None and (
            monotonic() - self._flight_started > self.policy.stall_seconds
        )
        if stalled or self.pending >= self.policy.max_pending:
            raise Unavailable("the server is behind; try again shortly", retryAfter=1)

    def _schedule(self) -> None:
        if self._flight is not None or self._timer is not None or not self._pending:
            return
        delay = self._last_seal + self.policy.window_seconds - monotonic()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, delay), self._seal)

    def _seal(self) -> None:
        self._timer = None
        if self._flight is not None or not self._pending:
            return
        self._last_seal = monotonic()
        self._flight_started = self._last_seal
        batch, self._pending = self._pending, {}
        self._in_flight = batch
        self._flight = asyncio.create_task(self._commit(batch))

    async def _commit(self, batch: dict[str, _Pending]) -> None:
        try:
            await self._write(batch)
        except Exception:  # pragma: no cover - _write answers every waiter itself
            log.exception("signal commit failed")
        finally:
            self._flight = None
            self._in_flight = {}
            if self._pending:
                self._schedule()
            else:
                self._idle.set()

    async def _write(self, batch: dict[str, _Pending]) -> None:
        now = self.clock.now()
        entries: list[SignalEntry] = []
        applied: dict[str, tuple[FocusSession, FocusSession]] = {}
        for session_id, entry in batch.items():
            # The newest state known (the change feed may have brought one),
            # else the one the signal came to.
            known = self._known(session_id) or entry.base
            try:
                after = self._apply(known, entry, now)
            except _Lapsed:
                self._retry_later(session_id, entry)  # the re-read settles it
                continue
            except FocusError as error:
                self._fail(entry, error)
                continue
            if after is known:
                self._answer(entry, known, now)  # nothing new to store
                continue
            entries.append(SignalEntry(session_id, entry.activity, entry.tab_switches))
            applied[session_id] = (known, after)
        if not entries:
            return
        held = [e.session_id for e in entries]
        for session_id in held:
            self._hold(session_id, True)
        release = asyncio.get_running_loop().call_later(HOLD_SECONDS, self._release, held)
        try:
            mark = await self.repo.append_signals(now, entries, within=self.policy.stall_seconds)
        except Exception as error:
            release.cancel()
            self._failures.failed(error)
            for e in entries:
                self._hold(e.session_id, False)
                self._fail(
                    batch[e.session_id],
                    Unavailable("the database is unavailable; try again", retryAfter=1),
                )
            return
        release.cancel()
        self.commits += 1
        self._failures.succeeded()
        for e in entries:
            pending = batch[e.session_id]
            # On the newest state: a fold may have stored the session meanwhile.
            before, after = applied[e.session_id]
            latest = self._known(e.session_id) or before
            if latest is before:
                saved = with_mark(after, mark)
            elif includes(latest, mark):
                saved = latest  # the change feed brought it first
            else:
                saved = with_mark(latest.with_signals(now, e.activity, e.tab_switches), mark)
            self._observe(saved)
            self._hold(e.session_id, False)
            self._answer(pending, saved, now)

    # -- folding -----------------------------------------------------------------

    async def fold(self, *, everything: bool = False) -> int:
        """Store the journal's signals in their session documents, and let go of
        the journal documents every session includes; how many were stored."""
        now = self.clock.now()
        if everything:
            foreign_before = now + timedelta(days=1)
            gap = FOLD_PAUSE_SECONDS  # at start and shutdown: as fast as it goes
        else:
            gap = max(FOLD_PAUSE_SECONDS, 1 / self.policy.fold_writes_per_second)
            # Another process's round may be as long as ours, and it lets go of
            # a journal document one to two rounds (and checkpoint intervals)
            # after writing it: wait out more than that.
            round_seconds = gap * self.repo.sessions_with_signals() / FOLD_CHUNK
            foreign_after = max(self.policy.fold_foreign_after, 3 * round_seconds + 30)
            foreign_before = now - timedelta(seconds=foreign_after)
        ids = self.repo.unfolded(foreign_before)
        folded = 0
        began = monotonic()
        for start in range(0, len(ids), FOLD_CHUNK):
            if start:
                # Paced, and never back to back: signal commits go between.
                due = began + gap * (start // FOLD_CHUNK)
                await asyncio.sleep(max(FOLD_PAUSE_SECONDS, due - monotonic()))
            sessions: list[FocusSession] = []
            for session_id in ids[start : start + FOLD_CHUNK]:
                known = self._known(session_id)
                session = known or await self.repo.get(session_id)
                if session is None or not session.status.is_running:
                    # Gone, or ended by a change that stored what it included.
                    self.repo.discard_signals(session_id)
                    continue
                if known is None and not self.repo.has_unfolded(session_id):
                    continue  # the read found its document holding them all
                sessions.append(session)
            stored = await self.repo.fold(sessions, self.clock.now())
            for session, ok in zip(sessions, stored, strict=True):
                if ok:
                    folded += 1
                    latest = self._known(session.id) or session
                    if latest.version == session.version:
                        self._observe(replace(latest, version=session.version + 1))
                    continue
                fresh = await self.repo.get(session.id)  # moved on: the next round retries
                if fresh is None:
                    self.repo.discard_signals(session.id)
                else:
                    self._observe(fresh)
        await self.repo.drop_folded(within=self.policy.stall_seconds * 5)
        return folded

    def _release(self, session_ids: list[str]) -> None:
        for session_id in session_ids:
            self._hold(session_id, False)

    def _apply(self, session: FocusSession, entry: _Pending, now: datetime) -> FocusSession:
        """The session after this window's signals at `now`, or itself if they change
        nothing worth storing."""
        if not session.status.is_running:
            raise Conflict(f"session is {session.status.value}", status=session.status.value)
        if session.abandon_at(self.policy.abandon_after) <= now:
            raise _Lapsed
        changed = session.with_signals(now, entry.activity, entry.tab_switches)
        same_counts = (
            changed.timeline is session.timeline and changed.tab_switches == session.tab_switches
        )
        if same_counts and now - session.last_signal_at < timedelta(seconds=1):
            # Nothing new to store: a flood of activity costs one entry a second.
            return session
        return changed

    def _retry_later(self, session_id: str, entry: _Pending) -> None:
        entry.attempts += 1
        if entry.attempts >= ATTEMPTS:
            self._fail(entry, Conflict("the session is changing concurrently; try again"))
            return
        task = asyncio.get_running_loop().create_task(self._reload(session_id, entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload(self, session_id: str, entry: _Pending) -> None:
        """Read a session afresh (it lost a race) and queue its signals again."""
        try:
            fresh = await self._load(entry.user_id, session_id)
        except Exception as error:
            # The store's DatabaseUnavailable is a FocusError too: the outage log counts it.
            if isinstance(error, FocusError) and not isinstance(error, DatabaseError):
                self._fail(entry, error)
            else:
                self._failures.failed(error)
                self._fail(
                    entry, Unavailable("the database is unavailable; try again", retryAfter=1)
                )
            return
        self._observe(fresh)
        entry.base = fresh
        if not fresh.status.is_running:
            self._fail(
                entry, Conflict(f"session is {fresh.status.value}", status=fresh.status.value)
            )
            return
        queued = self._pending.get(session_id)
        if queued is None:
            self._pending[session_id] = entry
        else:
            queued.activity |= entry.activity
            queued.tab_switches += entry.tab_switches
            queued.waiters.extend(entry.waiters)
            queued.attempts = max(queued.attempts, entry.attempts)
        self._schedule()

    @staticmethod
    def _answer(entry: _Pending, session: FocusSession, now: datetime) -> None:
        frame = Frame.at(session, now)
        for waiter in entry.waiters:
            if not waiter.done():
                waiter.set_result(frame)

    @staticmethod
    def _fail(entry: _Pending, error: Exception) -> None:
        for waiter in entry.waiters:
            if not waiter.done():
                waiter.set_exception(error)


def includes(session: FocusSession, mark: tuple[str, int]) -> bool:
    process, seq = mark
    return seq <= dict(session.journal_marks).get(process, -1)


def with_mark(session: FocusSession, mark: tuple[str, int]) -> FocusSession:
    """`session`, noted as including the journal commit `mark`."""
    process, seq = mark
    current = session.journal_marks
    if len(current) == 1 and current[0][0] == process:
        marks: tuple[tuple[str, int], ...] = ((process, max(seq, current[0][1])),)
    else:
        merged = dict(current)
        merged[process] = max(seq, merged.get(process, -1))
        marks = tuple(sorted(merged.items()))
    # A constructor call, not replace: this runs for every stored signal.
    return FocusSession(
        session.id,
        session.user_id,
        session.target_minutes,
        session.content_id,
        session.timeline,
        session.last_activity_at,
        session.last_signal_at,
        session.tab_switches,
        session.focus_score,
        session.version,
        marks,
        session.tags,
    )


class _Lapsed(Exception):
    """Past its abandon deadline: a re-read settles it (and the signal gets CONFLICT)."""
