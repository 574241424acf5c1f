"""Test helpers: a clock driven by hand, a running server, a small GraphQL client."""

import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from focusgql.app import create_app
from focusgql.clock import Clock
from focusgql.settings import Settings
from focusgql.store.mongo import free_port

_emails = itertools.count()


class _ManualTimer:
    def __init__(self, deadline: datetime, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """Time stands still until a test moves it; timers and sleepers fire as it passes them."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._timers: list[_ManualTimer] = []

    def now(self) -> datetime:
        return self._now

    def call_at(self, deadline: datetime, callback: Callable[[], None]) -> _ManualTimer:
        timer = _ManualTimer(deadline, callback)
        if deadline <= self._now:
            asyncio.get_running_loop().call_soon(self._run, timer)
        else:
            self._timers.append(timer)
        return timer

    @staticmethod
    def _run(timer: _ManualTimer) -> None:
        if not timer.cancelled:
            timer.callback()

    async def sleep_until(self, deadline: datetime) -> None:
        if deadline <= self._now:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (deadline, future)
        self._sleepers.append(entry)
        try:
            await future
        finally:
            with contextlib.suppress(ValueError):
                self._sleepers.remove(entry)

    def advance(self, seconds: float = 0, *, milliseconds: int = 0) -> datetime:
        self._now += timedelta(seconds=seconds, milliseconds=milliseconds)
        due = sorted((t for t in self._timers if t.deadline <= self._now), key=lambda t: t.deadline)
        self._timers = [t for t in self._timers if t.deadline > self._now and not t.cancelled]
        for timer in due:
            self._run(timer)
        for deadline, future in list(self._sleepers):
            if deadline <= self._now and not future.done():
                future.set_result(None)
        return self._now


@dataclass
class RunningServer:
    url: str
    clock: Clock
    settings: Settings

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


@contextlib.asynccontextmanager
async def serve(settings: Settings, clock: Clock) -> AsyncIterator[RunningServer]:
    """A real uvicorn server on a free loopback port, in this event loop."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, clock),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="focusgql.corked:CorkedWebSocketProtocol",
        ws_per_message_deflate=False,
        ws_max_size=settings.ws_max_message_bytes,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during startup")
        await asyncio.sleep(0.01)
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", clock=clock, settings=settings)
    finally:
        server.should_exit = True
        await task


class GraphQLError(AssertionError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


class Client:
    """GraphQL over HTTP as any client would send it."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code in (200, 400), response.text
        body: dict[str, Any] = response.json()
        return body

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.raw(query, variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    def as_user(self, token: str | None) -> "Client":
        return Client(self.http, token)

    async def register(self, timezone: str = "UTC") -> "Client":
        email = f"person{next(_emails)}-{id(self)}@example.com"
        data = await self.execute(
            "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }",
            {"input": {"email": email, "password": "correct horse battery", "timezone": timezone}},
        )
        return self.as_user(data["register"]["token"])


@dataclass
class ServerProcess:
    """`focusgql serve` as a separate OS process, the way it runs in production."""

    url: str
    process: "subprocess.Popen[bytes]"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    assert settings.mongodb_uri and settings.jwt_secret
    return {
        **os.environ,
        "FOCUSGQL_MONGODB_URI": settings.mongodb_uri,
        "FOCUSGQL_DATABASE": settings.database,
        "FOCUSGQL_JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "FOCUSGQL_DATA_DIR": str(settings.data_dir),
        "FOCUSGQL_LOG_LEVEL": "warning",
        # The same rate limits as the in-process servers (every test is 127.0.0.1).
        **{
            f"FOCUSGQL_{name.upper()}": getattr(settings, name)
            for name in type(settings).model_fields
            if name.startswith("rate_limit_")
        },
        **extra,
    }


def spawn(settings: Settings, **extra_env: str) -> AbstractAsyncContextManager[ServerProcess]:
    """`focusgql serve` on a free port, until the block ends."""
    return _spawn(settings, extra_env, None)


def spawn_logged(
    settings: Settings, log_to: Path, **extra_env: str
) -> AbstractAsyncContextManager[ServerProcess]:
    """`spawn`, with the server's log lines (stderr) written to `log_to`."""
    return _spawn(settings, extra_env, log_to)


def spawn_embedded(
    settings: Settings, data_dir: Path, log_to: Path, **extra_env: str
) -> AbstractAsyncContextManager[ServerProcess]:
    """`spawn_logged` with no database given: the server starts (and supervises)
    its own SecantusDB in `data_dir`/db, as `make run` does."""
    return _spawn(settings, {**extra_env, "FOCUSGQL_DATA_DIR": str(data_dir)}, log_to, True)


@contextlib.asynccontextmanager
async def _spawn(
    settings: Settings, extra_env: dict[str, str], log_to: Path | None, embedded: bool = False
) -> AsyncIterator[ServerProcess]:
    port = free_port()
    env = server_env(settings, **extra_env)
    if embedded:
        env.pop("FOCUSGQL_MONGODB_URI")
        env.pop("MONGODB_URI", None)
    log = open(log_to, "wb") if log_to is not None else None  # noqa: ASYNC230, SIM115
    process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the server runs on
        [sys.executable, "-m", "focusgql", "serve", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=log,
    )
    if log is not None:
        log.close()  # the child holds its own copy
    server = ServerProcess(url=f"http://127.0.0.1:{port}", process=process)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            async with asyncio.timeout(30):
                while True:
                    assert process.poll() is None, "focusgql serve exited at startup"
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get("/health")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def seed_people(settings: Settings, count: int) -> list[str]:
    """Tokens for `count` new users written straight to the database: registering
    thousands through Argon2 would take minutes."""
    from datetime import datetime as dt

    from focusgql.auth import TokenIssuer
    from focusgql.domain.user import User
    from focusgql.store.mongo import make_client
    from focusgql.store.users import MongoUserRepository

    assert settings.jwt_secret and settings.mongodb_uri
    client = make_client(settings.mongodb_uri)
    repo = MongoUserRepository(client[settings.database]["users"])
    issuer = TokenIssuer(
        settings.jwt_secret.get_secret_value(),
        settings.jwt_issuer,
        settings.jwt_audience,
        timedelta(seconds=settings.token_ttl_seconds),
    )
    now = dt.now(UTC)
    tokens = []
    for _ in range(count):
        user_id = repo.new_id()
        email = f"seeded-{user_id}@example.com"
        await repo.add(User(user_id, email, None, "UTC", now), "not-a-real-hash")
        tokens.append(issuer.issue(user_id, now))
    await client.close()
    return tokens


async def create_session(client: Client, fields: str, **given: Any) -> dict[str, Any]:
    """createSession with `given` input (targetMinutes 25 unless given), answering `fields`."""
    data = await client.execute(
        f"mutation($i: CreateSessionInput!) {{ createSession(input: $i) {{ {fields} }} }}",
        {"i": {"targetMinutes": 25, **given}},
    )
    session: dict[str, Any] = data["createSession"]
    return session


async def read_session(client: Client, sid: str, fields: str) -> dict[str, Any]:
    data = await client.execute(
        f"query($id: ID!) {{ session(id: $id) {{ {fields} }} }}", {"id": sid}
    )
    session: dict[str, Any] = data["session"]
    return session


class SteppingWall:
    """A wall clock (the real one plus an offset) a test steps, as NTP, a resumed
    VM or `date -s` would: a source for SystemClock(wall=...)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def step(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)
