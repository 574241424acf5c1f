"""`recordActivity` and `recordTabSwitch` answered without a GraphQL execution.

The same service calls and error codes as the resolvers in mutations.py
(neither is rate limited), for documents `TickPlans` compiles (a plain scalar
selection): the answer is encoded straight from the frame. Over a WebSocket such an
operation holds no subscription slot, so a client reporting activity every
second never meets "Subscription limit reached"; over HTTP it skips
Strawberry's request handling too.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from focusgql.api.fastpath import TickPlan, TickPlans
from focusgql.api.ids import parse_session_id
from focusgql.clock import Clock
from focusgql.domain.errors import DatabaseError, DatabaseUnavailable, FocusError, Unavailable
from focusgql.faults import DATABASE, driver_error
from focusgql.metrics import Metrics
from focusgql.services.accounts import AccountService
from focusgql.services.frames import Frame
from focusgql.services.ratelimit import RateLimiter
from focusgql.services.sessions import SessionService
from focusgql.services.signals import Signal

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
        except Exception as error:
            return self._failure(plan, error)

    def answer_soon(
        self, plan: TickPlan, session_id: str, user_id: str, reply: Callable[[str], None]
    ) -> bool:
        """`answer` without a coroutine when the session is known here: `reply`
        gets the payload once the signal is stored (or at once, for an error).
        False, with `reply` never called, when `answer` must be used instead.
        A person reporting activity every second costs no task this way."""
        try:
            kind = Signal.ACTIVITY if plan.field == "recordActivity" else Signal.TAB_SWITCH
            future = self.sessions.submit_signal(user_id, parse_session_id(session_id), kind)
        except Exception as error:
            reply(self._failure(plan, error))
            return True
        if future is None:
            return False
        future.add_done_callback(lambda done: reply(self._payload(plan, done)))
        return True

    def _payload(self, plan: TickPlan, done: "asyncio.Future[Frame]") -> str:
        if done.cancelled():
            return self._failure(
                plan, Unavailable("the server is shutting down; try again", retryAfter=1)
            )
        error = done.exception()
        if error is not None:
            return self._failure(plan, error)
        return self.plans.encode(plan, done.result())

    def _failure(self, plan: TickPlan, error: BaseException) -> str:
        # Before FocusError: the store's DatabaseUnavailable is one too.
        if isinstance(error, DatabaseError):
            if isinstance(error, DatabaseUnavailable):
                DATABASE.failed(error, "a signal")
            else:
                log.warning("signal failed: %s", type(driver_error(error)).__name__)
            unavailable = DatabaseUnavailable()
            self.metrics.errors.labels(unavailable.code).inc()
            return plan.error_payload(unavailable)
        if isinstance(error, FocusError):
            self.metrics.errors.labels(error.code).inc()
            return plan.error_payload(error)
        log.error("unexpected error answering %s", plan.field, exc_info=error)
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

    def forget_user(self, user_id: str) -> None:
        """The account is gone: its tokens must be checked again (and fail)."""
        for token in [t for t, (who, _) in self._known.items() if who == user_id]:
            del self._known[token]

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
