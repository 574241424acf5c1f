"""Every service one request may use, handed to the API as one value.

It lives with the services, not in `api/`, so that the composition root
(bootstrap.py) builds it without reaching into the API layer.
"""

from dataclasses import dataclass, field

from focusgql.metrics import Metrics
from focusgql.services.accounts import AccountService
from focusgql.services.idempotency import Idempotency
from focusgql.services.persons import PersonHub
from focusgql.services.ratelimit import RateLimiter
from focusgql.services.sessions import SessionService
from focusgql.services.sockets import UserSockets
from focusgql.services.stats import StatsService
from focusgql.services.webhooks import WebhookService


@dataclass(frozen=True, slots=True)
class Services:
    accounts: AccountService
    sessions: SessionService
    stats: StatsService
    limits: RateLimiter = field(default_factory=RateLimiter)
    metrics: Metrics = field(default_factory=Metrics)
    sockets: UserSockets = field(default_factory=UserSockets)
    idempotency: Idempotency | None = None
    """Keyed retries of createSession, updateSession, endSession, deleteSession;
    None, a key is refused (bootstrap always wires one)."""
    persons: PersonHub | None = None
    """mySession's followers (bootstrap always wires one)."""
    webhooks: WebhookService | None = None
    """None only where an app is built without webhooks (none is, in focusgql)."""

    def webhook_service(self) -> WebhookService:
        if self.webhooks is None:  # pragma: no cover - wire() always sets it
            raise RuntimeError("webhooks are not wired")
        return self.webhooks
