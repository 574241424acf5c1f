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

    python bench/bare_app.py --port 8001
"""

import argparse
import asyncio
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


def _tick(session_id: str, started_at: datetime, elapsed: int) -> FocusSession:
    return FocusSession(
        id=strawberry.ID(session_id),
        status=SessionStatus.ACTIVE,
        started_at=started_at,
        elapsed_seconds=elapsed,
        active_seconds=elapsed,
        idle_seconds=0,
        is_idle=False,
        remaining_seconds=max(0, TARGET_SECONDS - elapsed),
        projected_focus_score=min(100, elapsed * 100 // TARGET_SECONDS),
    )


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> bool:
        return True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def session_ticks(self, session_id: strawberry.ID) -> AsyncGenerator[FocusSession, None]:
        now = time.time()
        # Whole milliseconds, as focusgql stores times.
        start = round((now - random.random()) * 1000) / 1000
        started_at = datetime.fromtimestamp(start, UTC)
        elapsed = int(now - start)
        while True:
            yield _tick(str(session_id), started_at, elapsed)
            elapsed += 1
            delay = start + elapsed - time.time()
            if delay > 0:
                await asyncio.sleep(delay)


schema = strawberry.Schema(query=Query, subscription=Subscription)


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
