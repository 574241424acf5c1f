"""The one place where the real parts are chosen and wired together."""

from dataclasses import dataclass
from datetime import timedelta

from focusgql.api.context import Services
from focusgql.auth import TokenIssuer
from focusgql.clock import Clock
from focusgql.services.accounts import AccountService
from focusgql.services.checkpoint import Checkpointer
from focusgql.services.live import LiveHub
from focusgql.services.sessions import SessionPolicy, SessionService
from focusgql.services.stats import StatsService
from focusgql.settings import Settings
from focusgql.store.sessions import MongoSessionRepository
from focusgql.store.users import MongoUserRepository


@dataclass(frozen=True, slots=True)
class Wiring:
    services: Services
    hub: LiveHub
    checkpointer: Checkpointer
    sessions_repo: MongoSessionRepository


def wire(settings: Settings, clock: Clock, jwt_secret: str) -> Wiring:
    """Services over the initialised database (init_beanie must have run)."""
    sessions_repo = MongoSessionRepository()
    hub = LiveHub(clock)
    checkpointer = Checkpointer(sessions_repo, clock, settings.checkpoint_seconds)
    tokens = TokenIssuer(
        secret=jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(seconds=settings.token_ttl_seconds),
    )
    policy = SessionPolicy(
        idle_threshold=settings.idle_threshold_seconds,
        abandon_after=settings.abandon_after_seconds,
    )
    services = Services(
        accounts=AccountService(MongoUserRepository(), tokens, clock),
        sessions=SessionService(sessions_repo, hub, clock, policy, checkpointer),
        stats=StatsService(sessions_repo, clock),
    )
    return Wiring(
        services=services, hub=hub, checkpointer=checkpointer, sessions_repo=sessions_repo
    )
