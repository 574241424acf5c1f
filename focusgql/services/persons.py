"""Following a person rather than a session: `mySession`.

A follower gets the person's running session, whichever device or process
started it: its frame at once (or `None` when nothing runs), every tick and
change through the live hub (the same channel `sessionTicks` uses, so a
session watched both ways costs one frame per tick), the final frame when it
ends, then `None` until the next one starts. A start is learnt from this
process's `SessionService.create` or, made elsewhere, from the sessions'
change stream (an insert event carrying the owner's id: store/changes.py).
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

from focusgql.domain.errors import NotFound
from focusgql.services.frames import Frame
from focusgql.services.ports import FollowHandle
from focusgql.services.sessions import SessionService

log = logging.getLogger(__name__)

PersonSink = Callable[[Frame | None], None]


def is_final(frame: Frame | None) -> bool:
    return frame is not None and not frame.session.status.is_running


class PersonFollowing:
    """One follower of one person; `close` it when done (idempotent)."""

    def __init__(
        self, hub: "PersonHub", user_id: str, sink: PersonSink, shows_activity_time: bool
    ) -> None:
        self.hub = hub
        self.user_id = user_id
        self.sink = sink
        self.shows_activity_time = shows_activity_time
        self.current: str | None = None
        """The running session being followed, if any."""
        self.last: str | None = None
        """The last session attached, so a start heard twice (from this
        process and from the change stream) is followed once."""
        self._inner: FollowHandle | None = None
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.current = None
            self._drop()
            self.hub._leave(self)

    async def attach(self, session_id: str) -> None:
        """Follow this (newly started) session instead of any other."""
        if self.closed or session_id == self.last:
            return
        self.last = self.current = session_id
        self._drop()
        try:
            inner = await self.hub.sessions.follow(
                self.user_id, session_id, self._frame, self.shows_activity_time
            )
        except NotFound:
            # Deleted before it could be followed: nothing runs.
            if self.current == session_id:
                self.current = None
                self.sink(None)
            return
        if self.closed or self.current != session_id:
            inner.close()  # it ended (or another started) while being attached
        else:
            self._inner = inner

    def _frame(self, frame: Frame) -> None:
        if self.closed or frame.session.id != self.current:
            return  # a session this follower has moved on from
        self.sink(frame)
        if not frame.session.status.is_running:
            self.current = None
            self.sink(None)
            # Not from inside the hub's broadcast (LiveHub.follow's rule).
            asyncio.get_running_loop().call_soon(self._drop_ended, frame.session.id)

    def _drop_ended(self, session_id: str) -> None:
        if self.current != session_id:
            self._drop()

    def _drop(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()


class PersonHub:
    def __init__(self, sessions: SessionService) -> None:
        self.sessions = sessions
        self._by_user: dict[str, list[PersonFollowing]] = {}
        self._starting: set[asyncio.Task[None]] = set()

    @property
    def followers(self) -> int:
        return sum(len(followers) for followers in self._by_user.values())

    async def follow(
        self, user_id: str, sink: PersonSink, shows_activity_time: bool = True
    ) -> PersonFollowing:
        """`sink` gets the running session's frame (or None) before this
        returns, then every frame of it and of each session started later."""
        person = PersonFollowing(self, user_id, sink, shows_activity_time)
        # Listening first: a session started during the read below is then
        # heard as a start, if the read misses it.
        self._by_user.setdefault(user_id, []).append(person)
        try:
            running = await self.sessions.running(user_id)
            if running is None:
                if person.current is None:
                    sink(None)
            else:
                await person.attach(running.session.id)
        except BaseException:
            person.close()
            raise
        return person

    async def watch(self, user_id: str) -> AsyncGenerator[Frame | None, None]:
        """`follow` as an async iterator; it ends only when the caller stops."""
        mailbox = PersonMailbox()
        following = await self.follow(user_id, mailbox.put)
        try:
            while True:
                yield await mailbox.get()
        finally:
            following.close()

    def started(self, user_id: str, session_id: str) -> None:
        """A session of this person started (here or in another process)."""
        for person in self._by_user.get(user_id, ()):
            self._spawn(person.attach(session_id))

    def watched_users(self) -> list[str]:
        return list(self._by_user)

    async def resync(self) -> None:
        """The change stream was closed a while: a start may have been missed."""
        for user_id in self.watched_users():
            running = await self.sessions.running(user_id)
            if running is not None:
                self.started(user_id, running.session.id)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._starting.add(task)
        task.add_done_callback(self._started)

    def _started(self, task: "asyncio.Task[None]") -> None:
        self._starting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("following a started session failed", exc_info=task.exception())

    def _leave(self, person: PersonFollowing) -> None:
        followers = self._by_user.get(person.user_id)
        if followers is not None:
            with contextlib.suppress(ValueError):
                followers.remove(person)
            if not followers:
                del self._by_user[person.user_id]


class PersonMailbox:
    """The frames a reader has not taken yet, the newest of a running session
    only: a slow reader skips ticks, never an end or the `None` after it."""

    def __init__(self) -> None:
        self._frames: deque[Frame | None] = deque()
        self._ready = asyncio.Event()

    def put(self, frame: Frame | None) -> None:
        frames = self._frames
        if frames and frames[-1] is not None and not is_final(frames[-1]):
            frames.pop()  # a tick superseded by what came after it
        frames.append(frame)
        self._ready.set()

    def take(self) -> Frame | None:
        frame = self._frames.popleft()
        if not self._frames:
            self._ready.clear()
        return frame

    def peek(self) -> Frame | None:
        return self._frames[0]

    def __bool__(self) -> bool:
        return bool(self._frames)

    async def get(self) -> Frame | None:
        await self._ready.wait()
        return self.take()
