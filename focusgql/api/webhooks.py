"""GraphQL types for webhooks and their deliveries; mapping only."""

from datetime import datetime
from enum import Enum

import strawberry

from focusgql.services.outbox import Delivery, DeliveryStatus
from focusgql.services.outbox import Webhook as DomainWebhook
from focusgql.services.webhooks import CreatedWebhook


@strawberry.enum(description="Where a webhook delivery is.")
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"

    def to_domain(self) -> DeliveryStatus:
        return DeliveryStatus(self.value)


@strawberry.type(description="An endpoint that receives your sessions' events, signed.")
class Webhook:
    id: strawberry.ID
    url: str
    events: list[str] = strawberry.field(
        description="What it receives: session.started, session.paused, session.resumed, "
        "session.ended."
    )
    created_at: datetime

    @classmethod
    def from_domain(cls, webhook: DomainWebhook) -> "Webhook":
        return cls(
            id=strawberry.ID(webhook.id),
            url=webhook.url,
            events=list(webhook.events),
            created_at=webhook.created_at,
        )


@strawberry.type(description="A new webhook and its signing secret, which is shown only now.")
class CreatedWebhookPayload:
    webhook: Webhook
    secret: str = strawberry.field(
        description="The Standard Webhooks signing secret (whsec_...): verify each "
        "delivery's webhook-signature with it. It is never shown again."
    )

    @classmethod
    def from_domain(cls, created: CreatedWebhook) -> "CreatedWebhookPayload":
        return cls(webhook=Webhook.from_domain(created.webhook), secret=created.secret)


@strawberry.type(description="One event sent (or being sent) to one webhook.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    event_id: str = strawberry.field(
        description="The webhook-id header: the same on every attempt, for de-duplication."
    )
    event_type: str
    session_id: strawberry.ID
    payload: str = strawberry.field(description="The JSON body sent.")
    status: WebhookDeliveryStatus
    attempts: int
    response_code: int | None = strawberry.field(
        description="The HTTP status of the latest attempt; null before one, or when it got none."
    )
    error: str | None = strawberry.field(
        description="Why the latest attempt got no HTTP status (timeout, refused address...)."
    )
    created_at: datetime = strawberry.field(description="When the event happened.")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due while PENDING; null otherwise."
    )
    delivered_at: datetime | None

    @classmethod
    def from_domain(cls, d: Delivery) -> "WebhookDelivery":
        pending = d.status is DeliveryStatus.PENDING
        return cls(
            id=strawberry.ID(d.id),
            webhook_id=strawberry.ID(d.webhook_id),
            event_id=d.event.id,
            event_type=d.event.type,
            session_id=strawberry.ID(d.session_id),
            payload=d.event.body,
            status=WebhookDeliveryStatus(d.status.value),
            attempts=d.attempts,
            response_code=d.response_code,
            error=d.error,
            created_at=d.event.at,
            last_attempt_at=d.last_attempt_at,
            next_attempt_at=d.due_at if pending else None,
            delivered_at=d.delivered_at,
        )
