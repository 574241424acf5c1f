"""Opaque identifiers and cursors as clients see them; malformed ones are input errors."""

import base64
import binascii
import re
from datetime import UTC, datetime

from focusgql.domain.errors import BadUserInput
from focusgql.domain.session import FocusSession
from focusgql.services.ports import PageCursor

_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def parse_session_id(value: str) -> str:
    if not _OBJECT_ID.match(value):
        raise BadUserInput("not a valid session id", field="id")
    return value


def encode_cursor(session: FocusSession) -> str:
    millis = int(session.timeline.started_at.timestamp() * 1000)
    raw = f"{millis}:{session.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> PageCursor:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        millis_text, _, sid = base64.urlsafe_b64decode(padded).decode().partition(":")
        started_at = datetime.fromtimestamp(int(millis_text) / 1000, tz=UTC)
        return PageCursor(started_at=started_at, session_id=parse_session_id(sid))
    except (ValueError, binascii.Error, OverflowError, OSError, BadUserInput) as error:
        raise BadUserInput("not a valid cursor", field="after") from error
