"""What webhooks need from storage and the network: the values and the ports.

An event is written into its session's document by the same write that makes
the change (the *outbox*), so a crash between the change and the send loses
nothing; the dispatcher then copies it into one delivery per subscribed
webhook and takes it out of the session.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from focusgql.domain.session import FocusSession


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: str
    """The `webhook-id` every delivery of this event carries, for de-duplication."""
    type: str
    at: datetime
    body: str
    """The JSON payload, fixed when the event is written: every attempt sends
    the same bytes."""


@dataclass(frozen=True, slots=True)
class PendingEvents:
    """A session's events not yet copied into deliveries."""

    session_id: str
    user_id: str
    events: list[OutboxEvent]


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    user_id: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: datetime


class DeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    webhook_id: str
    user_id: str
    session_id: str
    event: OutboxEvent
    status: DeliveryStatus
    attempts: int
    due_at: datetime | None
    """When the next attempt is due (while one is under way: when its lease ends)."""
    lease: str | None = None
    """Who holds the delivery while sending it."""
    response_code: int | None = None
    error: str | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt to send got: an HTTP status, or an error before one."""

    status_code: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class OutboxRepository(Protocol):
    async def pending(self, limit: int) -> list[PendingEvents]:
        """Sessions holding events not yet copied into deliveries."""
        ...

    async def release(self, session_id: str, event_ids: list[str]) -> None:
        """Take these events out of the session (their deliveries exist)."""
        ...


class WebhookRepository(Protocol):
    def new_id(self) -> str: ...

    async def add(self, webhook: Webhook) -> None: ...

    async def for_user(self, user_id: str) -> list[Webhook]:
        """The person's webhooks, oldest first."""
        ...

    async def get(self, webhook_id: str) -> Webhook | None: ...

    async def delete(self, webhook_id: str, user_id: str) -> bool:
        """Remove the webhook and its deliveries; whether it was theirs."""
        ...

    async def delete_for_user(self, user_id: str) -> int:
        """Remove every webhook and delivery of the person; how many webhooks."""
        ...

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Insert; one already there (same event and webhook) is kept as it is."""
        ...

    async def any_due(self, now: datetime) -> bool:
        """Whether some PENDING delivery is due by `now` (a read, unlike a claim)."""
        ...

    async def claim(self, now: datetime, lease_until: datetime, lease: str) -> Delivery | None:
        """Take one PENDING delivery due by `now`: until `lease_until` no one
        else can, whatever process they run in."""
        ...

    async def finish(
        self,
        delivery: Delivery,
        attempt: Attempt,
        at: datetime,
        status: DeliveryStatus,
        due_at: datetime | None,
    ) -> bool:
        """Record an attempt made under `delivery.lease`; False if the lease had
        passed to someone else meanwhile (their record wins)."""
        ...

    async def deliveries(
        self,
        user_id: str,
        webhook_id: str | None,
        status: DeliveryStatus | None,
        limit: int,
    ) -> list[Delivery]:
        """The person's deliveries, newest event first."""
        ...


class Sender(Protocol):
    async def send(self, webhook: Webhook, event: OutboxEvent) -> Attempt:
        """POST the event to the webhook, signed; never raises for the target's
        failures (they are the Attempt's)."""
        ...


class Resolver(Protocol):
    async def __call__(self, host: str, port: int) -> list[str]:
        """The IP addresses `host` resolves to; empty if it resolves to none."""
        ...


class EventSource(Protocol):
    async def events_for(
        self, before: FocusSession | None, after: FocusSession, at: datetime
    ) -> list[OutboxEvent]:
        """The outbox events a change from `before` (None: created) to `after`,
        made at `at`, must be written with."""
        ...

    def written(self, events: list[OutboxEvent]) -> None:
        """These events are stored (with their change)."""
        ...
