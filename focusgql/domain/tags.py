"""Tags: the labels a person groups sessions by (a project, a course, a client).

A session carries at most MAX_TAGS tags. Each is trimmed and compared
case-insensitively, so it is stored lower-cased (`casefold` would also fold
"ß" to "ss", which a person reading their own tags back would not expect);
after trimming it is 1 to TAG_MAX_LENGTH characters. Duplicates collapse into
one, keeping the order first given, so a set typed twice reads back the same.
"""

from collections.abc import Iterable

from focusgql.domain.errors import BadUserInput

MAX_TAGS = 10
TAG_MAX_LENGTH = 40


def normalize_tag(tag: str, field: str = "tag") -> str:
    normalized = tag.strip().lower()
    if not 1 <= len(normalized) <= TAG_MAX_LENGTH:
        raise BadUserInput(f"a tag must be 1 to {TAG_MAX_LENGTH} characters", field=field)
    return normalized


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """The tags as stored; BAD_USER_INPUT when one is empty or too long, or
    when more than MAX_TAGS different ones remain."""
    unique = tuple(dict.fromkeys(normalize_tag(t, "tags") for t in tags))
    if len(unique) > MAX_TAGS:
        raise BadUserInput(f"a session has at most {MAX_TAGS} tags", field="tags")
    return unique
