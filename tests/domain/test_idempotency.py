"""Fingerprints of keyed requests: equal exactly when the requests are, checked
against the plain comparison of the requests as an oracle."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from focusgql.domain.errors import BadUserInput
from focusgql.domain.idempotency import check_key, fingerprint

scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
arguments = st.dictionaries(st.text(max_size=4), values, max_size=4)
operations = st.sampled_from(["createSession", "endSession"])


def shuffled(value: Any) -> Any:
    """The same value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: shuffled(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [shuffled(v) for v in value]
    return value


@given(operations, arguments, operations, arguments)
def test_fingerprints_are_equal_exactly_when_requests_are(
    op_a: str, args_a: dict[str, Any], op_b: str, args_b: dict[str, Any]
) -> None:
    same = op_a == op_b and args_a == args_b and repr(args_a) == repr(args_b)
    if same:
        assert fingerprint(op_a, args_a) == fingerprint(op_b, shuffled(args_b))
    elif op_a != op_b or args_a != args_b:
        assert fingerprint(op_a, args_a) != fingerprint(op_b, args_b)


@pytest.mark.parametrize("key", ["", "x" * 129, "line\nbreak"])
def test_malformed_keys(key: str) -> None:
    with pytest.raises(BadUserInput):
        check_key(key)


def test_keys_up_to_128_printable_characters() -> None:
    assert check_key("x" * 128) == "x" * 128
    assert check_key("retry-2026-03-02T09:00:00Z#1") == "retry-2026-03-02T09:00:00Z#1"
