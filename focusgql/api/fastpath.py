"""Ticks and signals without a GraphQL execution each.

Most live dashboards subscribe to `sessionTicks` and report `recordActivity`
(and now and then `recordTabSwitch`) with a plain list of scalar fields. For
such a document the selection is compiled once (and cached by its text): each
payload is then built straight from the frame, serialized once per frame and
selection, and shared by everyone asking for the same fields. Anything else
(fragments, directives, nested objects such as `scoreBreakdown`, the legacy
protocol) takes Strawberry's normal execution, and tests check the two give
identical payloads, errors included.
"""

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from json.encoder import encode_basestring_ascii
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
    parse,
    validate,
)
from graphql import GraphQLSchema as CoreSchema

from focusgql.api.strawberry_internals import graphql_field_names
from focusgql.api.types import FRAME_FIELDS, FocusSession
from focusgql.services.frames import Frame

MAX_SELECTIONS = 64
CACHE_SIZE = 256

# The root fields compiled, by operation type; each takes one `sessionId`,
# but mySession, which takes none (it follows the person signed in).
PERSON_ROOT = "mySession"
ROOTS = {
    OperationType.SUBSCRIPTION: frozenset({"sessionTicks", PERSON_ROOT}),
    OperationType.MUTATION: frozenset({"recordActivity", "recordTabSwitch"}),
}


Reader = Callable[[Frame], str]
"""A leaf field's JSON text, read off a frame."""


def _literal(value: object) -> str:
    """`value` as JSON text, as Strawberry's scalars serialize it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, str):
        return encode_basestring_ascii(value)  # what json.dumps does with a str
    if isinstance(value, datetime):
        return encode_basestring_ascii(value.isoformat())  # Strawberry's DateTime
    if isinstance(value, Enum):
        return encode_basestring_ascii(value.name)
    return json.dumps(value, separators=(",", ":"))


def _readers(core: CoreSchema) -> dict[str, Reader]:
    """GraphQL leaf field name -> its JSON text off a frame."""
    python_names = graphql_field_names(FocusSession)
    object_type = core.get_type("FocusSession")
    assert isinstance(object_type, GraphQLObjectType)
    readers: dict[str, Reader] = {}
    for name, field in object_type.fields.items():
        named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        read = FRAME_FIELDS.get(python_names.get(name, ""))
        if isinstance(named, GraphQLScalarType | GraphQLEnumType) and read is not None:
            readers[name] = _reader(read)
    return readers


def _reader(read: Callable[[Frame], object]) -> Reader:
    def text(frame: Frame) -> str:
        return _literal(read(frame))

    return text


# eq=False: a plan is a key of every frame's cache of encodings, and the plan
# cache hands out one object per document, so identity is equality and its hash
# is not recomputed from every field on each lookup.
@dataclass(frozen=True, slots=True, eq=False)
class TickPlan:
    root_key: str
    selections: tuple[tuple[str, str], ...]
    """(response key, field name) in document order."""
    literal_id: str | None
    variable: str | None
    field: str = "sessionTicks"
    """The root field: sessionTicks, recordActivity or recordTabSwitch."""
    location: tuple[int, int] = (1, 1)
    """Line and column of the root field, for errors."""
    head: str = dataclasses.field(init=False, compare=False)
    """The payload's JSON text up to the first field."""
    keyed: tuple[tuple[str, str], ...] = dataclasses.field(init=False, compare=False)
    """(`"key":` as JSON text, field name), in document order."""

    def __post_init__(self) -> None:
        head = '{"data":{' + json.dumps(self.root_key) + ":{"
        keyed = tuple((json.dumps(key) + ":", name) for key, name in self.selections)
        object.__setattr__(self, "head", head)
        object.__setattr__(self, "keyed", keyed)

    @property
    def is_mutation(self) -> bool:
        return self.field not in ("sessionTicks", PERSON_ROOT)

    @property
    def follows_person(self) -> bool:
        return self.field == PERSON_ROOT

    @property
    def shows_activity_time(self) -> bool:
        return any(name == "lastActivityAt" for _, name in self.selections)

    def error_payload(self, error: GraphQLError | Any) -> str:
        """The response for a resolver error, as Strawberry formats it."""
        line, column = self.location
        formatted = {
            "message": str(error),
            "locations": [{"line": line, "column": column}],
            "path": [self.root_key],
            "extensions": error.extensions,
        }
        return json.dumps({"data": None, "errors": [formatted]}, separators=(",", ":"))

    def session_id(self, variables: dict[str, object] | None) -> str | None:
        if self.literal_id is not None:
            return self.literal_id
        value = (variables or {}).get(self.variable or "")
        return value if isinstance(value, str) else None


