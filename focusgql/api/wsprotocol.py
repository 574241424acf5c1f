"""Both WebSocket protocols held to their rules, and closed when the token runs out.

Strawberry's handlers implement graphql-transport-ws (PROTOCOL.md of graphql-ws)
and the legacy graphql-ws; these mixins add what they leave out:

- a malformed message (not an object, a wrong-typed `id`, `payload` or `query`)
  closes the socket with 4400 instead of raising inside the server;
- `connection_init` with a `null` payload is accepted, as the protocol allows;
- the legacy protocol gets the same connection_init timeout (4408);
- a connection signed in with a token is closed with 4403 "Forbidden: token
  expired" when that token expires (its `exp` plus the leeway, on the injected
  clock). 4403 is what a bad token gets at connect time; graphql-ws clients
  retry it, so a client that refreshes its token in `connectionParams`
  reconnects on its own;
- a `connection_init` that cannot be checked because the database is away is
  closed with 1013 "Try Again Later" (RFC 6455) rather than dropped;
- a connection whose account is deleted is closed with 4403 "Forbidden:
  account deleted", and one whose token is revoked (sign out everywhere, a new
  password) with 4403 "Forbidden: token revoked" (services/sockets.py).
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any

from focusgql.api.context import Context
from focusgql.api.strawberry_internals import LegacyWSHandler, TransportWSHandler
from focusgql.clock import Clock, Timer
from focusgql.domain.errors import DatabaseUnavailable
from focusgql.faults import DATABASE
from focusgql.services.sockets import ACCOUNT_DELETED, CloseReason

log = logging.getLogger(__name__)

TOKEN_EXPIRED = (4403, "Forbidden: token expired")
TRY_AGAIN = (1013, "Try again later: the database is unavailable")
INIT_TIMEOUT = (4408, "Connection initialisation timeout")
BAD_MESSAGE = 4400


def _optional(value: object, kind: type | tuple[type, ...]) -> bool:
    return value is None or isinstance(value, kind)


def _operation_problem(message: Mapping[str, Any], kind: str) -> str | None:
    identifier = message.get("id")
    if not isinstance(identifier, str) or not identifier:
        return f'"{kind}" message expects the "id" property to be a non-empty string'
    return None


def _payload_problem(message: Mapping[str, Any], kind: str) -> str | None:
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return f'"{kind}" message expects the "payload" property to be an object'
    if not isinstance(payload.get("query"), str):
        return f'"{kind}" message payload expects the "query" property to be a string'
    if not _optional(payload.get("variables"), dict):
        return f'"{kind}" message payload expects "variables" to be an object or null'
    if not _optional(payload.get("operationName"), str):
        return f'"{kind}" message payload expects "operationName" to be a string or null'
    if not _optional(payload.get("extensions"), dict):
        return f'"{kind}" message payload expects "extensions" to be an object or null'
    return None


def transport_message_problem(message: object) -> str | None:
    """Why a graphql-transport-ws message is malformed, or None (graphql-ws's validateMessage)."""
    if not isinstance(message, dict):
        return "Message is expected to be an object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return 'Message is missing the "type" property'
    if kind in ("connection_init", "ping", "pong"):
        if not _optional(message.get("payload"), dict):
            return f'"{kind}" message expects the "payload" property to be an object or null'
    elif kind == "subscribe":
        return _operation_problem(message, kind) or _payload_problem(message, kind)
    elif kind == "complete":
        return _operation_problem(message, kind)
    return None  # unknown types are closed with 4400 by Strawberry itself


def legacy_message_problem(message: object) -> str | None:
    """Why a legacy graphql-ws message would crash the handler, or None."""
    if not isinstance(message, dict):
        return "Message is expected to be an object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return 'Message is missing the "type" property'
    if kind == "connection_init" and not _optional(message.get("payload"), dict):
        return None  # Strawberry answers connection_error itself
    if kind == "start":
        return _operation_problem(message, kind) or _payload_problem(message, kind)
    if kind == "stop":
        return _operation_problem(message, kind)
    return None


class _Expiry:
    """Closes a connection when its token expires. Until then it is one clock
    timer, not a waiting task: thousands of connections each holding a task
    and its coroutines would be that much more for every full garbage
    collection to walk. A task exists only for the closing itself."""

    def __init__(
        self, clock: Clock, at: datetime, close: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        self._close = close
        self.closing: asyncio.Task[None] | None = None
        self._timer: Timer | None = clock.call_at(at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.closing = asyncio.create_task(self._close())

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def wait(self) -> None:
        self.stop()
        if self.closing is not None and self.closing is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.closing


def _rearm(
    expiry: _Expiry | None,
    acknowledged: bool,
    context: object,
    view: object,
    close: Callable[[], Coroutine[Any, Any, None]],
) -> _Expiry | None:
    """The expiry after a `connection_init`: a repeated one (the legacy
    protocol allows it) replaces the earlier timer rather than adding one."""
    valid_until = context.valid_until if isinstance(context, Context) else None
    if not acknowledged or valid_until is None:
        return expiry
    if expiry is not None:
        expiry.stop()
    clock: Clock = view.clock  # type: ignore[attr-defined]
    return _Expiry(clock, valid_until, close)


def _track(handler: Any, close: Callable[[], Coroutine[Any, Any, None]]) -> str | None:
    """Note the signed-in person's socket (services/sockets.py); who it is, if anyone."""
    context = handler.context
    user_id = context.known_user_id() if isinstance(context, Context) else None
    if handler.connection_acknowledged and user_id is not None:
        generation = context.known_token_generation()
        context.services.sockets.add(user_id, context.request, close, generation)
    return user_id


def _untrack(handler: Any, user_id: str | None) -> None:
    context = handler.context
    if isinstance(context, Context):
        context.services.sockets.discard(user_id, context.request)


class TransportWSGuard(TransportWSHandler[Context, None]):
    """graphql-transport-ws: message validation, token expiry, account deletion."""

    _expiry: _Expiry | None = None
    _user_id: str | None = None

    async def handle_message(self, message: Any) -> None:
        problem = transport_message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            message = {**message, "payload": {}}
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except DatabaseUnavailable as error:
            DATABASE.failed(error, "a WebSocket sign-in (closed 1013)")
            await self.websocket.close(*TRY_AGAIN)
            return
        self._expiry = _rearm(
            self._expiry, self.connection_acknowledged, self.context, self.view, self._close_expired
        )
        self._user_id = _track(self, self._close_deleted)

    async def _close_expired(self) -> None:
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(*TOKEN_EXPIRED)

    async def _close_deleted(self, reason: CloseReason = ACCOUNT_DELETED) -> None:
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(*reason)

    async def shutdown(self) -> None:
        _untrack(self, self._user_id)
        if self._expiry is not None:
            await self._expiry.wait()
        await super().shutdown()


class LegacyWSGuard(LegacyWSHandler[Context, None]):
    """Legacy graphql-ws: message validation, an init timeout, token expiry and
    account deletion."""

    _expiry: _Expiry | None = None
    _user_id: str | None = None

    async def handle(self) -> None:
        timeout = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            _untrack(self, self._user_id)
            timeout.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await timeout
            if self._expiry is not None:
                await self._expiry.wait()

    async def _close_unless_initialised(self) -> None:
        wait = self.view.connection_init_wait_timeout
        await asyncio.sleep(wait.total_seconds())
        if not self.connection_acknowledged:
            await self.websocket.close(*INIT_TIMEOUT)

    async def handle_message(self, message: Any) -> None:
        problem = legacy_message_problem(message)
        if problem is not None:
            await self.websocket.close(code=BAD_MESSAGE, reason=problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except DatabaseUnavailable as error:
            DATABASE.failed(error, "a WebSocket sign-in (closed 1013)")
            await self.websocket.close(*TRY_AGAIN)
            return
        self._expiry = _rearm(
            self._expiry, self.connection_acknowledged, self.context, self.view, self._close_expired
        )
        self._user_id = _track(self, self._close_deleted)

    async def _close_expired(self) -> None:
        await self.cleanup()
        await self.websocket.close(*TOKEN_EXPIRED)

    async def _close_deleted(self, reason: CloseReason = ACCOUNT_DELETED) -> None:
        await self.cleanup()
        await self.websocket.close(*reason)
