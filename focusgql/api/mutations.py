"""Mutation resolvers: parse, check who is asking, call one service method, map."""

import dataclasses
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.api.ids import parse_instant, parse_session_id, parse_webhook_id
from focusgql.api.inputs import (
    CreateSessionInput,
    RegisterInput,
    SignalInput,
    UpdateProfileInput,
    UpdateSessionInput,
)
from focusgql.api.permissions import signed_in, signed_in_id, signed_in_user
from focusgql.api.ratelimit import RateLimit
from focusgql.api.types import AuthPayload, FocusSession, SessionStatus, User
from focusgql.api.webhooks import CreatedWebhookPayload
from focusgql.domain.errors import BadUserInput
from focusgql.domain.replay import MAX_SIGNALS_PER_CALL, Replayed
from focusgql.domain.replay import SignalKind as DomainSignalKind
from focusgql.services.idempotency import Idempotency
from focusgql.services.sessions import SessionEdit

KEY_DESCRIPTION = (
    "An idempotency key made by the client (1 to 128 characters), for retries: the "
    "same key again within 24 hours answers the first answer and changes nothing; "
    "with a different request it is CONFLICT."
)

ClientMutationId = Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)]
SignalAt = Annotated[
    datetime | None,
    strawberry.argument(
        description=(
            "When it happened, by the client's clock, for a signal replayed from an "
            "offline queue; left out, it is now. It counts as if it had arrived then, if "
            "`at` is not later than now plus the token leeway (30 s), not older than "
            "FOCUSGQL_MAX_SIGNAL_AGE_SECONDS (600 s), not before the start, not inside "
            "the pause under way, and not before the session's last counted activity "
            "(replays come in order); otherwise BAD_USER_INPUT with `rule` IN_FUTURE, "
            "TOO_OLD, BEFORE_START, IN_PAUSE or BEFORE_LAST_ACTIVITY, and nothing "
            "changes. A replayed activity can turn seconds already reported idle into "
            "active: idleSeconds may drop, and watchers get the corrected snapshot at once."
        )
    ),
]
SignalId = Annotated[
    str | None,
    strawberry.argument(
        description="An id the client made for this signal (1 to 128 characters): the "
        "same id again counts once."
    ),
]


def _signed_in_and_limited() -> list[FieldExtension]:
    """A signed-in person's mutation, rate limited. The last extension runs first
    (Strawberry wraps in list order): the address is counted before the token is
    checked, as RateLimit always has."""
    return [signed_in(), RateLimit("mutation")]


