"""Sending `mySession` frames over a WebSocket from the compiled path.

Like `_TickSender` (api/ticking.py) a slow client skips ticks rather than
queueing them, and between ticks nothing waits; unlike it the stream never
ends with a session: the final frame and the `null` after it are both kept
until sent (services/persons.py, PersonMailbox, has the rule), and the
operation runs until the client completes it or goes away.
"""

import asyncio
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocketDisconnect

from focusgql.services.frames import Frame
from focusgql.services.persons import PersonMailbox


class PersonSender:
    def __init__(
        self,
        send: Callable[[Frame | None], Awaitable[None]],
        push: Callable[[Frame | None], bool] | None = None,
    ) -> None:
        self._send = send
        self._push = push
        self._pending = PersonMailbox()
        self._task: asyncio.Task[None] | None = None
        self._held = True
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done once the client went away (or a send failed): the operation ends."""

    def deliver(self, frame: Frame | None) -> None:
        self._pending.put(frame)
        self._flush()

    def release(self) -> None:
        self._held = False
        self._flush()

    def _flush(self) -> None:
        if self._held or self._task is not None or self.ended.done() or not self._pending:
            return
        push = self._push
        if push is not None:
            try:
                while self._pending and push(self._pending.peek()):
                    self._pending.take()
            except Exception as error:
                self._fail(error)
                return
            if not self._pending:
                return
        self._task = asyncio.create_task(self._drain())

    def stop(self) -> None:
        self._held = True
        if self._task is not None:
            self._task.cancel()

    async def _drain(self) -> None:
        try:
            while self._pending:
                await self._send(self._pending.take())
        except (WebSocketDisconnect, RuntimeError):
            if not self.ended.done():
                self.ended.set_result(None)
        except Exception as error:
            self._fail(error)
        finally:
            self._task = None

    def _fail(self, error: Exception) -> None:
        if not self.ended.done():
            self.ended.set_exception(error)
