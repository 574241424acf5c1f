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
"""

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

PUSH = "focusgql.push"

Push = Callable[[str], bool]


def push_of(scope: Any) -> Push | None:
    """The connection's synchronous send, if its server offers one."""
    extensions = scope.get("extensions") or {}
    return extensions.get(PUSH)


class CorkedWebSocketProtocol(WebSocketsSansIOProtocol):
    _flush_scheduled = False

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and not self.close_sent:  # accepted handshake
            scope["extensions"][PUSH] = self.push

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
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))
