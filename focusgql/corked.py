"""uvicorn's WebSocket protocol, writing the frames of one event-loop turn together.

An answered signal over graphql-transport-ws is two messages back to back
(`next`, then `complete`), and uvicorn hands each to the socket with a write
of its own. Under the dashboard's traffic those writes were the largest single
cost in the server (bench/README.md, "mixed.py"). Here a text or binary
message only goes into the connection's outgoing buffer (the sans-I/O
`websockets` protocol keeps one); the buffer is written once, at the end of the
loop turn that filled it. Every other ASGI message (accept, close, the HTTP
rejection) first writes what is buffered and then takes uvicorn's own path,
so the order of bytes on the wire never changes.

It also offers the app a synchronous send, as the ASGI server extension
`PUSH` in the connection's scope: `push(text)` queues a text message at once
and says True, or says False when the socket is not taking messages now (the
peer reads slowly, or the socket is closing), and the app uses the ASGI send.
A tick sent to thousands of sockets a second then costs no task, coroutine or
middleware call per socket. Apps served by another server find no `PUSH` and
use the ASGI send only.

The way in has the same shortcut, `LISTEN`: the app may register a
`listener(text) -> bool`, offered each text message while the app waits in
`receive` with nothing queued (so the order of messages is kept). A listener
that answers True has dealt with the message there and then; False queues it
for `receive` as usual. A signal over the socket then costs no queue, task
wake-up or pause and resume of reading, which uvicorn does for every message.
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

log = logging.getLogger(__name__)

PUSH = "focusgql.push"
LISTEN = "focusgql.listen"

Push = Callable[[str], bool]
Listener = Callable[[str], bool]
Listen = Callable[[Listener | None], None]


def push_of(scope: Any) -> Push | None:
    """The connection's synchronous send, if its server offers one."""
    extensions = scope.get("extensions") or {}
    return extensions.get(PUSH)


def listen_of(scope: Any) -> Listen | None:
    """How to register the connection's listener, if its server offers it."""
    extensions = scope.get("extensions") or {}
    return extensions.get(LISTEN)


class CorkedWebSocketProtocol(WebSocketsSansIOProtocol):
    _flush_scheduled = False
    _listener: Listener | None = None
    _app_waiting = False
    """The app is inside `receive` (so it is done with every earlier message)."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and not self.close_sent:  # accepted handshake
            scope["extensions"][PUSH] = self.push
            scope["extensions"][LISTEN] = self.listen

    def listen(self, listener: Listener | None) -> None:
        self._listener = listener

    async def receive(self) -> Any:
        self._app_waiting = True
        try:
            return await super().receive()
        finally:
            self._app_waiting = False

    def send_receive_event_to_app(self) -> None:
        listener = self._listener
        if (
            listener is not None
            and self.curr_msg_data_type == "text"
            and self._app_waiting
            and self.queue.empty()
            and self._taking()
        ):
            data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
            try:
                taken = listener(data.decode())
            except UnicodeDecodeError:
                taken = False  # uvicorn closes with 1007
            except Exception:
                log.exception("a WebSocket listener failed; the message goes to the app")
                taken = False
            if taken:
                self.frames = []
                return
        super().send_receive_event_to_app()

    async def send(self, message: Any) -> None:
        if message["type"] == "websocket.send" and self._taking():
            data = message.get("bytes")
            text = message.get("text")
            try:
                if data is not None:
                    self.conn.send_binary(data)
                elif text is not None:
                    self.conn.send_text(text.encode())
            except InvalidState:
                raise ClientDisconnected() from None
            self._schedule_flush()
            return
        self._flush()  # what is queued goes first
        await super().send(message)

    def push(self, text: str) -> bool:
        if not self._taking():
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self._schedule_flush()
        return True

    def _taking(self) -> bool:
        """Whether a message now can go straight into the outgoing buffer;
        otherwise uvicorn's send waits, refuses or raises as it should."""
        return (
            self.writable.is_set()  # not while the peer reads slowly
            and not self.disconnected
            and self.handshake_complete
            and not self.close_sent
            and self.initial_response is None
        )

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            _cork(self)

    def _flush(self) -> None:
        if not self._flush_scheduled:
            return  # written already (a later flush of the batch finds nothing)
        self._flush_scheduled = False
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))


class _Corked(threading.local):
    """Connections with frames buffered in this loop turn, written at its end
    by one callback: a tick reaches thousands of sockets a second, and a
    callback each was a handle made and run per frame. Per thread, as each
    thread runs its own loop."""

    def __init__(self) -> None:
        self.protocols: list[CorkedWebSocketProtocol] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        """The loop a flush is scheduled on, None when none is."""


_corked = _Corked()


def _cork(protocol: CorkedWebSocketProtocol) -> None:
    loop = asyncio.get_running_loop()
    if _corked.loop is loop:
        _corked.protocols.append(protocol)
        return
    # The first this turn (or a loop that stopped before its flush ran).
    _corked.loop = loop
    _corked.protocols = [protocol]
    loop.call_soon(_flush_corked)


def _flush_corked() -> None:
    batch = _corked.protocols
    _corked.protocols = []
    _corked.loop = None
    for protocol in batch:
        try:
            protocol._flush()
        except Exception:
            log.exception("a WebSocket write failed")