def _keys(ctx: Context) -> Idempotency:
    keys = ctx.services.idempotency
    assert keys is not None, "bootstrap wires the idempotency keys"
    return keys


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create an account and sign in.", extensions=[RateLimit("register")]
    )
    async def register(self, info: Info[Context, None], input: RegisterInput) -> AuthPayload:
        account = await info.context.services.accounts.register(
            input.email, input.password, input.display_name, input.timezone
        )
        return AuthPayload(token=account.token, user=User.from_domain(account.user))

    @strawberry.mutation(
        description="Sign in; the token goes in 'Authorization: Bearer'.",
        extensions=[RateLimit("login")],
    )
    async def login(self, info: Info[Context, None], email: str, password: str) -> AuthPayload:
        account = await info.context.services.accounts.login(email, password)
        return AuthPayload(token=account.token, user=User.from_domain(account.user))

    @strawberry.mutation(
        description="Change your display name, timezone or daily goal.",
        extensions=_signed_in_and_limited(),
    )
    async def update_profile(self, info: Info[Context, None], input: UpdateProfileInput) -> User:
        ctx = info.context
        user = await ctx.services.accounts.update_profile(
            signed_in_user(info), input.display_name, input.timezone, input.daily_goal_minutes
        )
        ctx.sign_in_connection(user)
        await ctx.services.sessions.goal_changed(user.id)
        return User.from_domain(user)

    @strawberry.mutation(
        description=(
            "Delete your account and everything of yours (sessions, webhooks), confirmed "
            "with your password; your tokens stop working and your open sockets close."
        ),
        extensions=_signed_in_and_limited(),
    )
    async def delete_account(self, info: Info[Context, None], password: str) -> strawberry.ID:
        ctx = info.context
        user = signed_in_user(info)
        with ctx.services.sockets.answering(ctx.request):
            await ctx.services.accounts.delete_account(user, password)
            ctx.services.sockets.close_user(user.id, asking=ctx.request)
        return strawberry.ID(user.id)

    @strawberry.mutation(
        description=(
            "Revoke every token you hold, this one included: every request with one "
            "is UNAUTHENTICATED from now on, and your open sockets, on every server, "
            "close within a second (4403). Sign in again to go on."
        ),
        extensions=_signed_in_and_limited(),
    )
    async def sign_out_everywhere(self, info: Info[Context, None]) -> bool:
        ctx = info.context
        user = signed_in_user(info)
        with ctx.services.sockets.answering(ctx.request):
            await ctx.services.accounts.sign_out_everywhere(user)
        return True

    @strawberry.mutation(
        description=(
            "Change your password, confirmed with the current one. Like signOutEverywhere "
            "it revokes every token you hold and closes your sockets; the answer carries "
            "a fresh token for this device."
        ),
        extensions=_signed_in_and_limited(),
    )
    async def change_password(
        self, info: Info[Context, None], current_password: str, new_password: str
    ) -> AuthPayload:
        ctx = info.context
        user = signed_in_user(info)
        with ctx.services.sockets.answering(ctx.request):
            account = await ctx.services.accounts.change_password(
                user, current_password, new_password
            )
        return AuthPayload(token=account.token, user=User.from_domain(account.user))

    @strawberry.mutation(
        description="Start a session; a running one ends as ABANDONED.",
        extensions=_signed_in_and_limited(),
    )
    async def create_session(
        self,
        info: Info[Context, None],
        input: CreateSessionInput,
        client_mutation_id: ClientMutationId = None,
    ) -> FocusSession:
        ctx = info.context
        user_id = signed_in_id(info)
        created = await _keys(ctx).frame(
            user_id,
            client_mutation_id,
            "createSession",
            {"input": dataclasses.asdict(input)},
            lambda: ctx.services.sessions.create(
                user_id,
                input.target_minutes,
                input.content_id,
                input.idle_threshold_seconds,
                input.tags,
            ),
        )
        return FocusSession.from_frame(created)

    @strawberry.mutation(
        description="Change target or content, or pause (PAUSED) / resume (ACTIVE).",
        extensions=_signed_in_and_limited(),
    )
    async def update_session(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: UpdateSessionInput,
        client_mutation_id: ClientMutationId = None,
    ) -> FocusSession:
        ctx = info.context
        edit = SessionEdit(
            target_minutes=input.target_minutes,
            content_id=input.content_id,
            status=input.status.to_domain() if input.status else None,
            tags=input.tags,
        )
        user_id, session_id = signed_in_id(info), parse_session_id(id)
        updated = await _keys(ctx).frame(
            user_id,
            client_mutation_id,
            "updateSession",
            {"id": session_id, "input": dataclasses.asdict(input)},
            lambda: ctx.services.sessions.edit(user_id, session_id, edit),
        )
        return FocusSession.from_frame(updated)

    @strawberry.mutation(
        description="End a running session and score it.", extensions=_signed_in_and_limited()
    )
    async def end_session(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        status: SessionStatus = SessionStatus.COMPLETED,
        client_mutation_id: ClientMutationId = None,
    ) -> FocusSession:
        ctx = info.context
        user_id, session_id = signed_in_id(info), parse_session_id(id)
        ended = await _keys(ctx).frame(
            user_id,
            client_mutation_id,
            "endSession",
            {"id": session_id, "status": status},
            lambda: ctx.services.sessions.end(user_id, session_id, status.to_domain()),
        )
        return FocusSession.from_frame(ended)

    @strawberry.mutation(
        description="Delete a session; stats read as if it never existed.",
        extensions=_signed_in_and_limited(),
    )
    async def delete_session(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        client_mutation_id: ClientMutationId = None,
    ) -> strawberry.ID:
        ctx = info.context
        user_id, session_id = signed_in_id(info), parse_session_id(id)
        deleted = await _keys(ctx).session_id(
            user_id,
            client_mutation_id,
            "deleteSession",
            {"id": session_id},
            lambda: ctx.services.sessions.delete(user_id, session_id),
        )
        return strawberry.ID(deleted)

    @strawberry.mutation(
        description="Register an endpoint for your sessions' events (session.started, "
        "session.paused, session.resumed, session.ended), signed per Standard Webhooks; "
        "the answer holds the signing secret, shown only this once.",
        extensions=_signed_in_and_limited(),
    )
    async def create_webhook(
        self, info: Info[Context, None], url: str, events: list[str]
    ) -> CreatedWebhookPayload:
        ctx = info.context
        created = await ctx.services.webhook_service().create(signed_in_id(info), url, events)
        return CreatedWebhookPayload.from_domain(created)

    @strawberry.mutation(
        description="Delete one of your webhooks and its deliveries; nothing more is sent to it.",
        extensions=_signed_in_and_limited(),
    )
    async def delete_webhook(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        deleted = await ctx.services.webhook_service().delete(
            signed_in_id(info), parse_webhook_id(id)
        )
        return strawberry.ID(deleted)

    @strawberry.mutation(
        description="Report mouse or keyboard activity in the session.", extensions=[signed_in()]
    )
    async def record_activity(
        self,
        info: Info[Context, None],
        session_id: strawberry.ID,
        at: SignalAt = None,
        signal_id: SignalId = None,
    ) -> FocusSession:
        ctx = info.context
        user_id, sid = signed_in_id(info), parse_session_id(session_id)
        if at is None and signal_id is None:
            updated = await ctx.services.sessions.record_activity(user_id, sid)
        else:
            replayed = Replayed(DomainSignalKind.ACTIVITY, parse_instant(at, "at"), signal_id)
            updated = await ctx.services.sessions.replay_signals(user_id, sid, [replayed])
        return FocusSession.from_frame(updated)

    @strawberry.mutation(
        description="Report that the person left the tab (counts while ACTIVE).",
        extensions=[signed_in()],
    )
    async def record_tab_switch(
        self,
        info: Info[Context, None],
        session_id: strawberry.ID,
        at: SignalAt = None,
        signal_id: SignalId = None,
    ) -> FocusSession:
        ctx = info.context
        user_id, sid = signed_in_id(info), parse_session_id(session_id)
        if at is None and signal_id is None:
            updated = await ctx.services.sessions.record_tab_switch(user_id, sid)
        else:
            replayed = Replayed(DomainSignalKind.TAB_SWITCH, parse_instant(at, "at"), signal_id)
            updated = await ctx.services.sessions.replay_signals(user_id, sid, [replayed])
        return FocusSession.from_frame(updated)

    @strawberry.mutation(
        description=(
            "A client's queue of activity and tab switches made while it was offline, "
            f"in the order they happened, at most {MAX_SIGNALS_PER_CALL} per call: each "
            "counts as if it had arrived at its `at` (the rules are recordActivity's). "
            "All or nothing: the first signal refused is a BAD_USER_INPUT naming its "
            "`index` and `rule`, and none counts."
        ),
        extensions=_signed_in_and_limited(),
    )
    async def record_signals(
        self, info: Info[Context, None], session_id: strawberry.ID, signals: list[SignalInput]
    ) -> FocusSession:
        ctx = info.context
        user_id, sid = signed_in_id(info), parse_session_id(session_id)
        if len(signals) > MAX_SIGNALS_PER_CALL:
            raise BadUserInput(f"at most {MAX_SIGNALS_PER_CALL} signals per call", field="signals")
        queue = [
            Replayed(DomainSignalKind(s.kind.value), parse_instant(s.at, "at"), s.signal_id)
            for s in signals
        ]
        updated = await ctx.services.sessions.replay_signals(user_id, sid, queue, batch=True)
        return FocusSession.from_frame(updated)
