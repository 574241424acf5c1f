"""Follow the users collection's change stream for revoked tokens and deleted
accounts, so that every process closes the person's sockets and forgets their
cached tokens, not only the one that handled the request.

The server sends only those two kinds of change (a token generation moved on,
a user document deleted), projected to the id and the new generation: a
person's profile edits and registrations never reach here. Such changes are
rare, so unlike the sessions' and the journal's feeds this one does not pace
its round trips: an idle stream costs one awaited `getMore` a second, and a
revocation reaches every process well within a second.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from focusgql.faults import Retries
from focusgql.store.changes import next_change
from focusgql.store.failures import translated

log = logging.getLogger(__name__)

PIPELINE: list[dict[str, Any]] = [
    {
        "$match": {
            "$or": [
                {"operationType": "delete"},
                {
                    "operationType": "update",
                    "updateDescription.updatedFields.token_generation": {"$exists": True},
                },
            ]
        }
    },
    {
        "$project": {
            "_id": 1,
            "operationType": 1,
            "documentKey": 1,
            "updateDescription.updatedFields.token_generation": 1,
        }
    },
]


class UserFeed:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        revoked: Callable[[str, int], None],
        deleted: Callable[[str], None],
        retry_seconds: float = 1.0,
    ) -> None:
        self.collection = collection
        self.revoked = revoked
        """Told (user id, new generation): tokens and sockets of older ones go."""
        self.deleted = deleted
        self.retry_seconds = retry_seconds
        self.ready = asyncio.Event()
        """Set once the stream is open: changes from then on are seen."""

    async def run(self) -> None:
        resume_token: Any = None
        retries = Retries("users change stream", log, writes=False)
        while True:
            try:
                async with await self.collection.watch(
                    PIPELINE, resume_after=resume_token
                ) as stream:
                    self.ready.set()
                    while True:
                        change = await next_change(stream)
                        self.handle(change)
                        retries.succeeded()
                        resume_token = stream.resume_token
            except PyMongoError as error:
                retries.failed(translated(error))  # an outage is the database's one WARNING
                if "resume" in str(error).lower():
                    resume_token = None
                await asyncio.sleep(self.retry_seconds)
            except Exception as error:
                retries.failed(error)
                await asyncio.sleep(self.retry_seconds)

    def handle(self, change: dict[str, Any]) -> None:
        user_id = str(change["documentKey"]["_id"])
        if change["operationType"] == "delete":
            self.deleted(user_id)
            return
        generation = change["updateDescription"]["updatedFields"]["token_generation"]
        if isinstance(generation, int) and not isinstance(generation, bool):
            self.revoked(user_id, generation)
