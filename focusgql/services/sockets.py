"""Open WebSockets by the person signed in on them, so a deleted account's
(or a revoked token's) close.

A socket signs in once, at `connection_init`, and then trusts that sign-in
for every operation it carries; so when the account is deleted its sockets
in this process are closed with 4403 (what a bad token gets), and clients
that reconnect are turned away at `connection_init`. The socket that asked
for the deletion closes a moment later than the others, so that the answer
to `deleteAccount` reaches it first.

Signing out everywhere (or changing the password) moves the person's token
generation on: their sockets signed in with an older one close with 4403
"Forbidden: token revoked", in this process at once and in the others when
the users' change feed tells them (store/userfeed.py); a socket that signed in
with the new generation meanwhile stays.
"""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

ACCOUNT_DELETED = (4403, "Forbidden: account deleted")
TOKEN_REVOKED = (4403, "Forbidden: token revoked")
ANSWER_GRACE_SECONDS = 0.25

CloseReason = tuple[int, str]
Close = Callable[..., Coroutine[Any, Any, None]]
"""Closes one socket; called with the close code and reason, or with none
(then ACCOUNT_DELETED)."""


class UserSockets:
    def __init__(self) -> None:
        self._by_user: dict[str, dict[object, Close]] = {}
        self._generations: dict[object, int] = {}
        self._answering: set[object] = set()
        self._closing: set[asyncio.Task[None]] = set()

    def add(self, user_id: str, socket: object, close: Close, generation: int = 0) -> None:
        self._by_user.setdefault(user_id, {})[socket] = close
        self._generations[socket] = generation

    @contextlib.contextmanager
    def answering(self, socket: object) -> Iterator[None]:
        """While the request on `socket` runs, a close of it (from this
        process or from the change feed, whichever comes first) waits for its
        answer to go out."""
        self._answering.add(socket)
        try:
            yield
        finally:
            self._answering.discard(socket)

    def revoke(self, user_id: str, generation: int, asking: object | None = None) -> None:
        """Close the person's sockets signed in before `generation`."""
        sockets = self._by_user.get(user_id, {})
        stale = [s for s in sockets if self._generations.get(s, 0) < generation]
        for socket in stale:
            self._close_later(sockets.pop(socket), socket, asking, TOKEN_REVOKED)
        if not sockets:
            self._by_user.pop(user_id, None)

    def discard(self, user_id: str | None, socket: object) -> None:
        self._generations.pop(socket, None)
        sockets = self._by_user.get(user_id or "")
        if sockets is not None:
            sockets.pop(socket, None)
            if not sockets:
                del self._by_user[user_id or ""]

    def count(self, user_id: str) -> int:
        return len(self._by_user.get(user_id, ()))

    def close_user(self, user_id: str, asking: object | None = None) -> None:
        """Close every socket of this person; `asking` (the one the request
        came on, if any) only once its answer has had time to go out."""
        for socket, close in self._by_user.pop(user_id, {}).items():
            self._close_later(close, socket, asking, ACCOUNT_DELETED)

    def _close_later(
        self, close: Close, socket: object, asking: object | None, reason: CloseReason
    ) -> None:
        self._generations.pop(socket, None)
        answering = socket is asking or socket in self._answering
        delay = ANSWER_GRACE_SECONDS if answering else 0.0
        task = asyncio.create_task(self._close(close, delay, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(close: Close, delay: float, reason: CloseReason) -> None:
        if delay:
            await asyncio.sleep(delay)
        # The client may be gone already; nothing is left to do then.
        try:
            await close(reason)
        except (RuntimeError, OSError):
            return
