"""Open WebSockets by the person signed in on them, so a deleted account's close.

A socket signs in once, at `connection_init`, and then trusts that sign-in
for every operation it carries; so when the account is deleted its sockets
in this process are closed with 4403 (what a bad token gets), and clients
that reconnect are turned away at `connection_init`. The socket that asked
for the deletion closes a moment later than the others, so that the answer
to `deleteAccount` reaches it first.
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

ACCOUNT_DELETED = (4403, "Forbidden: account deleted")
ANSWER_GRACE_SECONDS = 0.25

Close = Callable[[], Coroutine[Any, Any, None]]


class UserSockets:
    def __init__(self) -> None:
        self._by_user: dict[str, dict[object, Close]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def add(self, user_id: str, socket: object, close: Close) -> None:
        self._by_user.setdefault(user_id, {})[socket] = close

    def discard(self, user_id: str | None, socket: object) -> None:
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
            delay = ANSWER_GRACE_SECONDS if socket is asking else 0.0
            task = asyncio.create_task(self._close(close, delay))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(close: Close, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        # The client may be gone already; nothing is left to do then.
        try:
            await close()
        except (RuntimeError, OSError):
            return
