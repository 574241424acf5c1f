"""Every use of Strawberry's internals, in one place.

Strawberry's documented API (types, fields, field and schema extensions,
permissions, the view's get_context / on_ws_connect / process_result /
encode_json / decode_json) is used wherever it fits. What this project leans on
beyond it is reached through here only: private attributes (the core schema,
the socket under a WebSocket adapter, MaskErrors' and the view's private
hooks), the import paths of Strawberry's WebSocket handlers and stream
transports, and what setting an execution context's fields makes it do.
HOOKS lists every Strawberry method and attribute the project overrides or
calls beyond the documented API, with the parameters it relies on.

tests/api/test_strawberry_internals.py checks all of it against the installed
Strawberry and names whatever an upgrade moved or changed: run it before
raising the upper bound on strawberry-graphql in pyproject.toml.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError
from graphql import GraphQLSchema as CoreSchema
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.extensions import MaskErrors
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.http.base import BaseView
from strawberry.http.streaming import (
    HTTPStreamTransport,
    MultipartSubscriptionTransport,
    SSETransport,
)
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types import ExecutionContext
from strawberry.types.field import StrawberryField

# Strawberry's handler classes, under the names the project subclasses them by.
TransportWSHandler = BaseGraphQLTransportWSHandler
"""graphql-transport-ws (api/wsprotocol.py, api/ticking.py, api/view.py)."""
LegacyWSHandler = BaseGraphQLWSHandler
"""The legacy graphql-ws (api/wsprotocol.py)."""
WSOperation = Operation
"""One graphql-transport-ws operation (api/ticking.py)."""

__all__ = [
    "DOCUMENTED",
    "HOOKS",
    "HTTPStreamTransport",
    "Hook",
    "LegacyWSHandler",
    "LineFeedSSE",
    "MultipartSubscriptionTransport",
    "RewrittenErrors",
    "TransportWSHandler",
    "WSOperation",
    "core_schema",
    "fields_of",
    "graphql_field_names",
    "passed_validation",
    "raw_socket",
    "set_stream_heartbeat",
    "skip_validation",
    "stream_transport_for",
    "transport_ws_error",
    "use_parsed_document",
]


def core_schema(schema: BaseSchema) -> CoreSchema:
    """graphql-core's schema under a Strawberry schema (validation, the compiled paths)."""
    core: CoreSchema = schema._schema  # type: ignore[attr-defined]
    return core


def raw_socket(handler: TransportWSHandler[Any, Any]) -> WebSocket:
    """Starlette's WebSocket under a handler's adapter: its ASGI scope (the
    server's synchronous send, focusgql/corked.py) and send_text of JSON
    written once per frame."""
    adapter = handler.websocket
    assert isinstance(adapter, ASGIWebSocketAdapter)
    socket: WebSocket = adapter.ws
    return socket


class RewrittenErrors(MaskErrors):
    """MaskErrors whose per-operation errors go through `rewrite` (all of them,
    not only the ones `should_mask_error` picks): MaskErrors calls its private
    `_process_errors` on each result, streamed ones included."""

    def rewrite(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        raise NotImplementedError

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return self.rewrite(errors)


def stream_transport_for(
    view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, Any], headers: Mapping[str, str]
) -> HTTPStreamTransport | None:
    """The stream transport (SSE, multipart) Strawberry picks for these request
    headers, or None for a plain answer."""
    transport: HTTPStreamTransport | None = view._get_stream_transport_from_headers(headers)
    return transport


def set_stream_heartbeat(view: GraphQL[Any, Any], seconds: float) -> None:
    """Strawberry's stream transports for the view, each beating every `seconds`
    (they are made once per view, on first use, from stream_transport_classes_by_protocol)."""
    transports: dict[str, HTTPStreamTransport] = view._stream_transport_map
    for transport in transports.values():
        transport.heartbeat_interval = seconds


class LineFeedSSE(SSETransport):
    """Strawberry's SSE with LF line ends, which the SSE standard allows as well
    as CRLF: urql's parser splits events on a blank line of LFs only, and with
    CRLF never sees one."""

    def encode_event(self, event: str, data: str | None = None) -> str:
        return super().encode_event(event, data).replace("\r\n", "\n")

    def encode_comment(self, comment: str) -> str:
        return super().encode_comment(comment).replace("\r\n", "\n")


def transport_ws_error(operation_id: str, errors: list[Any]) -> ErrorMessage:
    """graphql-transport-ws's `error` message, as the handler's send_message takes it."""
    return ErrorMessage(id=operation_id, type="error", payload=errors)


def use_parsed_document(context: ExecutionContext, document: DocumentNode) -> None:
    """Run `document` instead of parsing the query again (from on_parse)."""
    context.graphql_document = document


def skip_validation(context: ExecutionContext) -> None:
    """From on_validate, before yielding: Strawberry validates only while
    `pre_execution_errors` is None, so an empty list means "validated, clean"."""
    context.pre_execution_errors = []


def passed_validation(context: ExecutionContext) -> bool:
    """After on_validate's yield: validation ran (or was skipped) and found nothing."""
    return context.pre_execution_errors == []


def fields_of(cls: type) -> list[StrawberryField]:
    """The fields of a Strawberry type (or input), as Strawberry defined them."""
    fields: list[StrawberryField] = cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
    return fields


def graphql_field_names(cls: type) -> dict[str, str]:
    """GraphQL field name -> Python attribute name, for a Strawberry type
    (auto camel case, unless the field names itself)."""
    return {_graphql_name(field): str(field.python_name) for field in fields_of(cls)}


