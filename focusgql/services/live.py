"""The in-process live hub: one timer and one snapshot per watched session per tick.

However many subscriptions watch a session, a single channel wakes when its
next tick is due (or when the session changes), computes the snapshot once,
and hands the same frame to every listener. A listener keeps only the newest
frame, so a slow client skips frames instead of growing a queue; the final
frame of an ended session is always the newest, so it is never lost.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from focusgql.clock import Clock
from focusgql.domain.session import FocusSession, snapshot
from focusgql.services.ports import Frame


class _Listener:
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
        assert self._frame is not None
        return self._frame


def _is_newer(candidate: FocusSession, current: FocusSession) -> bool:
    if current.status.is_running and not candidate.status.is_running:
        return True  # an end (or a delete) always wins
    return candidate.status.is_running == current.status.is_running and (
        candidate.version > current.version
    )


class _Channel:
    def __init__(self, session: FocusSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.listeners: set[_Listener] = set()
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"live-{session.id}")

    def update(self, session: FocusSession) -> None:
        if _is_newer(session, self.session):
            self.session = session
            self._changed.set()

    def listen(self) -> _Listener:
        listener = _Listener()
        listener.put(self._frame())
        self.listeners.add(listener)
        return listener

    def close(self) -> None:
        self._task.cancel()

    def _frame(self) -> Frame:
        return self.session, snapshot(self.session, self.clock.now())

    def _broadcast(self) -> None:
        frame = self._frame()
        for listener in self.listeners:
            listener.put(frame)

    async def _run(self) -> None:
        while self.session.status.is_running:
            due = self.session.timeline.next_tick_due(self.clock.now())
            await self._sleep_or_change(due)
            self._changed.clear()
            self._broadcast()

    async def _sleep_or_change(self, due: object) -> None:
        changed = asyncio.ensure_future(self._changed.wait())
        waiters: set[asyncio.Future[object]] = {changed}
        if due is not None:
            waiters.add(asyncio.ensure_future(self.clock.sleep_until(due)))  # type: ignore[arg-type]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


class InProcessHub:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._channels: dict[str, _Channel] = {}

    def publish(self, session: FocusSession) -> None:
        channel = self._channels.get(session.id)
        if channel is not None:
            channel.update(session)

    async def watch(self, session: FocusSession) -> AsyncIterator[Frame]:
        channel = self._channels.get(session.id)
        if channel is None:
            channel = self._channels[session.id] = _Channel(session, self.clock)
        else:
            channel.update(session)
        listener = channel.listen()
        try:
            while True:
                frame = await listener.get()
                yield frame
                if not frame[0].status.is_running:
                    return
        finally:
            channel.listeners.discard(listener)
            if not channel.listeners and self._channels.get(session.id) is channel:
                del self._channels[session.id]
                channel.close()

    async def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        with contextlib.suppress(Exception):
            await asyncio.sleep(0)
        self._channels.clear()
