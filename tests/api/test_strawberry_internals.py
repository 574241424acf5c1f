"""The Strawberry internals the project uses are still there and still behave.

Everything outside Strawberry's documented API is reached through
focusgql/api/strawberry_internals.py; these tests check it against the
installed Strawberry and name what an upgrade moved. Run them before raising
the upper bound on strawberry-graphql in pyproject.toml.
"""

import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError, parse
from graphql import GraphQLSchema as CoreSchema
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.extensions import SchemaExtension

import focusgql.api
from focusgql.api import strawberry_internals as internals
from focusgql.api.schema import build_schema
from focusgql.api.strawberry_internals import (
    DOCUMENTED,
    HOOKS,
    Hook,
    LegacyWSHandler,
    LineFeedSSE,
    RewrittenErrors,
    TransportWSHandler,
    WSOperation,
)


def _where(owner: type, name: str) -> str:
    return f"Strawberry's {owner.__module__}.{owner.__qualname__}.{name}"


def _declares(owner: type, name: str) -> bool:
    """An attribute, method or (annotated or dataclass) field of the class."""
    if hasattr(owner, name):
        return True
    if dataclasses.is_dataclass(owner) and name in {f.name for f in dataclasses.fields(owner)}:
        return True
    return any(name in getattr(base, "__annotations__", {}) for base in owner.__mro__)


def _parameters(function: Any) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters)


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: f"{h.owner.__qualname__}.{h.name}")
def test_each_internal_is_where_strawberry_had_it(hook: Hook) -> None:
    where = _where(hook.owner, hook.name)
    if not _declares(hook.owner, hook.name):
        pytest.fail(f"{where} is gone (used through focusgql/api/strawberry_internals.py)")
    if hook.params is None:
        return
    found = _parameters(getattr(hook.owner, hook.name))
    if hook.exact and found != hook.params:
        pytest.fail(f"{where} changed its parameters: {hook.params} expected, {found} found")
    missing = [name for name in hook.params if name not in found]
    if missing:
        pytest.fail(f"{where} no longer takes {missing} (it takes {found})")


