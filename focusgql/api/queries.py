"""Query resolvers: parse, ask the service, map."""

from datetime import datetime
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.api.ids import decode_cursor, encode_cursor, parse_instant, parse_session_id
from focusgql.api.types import (
    FocusSession,
    PageInfo,
    SessionConnection,
    SessionEdge,
    SessionStatus,
    User,
)
from focusgql.domain.tags import normalize_tag
from focusgql.services.ports import SessionFilter


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in person.")
    async def me(self, info: Info[Context, None]) -> User:
        return User.from_domain(await info.context.current_user())

    @strawberry.field(description="One of your sessions; another person's is NOT_FOUND.")
    async def session(self, info: Info[Context, None], id: strawberry.ID) -> FocusSession:
        ctx = info.context
        found = await ctx.services.sessions.get(await ctx.current_user_id(), parse_session_id(id))
        return FocusSession.from_frame(found)

    @strawberry.field(description="Your running (ACTIVE or PAUSED) session, if any.")
    async def active_session(self, info: Info[Context, None]) -> Optional[FocusSession]:
        ctx = info.context
        found = await ctx.services.sessions.running(await ctx.current_user_id())
        return None if found is None else FocusSession.from_frame(found)

    @strawberry.field(description="Your sessions, newest first, a page at a time.")
    async def sessions(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: Optional[str] = None,
        status: Optional[SessionStatus] = None,
        started_after: Optional[datetime] = None,
        started_before: Optional[datetime] = None,
        tag: Annotated[
            Optional[str],
            strawberry.argument(description="Only sessions carrying this tag (case-insensitive)."),
        ] = None,
    ) -> SessionConnection:
        ctx = info.context
        user_id = await ctx.current_user_id()
        where = SessionFilter(
            status=status.to_domain() if status else None,
            started_after=parse_instant(started_after, "startedAfter"),
            started_before=parse_instant(started_before, "startedBefore"),
            tag=None if tag is None else normalize_tag(tag),
        )
        cursor = decode_cursor(after) if after is not None else None
        page = await ctx.services.sessions.page(user_id, where, first, cursor)
        edges = [
            SessionEdge(cursor=encode_cursor(f.session), node=FocusSession.from_frame(f))
            for f in page.frames
        ]
        return SessionConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            user_id=user_id,
            where=where,
        )
