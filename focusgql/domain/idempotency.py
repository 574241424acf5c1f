"""Idempotency keys: a client-made key makes a retried mutation safe.

A mutation sent with a key (`clientMutationId`) is answered once: a retry with
the same key within the key's lifetime (24 h) gets the first answer again and
changes nothing; the same key with a different request (another mutation, or
other arguments) is a conflict, since the client has mixed up two requests.
Keys belong to one person: two people may use the same key. A request is the
same when its fingerprint is: the mutation's name and its arguments, in a
canonical JSON form (key order and whitespace do not matter).
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from enum import Enum

from focusgql.domain.errors import BadUserInput

KEY_LIFETIME = timedelta(hours=24)
KEY_LENGTH_RANGE = (1, 128)
KEY_FIELD = "clientMutationId"


def check_key(key: str) -> str:
    low, high = KEY_LENGTH_RANGE
    if not low <= len(key) <= high or not key.isprintable():
        raise BadUserInput(
            f"{KEY_FIELD} must be {low} to {high} printable characters", field=KEY_FIELD
        )
    return key


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not part of a request: {type(value).__name__}")


def fingerprint(operation: str, arguments: Mapping[str, object]) -> str:
    """The same for the same request, whatever the order of its arguments."""
    canonical = json.dumps(
        {"operation": operation, "arguments": arguments},
        sort_keys=True,
        separators=(",", ":"),
        default=_plain,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
