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
