"""Retries made safe: a mutation with an idempotency key runs once per key
(domain/idempotency.py has the rules; the store keeps the keys, per person,
with a TTL index)."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from focusgql.clock import Clock
from focusgql.domain.errors import Conflict
from focusgql.domain.idempotency import KEY_FIELD, KEY_LIFETIME, check_key, fingerprint
from focusgql.services.frames import Frame
from focusgql.services.ports import IdempotencyStore
from focusgql.services.records import Answer

PENDING_POLL_SECONDS = 0.05
PENDING_WAIT_SECONDS = 5.0
"""How long a retry waits for the first request with its key to finish (a
client that timed out and retried at once) before answering CONFLICT."""
ABANDONED_AFTER = timedelta(minutes=2)
"""A key still unanswered this long was taken by a process that died (or lost
the database) mid-request: a retry takes it over and runs the request."""


class Idempotency:
    def __init__(self, store: IdempotencyStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def frame(
        self,
        user_id: str,
        key: str | None,
        operation: str,
        arguments: Mapping[str, object],
        run: Callable[[], Awaitable[Frame]],
    ) -> Frame:
        answer = await self._once(user_id, key, operation, arguments, run)
        assert isinstance(answer, Frame)
        return answer

    async def session_id(
        self,
        user_id: str,
        key: str | None,
        operation: str,
        arguments: Mapping[str, object],
        run: Callable[[], Awaitable[str]],
    ) -> str:
        answer = await self._once(user_id, key, operation, arguments, run)
        assert isinstance(answer, str)
        return answer

    async def _once(
        self,
        user_id: str,
        key: str | None,
        operation: str,
        arguments: Mapping[str, object],
        run: Callable[[], Awaitable[Answer]],
    ) -> Answer:
        if key is None:
            return await run()
        check_key(key)
        wanted = fingerprint(operation, arguments)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + PENDING_WAIT_SECONDS
        while True:
            now = self.clock.now()
            found = await self.store.claim(
                user_id, key, wanted, now, now - KEY_LIFETIME, now - ABANDONED_AFTER
            )
            if found is None:
                break
            if found.fingerprint != wanted:
                raise Conflict(
                    f"this {KEY_FIELD} was used for a different request", field=KEY_FIELD
                )
            if found.answer is not None:
                return found.answer
            if loop.time() >= give_up:
                raise Conflict(
                    f"the first request with this {KEY_FIELD} is still running; try again",
                    field=KEY_FIELD,
                )
            await asyncio.sleep(PENDING_POLL_SECONDS)
        try:
            answer = await run()
        except BaseException:
            # An error is not an answer to keep: the retry runs the request again.
            await self.store.release(user_id, key)
            raise
        await self.store.complete(user_id, key, answer)
        return answer
