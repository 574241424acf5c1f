"""Webhooks and their deliveries in MongoDB; a delivery is leased by the
process sending it, so no two send one event at the same time."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from focusgql.services.outbox import (
    Attempt,
    Delivery,
    DeliveryStatus,
    OutboxEvent,
    Webhook,
)
from focusgql.store.failures import domain_errors
from focusgql.store.webhook_documents import DeliveryDocument, WebhookDocument

Raw = dict[str, Any]
DUPLICATE_KEY = 11000


def _webhook(raw: Raw) -> Webhook:
    return Webhook(
        id=str(raw["_id"]),
        user_id=str(raw["user_id"]),
        url=raw["url"],
        events=tuple(raw["events"]),
        secret=raw["secret"],
        created_at=raw["created_at"],
    )


def _delivery(raw: Raw) -> Delivery:
    return Delivery(
        id=str(raw["_id"]),
        webhook_id=str(raw["webhook_id"]),
        user_id=str(raw["user_id"]),
        session_id=str(raw["session_id"]),
        event=OutboxEvent(
            id=raw["event_id"], type=raw["event_type"], at=raw["event_at"], body=raw["body"]
        ),
        status=DeliveryStatus(raw["status"]),
        attempts=raw["attempts"],
        due_at=raw.get("due_at"),
        lease=raw.get("lease"),
        response_code=raw.get("response_code"),
        error=raw.get("error"),
        last_attempt_at=raw.get("last_attempt_at"),
        delivered_at=raw.get("delivered_at"),
    )


def _oid(value: str) -> ObjectId | None:
    return ObjectId(value) if ObjectId.is_valid(value) else None


@domain_errors
class MongoWebhookRepository:
    def __init__(
        self,
        webhooks: AsyncCollection[Raw] | None = None,
        deliveries: AsyncCollection[Raw] | None = None,
    ) -> None:
        self.webhooks: AsyncCollection[Raw] = (
            webhooks if webhooks is not None else WebhookDocument.get_pymongo_collection()
        )
        self.deliveries_collection: AsyncCollection[Raw] = (
            deliveries if deliveries is not None else DeliveryDocument.get_pymongo_collection()
        )

    def new_id(self) -> str:
        return str(ObjectId())

    async def add(self, webhook: Webhook) -> None:
        await self.webhooks.insert_one(
            {
                "_id": ObjectId(webhook.id),
                "user_id": ObjectId(webhook.user_id),
                "url": webhook.url,
                "events": list(webhook.events),
                "secret": webhook.secret,
                "created_at": webhook.created_at,
            }
        )

    async def for_user(self, user_id: str) -> list[Webhook]:
        cursor = self.webhooks.find({"user_id": ObjectId(user_id)}).sort("_id", ASCENDING)
        return [_webhook(raw) async for raw in cursor]

    async def get(self, webhook_id: str) -> Webhook | None:
        oid = _oid(webhook_id)
        raw = await self.webhooks.find_one({"_id": oid}) if oid else None
        return _webhook(raw) if raw else None

    async def delete(self, webhook_id: str, user_id: str) -> bool:
        oid = _oid(webhook_id)
        if oid is None:
            return False
        result = await self.webhooks.delete_one({"_id": oid, "user_id": ObjectId(user_id)})
        if result.deleted_count:
            await self.deliveries_collection.delete_many({"webhook_id": oid})
        return result.deleted_count == 1

    async def delete_for_user(self, user_id: str) -> int:
        owner = {"user_id": ObjectId(user_id)}
        result = await self.webhooks.delete_many(owner)
        await self.deliveries_collection.delete_many(owner)
        return result.deleted_count

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        rows = [
            {
                "_id": ObjectId(d.id),
                "webhook_id": ObjectId(d.webhook_id),
                "user_id": ObjectId(d.user_id),
                "session_id": ObjectId(d.session_id),
                "event_id": d.event.id,
                "event_type": d.event.type,
                "event_at": d.event.at,
                "body": d.event.body,
                "status": d.status.value,
                "attempts": d.attempts,
                "due_at": d.due_at,
                "lease": None,
            }
            for d in deliveries
        ]
        try:
            await self.deliveries_collection.insert_many(rows, ordered=False)
        except BulkWriteError as error:
            # Copied already (by a process that died before releasing them, or
            # by another one at the same time): the first copy stands.
            others = [e for e in error.details["writeErrors"] if e["code"] != DUPLICATE_KEY]
            if others:
                raise

    async def any_due(self, now: datetime) -> bool:
        found = await self.deliveries_collection.find_one(
            {"status": DeliveryStatus.PENDING.value, "due_at": {"$lte": now}}, projection={"_id": 1}
        )
        return found is not None

    async def claim(self, now: datetime, lease_until: datetime, lease: str) -> Delivery | None:
        # One atomic find-and-modify: the due time moves to the lease's end, so
        # the delivery is nobody else's until then, in any process.
        raw = await self.deliveries_collection.find_one_and_update(
            {"status": DeliveryStatus.PENDING.value, "due_at": {"$lte": now}},
            {"$set": {"due_at": lease_until, "lease": lease}},
            sort=[("due_at", ASCENDING), ("_id", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        return _delivery(raw) if raw else None

    async def finish(
        self,
        delivery: Delivery,
        attempt: Attempt,
        at: datetime,
        status: DeliveryStatus,
        due_at: datetime | None,
    ) -> bool:
        fields: Raw = {
            "status": status.value,
            "due_at": due_at,
            "lease": None,
            "response_code": attempt.status_code,
            "error": attempt.error,
            "last_attempt_at": at,
        }
        if status is DeliveryStatus.DELIVERED:
            fields["delivered_at"] = at
        result = await self.deliveries_collection.update_one(
            {"_id": ObjectId(delivery.id), "lease": delivery.lease},
            {"$set": fields, "$inc": {"attempts": 1}},
        )
        return result.modified_count == 1

    async def deliveries(
        self,
        user_id: str,
        webhook_id: str | None,
        status: DeliveryStatus | None,
        limit: int,
    ) -> list[Delivery]:
        query: Raw = {"user_id": ObjectId(user_id)}
        if webhook_id is not None:
            query["webhook_id"] = ObjectId(webhook_id)
        if status is not None:
            query["status"] = status.value
        cursor = (
            self.deliveries_collection.find(query)
            .sort([("event_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [_delivery(raw) async for raw in cursor]
