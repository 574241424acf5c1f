"""Session use cases: start, pause, resume, end, delete, record what the client saw."""

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from focusgql.clock import Clock
from focusgql.domain.errors import (
    BadUserInput,
    Conflict,
    DatabaseError,
    NotFound,
    RunningSessionExists,
)
from focusgql.domain.goals import GoalBaseline
from focusgql.domain.replay import Replayed, ReplayLimits, replay
from focusgql.domain.session import (
    DEFAULT_IDLE_THRESHOLD,
    FocusSession,
    check_content_id,
    check_idle_threshold,
    check_target_minutes,
)
from focusgql.domain.tags import normalize_tags
from focusgql.domain.timeline import InvalidTransition, Status, start
from focusgql.faults import Retries
from focusgql.services.checkpoint import Checkpointer
from focusgql.services.frames import Frame, Sink
from focusgql.services.outbox import EventSource, OutboxEvent
from focusgql.services.ports import FollowHandle, LiveUpdates, SessionRepository
from focusgql.services.records import PageCursor, SessionFilter
from focusgql.services.signals import Signal, SignalCommitter, SignalPolicy

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 25
PAGE_SIZE_RANGE = (1, 100)

Change = Callable[[FocusSession, datetime], FocusSession]


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_threshold: int = DEFAULT_IDLE_THRESHOLD
    abandon_after: int = 1800
    signal_leeway: int = 30
    """How far ahead of now a replayed signal's `at` may be (the token leeway)."""
    max_signal_age: int = 600
    """How far back a replayed signal's `at` may be."""

    @property
    def replay_limits(self) -> ReplayLimits:
        return ReplayLimits(
            leeway=timedelta(seconds=self.signal_leeway),
            max_age=timedelta(seconds=self.max_signal_age),
        )

    @property
    def keepalive_every(self) -> timedelta:
        """How often an open subscription re-signals, well inside the abandon window."""
        return timedelta(seconds=max(1, min(60, self.abandon_after // 3)))


@dataclass(frozen=True, slots=True)
class Page:
    frames: list[Frame]
    has_next: bool
    has_previous: bool = False


@dataclass(frozen=True, slots=True)
class SessionEdit:
    target_minutes: int | None = None
    content_id: str | None = None
    status: Status | None = None
    tags: list[str] | None = None
    """The new set of tags (replacing the old), or None to keep them."""


class _Mailbox:
    """Holds only the newest frame: a slow reader skips frames instead of
    growing a queue, and the final frame, being the newest, is never lost."""

    __slots__ = ("_frame", "_ready")

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._ready = asyncio.Event()

    def put(self, frame: Frame) -> None:
        self._frame = frame
        self._ready.set()

    async def get(self) -> Frame:
        await self._ready.wait()
        self._ready.clear()
        frame, self._frame = self._frame, None
        assert frame is not None
        return frame


def _transition(error: InvalidTransition) -> Conflict:
    return Conflict(
        f"session is {error.current.value}; cannot make it {error.wanted.value}",
        status=error.current.value,
    )


class SessionService:
    def __init__(
        self,
        repo: SessionRepository,
        hub: LiveUpdates,
        clock: Clock,
        policy: SessionPolicy,
        checkpointer: Checkpointer | None = None,
        signal_policy: SignalPolicy | None = None,
    ) -> None:
        self.repo = repo
        self.hub = hub
        self.clock = clock
        self.policy = policy
        self.checkpointer = checkpointer
        self._background: set[asyncio.Task[None]] = set()
        self._keep_alives = Retries("keep-alive", log)
        self.goals: Callable[[str], Awaitable[GoalBaseline | None]] | None = None
        """Today's goal baseline of a person, for live frames (wired to StatsService)."""
        self.on_started: list[Callable[[str, str], None]] = []
        """Told (user id, session id) of each session created here (mySession's
        followers; other processes hear of it from the change stream)."""
        self.events: EventSource | None = None
        """Webhook events of a status change, written with it (wired to WebhookService)."""
        self.signals = SignalCommitter(
            repo,
            clock,
            replace(signal_policy or SignalPolicy(), abandon_after=policy.abandon_after),
            known=self.known,
            load=lambda user_id, session_id: self._load(user_id, session_id, self.clock.now()),
            observe=self.observe,
            hold=hub.hold,
        )
        if checkpointer is not None:
            checkpointer.fold = self.signals.fold

    def observe(self, session: FocusSession) -> None:
        """A newer state of a session, from here or another process: tell the
        watchers and the checkpointer."""
        self.hub.publish(session)
        if self.checkpointer is not None:
            self.checkpointer.track(session)

    def known(self, session_id: str) -> FocusSession | None:
        """The newest state of a session this process watches or keeps counting."""
        known = self.hub.known(session_id)
        if known is None and self.checkpointer is not None:
            known = self.checkpointer.known(session_id)
        return known

    def known_ids(self) -> list[str]:
        """Sessions this process watches or keeps counting."""
        ids = set(self.hub.watched_ids())
        if self.checkpointer is not None:
            ids.update(self.checkpointer.tracked_ids())
        return sorted(ids)

    async def goal_changed(self, user_id: str) -> None:
        """The person's goal (or timezone) changed: the live frames of their
        watched session here carry the new baseline from now on."""
        if self.goals is None:
            return
        mine = [
            i for i in self.hub.watched_ids() if (s := self.hub.known(i)) and s.user_id == user_id
        ]
        if not mine:
            return
        goal = await self.goals(user_id)
        if goal is not None:
            for session_id in mine:
                self.hub.set_goal(session_id, goal)

    def observe_deleted(self, session_id: str) -> None:
        known = self.known(session_id)
        if known is not None and known.status.is_running:
            self.observe(known.ended(self.clock.now(), Status.ABANDONED))

    # -- reading -----------------------------------------------------------------

    async def get(self, user_id: str, session_id: str) -> Frame:
        now = self.clock.now()
        return Frame.at(await self._load(user_id, session_id, now), now)

    async def running(self, user_id: str) -> Frame | None:
        session = await self.repo.running_for(user_id)
        if session is None:
            return None
        now = self.clock.now()
        session = await self._settle(session, now)
        return Frame.at(session, now) if session.status.is_running else None

    async def page(
        self, user_id: str, where: SessionFilter, first: int, after: PageCursor | None
    ) -> Page:
        low, high = PAGE_SIZE_RANGE
        if not low <= first <= high:
            raise BadUserInput(f"first must be between {low} and {high}", field="first")
        await self.running(user_id)  # a lapsed session must not be filtered as running
        rows = await self.repo.page(user_id, where, after, first + 1)
        now = self.clock.now()
        frames = [Frame.at(await self._settle(s, now), now) for s in rows[:first]]
        return Page(frames=frames, has_next=len(rows) > first)

    async def page_backward(
        self, user_id: str, where: SessionFilter, last: int, before: PageCursor | None
    ) -> Page:
        """The `last` sessions before `before` (the oldest `last` without it),
        newest first like every page."""
        low, high = PAGE_SIZE_RANGE
        if not low <= last <= high:
            raise BadUserInput(f"last must be between {low} and {high}", field="last")
        await self.running(user_id)
        rows = await self.repo.page(user_id, where, before, last + 1, backward=True)
        now = self.clock.now()
        kept = list(reversed(rows[:last]))
        frames = [Frame.at(await self._settle(s, now), now) for s in kept]
        return Page(frames=frames, has_next=before is not None, has_previous=len(rows) > last)

    async def count(self, user_id: str, where: SessionFilter) -> int:
        await self.running(user_id)
        return await self.repo.count(user_id, where)

    async def follow(
        self, user_id: str, session_id: str, sink: Sink, shows_activity_time: bool = True
    ) -> FollowHandle:
        """Push this session's frames to `sink` (see LiveHub.follow); an open
        following counts as a client signal. Frames may reach `sink` before
        this returns; if it raises, nothing more will."""
        session = (await self.get(user_id, session_id)).session
        now = self.clock.now()
        if now - session.last_signal_at >= self.policy.keepalive_every:
            # Quiet a while already: signal at once; run_keep_alive does the rest.
            self._spawn(self._keep_alive(session.id, now))
        goal = await self.goals(user_id) if self.goals is not None else None
        following = self.hub.follow(session, sink, shows_activity_time, goal)
        try:
            # A change made elsewhere between our read and the channel's start
            # reached no channel: read once more now that one listens.
            fresh = await self.repo.get(session_id)
        except BaseException:
            following.close()
            raise
        if fresh is not None:
            self.observe(fresh)
        else:
            self.observe_deleted(session_id)  # deleted meanwhile: the follower hears the end
        return following

    async def watch(self, user_id: str, session_id: str) -> AsyncGenerator[Frame, None]:
        """`follow` as an async iterator, until the session has ended."""
        mailbox = _Mailbox()
        following = await self.follow(user_id, session_id, mailbox.put)
        try:
            while True:
                frame = await mailbox.get()
                yield frame
                if not frame.session.status.is_running:
                    return
        finally:
            following.close()

    async def run_keep_alive(self) -> None:
        """Every watched session signals, whether it ticks or not (a paused one
        has no frames): one write for all of them per keep-alive interval."""
        while True:
            await self.clock.sleep_until(self.clock.now() + self.policy.keepalive_every)
            now = self.clock.now()
            # A session whose person sent a signal lately needs none: its journal
            # entry moves last_signal_at when it is folded.
            recent = now - self.policy.keepalive_every
            watched = [
                i
                for i in self.hub.watched_ids()
                if (known := self.known(i)) is None or known.last_signal_at <= recent
            ]
            if not watched:
                continue
            try:
                await self.repo.touch_many(watched, now, self._lapse_cutoff(now))
            except DatabaseError as error:
                self._keep_alives.failed(error)
            else:
                self._keep_alives.succeeded()

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        # In the background: a tick never waits on the database, and an outage
        # only costs this one keep-alive (the next one retries).
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _keep_alive(self, session_id: str, now: datetime) -> None:
        try:
            await self.repo.touch(session_id, now, self._lapse_cutoff(now))
        except DatabaseError as error:
            self._keep_alives.failed(error)

    def _lapse_cutoff(self, now: datetime) -> datetime:
        """Sessions whose last signal is at or before this have lapsed by `now`."""
        return now - timedelta(seconds=self.policy.abandon_after)

    # -- changing ----------------------------------------------------------------

    async def create(
        self,
        user_id: str,
        target_minutes: int,
        content_id: str | None = None,
        idle_threshold: int | None = None,
        tags: list[str] | None = None,
    ) -> Frame:
        check_target_minutes(target_minutes)
        check_content_id(content_id)
        normalized_tags = normalize_tags(tags or ())
        threshold = check_idle_threshold(
            self.policy.idle_threshold if idle_threshold is None else idle_threshold
        )
        await self.signals.settled()
        for _ in range(SAVE_ATTEMPTS):
            now = self.clock.now()
            running = await self.repo.running_for(user_id)
            if running is not None:
                await self._end_if_running(running, Status.ABANDONED)
            session = FocusSession(
                id=self.repo.new_id(),
                user_id=user_id,
                target_minutes=target_minutes,
                content_id=content_id,
                timeline=start(now, threshold),
                last_activity_at=now,
                last_signal_at=now,
                tags=normalized_tags,
            )
            events = await self._events(None, session, now)
            try:
                created = await self.repo.add(session, events)
            except RunningSessionExists:
                continue  # another create won the race: end that one too
            self._written(events)
            self.observe(created)
            for listener in self.on_started:
                listener(created.user_id, created.id)
            return Frame.at(created, now)
        raise Conflict("sessions are being created concurrently; try again")

    async def edit(self, user_id: str, session_id: str, edit: SessionEdit) -> Frame:
        if edit.target_minutes is not None:
            check_target_minutes(edit.target_minutes)
        check_content_id(edit.content_id)
        tags = None if edit.tags is None else normalize_tags(edit.tags)
        if edit.status is not None and not edit.status.is_running:
            raise BadUserInput(
                "status may only be ACTIVE or PAUSED; use endSession", field="status"
            )

        only_tags = (
            tags is not None
            and edit.target_minutes is None
            and edit.content_id is None
            and edit.status is None
        )

        def apply(session: FocusSession, now: datetime) -> FocusSession:
            if not session.status.is_running:
                if only_tags and tags is not None:
                    # Sorting old sessions into projects after the fact is what
                    # tags are for; nothing else of an ended session changes.
                    return session if tags == session.tags else replace(session, tags=tags)
                raise Conflict(f"session is {session.status.value}", status=session.status.value)
            timeline = session.timeline
            try:
                if edit.status is Status.PAUSED and timeline.status is Status.ACTIVE:
                    timeline = timeline.pause(now)
                elif edit.status is Status.ACTIVE and timeline.status is Status.PAUSED:
                    timeline = timeline.resume(now)
            except InvalidTransition as error:  # pragma: no cover - guarded above
                raise _transition(error) from error
            content_id = session.content_id if edit.content_id is None else edit.content_id
            resumed = timeline.status is not session.status and timeline.status is Status.ACTIVE
            return replace(
                session,
                timeline=timeline,
                target_minutes=edit.target_minutes or session.target_minutes,
                content_id=content_id,
                last_signal_at=now,
                last_activity_at=now if resumed else session.last_activity_at,
                tags=session.tags if tags is None else tags,
            )

        return await self._change(user_id, session_id, apply)

    async def end(self, user_id: str, session_id: str, status: Status) -> Frame:
        if status.is_running:
            raise BadUserInput("status must be COMPLETED or ABANDONED", field="status")

        def apply(session: FocusSession, now: datetime) -> FocusSession:
            try:
                return replace(session.ended(now, status), last_signal_at=now)
            except InvalidTransition as error:
                raise _transition(error) from error

        return await self._change(user_id, session_id, apply)

    async def delete(self, user_id: str, session_id: str) -> str:
        await self.signals.settled()
        session = (await self.get(user_id, session_id)).session
        if not await self.repo.delete(session_id, user_id):
            raise NotFound("session not found")
        if session.status.is_running:
            # Watchers see it end; the ABANDONED state is never stored.
            self.observe(session.ended(self.clock.now(), Status.ABANDONED))
        return session.id

    async def delete_all(self, user_id: str) -> int:
        """Remove every session of the person (their account is going); watchers
        see running ones end. How many there were."""
        await self.signals.settled()
        ids = await self.repo.delete_for_user(user_id)
        for session_id in ids:
            self.observe_deleted(session_id)
        return len(ids)

    async def record_activity(self, user_id: str, session_id: str) -> Frame:
        """Mark the current second active (see signals.py: stored by group commit)."""
        return await self.signals.signal(user_id, session_id, Signal.ACTIVITY)

    async def record_tab_switch(self, user_id: str, session_id: str) -> Frame:
        """Count a tab switch while ACTIVE; while PAUSED it is only a signal."""
        return await self.signals.signal(user_id, session_id, Signal.TAB_SWITCH)

    async def replay_signals(
        self, user_id: str, session_id: str, signals: list[Replayed], batch: bool = False
    ) -> Frame:
        """Signals with a client instant or id (domain/replay.py): the slower
        path, one version-checked write of the session with the ids it counted.
        Plain signals take `record_activity` / `submit_signal` instead."""
        await self.signals.settled()
        limits = self.policy.replay_limits
        for _ in range(SAVE_ATTEMPTS):
            now = self.clock.now()
            current = await self._load(user_id, session_id, now)
            seen = await self.repo.signal_ids(session_id)
            updated, counted = replay(current, signals, seen, now, limits, batch=batch)
            if updated is current and not counted:
                return Frame.at(current, now)
            saved = await self.repo.save(updated, now, signal_ids=counted)
            if saved is not None:
                # Watchers get the corrected frame at once (idle may have dropped).
                self.observe(saved)
                return Frame.at(saved, now)
        raise Conflict("the session is changing concurrently; try again")

    def submit_signal(
        self, user_id: str, session_id: str, kind: Signal
    ) -> asyncio.Future[Frame] | None:
        """`record_activity` / `record_tab_switch` without a coroutine, when the
        session is known here (see SignalCommitter.submit); None otherwise."""
        return self.signals.submit(user_id, session_id, kind)

    async def reap(self, limit: int = 500) -> int:
        """End every running session silent past the abandon window; how many ended."""
        ended = 0
        for session in await self.repo.silent_since(self._lapse_cutoff(self.clock.now()), limit):
            settled = await self._settle(session, self.clock.now())
            ended += not settled.status.is_running
        return ended

    async def run_reaper(self, interval: float) -> None:
        reaper = Retries("reaper", log, writes=False)  # a round mostly only reads
        while True:
            try:
                await self.reap()
            except Exception as error:  # the database may be away; try again next round
                reaper.failed(error)
            else:
                reaper.succeeded()
            await asyncio.sleep(interval)

    # -- helpers -----------------------------------------------------------------

    @staticmethod
    def _require_running(session: FocusSession) -> None:
        if not session.status.is_running:
            raise Conflict(f"session is {session.status.value}", status=session.status.value)

    async def _load(self, user_id: str, session_id: str, now: datetime) -> FocusSession:
        session = await self.repo.get(session_id)
        if session is None or session.user_id != user_id:
            # Someone else's session is as absent as a missing one.
            raise NotFound("session not found")
        return await self._settle(session, now)

    async def _settle(self, session: FocusSession, now: datetime) -> FocusSession:
        """The session with a lapsed abandon deadline applied, at that deadline."""
        for _ in range(SAVE_ATTEMPTS):
            deadline = session.abandon_at(self.policy.abandon_after)
            if not session.status.is_running or now < deadline:
                return session
            saved = await self._save_change(
                session, session.ended(deadline, Status.ABANDONED), deadline
            )
            if saved is not None:
                return saved
            fresh = await self.repo.get(session.id)
            if fresh is None:
                return session.ended(deadline, Status.ABANDONED)
            session = fresh
        raise Conflict("the session is changing concurrently; try again")

    async def _save_change(
        self, before: FocusSession, after: FocusSession, at: datetime
    ) -> FocusSession | None:
        """Store `after`, the change of `before` at `at`, with the webhook events
        it makes, and tell the watchers; None if another write came first (the
        caller reads again and retries)."""
        events = await self._events(before, after, at)
        saved = await self.repo.save(after, at, events=events)
        if saved is not None:
            self._written(events)
            self.observe(saved)
        return saved

    async def _events(
        self, before: FocusSession | None, after: FocusSession, at: datetime
    ) -> list[OutboxEvent]:
        if self.events is None:
            return []
        return await self.events.events_for(before, after, at)

    def _written(self, events: list[OutboxEvent]) -> None:
        if events and self.events is not None:
            self.events.written(events)

    async def _end_if_running(self, session: FocusSession, status: Status) -> None:
        for _ in range(SAVE_ATTEMPTS):
            session = await self._settle(session, self.clock.now())
            if not session.status.is_running:
                return
            now = self.clock.now()
            if await self._save_change(session, session.ended(now, status), now) is not None:
                return
            fresh = await self.repo.get(session.id)
            if fresh is None:
                return
            session = fresh
        raise Conflict("the session is changing concurrently; try again")

    async def _change(self, user_id: str, session_id: str, change: Change) -> Frame:
        """Apply `change` as of now; the frame shows the session at that instant."""
        # Signals received before this change are stored before it is read.
        await self.signals.settled()
        for _ in range(SAVE_ATTEMPTS):
            now = self.clock.now()
            current = await self._load(user_id, session_id, now)
            updated = change(current, now)
            if updated is current:
                return Frame.at(current, now)
            saved = await self._save_change(current, updated, now)
            if saved is not None:
                return Frame.at(saved, now)
        raise Conflict("the session is changing concurrently; try again")
