from pathlib import Path

from focusgql.api.schema import build_schema

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"


def test_schema_graphql_is_the_schema_the_code_exports() -> None:
    exported = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text() == exported, "run `make schema` and commit schema.graphql"
