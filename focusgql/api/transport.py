"""How documents arrive: subscriptions need a socket; repeated documents are cached.

Subscriptions over plain HTTP are refused with a coded error.

Strawberry lets a POST carry a subscription for its streaming HTTP transports;
sent as an ordinary request it would run as a query and fail with a null
error. This answers such a request before execution instead.
"""

import contextlib
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, parse
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


@lru_cache(maxsize=512)
def _parse(query: str, **options: Any) -> DocumentNode:
    return parse(query, **options)


# Per schema (its validation rules, limits included, are fixed), the documents
# that validated clean; a bounded FIFO of their texts.
_validated: "weakref.WeakKeyDictionary[object, OrderedDict[str, None]]" = (
    weakref.WeakKeyDictionary()
)
VALIDATED_MAX = 512


class DocumentCache(SchemaExtension):
    """Parse and validate each distinct document once.

    Unlike Strawberry's ParserCache, a document that does not parse is left to
    the normal parse, whose error then gets its code like any other; and unlike
    its ValidationCache (keyed by rule objects that the depth and alias limiters
    build anew for every request) this remembers clean documents by their text.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        clean = _validated.setdefault(context.schema, OrderedDict())
        query = context.query or ""
        if query in clean:
            context.pre_execution_errors = []  # Strawberry then skips validation
        yield
        if context.pre_execution_errors == [] and query not in clean:
            clean[query] = None
            if len(clean) > VALIDATED_MAX:
                clean.popitem(last=False)
