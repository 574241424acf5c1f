"""A server's background loops: started together, and stopped together on exit.

Not an asyncio.TaskGroup, on purpose: a loop that dies of its own error must
not take the server down with it (a TaskGroup would cancel its other tasks
and the lifespan that owns it), and at the end each loop is cancelled, never
waited on to finish by itself. Stopping cancels and awaits the loops one by
one, in the order they were started.
"""

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class BackgroundLoops:
    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, loop: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(loop))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
            # A loop that died of its own error must not stop the cleanup after it.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
