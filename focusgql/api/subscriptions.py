"""Subscription resolvers: live session snapshots."""

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.api.ids import parse_session_id
from focusgql.api.types import FocusSession


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The session now, then once a second while ACTIVE and at once on every "
        "change; completes after the final snapshot when the session ends."
    )
    async def session_ticks(
        self, info: Info[Context, None], session_id: strawberry.ID
    ) -> AsyncGenerator[FocusSession, None]:
        ctx = info.context
        frames = ctx.services.sessions.watch(
            await ctx.current_user_id(), parse_session_id(session_id)
        )
        async for frame in frames:
            yield FocusSession.from_frame(frame)

    @strawberry.subscription(
        description="Your running session, whichever device or server started it: its "
        "snapshot now (null when none runs), then once a second while ACTIVE and at once "
        "on every change; the final snapshot when it ends, then null until the next one "
        "starts. It does not complete while the connection stays open."
    )
    async def my_session(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[FocusSession | None, None]:
        ctx = info.context
        persons = ctx.services.persons
        assert persons is not None, "bootstrap wires mySession's followers"
        async for frame in persons.watch(await ctx.current_user_id()):
            yield None if frame is None else FocusSession.from_frame(frame)
