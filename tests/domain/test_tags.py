"""Tag normalization against a plain restatement of the rule."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from focusgql.domain.errors import BadUserInput
from focusgql.domain.tags import MAX_TAGS, TAG_MAX_LENGTH, normalize_tags


def oracle(tags: list[str]) -> tuple[str, ...] | None:
    """The rule read literally: None where it must be refused."""
    kept: list[str] = []
    for tag in tags:
        t = tag.strip().lower()
        if not t or len(t) > TAG_MAX_LENGTH:
            return None
        if t not in kept:
            kept.append(t)
    return tuple(kept) if len(kept) <= MAX_TAGS else None


words = st.text(alphabet=st.sampled_from(" aAbBcC-éÉ\t"), max_size=45)


@given(st.lists(words, max_size=14))
def test_normalize_matches_the_rule(tags: list[str]) -> None:
    expected = oracle(tags)
    if expected is None:
        with pytest.raises(BadUserInput) as error:
            normalize_tags(tags)
        assert error.value.extensions["field"] == "tags"
    else:
        assert normalize_tags(tags) == expected
        assert normalize_tags(expected) == expected  # idempotent


def test_case_and_spaces_collapse() -> None:
    assert normalize_tags([" Work ", "work", "WORK", "Deep Work"]) == ("work", "deep work")
