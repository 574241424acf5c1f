"""The ASGI application: database on startup, GraphQL at /graphql, health at /health."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from focusgql.api.export import ExportEndpoints
from focusgql.api.schema import build_schema
from focusgql.api.view import FocusGraphQL
from focusgql.auth import load_or_create_secret
from focusgql.bootstrap import Wiring, wire
from focusgql.clock import Clock, SystemClock
from focusgql.faults import DATABASE
from focusgql.gcpolicy import PauseWatch, freeze_what_is_loaded
from focusgql.logs import RequestIdMiddleware
from focusgql.redact import install as redact_tokens_in_logs
from focusgql.services.export import ExportService
from focusgql.settings import Settings
from focusgql.store.changes import ChangeFeed, JournalFeed
from focusgql.store.health import HealthProbe
from focusgql.store.mongo import EmbeddedServer, init_database, make_client
from focusgql.store.supervisor import Supervisor
from focusgql.store.userfeed import UserFeed
from focusgql.store.users import MongoUserRepository

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"  # the dashboard: plain HTML + ES modules


class _LazyGraphQL:
    """Routes /graphql to the view built in the lifespan (it needs the database)."""

    def __init__(self) -> None:
        self.view: FocusGraphQL | None = None

    async def __call__(self, scope: object, receive: object, send: object) -> None:
        if self.view is None:  # pragma: no cover - requests before startup
            raise RuntimeError("application not started")
        await self.view(scope, receive, send)  # type: ignore[arg-type]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Starlette:
    settings = settings or Settings()
    clock = clock or SystemClock()
    graphql = _LazyGraphQL()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redact_tokens_in_logs()  # uvicorn has configured its loggers by now
        embedded: EmbeddedServer | None = None
        supervisor: Supervisor | None = None
        uri = settings.mongodb_uri
        if uri is None:
            embedded = EmbeddedServer(
                settings.data_dir / "db",
                lock_wait=settings.embedded_lock_wait_seconds,
                sync_on_commit=settings.embedded_sync_on_commit,
            )
            await asyncio.to_thread(embedded.start)
            uri = embedded.uri
            supervisor = Supervisor(embedded, settings.database)
            supervisor.start()
        client = make_client(uri, settings.database_timeout_ms)
        background: list[asyncio.Task[None]] = []
        wiring: Wiring | None = None
        pauses: PauseWatch | None = None
        thresholds = gc.get_threshold()
        try:
            await init_database(client, settings.database)
            secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
            if secret is None:
                secret = load_or_create_secret(settings.data_dir)
                log.warning(
                    "FOCUSGQL_JWT_SECRET is not set: using a generated secret kept in %s",
                    settings.data_dir / "jwt-secret",
                )
            wiring = wire(settings, clock, secret)
            graphql.view = FocusGraphQL(build_schema(settings), wiring.services, settings)
            app.state.client = client
            app.state.probe = HealthProbe(client, client[settings.database])
            app.state.wiring = wiring
            sessions = wiring.services.sessions
            feed = ChangeFeed(
                wiring.sessions_repo,
                sessions.known,
                sessions.observe,
                sessions.observe_deleted,
                sessions.known_ids,
                started=wiring.services.persons.started if wiring.services.persons else None,
                reopened=wiring.services.persons.resync if wiring.services.persons else None,
            )
            # Signals stored before a crash reach their sessions before anyone reads.
            await wiring.sessions_repo.journal.load()
            await sessions.signals.fold(everything=True)
            journal_feed = JournalFeed(
                wiring.sessions_repo.journal, sessions.known, sessions.observe
            )
            view = graphql.view
            user_feed = UserFeed(
                MongoUserRepository().collection,
                revoked=view.forget_revoked,
                deleted=view.forget_deleted,
            )
            background = [
                asyncio.create_task(user_feed.run()),
                asyncio.create_task(journal_feed.run()),
                asyncio.create_task(sessions.run_reaper(settings.reaper_interval_seconds)),
                asyncio.create_task(wiring.checkpointer.run()),
                asyncio.create_task(sessions.run_keep_alive()),
                asyncio.create_task(feed.run()),
            ]
            if isinstance(clock, SystemClock):
                background.append(asyncio.create_task(clock.watch()))
            if settings.webhook_dispatch:
                background.append(asyncio.create_task(wiring.dispatcher.run()))
            app.state.change_feed = feed
            app.state.journal_feed = journal_feed
            app.state.user_feed = user_feed
            pauses = wiring.services.metrics.gc_pauses
            pauses.install()
            gc.set_threshold(*settings.gc_thresholds)
            if settings.gc_freeze:
                frozen = freeze_what_is_loaded()
                log.debug("froze %d objects loaded at startup out of the GC's view", frozen)
            yield
        finally:
            gc.set_threshold(*thresholds)  # the process may outlive this app (tests)
            if pauses is not None:
                pauses.remove()
            for task in background:
                task.cancel()
                # A task that died of its own error must not stop the cleanup below.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if wiring is not None:
                with contextlib.suppress(Exception):
                    await wiring.services.sessions.signals.close()
                wiring.hub.close()
                with contextlib.suppress(Exception):
                    await wiring.sender.close()
                with contextlib.suppress(Exception):
                    await wiring.checkpointer.flush(everything=True)  # leave fresh counters
            await client.close()
            if supervisor is not None:
                await asyncio.to_thread(supervisor.stop)
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    async def metrics(request: Request) -> Response:
        rendered = request.app.state.wiring.services.metrics.render()
        return Response(rendered, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def health(request: Request) -> Response:
        state = await request.app.state.probe.check(fresh=DATABASE.down)
        if state == "ok":
            DATABASE.recovered()
        return JSONResponse(
            {"status": "ok" if state == "ok" else "degraded", "database": state},
            status_code=200 if state == "ok" else 503,
        )

    async def export(request: Request) -> Response:
        wiring = request.app.state.wiring
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
