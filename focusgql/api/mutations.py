"""Mutation resolvers: parse, check who is asking, call one service method, map."""

import strawberry
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.api.ids import parse_session_id, parse_webhook_id
from focusgql.api.inputs import (
    CreateSessionInput,
    RegisterInput,
    UpdateProfileInput,
    UpdateSessionInput,
)
from focusgql.api.ratelimit import RateLimit
from focusgql.api.types import AuthPayload, FocusSession, SessionStatus, User
from focusgql.api.webhooks import CreatedWebhookPayload
from focusgql.services.sessions import SessionEdit


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
        await ctx.services.accounts.delete_account(user, password)
        ctx.services.sockets.close_user(user.id, asking=ctx.request)
        return strawberry.ID(user.id)

    @strawberry.mutation(
        description="Start a session; a running one ends as ABANDONED.",
        extensions=[RateLimit("mutation")],
    )
    async def create_session(
        self, info: Info[Context, None], input: CreateSessionInput
    ) -> FocusSession:
        ctx = info.context
        created = await ctx.services.sessions.create(
            await ctx.current_user_id(),
            input.target_minutes,
            input.content_id,
            input.idle_threshold_seconds,
            input.tags,
        )
        return FocusSession.from_frame(created)

    @strawberry.mutation(
        description="Change target or content, or pause (PAUSED) / resume (ACTIVE).",
        extensions=[RateLimit("mutation")],
    )
    async def update_session(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateSessionInput
    ) -> FocusSession:
        ctx = info.context
        edit = SessionEdit(
            target_minutes=input.target_minutes,
            content_id=input.content_id,
            status=input.status.to_domain() if input.status else None,
            tags=input.tags,
        )
        updated = await ctx.services.sessions.edit(
            await ctx.current_user_id(), parse_session_id(id), edit
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
    ) -> FocusSession:
        ctx = info.context
        ended = await ctx.services.sessions.end(
            await ctx.current_user_id(), parse_session_id(id), status.to_domain()
        )
        return FocusSession.from_frame(ended)

    @strawberry.mutation(
        description="Delete a session; stats read as if it never existed.",
        extensions=[RateLimit("mutation")],
    )
    async def delete_session(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        deleted = await ctx.services.sessions.delete(
            await ctx.current_user_id(), parse_session_id(id)
        )
        return strawberry.ID(deleted)

    @strawberry.mutation(
        description="Register an endpoint for your sessions' events (session.started, "
        "session.paused, session.resumed, session.ended), signed per Standard Webhooks; "
        "the answer holds the signing secret, shown only this once.",
        extensions=[RateLimit("mutation")],
    )
    async def create_webhook(
        self, info: Info[Context, None], url: str, events: list[str]
    ) -> CreatedWebhookPayload:
        ctx = info.context
        created = await ctx.services.webhook_service().create(
            await ctx.current_user_id(), url, events
        )
        return CreatedWebhookPayload.from_domain(created)

    @strawberry.mutation(
        description="Delete one of your webhooks and its deliveries; nothing more is sent to it.",
        extensions=[RateLimit("mutation")],
    )
    async def delete_webhook(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        deleted = await ctx.services.webhook_service().delete(
            await ctx.current_user_id(), parse_webhook_id(id)
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
