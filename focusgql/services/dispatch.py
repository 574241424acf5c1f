"""The webhook dispatcher: hands outbox events on as deliveries, and sends
the deliveries that are due, each under a lease.

Every process runs one (unless FOCUSGQL_WEBHOOK_DISPATCH is off). Copying an
event into deliveries is idempotent (one per event and webhook, by a unique
index), and only then is the event taken out of its session: a crash in
between copies it again, harmlessly. A delivery is sent only by whoever
claimed it, and the claim holds for longer than an attempt may take, so two
processes never send one at the same time; a process that dies mid-send
leaves it to be claimed again when the lease ends. Deliveries are therefore
at least once, and receivers de-duplicate on `webhook-id`.
"""

import asyncio
import contextlib
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from focusgql.clock import Clock
from focusgql.domain.errors import DatabaseError, DatabaseUnavailable
from focusgql.domain.webhooks import next_attempt
from focusgql.faults import DATABASE, Retries, driver_error
from focusgql.services.outbox import (
    Delivery,
    DeliveryStatus,
    OutboxRepository,
    Sender,
    WebhookRepository,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    retry_window: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=40)
    """Longer than an attempt may take (the send timeout and some margin)."""
    poll_seconds: float = 1.0
    """How often to look for work made by other processes or come due."""
    batch: int = 20


class Dispatcher:
    def __init__(
        self,
        outbox: OutboxRepository,
        webhooks: WebhookRepository,
        sender: Sender,
        clock: Clock,
        policy: DispatchPolicy,
        attempted: Callable[[DeliveryStatus], None] | None = None,
    ) -> None:
        self.attempted = attempted
        """Told of each attempt's outcome (the metrics)."""
        self.outbox = outbox
        self.webhooks = webhooks
        self.sender = sender
        self.clock = clock
        self.policy = policy
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Work may be waiting (a change here wrote events): look at once."""
        self._wake.set()

    async def run(self) -> None:
        # An outage is the database's one WARNING (faults.py), not a line a round.
        retries = Retries("webhook dispatch", log, writes=False)
        while True:
            busy = False
            try:
                await self.hand_on()
                busy = await self.send_due() == self.policy.batch
                retries.succeeded()
            except Exception as error:
                retries.failed(error)
            if busy:
                continue
            # Real seconds, not the clock's: due times are the clock's, and a
            # test moving its clock is seen within one poll.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.policy.poll_seconds)
            self._wake.clear()

    async def hand_on(self) -> int:
        """Copy outbox events into one delivery per webhook that wants them;
        how many deliveries that made."""
        made = 0
        for pending in await self.outbox.pending(limit=100):
            hooks = await self.webhooks.for_user(pending.user_id)
            deliveries = [
                Delivery(
                    id=self.webhooks.new_id(),
                    webhook_id=hook.id,
                    user_id=pending.user_id,
                    session_id=pending.session_id,
                    event=event,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    due_at=event.at,
                )
                for event in pending.events
                for hook in hooks
                # A webhook made after the event did not ask for it.
                if event.type in hook.events and hook.created_at <= event.at
            ]
            await self.webhooks.add_deliveries(deliveries)
            await self.outbox.release(pending.session_id, [e.id for e in pending.events])
            made += len(deliveries)
        return made

    async def send_due(self) -> int:
        """Claim up to a batch of due deliveries and send them: one webhook's in
        the order they were made, different webhooks' at the same time. How
        many were claimed."""
        now = self.clock.now()
        # A read first: a claim is a write command even when it finds nothing,
        # and an idle process polls every second (the benchmarks count writes).
        if not await self.webhooks.any_due(now):
            return 0
        claimed: dict[str, list[Delivery]] = defaultdict(list)
        count = 0
        while count < self.policy.batch:
            lease = secrets.token_hex(8)
            delivery = await self.webhooks.claim(now, now + self.policy.lease, lease)
            if delivery is None:
                break
            claimed[delivery.webhook_id].append(delivery)
            count += 1
        await asyncio.gather(*(self._send_in_order(batch) for batch in claimed.values()))
        return count

    async def _send_in_order(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            try:
                await self.attempt(delivery)
            except DatabaseError as error:
                # Its lease runs out and it is claimed again, by whoever is first.
                if isinstance(error, DatabaseUnavailable):
                    DATABASE.failed(error, "webhook dispatch")
                else:
                    log.warning(
                        "recording a webhook attempt failed: %s", type(driver_error(error)).__name__
                    )

    async def attempt(self, delivery: Delivery) -> None:
        webhook = await self.webhooks.get(delivery.webhook_id)
        if webhook is None:
            return  # deleted meanwhile, and its deliveries with it
        result = await self.sender.send(webhook, delivery.event)
        at = self.clock.now()
        attempts = delivery.attempts + 1
        if result.succeeded:
            status, due = DeliveryStatus.DELIVERED, None
        else:
            due = next_attempt(delivery.event.at, attempts, at, self.policy.retry_window)
            status = DeliveryStatus.FAILED if due is None else DeliveryStatus.PENDING
        await self.webhooks.finish(delivery, result, at, status, due)
        if self.attempted is not None:
            self.attempted(status)
