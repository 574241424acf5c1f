"""Identifiers, cursors and instants as clients send them; malformed ones are input errors."""

import base64
import binascii
import re
from datetime import UTC, datetime

from focusgql.domain.errors import BadUserInput
from focusgql.domain.session import FocusSession
from focusgql.services.records import PageCursor

_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
MAX_CURSOR_LENGTH = 200  # ours are about 52 characters


def parse_session_id(value: str) -> str:
    # fullmatch: `$` would let a trailing newline through to the database driver.
    if not _OBJECT_ID.fullmatch(value):
        raise BadUserInput("not a valid session id", field="id")
    return value


def parse_webhook_id(value: str, field: str = "id") -> str:
    if not _OBJECT_ID.fullmatch(value):
        raise BadUserInput("not a valid webhook id", field=field)
    return value


def encode_cursor(session: FocusSession) -> str:
    millis = int(session.timeline.started_at.timestamp() * 1000)
    raw = f"{millis}:{session.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> PageCursor:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadUserInput("not a valid cursor", field="after")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        millis_text, _, sid = base64.urlsafe_b64decode(padded).decode().partition(":")
        started_at = datetime.fromtimestamp(int(millis_text) / 1000, tz=UTC)
        return PageCursor(started_at=started_at, session_id=parse_session_id(sid))
    except (ValueError, binascii.Error, OverflowError, OSError, BadUserInput) as error:
        raise BadUserInput("not a valid cursor", field="after") from error


def parse_instant(value: datetime | None, field: str) -> datetime | None:
    """An aware UTC instant; no offset means UTC. Out of range (year 0, 10000) is bad input."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError) as error:
        raise BadUserInput(f"{field} is out of range", field=field) from error
