"""What /health reports of the database: reachable, and able to write.

A ping alone says nothing of writes: a SecantusDB whose disk filled (its
WiredTiger panicked) answers pings and fails every write, and /health said
200 throughout. So a health check also writes one tiny document, at most
every `every` seconds however often it is asked (a load balancer may ask
several times a second), and reports the last success meanwhile.
"""

import asyncio
from datetime import UTC, datetime
from time import monotonic
from typing import Literal

import pymongo
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.mongo_client import AsyncMongoClient
from pymongo.errors import PyMongoError

from focusgql.store.mongo import ping

State = Literal["ok", "down", "failing"]
"""ok; down: unreachable (no ping); failing: reachable, but a write fails."""

PROBE_EVERY_SECONDS = 5.0
PROBE_TIMEOUT_SECONDS = 2.0
COLLECTION = "health"


class HealthProbe:
    def __init__(
        self,
        client: AsyncMongoClient[dict[str, object]],
        database: AsyncDatabase[dict[str, object]],
        every: float = PROBE_EVERY_SECONDS,
    ) -> None:
        self.client = client
        self.collection = database[COLLECTION]
        self.every = every
        self._checked = -float("inf")
        self._writes = True
        self._lock = asyncio.Lock()

    async def check(self, fresh: bool = False) -> State:
        """`fresh`: write now, whatever the last write found (during an outage)."""
        if not await ping(self.client):
            return "down"
        return "ok" if await self.writes(fresh) else "failing"

    async def writes(self, fresh: bool = False) -> bool:
        async with self._lock:  # a burst of checks makes one write
            # A failure is not kept: the first check once writes work says so.
            due = monotonic() - self._checked >= self.every
            if fresh or due or not self._writes:
                self._writes = await self._write()
                self._checked = monotonic()
            return self._writes

    async def _write(self) -> bool:
        try:
            with pymongo.timeout(PROBE_TIMEOUT_SECONDS):
                await self.collection.update_one(
                    {"_id": "probe"}, {"$set": {"at": datetime.now(UTC)}}, upsert=True
                )
        except PyMongoError:
            return False
        return True