def _graphql_name(field: Any) -> str:
    if field.graphql_name:
        return str(field.graphql_name)
    head, *rest = str(field.python_name).split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True, slots=True)
class Hook:
    """A Strawberry method or attribute the project overrides or calls beyond
    the documented API. `params`: the parameter names relied on, in order (None
    for an attribute); `exact`: those and no others (else: at least those)."""

    owner: type
    name: str
    params: tuple[str, ...] | None
    exact: bool = True


DOCUMENTED = frozenset(
    {
        # Schema and field extensions, permissions, the schema's error logging.
        "on_operation",
        "on_parse",
        "on_validate",
        "on_execute",
        "resolve",
        "resolve_async",
        "apply",
        "has_permission",
        "process_errors",
        # The view's documented customisation points.
        "get_context",
        "get_root_value",
        "process_result",
        "on_ws_connect",
        "encode_json",
        "decode_json",
    }
)
"""Hooks Strawberry's documentation says to override: the test checks only that
an override's parameters still match Strawberry's."""

_MESSAGE = ("self", "message")
_VIEW = AsyncBaseHTTPView

HOOKS: tuple[Hook, ...] = (
    # The core schema and the socket under the adapter.
    Hook(ASGIWebSocketAdapter, "__init__", ("self", "view", "request", "response")),
    Hook(MaskErrors, "_process_errors", ("self", "errors")),
    # The ASGI view (api/view.py): construction, hooks overridden, methods called.
    Hook(
        GraphQL,
        "__init__",
        (
            "self",
            "schema",
            "graphql_ide",
            "allowed_origins",
            "subscription_protocols",
            "connection_init_wait_timeout",
            "max_subscriptions_per_connection",
        ),
        exact=False,
    ),
    Hook(GraphQL, "__call__", ("self", "scope", "receive", "send")),
    Hook(GraphQL, "get_sub_response", ("self", "request")),
    Hook(GraphQL, "create_response", ("self", "response_data", "sub_response")),
    Hook(GraphQL, "graphql_transport_ws_handler_class", None),
    Hook(GraphQL, "graphql_ws_handler_class", None),
    Hook(_VIEW, "stream_transport_classes_by_protocol", None),
    Hook(_VIEW, "run", ("self", "request", "context", "root_value")),
    Hook(_VIEW, "parse_http_body", ("self", "request")),
    Hook(
        _VIEW,
        "execute_single",
        (
            "self",
            "request",
            "request_adapter",
            "sub_response",
            "context",
            "root_value",
            "request_data",
        ),
    ),
    Hook(_VIEW, "should_render_graphql_ide", ("self", "request")),
    Hook(_VIEW, "_get_stream_transport_from_headers", ("self", "headers")),
    Hook(BaseView, "graphql_ide_html", None),
    Hook(BaseView, "_stream_transport_map", None),
    Hook(HTTPStreamTransport, "heartbeat_interval", None),
    Hook(HTTPStreamTransport, "protocol", None),
    Hook(SSETransport, "encode_event", ("self", "event", "data")),
    Hook(SSETransport, "encode_comment", ("self", "comment")),
    # graphql-transport-ws (api/wsprotocol.py, api/ticking.py, api/view.py).
    Hook(
        TransportWSHandler,
        "__init__",
        (
            "self",
            "view",
            "websocket",
            "context",
            "root_value",
            "schema",
            "connection_init_wait_timeout",
            "max_subscriptions_per_connection",
        ),
    ),
    Hook(TransportWSHandler, "handle", ("self",)),
    Hook(TransportWSHandler, "handle_message", _MESSAGE),
    Hook(TransportWSHandler, "handle_connection_init", _MESSAGE),
    Hook(TransportWSHandler, "handle_subscribe", _MESSAGE),
    Hook(TransportWSHandler, "handle_invalid_message", ("self", "error_message")),
    Hook(TransportWSHandler, "run_operation", ("self", "operation")),
    Hook(TransportWSHandler, "send_message", _MESSAGE),
    Hook(TransportWSHandler, "cleanup_operation", ("self", "operation_id")),
    Hook(TransportWSHandler, "shutdown", ("self",)),
    Hook(WSOperation, "send_operation_message", _MESSAGE),
    Hook(WSOperation, "send_initial_errors", ("self", "errors")),
    # The legacy graphql-ws (api/wsprotocol.py).
    Hook(
        LegacyWSHandler,
        "__init__",
        (
            "self",
            "view",
            "websocket",
            "context",
            "root_value",
            "schema",
            "keep_alive",
            "keep_alive_interval",
            "max_subscriptions_per_connection",
        ),
    ),
    Hook(LegacyWSHandler, "handle", ("self",)),
    Hook(LegacyWSHandler, "handle_message", _MESSAGE),
    Hook(LegacyWSHandler, "handle_connection_init", _MESSAGE),
    Hook(LegacyWSHandler, "cleanup", ("self",)),
    # What an execution context's fields make Strawberry do (api/transport.py).
    Hook(ExecutionContext, "graphql_document", None),
    Hook(ExecutionContext, "pre_execution_errors", None),
    Hook(ExecutionContext, "parse_options", None),
)
"""Checked by tests/api/test_strawberry_internals.py, with the instance
attributes the handlers are read through (view, websocket, context,
operations, connection_acknowledged, ...)."""
