"""GraphQL input types."""

from datetime import datetime
from enum import Enum

import strawberry

from focusgql.api.types import SessionStatus
from focusgql.domain.goals import GOAL_MINUTES_RANGE
from focusgql.domain.replay import SIGNAL_ID_LENGTH_RANGE
from focusgql.domain.session import (
    CONTENT_ID_MAX_LENGTH,
    DEFAULT_IDLE_THRESHOLD,
    IDLE_THRESHOLD_RANGE,
    TARGET_MINUTES_RANGE,
)
from focusgql.domain.tags import MAX_TAGS, TAG_MAX_LENGTH
from focusgql.domain.user import PASSWORD_LENGTH_RANGE


def _range(bounds: tuple[int, int]) -> str:
    return f"{bounds[0]} to {bounds[1]}"


@strawberry.input
class RegisterInput:
    email: str
    password: str = strawberry.field(description=f"{_range(PASSWORD_LENGTH_RANGE)} characters.")
    display_name: str | None = None
    timezone: str = strawberry.field(
        default="UTC", description="IANA timezone for daily streaks, e.g. Europe/Paris."
    )


@strawberry.input
class UpdateProfileInput:
    display_name: str | None = None
    timezone: str | None = None
    daily_goal_minutes: int | None = strawberry.field(
        default=None,
        description="Focus minutes aimed for each local day: "
        f"{GOAL_MINUTES_RANGE[0]} (none) to {GOAL_MINUTES_RANGE[1]}.",
    )


@strawberry.input
class CreateSessionInput:
    target_minutes: int = strawberry.field(description=f"{_range(TARGET_MINUTES_RANGE)}.")
    content_id: str | None = strawberry.field(
        default=None,
        description=f"What the person is focusing on; up to {CONTENT_ID_MAX_LENGTH} characters.",
    )
    idle_threshold_seconds: int | None = strawberry.field(
        default=None,
        description="Seconds without activity before ticks count as idle: "
        f"{_range(IDLE_THRESHOLD_RANGE)}; the server default ({DEFAULT_IDLE_THRESHOLD}) "
        "when omitted.",
    )
    tags: list[str] | None = strawberry.field(
        default=None,
        description=f"Up to {MAX_TAGS} labels of 1 to {TAG_MAX_LENGTH} characters; "
        "trimmed, case-insensitive "
        "(kept lower-cased), duplicates dropped.",
    )


@strawberry.input
class UpdateSessionInput:
    target_minutes: int | None = None
    content_id: str | None = None
    status: SessionStatus | None = strawberry.field(
        default=None, description="PAUSED pauses, ACTIVE resumes; end with endSession."
    )
    tags: list[str] | None = strawberry.field(
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
    signal_id: str | None = strawberry.field(
        default=None,
        description=f"An id the client made for it ({_range(SIGNAL_ID_LENGTH_RANGE)} "
        "characters): the same id "
        "again counts once.",
    )
