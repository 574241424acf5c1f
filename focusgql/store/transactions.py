"""Writes to several documents as one: a transaction, retried when it conflicts.

Not PyMongo's `with_transaction`: it retries for up to two minutes, so with
the database away a request would hang that long instead of answering
UNAVAILABLE. Here only a conflict the server reports (a concurrent
transaction wrote the same document) is retried, a bounded number of times
(then CONFLICT, as other writes that keep losing races answer); a connection
error is raised at once, as for any other write.
"""

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import OperationFailure

from focusgql.domain.errors import Conflict

T = TypeVar("T")

ATTEMPTS = 20
BACKOFF_SECONDS = 0.005

Work = Callable[[AsyncClientSession], Coroutine[Any, Any, T]]


async def in_transaction(client: AsyncMongoClient[Any], work: Work[T]) -> T:
    """`work(session)` with every write it makes through `session` committed
    together or not at all; `work` runs again from the start after a conflict."""
    for attempt in range(1, ATTEMPTS + 1):
        async with client.start_session() as session:
            try:
                async with await session.start_transaction():
                    result = await work(session)
            except OperationFailure as error:
                if not error.has_error_label("TransientTransactionError"):
                    raise
                if attempt == ATTEMPTS:
                    raise Conflict("the history is changing concurrently; try again") from error
            else:
                return result
        # Jittered, so two that keep meeting stop meeting.
        await asyncio.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))
    raise AssertionError("unreachable")  # pragma: no cover
