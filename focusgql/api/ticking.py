"""graphql-transport-ws with a fast path for plain `sessionTicks` subscriptions.

Strawberry's handler does the protocol; this only changes how an operation
that `TickPlans` can compile is run: the subscription is authorized and
started through the same service as the normal resolver, then each frame is
sent as pre-serialized JSON. Whatever the fast path cannot answer exactly
(errors included) goes to Strawberry's own execution.
"""

import json
from contextlib import aclosing
from typing import Any

from graphql import GraphQLError
from pymongo.errors import PyMongoError
from starlette.websockets import WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from focusgql.api.context import Context
from focusgql.api.errors import classify
from focusgql.api.fastpath import TickPlans
from focusgql.api.ids import parse_session_id
from focusgql.domain.errors import FocusError
from focusgql.services.ports import Frame


class TickingTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def run_operation(self, operation: Operation[Context, None]) -> None:
        plans: TickPlans | None = getattr(self.view, "tick_plans", None)
        plan = plans.get(operation.query, operation.operation_name) if plans else None
        session_id = plan.session_id(operation.variables) if plan else None
        if plans is None or plan is None or session_id is None:
            return await super().run_operation(operation)
        try:
            user_id = await self.context.current_user_id()
            frames = self.context.services.sessions.watch(user_id, parse_session_id(session_id))
            first = await anext(frames)
        except FocusError:
            # Strawberry reports it exactly as the resolver would.
            return await super().run_operation(operation)
        except PyMongoError as error:
            # Answer now: running it again would wait out another server selection.
            coded = classify(GraphQLError(str(error), original_error=error))
            return await operation.send_initial_errors([coded])
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        socket: Any = self.websocket.ws  # type: ignore[attr-defined]
        try:
            async with aclosing(frames):
                frame: Frame | None = first
                while frame is not None:
                    if operation.completed:
                        return
                    await socket.send_text(prefix + plans.encode(plan, frame) + "}")
                    frame = await anext(frames, None)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except (WebSocketDisconnect, RuntimeError):
            return  # the client went away mid-send
