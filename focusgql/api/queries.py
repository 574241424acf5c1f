"""Query resolvers: parse, ask the service, map."""

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.api.ids import (
    decode_cursor,
    encode_cursor,
    parse_instant,
    parse_session_id,
    parse_webhook_id,
)
from focusgql.api.permissions import signed_in, signed_in_id, signed_in_user
from focusgql.api.types import (
    FocusSession,
    Node,
    PageInfo,
    SessionConnection,
    SessionEdge,
    SessionStatus,
    User,
)
from focusgql.api.webhooks import Webhook, WebhookDelivery, WebhookDeliveryStatus
from focusgql.domain.errors import BadUserInput, NotFound
from focusgql.domain.tags import normalize_tag
from focusgql.services.records import SessionFilter


async def _node(ctx: Context, id: str) -> Node | None:
    """You, or one of your sessions; anything else (someone else's) is absent."""
    # Read here, not by a permission: nodes() checks the id count before sign-in.
    user = await ctx.current_user()
    if id == user.id:
        return User.from_domain(user)
    try:
        found = await ctx.services.sessions.get(user.id, parse_session_id(id))
    except (NotFound, BadUserInput):
        return None
    return FocusSession.from_frame(found)


MAX_NODES = 100


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in person.", extensions=[signed_in()])
    async def me(self, info: Info[Context, None]) -> User:
        return User.from_domain(signed_in_user(info))

    @strawberry.field(
        description="One of your sessions; another person's is NOT_FOUND.",
        extensions=[signed_in()],
    )
    async def session(self, info: Info[Context, None], id: strawberry.ID) -> FocusSession:
        ctx = info.context
        found = await ctx.services.sessions.get(signed_in_id(info), parse_session_id(id))
        return FocusSession.from_frame(found)

    @strawberry.field(
        description="Any object by its global id (Relay): you, or one of your sessions; "
        "null for anything else, another person's included.",
        extensions=[signed_in()],
    )
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        return await _node(info.context, id)

    @strawberry.field(description="node(id:) for each id, in order (at most 100).")
    async def nodes(self, info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"at most {MAX_NODES} ids", field="ids")
        return [await _node(info.context, id) for id in ids]

    @strawberry.field(
        description="Your webhooks, oldest first (their secrets are not shown).",
        extensions=[signed_in()],
    )
    async def webhooks(self, info: Info[Context, None]) -> list[Webhook]:
        ctx = info.context
        found = await ctx.services.webhook_service().of_user(signed_in_id(info))
        return [Webhook.from_domain(w) for w in found]

    @strawberry.field(
        description="Deliveries to your webhooks, newest event first: their status, "
        "attempts and the latest response code.",
        extensions=[signed_in()],
    )
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        webhook_id: strawberry.ID | None = None,
        status: WebhookDeliveryStatus | None = None,
        first: int = 50,
    ) -> list[WebhookDelivery]:
        ctx = info.context
        found = await ctx.services.webhook_service().deliveries(
            signed_in_id(info),
            None if webhook_id is None else parse_webhook_id(webhook_id, "webhookId"),
            None if status is None else status.to_domain(),
            first,
        )
        return [WebhookDelivery.from_domain(d) for d in found]

    @strawberry.field(
        description="Your running (ACTIVE or PAUSED) session, if any.",
        extensions=[signed_in()],
    )
    async def active_session(self, info: Info[Context, None]) -> FocusSession | None:
        ctx = info.context
        found = await ctx.services.sessions.running(signed_in_id(info))
        return None if found is None else FocusSession.from_frame(found)

    @strawberry.field(
        description="Your sessions, newest first, a page at a time: first/after forward, "
        "or last/before backward (Relay's connection paging).",
        extensions=[signed_in()],
    )
    async def sessions(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: SessionStatus | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        tag: Annotated[
            str | None,
            strawberry.argument(description="Only sessions carrying this tag (case-insensitive)."),
        ] = None,
    ) -> SessionConnection:
        ctx = info.context
        user_id = signed_in_id(info)
        where = SessionFilter(
            status=status.to_domain() if status else None,
            started_after=parse_instant(started_after, "startedAfter"),
            started_before=parse_instant(started_before, "startedBefore"),
            tag=None if tag is None else normalize_tag(tag),
        )
        if after is not None and (last is not None or before is not None):
            raise BadUserInput(
                "page forward (first/after) or backward (last/before)", field="after"
            )
        if last is not None or before is not None:
            end = decode_cursor(before) if before is not None else None
            page = await ctx.services.sessions.page_backward(
                user_id, where, last if last is not None else first, end
            )
        else:
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
                has_previous_page=page.has_previous or after is not None,
                start_cursor=edges[0].cursor if edges else None,
            ),
            user_id=user_id,
            where=where,
        )
