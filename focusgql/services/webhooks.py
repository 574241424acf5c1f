"""Webhook use cases: register, list and delete endpoints, read deliveries,
and turn a session change into the events its owner's webhooks want."""

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from focusgql.clock import Clock
from focusgql.domain.errors import BadUserInput, Conflict, NotFound
from focusgql.domain.session import FocusSession, snapshot
from focusgql.domain.webhooks import (
    check_events,
    check_url,
    is_refused_address,
    payload,
    session_events,
)
from focusgql.services.outbox import (
    Delivery,
    DeliveryStatus,
    OutboxEvent,
    Resolver,
    Webhook,
    WebhookRepository,
)

MAX_WEBHOOKS = 10
PAGE_SIZE_RANGE = (1, 100)
SECRET_BYTES = 24


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    webhook: Webhook
    secret: str


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_event_id() -> str:
    return "msg_" + secrets.token_hex(12)


class WebhookService:
    def __init__(
        self,
        repo: WebhookRepository,
        clock: Clock,
        resolve: Resolver,
        allow_private: bool = False,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.resolve = resolve
        self.allow_private = allow_private
        self.on_events: Callable[[], None] | None = None
        """Told when a change has written events (wakes this process's dispatcher)."""

    async def create(self, user_id: str, url: str, events: list[str]) -> CreatedWebhook:
        target = check_url(url)
        types = check_events(events)
        if not self.allow_private:
            await self._check_public(target.host, target.port)
        if len(await self.repo.for_user(user_id)) >= MAX_WEBHOOKS:
            raise Conflict(f"you have {MAX_WEBHOOKS} webhooks already; delete one first")
        webhook = Webhook(
            id=self.repo.new_id(),
            user_id=user_id,
            url=target.url,
            events=types,
            secret=new_secret(),
            created_at=self.clock.now(),
        )
        await self.repo.add(webhook)
        return CreatedWebhook(webhook=webhook, secret=webhook.secret)

    async def _check_public(self, host: str, port: int) -> None:
        addresses = await self.resolve(host, port)
        if not addresses:
            raise BadUserInput("the url's host does not resolve", field="url")
        # Every address, not the first: a name with one public and one private
        # address would otherwise reach the private one half the time.
        if any(is_refused_address(a) for a in addresses):
            raise BadUserInput(
                "the url's host is a private, loopback or link-local address", field="url"
            )

    async def of_user(self, user_id: str) -> list[Webhook]:
        return await self.repo.for_user(user_id)

    async def delete(self, user_id: str, webhook_id: str) -> str:
        if not await self.repo.delete(webhook_id, user_id):
            raise NotFound("webhook not found")
        return webhook_id

    async def delete_all(self, user_id: str) -> int:
        """Every webhook and delivery of the person (their account is going)."""
        return await self.repo.delete_for_user(user_id)

    async def deliveries(
        self,
        user_id: str,
        webhook_id: str | None,
        status: DeliveryStatus | None,
        first: int,
    ) -> list[Delivery]:
        low, high = PAGE_SIZE_RANGE
        if not low <= first <= high:
            raise BadUserInput(f"first must be between {low} and {high}", field="first")
        if webhook_id is not None:
            found = await self.repo.get(webhook_id)
            if found is None or found.user_id != user_id:
                raise NotFound("webhook not found")
        return await self.repo.deliveries(user_id, webhook_id, status, first)

    async def events_for(
        self, before: FocusSession | None, after: FocusSession, at: datetime
    ) -> list[OutboxEvent]:
        """The events a change makes that some webhook of the owner wants; read
        before the change is written, so they go in the same write."""
        types = session_events(before, after)
        if not types:
            return []
        wanted = {t for w in await self.repo.for_user(after.user_id) for t in w.events}
        counted = snapshot(after, at)
        return [
            OutboxEvent(
                id=new_event_id(),
                type=t,
                at=at,
                body=json.dumps(payload(t, after, counted), separators=(",", ":")),
            )
            for t in types
            if t in wanted
        ]

    def written(self, events: list[OutboxEvent]) -> None:
        if events and self.on_events is not None:
            self.on_events()
