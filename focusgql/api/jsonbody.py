"""Decoding request JSON (HTTP bodies and WebSocket messages) so bad input is a client error.

`json.loads` fails in more ways than `JSONDecodeError`: a number past Python's
int-from-text limit raises ValueError, deep nesting RecursionError, bytes that
are not UTF-8 UnicodeDecodeError. And it accepts `"\\ud800"`, a lone surrogate
no database driver or hasher can encode. Strawberry turns `JSONDecodeError`
into HTTP 400 and WebSocket close 4400, so every such failure becomes one.
"""

import json


def decode_request_json(data: str | bytes) -> object:
    try:
        decoded = json.loads(data)
    except (ValueError, RecursionError) as error:
        if isinstance(error, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError("not valid JSON", "", 0) from error
    if _has_lone_surrogate(decoded):
        raise json.JSONDecodeError("a string holds an unpaired surrogate", "", 0)
    return decoded


def _has_lone_surrogate(value: object) -> bool:
    pending = [value]  # a loop, not recursion: the decoded value may nest deeply
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
