"""Mutation resolvers: parse, check who is asking, call one service method, map."""

import dataclasses
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.api.ids import parse_session_id
from focusgql.api.inputs import (
    CreateSessionInput,
    RegisterInput,
    UpdateProfileInput,
    UpdateSessionInput,
)
from focusgql.api.ratelimit import RateLimit
from focusgql.api.types import AuthPayload, FocusSession, SessionStatus, User
from focusgql.services.idempotency import Idempotency
from focusgql.services.sessions import SessionEdit

KEY_DESCRIPTION = (
    "An idempotency key made by the client (1 to 128 characters), for retries: the "
    "same key again within 24 hours answers the first answer and changes nothing; "
    "with a different request it is CONFLICT."
)

ClientMutationId = Annotated[Optional[str], strawberry.argument(description=KEY_DESCRIPTION)]


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
        signed_in = await info.context.services.accounts.register(
            input.email, input.password, input.display_name, input.timezone
        )
        return AuthPayload(token=signed_in.token, user=User.from_domain(signed_in.user))

    @strawberry.mutation(
        description="Sign in; the token goes in 'Authorization: Bearer'.",
        extensions=[RateLimit("login")],
    )
    async def login(self, info: Info[Context, None], email: str, password: str) -> AuthPayload:
        signed_in = await info.context.services.accounts.login(email, password)
        return AuthPayload(token=signed_in.token, user=User.from_domain(signed_in.user))

    @strawberry.mutation(
        description="Change your display name, timezone or daily goal.",
        extensions=[RateLimit("mutation")],
    )
    async def update_profile(self, info: Info[Context, None], input: UpdateProfileInput) -> User:
        ctx = info.context
        user = await ctx.services.accounts.update_profile(
            await ctx.current_user(), input.display_name, input.timezone, input.daily_goal_minutes
        )
        ctx.sign_in_connection(user)
        await ctx.services.sessions.goal_changed(user.id)
        return User.from_domain(user)

    @strawberry.mutation(
        description=(
            "Delete your account and everything of yours (sessions, webhooks), confirmed "
            "with your password; your tokens stop working and your open sockets close."
        ),
        extensions=[RateLimit("mutation")],
    )
    async def delete_account(self, info: Info[Context, None], password: str) -> strawberry.ID:
        ctx = info.context
        user = await ctx.current_user()
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
        extensions=[RateLimit("mutation")],
    )
    async def sign_out_everywhere(self, info: Info[Context, None]) -> bool:
        ctx = info.context
        user = await ctx.current_user()
        with ctx.services.sockets.answering(ctx.request):
            await ctx.services.accounts.sign_out_everywhere(user)
        return True

    @strawberry.mutation(
        description=(
            "Change your password, confirmed with the current one. Like signOutEverywhere "
            "it revokes every token you hold and closes your sockets; the answer carries "
            "a fresh token for this device."
        ),
        extensions=[RateLimit("mutation")],
    )
    async def change_password(
        self, info: Info[Context, None], current_password: str, new_password: str
    ) -> AuthPayload:
        ctx = info.context
        user = await ctx.current_user()
        with ctx.services.sockets.answering(ctx.request):
            signed_in = await ctx.services.accounts.change_password(
                user, current_password, new_password
            )
        return AuthPayload(token=signed_in.token, user=User.from_domain(signed_in.user))

    @strawberry.mutation(
        description="Start a session; a running one ends as ABANDONED.",
        extensions=[RateLimit("mutation")],
    )
    async def create_session(
        self,
        info: Info[Context, None],
        input: CreateSessionInput,
        client_mutation_id: ClientMutationId = None,
    ) -> FocusSession:
        ctx = info.context
        user_id = await ctx.current_user_id()
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
        extensions=[RateLimit("mutation")],
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
        user_id, session_id = await ctx.current_user_id(), parse_session_id(id)
        updated = await _keys(ctx).frame(
            user_id,
            client_mutation_id,
            "updateSession",
            {"id": session_id, "input": dataclasses.asdict(input)},
            lambda: ctx.services.sessions.edit(user_id, session_id, edit),
        )
        return FocusSession.from_frame(updated)

    @strawberry.mutation(
        description="End a running session and score it.", extensions=[RateLimit("mutation")]
    )
    async def end_session(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        status: SessionStatus = SessionStatus.COMPLETED,
        client_mutation_id: ClientMutationId = None,
    ) -> FocusSession:
        ctx = info.context
        user_id, session_id = await ctx.current_user_id(), parse_session_id(id)
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
        extensions=[RateLimit("mutation")],
    )
    async def delete_session(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        client_mutation_id: ClientMutationId = None,
    ) -> strawberry.ID:
        ctx = info.context
        user_id, session_id = await ctx.current_user_id(), parse_session_id(id)
        deleted = await _keys(ctx).session_id(
            user_id,
            client_mutation_id,
            "deleteSession",
            {"id": session_id},
            lambda: ctx.services.sessions.delete(user_id, session_id),
        )
        return strawberry.ID(deleted)

    @strawberry.mutation(description="Report mouse or keyboard activity in the session.")
    async def record_activity(
        self, info: Info[Context, None], session_id: strawberry.ID
    ) -> FocusSession:
        ctx = info.context
        updated = await ctx.services.sessions.record_activity(
            await ctx.current_user_id(), parse_session_id(session_id)
        )
        return FocusSession.from_frame(updated)

    @strawberry.mutation(description="Report that the person left the tab (counts while ACTIVE).")
    async def record_tab_switch(
        self, info: Info[Context, None], session_id: strawberry.ID
    ) -> FocusSession:
        ctx = info.context
        updated = await ctx.services.sessions.record_tab_switch(
            await ctx.current_user_id(), parse_session_id(session_id)
        )
        return FocusSession.from_frame(updated)
