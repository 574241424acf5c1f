"""The docs cannot drift from the code.

docs/api.md: every example is a named operation valid against schema.graphql, its
variables coerce, its sample answer has the shape its selection asks for, and every
operation in the schema has an example. docs/operations.md: every setting is listed.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    FieldNode,
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    Visitor,
    build_schema,
    get_named_type,
    parse,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values
from graphql.language import DocumentNode
from graphql.utilities import TypeInfoVisitor

from focusgql.settings import Settings

ROOT = Path(__file__).parents[2]
API_DOC = ROOT / "docs" / "api.md"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
SCHEMA_FILE = ROOT / "schema.graphql"
FENCE = re.compile(r"```(\w+)\n(.*?)```", flags=re.DOTALL)


@dataclass
class Example:
    name: str
    source: str
    document: DocumentNode
    variables: dict[str, Any] | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def operation(self) -> OperationDefinitionNode:
        (definition,) = self.document.definitions
        assert isinstance(definition, OperationDefinitionNode)
        return definition


def examples() -> list[Example]:
    """The graphql blocks in order, each with the json blocks after it: the first
    without "data" is its variables, those with "data" are sample answers."""
    found: list[Example] = []
    for language, body in FENCE.findall(API_DOC.read_text()):
        if language == "graphql":
            document = parse(body)
            operation = document.definitions[0] if len(document.definitions) == 1 else None
            assert isinstance(operation, OperationDefinitionNode) and operation.name, (
                f"each graphql block in docs/api.md is one named operation: {body[:60]!r}"
            )
            found.append(Example(operation.name.value, body, document))
        elif language == "json":
            value = json.loads(body)  # every json block is valid JSON
            if not found:
                continue  # the error format, before any operation
            if "data" in value:
                found[-1].answers.append(value)
            else:
                assert found[-1].variables is None, f"two variable blocks for {found[-1].name}"
                found[-1].variables = value
    return found


EXAMPLES = examples()


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text())


def test_examples_have_unique_names() -> None:
    names = [e.name for e in EXAMPLES]
    assert len(names) == len(set(names)) > 0


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_example_is_valid_against_the_schema(example: Example, schema: GraphQLSchema) -> None:
    assert validate(schema, example.document) == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_example_variables_coerce(example: Example, schema: GraphQLSchema) -> None:
    definitions = example.operation.variable_definitions or ()
    required = [
        d for d in definitions if isinstance(d.type, NonNullTypeNode) and d.default_value is None
    ]
    if example.variables is None:
        assert not required, f"{example.name} needs a variables block"
        return
    coerced = get_variable_values(schema, definitions, example.variables)
    assert not isinstance(coerced, list), coerced  # a list holds the errors


def assert_shape(selection: SelectionSetNode, value: Any, path: str) -> None:
    """The answer has exactly the keys the selection asks for, all the way down."""
    if value is None:
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            assert_shape(selection, item, f"{path}[{i}]")
        return
    assert isinstance(value, dict), f"{path}: expected an object"
    fields = {}
    for node in selection.selections:
        assert isinstance(node, FieldNode), "examples use plain fields only"
        fields[(node.alias or node.name).value] = node
    assert set(value) == set(fields), f"{path}: answer keys differ from the selection"
    for key, node in fields.items():
        if node.selection_set is not None:
            assert_shape(node.selection_set, value[key], f"{path}.{key}")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_sample_answers_match_the_selection(example: Example) -> None:
    for answer in example.answers:
        assert set(answer) == {"data"}
        assert_shape(example.operation.selection_set, answer["data"], "data")


def used_fields(schema: GraphQLSchema) -> set[tuple[str, str]]:
    used: set[tuple[str, str]] = set()
    info = TypeInfo(schema)

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            parent = info.get_parent_type()
            if parent is not None:
                used.add((get_named_type(parent).name, node.name.value))

    for example in EXAMPLES:
        visit(example.document, TypeInfoVisitor(info, Collect()))
    return used


def test_every_operation_in_the_schema_has_an_example(schema: GraphQLSchema) -> None:
    """Every root field, and every field anywhere that takes arguments (me.dailyStats)."""
    wanted: set[tuple[str, str]] = set()
    for type_ in schema.type_map.values():
        fields = getattr(type_, "fields", None)
        if type_.name.startswith("__") or fields is None or not hasattr(type_, "interfaces"):
            continue
        roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
        for name, definition in fields.items():
            if type_ in roots or definition.args:
                wanted.add((type_.name, name))
    missing = sorted(wanted - used_fields(schema))
    assert not missing, f"docs/api.md has no example for {missing}"


def test_every_setting_is_in_the_configuration_reference() -> None:
    documented = OPERATIONS_DOC.read_text()
    missing = [
        f"FOCUSGQL_{name.upper()}"
        for name in Settings.model_fields
        if f"`FOCUSGQL_{name.upper()}`" not in documented
    ]
    assert not missing, f"add {missing} to the configuration table in docs/operations.md"
