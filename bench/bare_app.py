"""The baseline: a bare Strawberry app ticking once a second per subscription.

What a straightforward Strawberry service would do: Starlette + uvicorn, the
same graphql-transport-ws protocol, and a `sessionTicks` subscription that is
an async generator sleeping (asyncio.sleep) until its next second and then
yielding an object that Strawberry executes and serializes as usual. It
answers the very document the load generator sends to focusgql, with the same
field names, so both are measured by the same code: a message's due time is
`startedAt + elapsedSeconds`.

Each subscription gets a random phase (its own `startedAt` within the last
second), so ticks spread over the second as sessions started at random times
do in focusgql. It sleeps to each due time (asyncio.sleep(due - now), about
one second) rather than a plain asyncio.sleep(1), which would drift and make
the baseline look worse than it is. No authentication and no database: the
connection_init payload is accepted as it is.

For bench/mixed.py, the same in-memory session also answers a `session(id)`
query (its `startedAt`, so a client can compute due times) and the two
mutations the dashboard sends, `recordActivity` (the last activity becomes
now) and `recordTabSwitch` (a counter), each returning the session with the
same fields as focusgql. A tick is idle when it falls more than
IDLE_THRESHOLD seconds after the last activity, as in focusgql; the counters
are derived from the session's start and last activity, so a tick costs no
more than before. A session is created, with a start within the last second,
by whichever operation names it first. Over HTTP (`POST /graphql`) the
`Authorization` header is ignored.

    python bench/bare_app.py --port 8001
"""

import argparse
import asyncio
import math
import random
import time
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from enum import Enum

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

TARGET_SECONDS = 120 * 60
IDLE_THRESHOLD = 15


@strawberry.enum
class SessionStatus(Enum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    ABANDONED = "ABANDONED"


@strawberry.type
class FocusSession:
    id: strawberry.ID
    status: SessionStatus
    started_at: datetime
    elapsed_seconds: int
    active_seconds: int
    idle_seconds: int
    is_idle: bool
    remaining_seconds: int
    projected_focus_score: int
    tab_switches: int


class State:
    """One session in memory: its start, its last activity, and the idle ticks
    counted before that activity (tick k, due at start + k, is idle when it
    falls more than IDLE_THRESHOLD seconds after the last activity)."""

    __slots__ = ("counted_to", "idle_before", "last_activity", "start", "started_at", "tabs")

    def __init__(self) -> None:
        # Whole milliseconds, as focusgql stores times.
        self.start = round((time.time() - random.random()) * 1000) / 1000
        self.started_at = datetime.fromtimestamp(self.start, UTC)
        self.last_activity = self.start
        self.idle_before = 0
        """Idle ticks up to `counted_to`, the tick the last activity came after."""
        self.counted_to = 0
        self.tabs = 0

    def idle_to(self, elapsed: int) -> int:
        """Idle ticks in 1..elapsed."""
        first_idle = max(
            self.counted_to, math.floor(self.last_activity - self.start) + IDLE_THRESHOLD
        )
        return self.idle_before + max(0, elapsed - first_idle)

    def activity(self) -> int:
        now = time.time()
        elapsed = int(now - self.start)
        self.idle_before = self.idle_to(elapsed)
        self.counted_to = elapsed
        self.last_activity = now
        return elapsed

    def view(self, session_id: str, elapsed: int) -> FocusSession:
        idle = self.idle_to(elapsed)
        return FocusSession(
            id=strawberry.ID(session_id),
            status=SessionStatus.ACTIVE,
            started_at=self.started_at,
            elapsed_seconds=elapsed,
            active_seconds=elapsed - idle,
            idle_seconds=idle,
            is_idle=self.start + elapsed - self.last_activity > IDLE_THRESHOLD,
            remaining_seconds=max(0, TARGET_SECONDS - elapsed),
            projected_focus_score=min(100, elapsed * 100 // TARGET_SECONDS),
            tab_switches=self.tabs,
        )


SESSIONS: dict[str, State] = {}


def _state(session_id: str) -> State:
    state = SESSIONS.get(session_id)
    if state is None:
        state = SESSIONS[session_id] = State()
    return state


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> bool:
        return True

    @strawberry.field
    def session(self, id: strawberry.ID) -> FocusSession:
        state = _state(str(id))
        return state.view(str(id), int(time.time() - state.start))


@strawberry.type
class Mutation:
    @strawberry.mutation
    def record_activity(self, session_id: strawberry.ID) -> FocusSession:
        state = _state(str(session_id))
        return state.view(str(session_id), state.activity())

    @strawberry.mutation
    def record_tab_switch(self, session_id: strawberry.ID) -> FocusSession:
        state = _state(str(session_id))
        state.tabs += 1
        return state.view(str(session_id), int(time.time() - state.start))


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def session_ticks(self, session_id: strawberry.ID) -> AsyncGenerator[FocusSession, None]:
        key = str(session_id)
        state = _state(key)
        elapsed = int(time.time() - state.start)
        while True:
            yield state.view(key, elapsed)
            elapsed += 1
            delay = state.start + elapsed - time.time()
            if delay > 0:
                await asyncio.sleep(delay)


schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    graphql: GraphQL[None, None] = GraphQL(schema)
    return Starlette(
        routes=[
            Route("/health", health),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    # The options `focusgql serve` passes to uvicorn.
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level="warning",
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
