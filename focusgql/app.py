"""The ASGI application: GraphQL at /graphql, health at /health, the dashboard at /.

Its lifespan runs the composition root (bootstrap.runtime) and hands it to
every request as `request.state.runtime` (Starlette's lifespan state)."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from focusgql.api.export import ExportEndpoints
from focusgql.bootstrap import Runtime, runtime
from focusgql.clock import Clock, SystemClock
from focusgql.faults import DATABASE
from focusgql.logs import RequestIdMiddleware
from focusgql.redact import install as redact_tokens_in_logs
from focusgql.services.export import ExportService
from focusgql.settings import Settings

STATIC = Path(__file__).parent / "static"  # the dashboard: plain HTML + ES modules


class _RuntimeGraphQL:
    """Routes /graphql to the view of the runtime the lifespan started.

    Starlette's routes are fixed when create_app returns, but the view is
    built over services that need the database, which opens in the lifespan:
    so the route reads the view from the lifespan's state, per request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts: Runtime = scope["state"]["runtime"]
        await parts.graphql(scope, receive, send)


def _runtime(request: Request) -> Runtime:
    parts: Runtime = request.state.runtime
    return parts


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Starlette:
    settings = settings or Settings()
    clock = clock or SystemClock()
    graphql = _RuntimeGraphQL()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Runtime]]:
        redact_tokens_in_logs()  # uvicorn has configured its loggers by now
        async with runtime(settings, clock) as parts:
            yield {"runtime": parts}  # each request's `state.runtime`

    async def metrics(request: Request) -> Response:
        rendered = _runtime(request).wiring.services.metrics.render()
        return Response(rendered, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def health(request: Request) -> Response:
        state = await _runtime(request).probe.check(fresh=DATABASE.down)
        if state == "ok":
            DATABASE.recovered()
        return JSONResponse(
            {"status": "ok" if state == "ok" else "degraded", "database": state},
            status_code=200 if state == "ok" else 503,
        )

    async def export(request: Request) -> Response:
        wiring = _runtime(request).wiring
        endpoints = ExportEndpoints(
            wiring.services.accounts, ExportService(wiring.sessions_repo, clock)
        )
        return await endpoints(request)

    async def home(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/export.{kind}", export),
            Route("/metrics", metrics),
            Route("/", home),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestIdMiddleware), *_cors(settings)],
        # Larger bodies get 413 before anything parses them (WebSocket messages
        # are capped by uvicorn's ws_max_size, set from ws_max_message_bytes).
        max_body_size=settings.max_body_bytes,
    )
    return app


def _cors(settings: Settings) -> list[Middleware]:
    """CORS for the listed origins only; none listed, no CORS headers at all."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            # Tokens travel in the Authorization header, never in cookies.
            allow_credentials=False,
            max_age=600,
        )
    ]
