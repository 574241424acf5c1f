"""Beanie documents: how users and sessions are stored, with the indexes queries use."""

from datetime import datetime
from typing import ClassVar

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel


class UserDocument(Document):
    email: str
    """Lower-cased, so uniqueness is case-insensitive."""
    password_hash: str
    display_name: str | None = None
    timezone: str = "UTC"
    created_at: datetime
    daily_goal_minutes: int = 0
    token_generation: int = 0

    class Settings:
        name = "users"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),
        ]


class SessionDocument(Document):
    user_id: PydanticObjectId
    target_minutes: int
    content_id: str | None = None
    status: str
    running: bool
    """True while ACTIVE or PAUSED; a partial unique index keeps one per user."""
    idle_threshold: int
    started_at: datetime
    paused_ms: int = 0
    paused_at: datetime | None = None
    ended_at: datetime | None = None
    last_activity_second: int = 0
    idle_before: int = 0
    tab_switches: int = 0
    last_activity_at: datetime
    last_signal_at: datetime
    focus_score: int | None = None
    # Counters as of `counted_at`, for readers of the raw collection and for
    # aggregations; the API always recomputes them from the timeline.
    elapsed_seconds: int = 0
    active_seconds: int = 0
    idle_seconds: int = 0
    counted_at: datetime
    tags: list[str] = Field(default_factory=list)
    """Normalized (domain/tags.py); multikey indexes serve `sessions(tag:)` and stats."""
    version: int = 0
    """Bumped by every write, for optimistic concurrency."""
    signal_ids: list[str] = Field(default_factory=list)
    """Client ids of the replayed signals counted lately, newest last (domain/replay.py)."""

    class Settings:
        name = "sessions"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel(
                [("user_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                name="user_newest_first",
            ),
            IndexModel(
                [("user_id", ASCENDING)],
                unique=True,
                partialFilterExpression={"running": True},
                name="one_running_per_user",
            ),
            IndexModel(
                [("user_id", ASCENDING), ("status", ASCENDING), ("ended_at", DESCENDING)],
                name="user_status_ended",
            ),
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("tags", ASCENDING),
                    ("started_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="user_tag_newest_first",
            ),
            IndexModel(
                [("user_id", ASCENDING), ("tags", ASCENDING), ("ended_at", DESCENDING)],
                name="user_tag_ended",
            ),
            IndexModel(
                [("running", ASCENDING), ("last_signal_at", ASCENDING)],
                name="running_by_last_signal",
            ),
            IndexModel(
                [("status", ASCENDING), ("counted_at", ASCENDING)],
                name="status_counted_at",
            ),
            # The few sessions holding webhook events not yet handed on
            # (store/outbox.py): the dispatcher's poll reads only those.
            IndexModel(
                [("outbox_pending", ASCENDING)],
                partialFilterExpression={"outbox_pending": True},
                name="webhook_outbox_pending",
            ),
        ]


class IdempotencyKeyDocument(Document):
    """A mutation sent with a key (`clientMutationId`), and its answer once it
    has one (store/idempotency.py); the TTL index removes it after 24 hours."""

    user_id: PydanticObjectId
    key: str
    fingerprint: str
    created_at: datetime
    answer: dict[str, object] | None = None

    class Settings:
        name = "idempotency_keys"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel(
                [("user_id", ASCENDING), ("key", ASCENDING)], unique=True, name="user_key_unique"
            ),
            # domain/idempotency.py KEY_LIFETIME; reads also ignore an older key,
            # since the TTL monitor runs only once a minute.
            IndexModel([("created_at", ASCENDING)], expireAfterSeconds=86400, name="ttl_24h"),
        ]