class TickPlans:
    """Compiled plain tick selections. Anything over the schema's limits is left
    to Strawberry's execution, which refuses it with the usual coded error."""

    def __init__(
        self, core: CoreSchema, max_aliases: int | None = None, max_tokens: int | None = None
    ) -> None:
        self.core = core
        self.max_aliases = max_aliases
        self.max_tokens = max_tokens
        self.readers = _readers(core)
        self._plans: OrderedDict[tuple[str, str | None], TickPlan | None] = OrderedDict()

    def get(self, query: str, operation_name: str | None) -> TickPlan | None:
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        plan = self._compile(query, operation_name)
        self._plans[key] = plan
        if len(self._plans) > CACHE_SIZE:
            self._plans.popitem(last=False)
        return plan

    def encode(self, plan: TickPlan, frame: Frame | None) -> str:
        """The `next` payload for this plan, built once per frame and selection
        (None: mySession while nothing runs)."""
        if frame is None:
            return json.dumps({"data": {plan.root_key: None}}, separators=(",", ":"))
        cached = frame.encoded.get(plan)
        if cached is not None:
            return cached
        readers = self.readers
        encoded = (
            plan.head
            + ",".join(
                key + ('"FocusSession"' if name == "__typename" else readers[name](frame))
                for key, name in plan.keyed
            )
            + "}}}"
        )
        frame.encoded[plan] = encoded
        return encoded

    def _compile(self, query: str, operation_name: str | None) -> TickPlan | None:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return None
        if len(document.definitions) != 1 or validate(self.core, document):
            return None
        (operation,) = document.definitions
        if (
            not isinstance(operation, OperationDefinitionNode)
            or operation.operation not in ROOTS
            or operation.directives
            or (
                operation_name is not None
                and getattr(operation.name, "value", None) != operation_name
            )
            or len(operation.selection_set.selections) != 1
        ):
            return None
        (root,) = operation.selection_set.selections
        if (
            not isinstance(root, FieldNode)
            or root.name.value not in ROOTS[operation.operation]
            or root.directives
        ):
            return None
        literal = variable = None
        if root.name.value != PERSON_ROOT:
            # Exactly sessionId: a signal with `at` or `signalId` is a replay,
            # which takes the resolver's (slower) path.
            arguments = tuple(root.arguments or ())
            if len(arguments) != 1 or arguments[0].name.value != "sessionId":
                return None
            value = arguments[0].value
            literal = value.value if isinstance(value, StringValueNode) else None
            variable = value.name.value if isinstance(value, VariableNode) else None
        if root.selection_set is None:
            return None
        selections: list[tuple[str, str]] = []
        for node in root.selection_set.selections:
            if (
                not isinstance(node, FieldNode)
                or node.directives
                or node.selection_set is not None
                or (node.name.value not in self.readers and node.name.value != "__typename")
            ):
                return None
            selections.append(((node.alias or node.name).value, node.name.value))
        aliases = sum(node.alias is not None for node in (root, *root.selection_set.selections))  # type: ignore[attr-defined]
        if len(selections) > MAX_SELECTIONS or (
            self.max_aliases is not None and aliases > self.max_aliases
        ):
            return None
        location = root.loc.source.get_location(root.loc.start) if root.loc else None
        return TickPlan(
            root_key=(root.alias or root.name).value,
            selections=tuple(selections),
            literal_id=literal,
            variable=variable,
            field=root.name.value,
            location=(location.line, location.column) if location else (1, 1),
        )
