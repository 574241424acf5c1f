"""A person using the service, and the rules for what they may call themselves."""

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from focusgql.domain.errors import BadUserInput

EMAIL_MAX_LENGTH = 254
PASSWORD_LENGTH_RANGE = (8, 256)
DISPLAY_NAME_MAX_LENGTH = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    display_name: str | None
    timezone: str
    created_at: datetime
    daily_goal_minutes: int = 0
    """Focus minutes aimed for each local day; 0 for no goal (domain/goals.py)."""
    token_generation: int = 0
    """Tokens carry the generation they were issued in; signing out everywhere
    (or a new password) moves it on, so every older token stops working."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively; the lower-cased form is the key."""
    normalized = email.strip().lower()
    if len(normalized) > EMAIL_MAX_LENGTH or not _EMAIL.match(normalized):
        raise BadUserInput("email is not a valid address", field="email")
    return normalized


def check_password(password: str) -> str:
    low, high = PASSWORD_LENGTH_RANGE
    if not low <= len(password) <= high:
        raise BadUserInput(f"password must be {low} to {high} characters", field="password")
    return password


def check_display_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if not name or len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise BadUserInput(
            f"displayName must be 1 to {DISPLAY_NAME_MAX_LENGTH} characters", field="displayName"
        )
    return name


def check_timezone(name: str) -> str:
    try:
        if len(name) > 64 or name != name.strip():
            raise ValueError(name)
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError) as error:
        raise BadUserInput(
            "timezone must be an IANA name such as Europe/Paris", field="timezone"
        ) from error
    return name
