"""`recordActivity` and `recordTabSwitch` answered without a GraphQL execution.

The same service calls and error codes as the resolvers in mutations.py
(neither is rate limited), for documents `TickPlans` compiles (a plain scalar
selection): the answer is encoded straight from the frame. Over a WebSocket such an
operation holds no subscription slot, so a client reporting activity every
second never meets "Subscription limit reached"; over HTTP it skips
Strawberry's request handling too.
"""

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pymongo.errors import ConnectionFailure, PyMongoError

from focusgql.api.fastpath import TickPlan, TickPlans
from focusgql.api.ids import parse_session_id
from focusgql.clock import Clock
from focusgql.domain.errors import FocusError, Unavailable
from focusgql.metrics import Metrics
from focusgql.services.accounts import AccountService
from focusgql.services.ratelimit import RateLimiter
from focusgql.services.sessions import SessionService

log = logging.getLogger(__name__)

TOKEN_CACHE_SIZE = 8192
TOKEN_CACHE_SECONDS = 60


class SignalAnswers:
    def __init__(
        self,
        plans: TickPlans,
        sessions: SessionService,
        limits: RateLimiter,
        metrics: Metrics,
    ) -> None:
        self.plans = plans
        self.sessions = sessions
        self.limits = limits
        self.metrics = metrics

    async def answer(
        self,
        plan: TickPlan,
        session_id: str,
        user_id: Callable[[], Awaitable[str]],
        address: str,
    ) -> str:
        """The response payload (`{"data": ...}` or `{"data": null, "errors": ...}`)."""
        try:
            return await self._run(plan, session_id, user_id, address)
        except FocusError as error:
            self.metrics.errors.labels(error.code).inc()
            return plan.error_payload(error)
        except (ConnectionFailure, PyMongoError) as error:
            log.warning("database unavailable: %s", type(error).__name__)
            unavailable = Unavailable("the database is unavailable; try again")
            self.metrics.errors.labels(unavailable.code).inc()
            return plan.error_payload(unavailable)
        except Exception:
            log.exception("unexpected error answering %s", plan.field)
            self.metrics.errors.labels("INTERNAL").inc()
            return plan.error_payload(FocusError("Unexpected error."))

    async def _run(
        self,
        plan: TickPlan,
        session_id: str,
        user_id: Callable[[], Awaitable[str]],
        address: str,
    ) -> str:
        who = await user_id()
        sid = parse_session_id(session_id)
        # Never rate limited, like their resolvers: a flood for one session
        # coalesces into one journal entry per commit window.
        if plan.field == "recordActivity":
            frame = await self.sessions.record_activity(who, sid)
        else:
            frame = await self.sessions.record_tab_switch(who, sid)
        return self.plans.encode(plan, frame)


class TokenCache:
    """Who a bearer token belongs to, remembered for a minute (never past its
    expiry), so a signal over HTTP costs no user read. Bounded, oldest out."""

    def __init__(self, accounts: AccountService, clock: Clock) -> None:
        self.accounts = accounts
        self.clock = clock
        self._known: OrderedDict[str, tuple[str, datetime]] = OrderedDict()

    async def user_id(self, token: str) -> str:
        now = self.clock.now()
        known = self._known.get(token)
        if known is not None and now < known[1]:
            return known[0]
        signed_in = await self.accounts.sign_in_with_token(token)
        until = min(now + timedelta(seconds=TOKEN_CACHE_SECONDS), signed_in.valid_until)
        self._known[token] = (signed_in.user.id, until)
        self._known.move_to_end(token)
        if len(self._known) > TOKEN_CACHE_SIZE:
            self._known.popitem(last=False)
        return signed_in.user.id
