"""The live hub: one timer and one frame per watched session per tick.

However many subscriptions watch a session, a single channel holds a timer
for its next tick (the clock's timers share the event loop's one heap, so
thousands of sessions cost no task or sleep each). When the tick is due, or
the session changes, the channel builds one frame and hands it to every
listener. A listener keeps only the newest frame, so a slow client skips
frames instead of growing a queue; the final frame of an ended session is
always the newest, so it is never lost.

Changes reach the hub from this process's services (`publish`) and, with
several processes on one database, from the database's change stream (see
`store/changes.py`), whichever comes first: versions keep the order.
"""

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import datetime

from focusgql.clock import Clock, Timer
from focusgql.domain.session import FocusSession
from focusgql.services.ports import Frame


class _Listener:
    __slots__ = ("_frame", "_ready")

    def __init__(self, frame: Frame) -> None:
        self._frame = frame
        self._ready = asyncio.Event()
        self._ready.set()

    def put(self, frame: Frame) -> None:
        self._frame = frame
        self._ready.set()

    async def get(self) -> Frame:
        await self._ready.wait()
        self._ready.clear()
        return self._frame


def is_newer(candidate: FocusSession, current: FocusSession) -> bool:
    if current.status.is_running and not candidate.status.is_running:
        return True  # an end (or a delete) always wins
    return candidate.status.is_running == current.status.is_running and (
        candidate.version > current.version
    )


Lateness = Callable[[float], None]


class _Channel:
    __slots__ = ("_due", "_lateness", "_timer", "clock", "listeners", "session")

    def __init__(self, session: FocusSession, clock: Clock, lateness: Lateness | None) -> None:
        self.session = session
        self.clock = clock
        self.listeners: set[_Listener] = set()
        self._timer: Timer | None = None
        self._due: datetime | None = None
        self._lateness = lateness
        self._arm()

    def update(self, session: FocusSession) -> None:
        if is_newer(session, self.session):
            self.session = session
            self._broadcast()
            self._arm()

    def listen(self) -> _Listener:
        listener = _Listener(Frame.at(self.session, self.clock.now()))
        self.listeners.add(listener)
        return listener

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        self.close()
        due = self._due = self.session.timeline.next_tick_due(self.clock.now())
        if due is not None:
            self._timer = self.clock.call_at(due, self._tick)

    def _tick(self) -> None:
        self._timer = None
        now = self._broadcast()
        if self._lateness is not None and self._due is not None:
            self._lateness((now - self._due).total_seconds())
        self._arm()

    def _broadcast(self) -> datetime:
        now = self.clock.now()
        frame = Frame.at(self.session, now)
        for listener in self.listeners:
            listener.put(frame)
        return now


class LiveHub:
    def __init__(self, clock: Clock, lateness: Lateness | None = None) -> None:
        self.clock = clock
        self.lateness = lateness
        """Told how late (seconds) each tick was computed, for the metrics."""
        self._channels: dict[str, _Channel] = {}

    @property
    def watched(self) -> int:
        return len(self._channels)

    @property
    def listeners(self) -> int:
        return sum(len(channel.listeners) for channel in self._channels.values())

    def watched_ids(self) -> list[str]:
        return list(self._channels)

    def known(self, session_id: str) -> FocusSession | None:
        channel = self._channels.get(session_id)
        return channel.session if channel is not None else None

    def publish(self, session: FocusSession) -> None:
        channel = self._channels.get(session.id)
        if channel is not None:
            channel.update(session)

    async def watch(self, session: FocusSession) -> AsyncGenerator[Frame, None]:
        channel = self._channels.get(session.id)
        if channel is None:
            channel = self._channels[session.id] = _Channel(session, self.clock, self.lateness)
        else:
            channel.update(session)
        listener = channel.listen()
        try:
            while True:
                frame = await listener.get()
                yield frame
                if not frame.session.status.is_running:
                    return
        finally:
            channel.listeners.discard(listener)
            if not channel.listeners and self._channels.get(session.id) is channel:
                del self._channels[session.id]
                channel.close()

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