def _project_classes() -> Iterator[type]:
    for module_info in pkgutil.iter_modules(focusgql.api.__path__):
        module = importlib.import_module(f"focusgql.api.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                yield value


def _strawberry_owner(cls: type, name: str) -> type | None:
    """The first Strawberry class above `cls` with `name`, if any."""
    for base in cls.__mro__[1:]:
        if base.__module__.split(".")[0] == "strawberry" and _declares(base, name):
            return base
    return None


MACHINERY = frozenset({"__init__", "_abc_impl", "_is_protocol", "_auto_schema_directive"})
"""Not ours to check: constructors differ by design; the rest abc, typing and
BasePermission.__init_subclass__ set on every subclass."""


def _overrides() -> list[tuple[type, str, type]]:
    found = []
    for cls in _project_classes():
        for name in vars(cls):
            if name in MACHINERY or (
                name.startswith("__") and name.endswith("__") and name != "__call__"
            ):
                continue
            owner = _strawberry_owner(cls, name)
            if owner is not None:
                found.append((cls, name, owner))
    return found


OVERRIDES = _overrides()


def test_the_overrides_are_found() -> None:
    names = {f"{cls.__name__}.{name}" for cls, name, _ in OVERRIDES}
    assert {"TickingTransportWSHandler.run_operation", "FocusGraphQL.get_context"} <= names


@pytest.mark.parametrize(
    ("cls", "name", "owner"), OVERRIDES, ids=[f"{c.__name__}.{n}" for c, n, _ in OVERRIDES]
)
def test_each_override_matches_strawberry(cls: type, name: str, owner: type) -> None:
    """Every Strawberry method or attribute a focusgql.api class overrides is
    either documented for overriding or listed in HOOKS, and takes what
    Strawberry's takes; a new Strawberry attribute our class shadows fails here."""
    where = _where(owner, name)
    listed = any(h.name == name and issubclass(owner, h.owner) for h in HOOKS) or any(
        h.name == name and h.owner in cls.__mro__ for h in HOOKS
    )
    if name not in DOCUMENTED and not listed:
        pytest.fail(
            f"{cls.__module__}.{cls.__qualname__}.{name} overrides {where}, which is not "
            "documented API: list it in strawberry_internals.HOOKS"
        )
    ours, theirs = vars(cls)[name], inspect.getattr_static(owner, name)
    if inspect.isfunction(ours) and inspect.isfunction(theirs):
        if _parameters(ours) != _parameters(theirs):
            pytest.fail(
                f"{cls.__qualname__}.{name} takes {_parameters(ours)} but {where} takes "
                f"{_parameters(theirs)}"
            )
        # Documented hooks may be either (has_permission); internal ones are awaited or not.
        if name not in DOCUMENTED and (
            inspect.iscoroutinefunction(ours) != inspect.iscoroutinefunction(theirs)
        ):
            pytest.fail(f"{where} and {cls.__qualname__}.{name} differ in being async")


def _transport_handler() -> TransportWSHandler[Any, Any]:
    return TransportWSHandler(
        view=object(),  # type: ignore[arg-type]
        websocket=object(),  # type: ignore[arg-type]
        context=None,
        root_value=None,
        schema=object(),  # type: ignore[arg-type]
        connection_init_wait_timeout=timedelta(seconds=1),
    )


def _missing(instance: object, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not hasattr(instance, name)]


def test_the_handlers_keep_the_attributes_read_off_them() -> None:
    transport = _transport_handler()
    missing = _missing(
        transport, ("view", "websocket", "context", "operations", "connection_acknowledged")
    )
    assert not missing, f"Strawberry's graphql-transport-ws handler lost {missing}"
    legacy = LegacyWSHandler(
        view=object(),  # type: ignore[arg-type]
        websocket=object(),  # type: ignore[arg-type]
        context=None,
        root_value=None,
        schema=object(),  # type: ignore[arg-type]
        keep_alive=False,
        keep_alive_interval=None,
    )
    missing = _missing(legacy, ("view", "websocket", "context", "connection_acknowledged"))
    assert not missing, f"Strawberry's graphql-ws handler lost {missing}"
    operation = WSOperation(transport, "1", "{ __typename }", None, None)
    missing = _missing(operation, ("id", "query", "variables", "operation_name", "completed"))
    assert not missing, f"Strawberry's graphql-transport-ws Operation lost {missing}"


def test_the_socket_under_the_adapter() -> None:
    socket = object()
    adapter = ASGIWebSocketAdapter(object(), object(), socket)  # type: ignore[arg-type]
    handler = _transport_handler()
    handler.websocket = adapter
    assert internals.raw_socket(handler) is socket, "ASGIWebSocketAdapter.ws is not the socket"


def test_the_core_schema_and_the_view_stream_transports() -> None:
    schema = build_schema()
    assert isinstance(internals.core_schema(schema), CoreSchema), "Schema._schema is gone"
    view: GraphQL[Any, Any] = GraphQL(
        schema, subscription_protocols=("graphql-transport-ws", "graphql-sse", "multipart")
    )
    assert hasattr(view, "connection_init_wait_timeout"), "the view lost its init timeout"
    internals.set_stream_heartbeat(view, 0.25)
    sse = internals.stream_transport_for(view, {"accept": "text/event-stream"})
    assert sse is not None, "_get_stream_transport_from_headers found no SSE transport"
    assert sse.heartbeat_interval == 0.25, "the view's _stream_transport_map is made anew"
    assert internals.stream_transport_for(view, {"accept": "application/json"}) is None


def test_the_view_attributes_focusgql_adds_shadow_nothing() -> None:
    view: GraphQL[Any, Any] = GraphQL(build_schema())
    ours = (
        "stream_heartbeat_seconds",
        "persisted",
        "services",
        "clock",
        "tick_plans",
        "signal_answers",
        "tokens",
        "_ide_page",
    )
    taken = [name for name in ours if hasattr(view, name)]
    assert not taken, f"Strawberry's view now has {taken}, which FocusGraphQL sets"


def test_line_feed_sse() -> None:
    encoded = LineFeedSSE().encode_event("next", "{}") + LineFeedSSE().encode_comment("ping")
    assert "\r" not in encoded and "\n\n" in encoded, "SSETransport's encoders changed"


@strawberry.type
class _Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("inside")


class _Parsed(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        internals.use_parsed_document(self.execution_context, parse("{ __typename }"))
        yield


class _Unvalidated(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        internals.skip_validation(self.execution_context)
        yield


seen_validation: list[bool] = []


class _Validated(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        seen_validation.append(internals.passed_validation(self.execution_context))


class _Tagged(RewrittenErrors):
    def rewrite(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [GraphQLError("rewritten", extensions={"code": "TAGGED"}) for _ in errors]


async def test_a_document_parsed_by_an_extension_is_the_one_run() -> None:
    schema = strawberry.Schema(query=_Query, extensions=[_Parsed])
    result = await schema.execute("{ hello }")
    assert result.data == {"__typename": "Query"}, "graphql_document set in on_parse is ignored"


async def test_an_empty_pre_execution_errors_skips_validation() -> None:
    unused_variable = "query($a: String) { hello }"
    plain = await strawberry.Schema(query=_Query).execute(unused_variable)
    assert plain.errors, "the document should fail validation"
    skipped = await strawberry.Schema(query=_Query, extensions=[_Unvalidated]).execute(
        unused_variable
    )
    assert skipped.errors is None, "pre_execution_errors = [] no longer skips validation"
    seen_validation.clear()
    schema = strawberry.Schema(query=_Query, extensions=[_Validated])
    await schema.execute("{ hello }")
    await schema.execute(unused_variable)
    assert seen_validation == [True, False], "pre_execution_errors no longer holds the outcome"


async def test_mask_errors_hands_every_error_to_rewrite() -> None:
    schema = strawberry.Schema(query=_Query, extensions=[_Tagged])
    result = await schema.execute("{ broken }")
    assert result.errors is not None
    assert [e.extensions for e in result.errors] == [{"code": "TAGGED"}], (
        "MaskErrors no longer routes errors through _process_errors"
    )
