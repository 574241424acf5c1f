"""GraphQL input types."""

from datetime import datetime
from enum import Enum
from typing import Optional

import strawberry

from focusgql.api.types import SessionStatus


@strawberry.input
class RegisterInput:
    email: str
    password: str = strawberry.field(description="8 to 256 characters.")
    display_name: Optional[str] = None
    timezone: str = strawberry.field(
        default="UTC", description="IANA timezone for daily streaks, e.g. Europe/Paris."
    )


@strawberry.input
class UpdateProfileInput:
    display_name: Optional[str] = None
    timezone: Optional[str] = None
    daily_goal_minutes: Optional[int] = strawberry.field(
        default=None, description="Focus minutes aimed for each local day: 0 (none) to 1440."
    )


@strawberry.input
class CreateSessionInput:
    target_minutes: int = strawberry.field(description="1 to 1440.")
    content_id: Optional[str] = strawberry.field(
        default=None, description="What the person is focusing on; up to 200 characters."
    )
    idle_threshold_seconds: Optional[int] = strawberry.field(
        default=None,
        description="Seconds without activity before ticks count as idle: 5 to 3600; "
        "the server default (15) when omitted.",
    )
    tags: Optional[list[str]] = strawberry.field(
        default=None,
        description="Up to 10 labels of 1 to 40 characters; trimmed, case-insensitive "
        "(kept lower-cased), duplicates dropped.",
    )


@strawberry.input
class UpdateSessionInput:
    target_minutes: Optional[int] = None
    content_id: Optional[str] = None
    status: Optional[SessionStatus] = strawberry.field(
        default=None, description="PAUSED pauses, ACTIVE resumes; end with endSession."
    )
    tags: Optional[list[str]] = strawberry.field(
        default=None,
        description="Replaces the session's tags (an empty list clears them). The only "
        "change an ended session accepts.",
    )


@strawberry.enum(description="What a client reported.")
class SignalKind(Enum):
    ACTIVITY = "ACTIVITY"
    TAB_SWITCH = "TAB_SWITCH"


@strawberry.input(description="One activity or tab switch from a client's offline queue.")
class SignalInput:
    kind: SignalKind
    at: datetime = strawberry.field(
        description="When it happened, by the client's clock (see recordActivity's `at`)."
    )
    signal_id: Optional[str] = strawberry.field(
        default=None,
        description="An id the client made for it (1 to 128 characters): the same id "
        "again counts once.",
    )
