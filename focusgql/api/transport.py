"""How documents arrive: subscriptions need a stream; repeated documents are cached.

Subscriptions run over a WebSocket, or over HTTP as a stream (SSE or
multipart, chosen by the Accept header). Sent as an ordinary request, a
subscription would run as a query and fail with a null error: this answers
such a request before execution with a coded error instead.
"""

import contextlib
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    parse,
)
from graphql import OperationType as CoreOperationType
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from focusgql.api.negotiation import wants_stream
from focusgql.api.strawberry_internals import (
    passed_validation,
    skip_validation,
    use_parsed_document,
)

MESSAGE = (
    "subscriptions run over a WebSocket at /graphql (protocol graphql-transport-ws), "
    "or over HTTP with Accept: text/event-stream (graphql-sse) or multipart/mixed"
)


class SubscriptionsOverWebSocket(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        request = getattr(context.context, "request", None)
        if (
            context.operation_type is OperationType.SUBSCRIPTION
            and not isinstance(request, WebSocket)
            and not wants_stream(getattr(request, "headers", {}).get("accept"))
        ):
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(MESSAGE, extensions={"code": "BAD_USER_INPUT"})]
            )
        yield


@lru_cache(maxsize=512)
def _parse(query: str, **options: Any) -> DocumentNode:
    return parse(query, **options)


def is_subscription(query: str | None, operation_name: str | None) -> bool:
    """Whether the document's chosen operation is a subscription (False if unsure)."""
    if not query:
        return False
    try:
        document = _parse(query)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return len(operations) == 1 and operations[0].operation is CoreOperationType.SUBSCRIPTION


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
                use_parsed_document(context, _parse(context.query, **context.parse_options))
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        clean = _validated.setdefault(context.schema, OrderedDict())
        query = context.query or ""
        if query in clean:
            skip_validation(context)
        yield
        if passed_validation(context) and query not in clean:
            clean[query] = None
            if len(clean) > VALIDATED_MAX:
                clean.popitem(last=False)
