"""GraphQL output types, built from domain values; no logic beyond mapping."""

from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from fractions import Fraction
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.api.permissions import signed_in, signed_in_user
from focusgql.domain.daily import MAX_DAYS
from focusgql.domain.scoring import ScoreBreakdown as DomainBreakdown
from focusgql.domain.session import Snapshot
from focusgql.domain.tags import normalize_tag
from focusgql.domain.timeline import Status
from focusgql.domain.user import User as DomainUser
from focusgql.services.frames import Frame
from focusgql.services.records import SessionFilter
from focusgql.services.stats import DayWithGoal


@strawberry.enum(description="Where a session is in its life.")
class SessionStatus(Enum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    ABANDONED = "ABANDONED"

    def to_domain(self) -> Status:
        return Status(self.value)


def _float(x: Fraction) -> float:
    return float(x)


@strawberry.type(description="The parts of a focus score, so a client can explain it.")
class ScoreBreakdown:
    completion: float = strawberry.field(
        description="min(1, elapsedSeconds / (targetMinutes * 60))."
    )
    activity_ratio: float = strawberry.field(description="activeSeconds / max(elapsedSeconds, 1).")
    base: float = strawberry.field(
        description="100 * completion * activityRatio: the score before penalties."
    )
    tab_switch_penalty: float = strawberry.field(description="2 points per tab switch.")
    idle_penalty: float = strawberry.field(description="1 point per 30 idle seconds.")
    score: int = strawberry.field(
        description="clamp(roundHalfUp(base - tabSwitchPenalty - idlePenalty), 0, 100)."
    )

    @classmethod
    def from_domain(cls, b: DomainBreakdown) -> "ScoreBreakdown":
        return cls(
            completion=_float(b.completion),
            activity_ratio=_float(b.activity_ratio),
            base=_float(b.base),
            tab_switch_penalty=_float(b.tab_switch_penalty),
            idle_penalty=_float(b.idle_penalty),
            score=b.score,
        )


@strawberry.interface(
    description="An object with a globally unique id (Relay's Node): node(id:) finds it again."
)
class Node:
    id: strawberry.ID


@strawberry.type(description="A focus session with its live counters, exact at the moment read.")
class FocusSession(Node):
    id: strawberry.ID
    target_minutes: int
    content_id: str | None
    tags: list[str] = strawberry.field(description="Lower-cased labels, in the order given.")
    status: SessionStatus
    started_at: datetime
    ended_at: datetime | None
    paused_at: datetime | None = strawberry.field(
        description="When the current pause began; null unless PAUSED."
    )
    elapsed_seconds: int = strawberry.field(
        description="Whole seconds of session time: wall time since start minus pauses."
    )
    active_seconds: int
    idle_seconds: int = strawberry.field(
        description="Ticks more than idleThresholdSeconds after the last activity."
    )
    tab_switches: int
    is_idle: bool = strawberry.field(description="Whether the latest tick was idle.")
    remaining_seconds: int = strawberry.field(
        description="max(0, targetMinutes * 60 - elapsedSeconds)."
    )
    focus_score: int | None = strawberry.field(description="The final score; null until ended.")
    projected_focus_score: int = strawberry.field(
        description="The score the session would get if it ended now (its final score once ended)."
    )

    @strawberry.field(description="The parts of projectedFocusScore (of focusScore once ended).")
    def score_breakdown(self) -> ScoreBreakdown:
        return ScoreBreakdown.from_domain(self.snapshot.breakdown)

    idle_threshold_seconds: int
    last_activity_at: datetime
    daily_goal_minutes: int | None = strawberry.field(
        description="Your daily goal (0 for none), on sessionTicks frames; null elsewhere."
    )
    today_focus_seconds: int | None = strawberry.field(
        description="On sessionTicks frames: today's focus seconds (your timezone) counting "
        "this session as if it ended now, for progress toward the daily goal; null elsewhere."
    )
    as_of: datetime = strawberry.field(description="The instant these counters are exact for.")
    snapshot: strawberry.Private[Snapshot]

    @classmethod
    def from_frame(cls, frame: Frame) -> "FocusSession":
        return cls(
            **{name: read(frame) for name, read in FRAME_FIELDS.items()},
            snapshot=frame.snapshot,
        )


FRAME_FIELDS: dict[str, Callable[[Frame], Any]] = {
    "id": lambda f: strawberry.ID(f.session.id),
    "target_minutes": lambda f: f.session.target_minutes,
    "content_id": lambda f: f.session.content_id,
    "tags": lambda f: list(f.session.tags),
    "status": lambda f: SessionStatus(f.session.timeline.status.value),
    "started_at": lambda f: f.session.timeline.started_at,
    "ended_at": lambda f: f.session.timeline.ended_at,
    "paused_at": lambda f: f.session.timeline.paused_at,
    "elapsed_seconds": lambda f: f.snapshot.elapsed,
    "active_seconds": lambda f: f.snapshot.active,
    "idle_seconds": lambda f: f.snapshot.idle,
    "tab_switches": lambda f: f.session.tab_switches,
    "is_idle": lambda f: f.snapshot.is_idle,
    "remaining_seconds": lambda f: f.snapshot.remaining,
    "focus_score": lambda f: f.session.focus_score,
    "projected_focus_score": lambda f: f.snapshot.score,
    "idle_threshold_seconds": lambda f: f.session.timeline.idle_threshold,
    "last_activity_at": lambda f: f.session.last_activity_at,
    "daily_goal_minutes": lambda f: None if f.goal is None else f.goal.goal_minutes,
    "today_focus_seconds": lambda f: f.goal_progress,
    "as_of": lambda f: f.snapshot.at,
}
"""FocusSession's fields (by Python name) read off a frame: `from_frame` for
executed operations, and the compiled tick and signal path (api/fastpath.py)
reads the few a document selects, with no object built per frame."""


@strawberry.type(description="Totals over a person's sessions, exact after deletes.")
class Stats:
    total_sessions: int
    completed_sessions: int
    total_focus_seconds: int = strawberry.field(
        description="Sum of activeSeconds over ended sessions."
    )
    average_focus_score: float | None = strawberry.field(
        description="Mean focusScore over ended sessions; null before the first."
    )
    last_focus_score: int | None
    current_streak: int = strawberry.field(
        description="Consecutive local days with a COMPLETED session, ending today or yesterday."
    )
    longest_streak: int
    goal_streak: int = strawberry.field(
        description="Consecutive local days whose focus met dailyGoalMinutes (every session "
        "counted, whatever the tag), ending today or yesterday; 0 without a goal."
    )


LocalDate = date


@strawberry.type(description="One local day of a person's focus, for charts; zeros on a quiet day.")
class DayStats:
    # `date` names the field here, so the type goes by another name.
    date: LocalDate = strawberry.field(description="The day in the person's timezone.")
    focus_seconds: int = strawberry.field(
        description="Sum of activeSeconds over the sessions that ended this day."
    )
    sessions: int = strawberry.field(
        description="Sessions that ended this day (COMPLETED or ABANDONED)."
    )
    completed_sessions: int
    average_focus_score: float | None = strawberry.field(
        description="Mean focusScore of the sessions that ended this day; null when none did."
    )
    goal_minutes: int = strawberry.field(description="Your daily goal (0 for none).")
    goal_met: bool = strawberry.field(
        description="Whether the day's focus over every session (whatever the tag) met the goal."
    )

    @classmethod
    def from_domain(cls, entry: DayWithGoal) -> "DayStats":
        day = entry.totals
        average = day.average_focus_score
        return cls(
            goal_minutes=entry.goal_minutes,
            goal_met=entry.met,
            date=day.day,
            focus_seconds=day.focus_seconds,
            sessions=day.sessions,
            completed_sessions=day.completed_sessions,
            average_focus_score=None if average is None else float(average),
        )


@strawberry.type(description="A tag and how many of your sessions carry it.")
class TagCount:
    tag: str
    sessions: int


def _tag(tag: str | None) -> str | None:
    return None if tag is None else normalize_tag(tag)


@strawberry.type
class User(Node):
    id: strawberry.ID
    email: str
    display_name: str | None
    timezone: str = strawberry.field(description="IANA name; days for streaks are local to it.")
    created_at: datetime
    daily_goal_minutes: int = strawberry.field(
        description="Focus minutes aimed for each local day; 0 for no goal."
    )

    @strawberry.field(
        description="Totals and streaks, computed when asked; with `tag`, over the sessions "
        "carrying it.",
        extensions=[signed_in()],
    )
    async def stats(self, info: Info[Context, None], tag: str | None = None) -> Stats:
        user = signed_in_user(info)
        stats = await info.context.services.stats.for_user(user, _tag(tag))
        return Stats(
            total_sessions=stats.total_sessions,
            completed_sessions=stats.completed_sessions,
            total_focus_seconds=stats.total_focus_seconds,
            average_focus_score=None
            if stats.average_focus_score is None
            else float(stats.average_focus_score),
            last_focus_score=stats.last_focus_score,
            current_streak=stats.current_streak,
            longest_streak=stats.longest_streak,
            goal_streak=stats.goal_streak,
        )

    @strawberry.field(
        description=(
            "Your focus per local day (your timezone) from `from` to `to` inclusive, one entry "
            f"per day, oldest first; at most {MAX_DAYS} days."
        ),
        extensions=[signed_in()],
    )
    async def daily_stats(
        self,
        info: Info[Context, None],
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        tag: Annotated[
            str | None,
            strawberry.argument(description="Only the sessions carrying this tag."),
        ] = None,
    ) -> list[DayStats]:
        user = signed_in_user(info)
        days = await info.context.services.stats.daily_with_goal(user, from_, to, _tag(tag))
        return [DayStats.from_domain(day) for day in days]

    @strawberry.field(
        description="Your tags and on how many sessions each is, most used first.",
        extensions=[signed_in()],
    )
    async def tags(self, info: Info[Context, None]) -> list[TagCount]:
        user = signed_in_user(info)
        counts = await info.context.services.stats.tags(user)
        return [TagCount(tag=tag, sessions=count) for tag, count in counts]

    @classmethod
    def from_domain(cls, user: DomainUser) -> "User":
        return cls(
            id=strawberry.ID(user.id),
            email=user.email,
            display_name=user.display_name,
            timezone=user.timezone,
            created_at=user.created_at,
            daily_goal_minutes=user.daily_goal_minutes,
        )


@strawberry.type
class AuthPayload:
    token: str = strawberry.field(description="Send as 'Authorization: Bearer <token>'.")
    user: User


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(
        default=False,
        description="Whether sessions come before this page (newer ones, the order being "
        "newest first): exact with last/before; with first/after, true after a cursor.",
    )
    start_cursor: str | None = strawberry.field(
        default=None, description="The first edge's cursor; null for an empty page."
    )


@strawberry.type
class SessionEdge:
    cursor: str
    node: FocusSession


@strawberry.type(description="A page of sessions, newest first.")
class SessionConnection:
    edges: list[SessionEdge]
    page_info: PageInfo
    user_id: strawberry.Private[str]
    where: strawberry.Private[SessionFilter]

    @strawberry.field(description="How many sessions match the filter, across all pages.")
    async def total_count(self, info: Info[Context, None]) -> int:
        return await info.context.services.sessions.count(self.user_id, self.where)
