"""Beanie documents for webhooks and their deliveries, with the indexes queries use."""

from datetime import datetime
from typing import ClassVar

from beanie import Document, PydanticObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel


class WebhookDocument(Document):
    user_id: PydanticObjectId
    url: str
    events: list[str]
    secret: str
    """The signing secret (Standard Webhooks' `whsec_...`); shown once, at creation."""
    created_at: datetime

    class Settings:
        name = "webhooks"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel([("user_id", ASCENDING), ("_id", ASCENDING)], name="user_webhooks"),
        ]


class DeliveryDocument(Document):
    webhook_id: PydanticObjectId
    user_id: PydanticObjectId
    session_id: PydanticObjectId
    event_id: str
    event_type: str
    event_at: datetime
    body: str
    status: str
    attempts: int = 0
    due_at: datetime | None = None
    """Next attempt; while one is under way, the end of its lease."""
    lease: str | None = None
    response_code: int | None = None
    error: str | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None

    class Settings:
        name = "webhook_deliveries"
        indexes: ClassVar[list[IndexModel]] = [
            # One delivery per event and webhook, however many processes copy it.
            IndexModel(
                [("event_id", ASCENDING), ("webhook_id", ASCENDING)],
                unique=True,
                name="event_webhook_unique",
            ),
            IndexModel([("status", ASCENDING), ("due_at", ASCENDING)], name="status_due"),
            IndexModel(
                [("user_id", ASCENDING), ("event_at", DESCENDING), ("_id", DESCENDING)],
                name="user_newest_first",
            ),
            IndexModel([("webhook_id", ASCENDING)], name="by_webhook"),
        ]
