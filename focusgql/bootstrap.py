"""The one place where the real parts are chosen and wired together."""

from dataclasses import dataclass
from datetime import timedelta

from focusgql.api.context import Services
from focusgql.auth import TokenIssuer
from focusgql.clock import Clock
from focusgql.metrics import Metrics
from focusgql.sender import HttpSender, resolve_host
from focusgql.services.accounts import AccountService
from focusgql.services.checkpoint import Checkpointer
from focusgql.services.dispatch import Dispatcher, DispatchPolicy
from focusgql.services.idempotency import Idempotency
from focusgql.services.live import LiveHub
from focusgql.services.outbox import DeliveryStatus
from focusgql.services.persons import PersonHub
from focusgql.services.ratelimit import Bucket, RateLimiter, RatePolicy
from focusgql.services.sessions import SessionPolicy, SessionService
from focusgql.services.signals import SignalPolicy
from focusgql.services.stats import StatsService
from focusgql.services.webhooks import WebhookService
from focusgql.settings import Settings
from focusgql.store.idempotency import MongoIdempotencyStore
from focusgql.store.outbox import MongoOutbox
from focusgql.store.sessions import MongoSessionRepository
from focusgql.store.users import MongoUserRepository
from focusgql.store.webhooks import MongoWebhookRepository

LEASE_MARGIN_SECONDS = 5
OUTCOMES = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "retry",
    DeliveryStatus.FAILED: "failed",
}


@dataclass(frozen=True, slots=True)
class Wiring:
    services: Services
    hub: LiveHub
    checkpointer: Checkpointer
    sessions_repo: MongoSessionRepository
    dispatcher: Dispatcher
    sender: HttpSender


def wire(settings: Settings, clock: Clock, jwt_secret: str) -> Wiring:
    """Services over the initialised database (init_beanie must have run)."""
    sessions_repo = MongoSessionRepository()
    metrics = Metrics()
    hub = LiveHub(clock, lateness=metrics.tick_lateness.observe)
    checkpointer = Checkpointer(
        sessions_repo,
        clock,
        settings.checkpoint_seconds,
        lapse_after=timedelta(seconds=settings.abandon_after_seconds),
    )
    metrics.read_at_scrape(
        watched=lambda: hub.watched,
        subscriptions=lambda: hub.listeners,
        running=lambda: checkpointer.tracked,
        writes=lambda: sessions_repo.documents_written,
    )
    tokens = TokenIssuer.from_settings(settings, jwt_secret)
    policy = SessionPolicy(
        idle_threshold=settings.idle_threshold_seconds,
        abandon_after=settings.abandon_after_seconds,
        signal_leeway=settings.jwt_leeway_seconds,
        max_signal_age=settings.max_signal_age_seconds,
    )
    signal_policy = SignalPolicy(
        window_seconds=settings.signal_commit_ms / 1000,
        stall_seconds=settings.signal_stall_seconds,
        fold_writes_per_second=settings.fold_writes_per_second,
    )
    sessions = SessionService(sessions_repo, hub, clock, policy, checkpointer, signal_policy)
    users = MongoUserRepository()
    stats = StatsService(sessions_repo, clock, settle=sessions.running, users=users)
    sessions.goals = stats.goal_baseline
    accounts = AccountService(users, tokens, clock)
    accounts.erasers.append(sessions.delete_all)
    keys = MongoIdempotencyStore()
    persons = PersonHub(sessions)
    sessions.on_started.append(persons.started)
    accounts.erasers.append(keys.delete_for_user)
    webhook_repo = MongoWebhookRepository()
    webhooks = WebhookService(
        webhook_repo, clock, resolve_host, allow_private=settings.webhook_allow_private
    )
    sessions.events = webhooks
    accounts.erasers.append(webhooks.delete_all)
    sender = HttpSender(settings.webhook_timeout_seconds, settings.webhook_allow_private)
    dispatcher = Dispatcher(
        MongoOutbox(sessions_repo.collection),
        webhook_repo,
        sender,
        clock,
        DispatchPolicy(
            retry_window=timedelta(seconds=settings.webhook_retry_window_seconds),
            # Past the longest attempt (the sender cuts it off at the timeout),
            # so a lease never ends while its holder sends; the margin covers
            # recording the result and clock skew between servers.
            lease=timedelta(seconds=settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS),
            poll_seconds=settings.webhook_poll_seconds,
        ),
        attempted=lambda status: metrics.webhook_attempts.labels(OUTCOMES[status]).inc(),
    )
    if settings.webhook_dispatch:
        webhooks.on_events = dispatcher.wake
    services = Services(
        accounts=accounts,
        sessions=sessions,
        # Reading the running session settles one that lapsed unread.
        stats=stats,
        limits=RateLimiter(rate_policy(settings)),
        metrics=metrics,
        idempotency=Idempotency(keys, clock),
        persons=persons,
        webhooks=webhooks,
    )
    return Wiring(
        services=services,
        hub=hub,
        checkpointer=checkpointer,
        sessions_repo=sessions_repo,
        dispatcher=dispatcher,
        sender=sender,
    )


def rate_policy(settings: Settings) -> RatePolicy:
    return RatePolicy(
        {
            Bucket.LOGIN_PER_ADDRESS: settings.rate_limit_login_per_address,
            Bucket.LOGIN_PER_ACCOUNT: settings.rate_limit_login_per_account,
            Bucket.MUTATIONS_PER_USER: settings.rate_limit_mutations_per_user,
            Bucket.MUTATIONS_PER_ADDRESS: settings.rate_limit_mutations_per_address,
        }
    )
