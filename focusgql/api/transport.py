"""Subscriptions need a socket: refuse them over plain HTTP with a coded error.

Strawberry lets a POST carry a subscription for its streaming HTTP transports;
sent as an ordinary request it would run as a query and fail with a null
error. This answers such a request before execution instead.
"""

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

MESSAGE = "subscriptions run over a WebSocket at /graphql (protocol graphql-transport-ws)"


class SubscriptionsOverWebSocket(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        request = getattr(context.context, "request", None)
        if context.operation_type is OperationType.SUBSCRIPTION and not isinstance(
            request, WebSocket
        ):
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(MESSAGE, extensions={"code": "BAD_USER_INPUT"})]
            )
        yield
