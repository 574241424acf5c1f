"""The composition root: the one place where the real parts are chosen, wired and run.

`runtime(settings, clock)` is a whole server's worth of parts for as long as
its block runs: the database and secret (essentials.py, as the CLI settles
them), the services (`wire`), the GraphQL view, the change feeds, and the
background loops. It is the one module that knows every layer, the API's
view included; the Starlette app (app.py) only routes to what it yields.
"""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

from focusgql.api.schema import build_schema
from focusgql.api.view import FocusGraphQL
from focusgql.auth import TokenIssuer
from focusgql.clock import Clock, SystemClock
from focusgql.essentials import open_essentials
from focusgql.gcpolicy import PauseWatch, freeze_what_is_loaded
from focusgql.loops import BackgroundLoops
from focusgql.metrics import Metrics
from focusgql.sender import HttpSender, resolve_host
from focusgql.services.accounts import AccountService
from focusgql.services.bundle import Services
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
from focusgql.store.changes import ChangeFeed, JournalFeed
from focusgql.store.health import HealthProbe
from focusgql.store.idempotency import MongoIdempotencyStore
from focusgql.store.mongo import init_database, make_client
from focusgql.store.outbox import MongoOutbox
from focusgql.store.sessions import MongoSessionRepository
from focusgql.store.userfeed import UserFeed
from focusgql.store.users import MongoUserRepository
from focusgql.store.webhooks import MongoWebhookRepository

log = logging.getLogger(__name__)

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
    stats = StatsService(sessions_repo, clock, read_running=sessions.running, users=users)
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


@dataclass(frozen=True, slots=True)
class Runtime:
    """The running parts the web layer routes to."""

    wiring: Wiring
    graphql: FocusGraphQL
    probe: HealthProbe


@contextlib.asynccontextmanager
async def runtime(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    """Every part, running, until the block ends; then stopped in the reverse
    order of their start: the GC settings, the loops, the services' own work
    (the signal commit in flight, subscriptions, webhook connections, a last
    checkpoint), the client, and the embedded database last."""
    async with contextlib.AsyncExitStack() as stack:
        essentials = await asyncio.to_thread(open_essentials, settings)
        stack.push_async_callback(asyncio.to_thread, essentials.close)
        client = make_client(essentials.uri, settings.database_timeout_ms)
        stack.push_async_callback(client.close)
        await init_database(client, settings.database)
        wiring = wire(settings, clock, essentials.secret)
        stack.push_async_callback(_wind_down, wiring)
        graphql = FocusGraphQL(build_schema(settings), wiring.services, settings)
        sessions = wiring.services.sessions
        persons = wiring.services.persons
        feed = ChangeFeed(
            wiring.sessions_repo,
            sessions.known,
            sessions.observe,
            sessions.observe_deleted,
            sessions.known_ids,
            started=persons.started if persons else None,
            reopened=persons.resync if persons else None,
        )
        journal = wiring.sessions_repo.journal
        # Signals stored before a crash reach their sessions before anyone reads.
        await journal.load()
        await sessions.signals.fold(everything=True)
        loops = BackgroundLoops()
        stack.push_async_callback(loops.stop)
        users = MongoUserRepository().collection
        user_feed = UserFeed(users, revoked=graphql.forget_revoked, deleted=graphql.forget_deleted)
        loops.start(user_feed.run())
        loops.start(JournalFeed(journal, sessions.known, sessions.observe).run())
        loops.start(sessions.run_reaper(settings.reaper_interval_seconds))
        loops.start(wiring.checkpointer.run())
        loops.start(sessions.run_keep_alive())
        loops.start(feed.run())
        if isinstance(clock, SystemClock):
            loops.start(clock.watch())
        if settings.webhook_dispatch:
            loops.start(wiring.dispatcher.run())
        stack.enter_context(_collector_tuned(settings, wiring.services.metrics.gc_pauses))
        yield Runtime(wiring, graphql, HealthProbe(client, client[settings.database]))


async def _wind_down(wiring: Wiring) -> None:
    """The services' own work, once no loop runs; each step whatever the last did."""
    with contextlib.suppress(Exception):
        await wiring.services.sessions.signals.close()
    wiring.hub.close()
    with contextlib.suppress(Exception):
        await wiring.sender.close()
    with contextlib.suppress(Exception):
        await wiring.checkpointer.flush(everything=True)  # leave fresh counters


@contextlib.contextmanager
def _collector_tuned(settings: Settings, pauses: PauseWatch) -> Iterator[None]:
    """The garbage collector as gcpolicy.py explains, timed for /metrics."""
    thresholds = gc.get_threshold()
    pauses.install()
    try:
        gc.set_threshold(*settings.gc_thresholds)
        if settings.gc_freeze:
            frozen = freeze_what_is_loaded()
            log.debug("froze %d objects loaded at startup out of the GC's view", frozen)
        yield
    finally:
        gc.set_threshold(*thresholds)  # the process may outlive this app (tests)
        pauses.remove()
