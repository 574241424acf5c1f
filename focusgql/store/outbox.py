"""The webhook outbox inside session documents.

MongoDB only makes a single document's write atomic without a transaction
(which needs a replica set; SecantusDB 0.7 has them, a standalone mongod does
not). So a session change carries its events in the same document, written
by the same update (`MongoSessionRepository.save`), and `outbox_pending`
marks the few documents holding some, for a partial index to find them.
Taking events out touches neither the version nor the change stream's filter.
"""

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.services.outbox import OutboxEvent, PendingEvents
from focusgql.store.failures import domain_errors

Raw = dict[str, Any]

OUTBOX = "webhook_outbox"
PENDING = "outbox_pending"


def outbox_entry(event: OutboxEvent) -> Raw:
    return {"id": event.id, "type": event.type, "at": event.at, "body": event.body}


def from_entry(raw: Raw) -> OutboxEvent:
    return OutboxEvent(id=raw["id"], type=raw["type"], at=raw["at"], body=raw["body"])


@domain_errors
class MongoOutbox:
    def __init__(self, sessions: AsyncCollection[Raw]) -> None:
        self._sessions = sessions

    async def pending(self, limit: int) -> list[PendingEvents]:
        # Oldest session first: one person's events are handed on in order.
        cursor = (
            self._sessions.find({PENDING: True}, projection={"user_id": 1, OUTBOX: 1})
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [
            PendingEvents(
                session_id=str(raw["_id"]),
                user_id=str(raw["user_id"]),
                events=[from_entry(e) for e in raw.get(OUTBOX, [])],
            )
            async for raw in cursor
        ]

    async def release(self, session_id: str, event_ids: list[str]) -> None:
        oid = ObjectId(session_id)
        await self._sessions.update_one(
            {"_id": oid}, {"$pull": {OUTBOX: {"id": {"$in": event_ids}}}}
        )
        # Only if nothing came meanwhile: a change's $push sets the flag in
        # the same write, and this filter then no longer matches.
        await self._sessions.update_one(
            {"_id": oid, OUTBOX: {"$size": 0}}, {"$set": {PENDING: False}}
        )
