"""One real database for the run: SecantusDB, or FOCUSGQL_TEST_MONGODB_URI."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from focusgql.clock import SystemClock
from focusgql.settings import Settings
from focusgql.store.mongo import EmbeddedServer
from tests.support import Client, ManualClock, RunningServer, serve

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    external = os.environ.get("FOCUSGQL_TEST_MONGODB_URI")
    if external:
        yield external
        return
    server = EmbeddedServer(":memory:")
    server.start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def settings(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        mongodb_uri=mongodb_uri,
        database=f"focusgql_test_{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path_factory.mktemp("data"),
        jwt_secret=SecretStr("test-secret-" + "x" * 32),
    )


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="session")
async def server(settings: Settings, clock: ManualClock) -> AsyncIterator[RunningServer]:
    """The API on a manual clock: tests move time themselves."""
    async with serve(settings, clock) as running:
        yield running


@pytest.fixture(scope="session")
async def live_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """The API on the system clock, for the few tests that take real seconds."""
    async with serve(settings, SystemClock()) as running:
        yield running


@pytest.fixture
async def anonymous(server: RunningServer) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield Client(http)


@pytest.fixture
async def alice(anonymous: Client) -> Client:
    return await anonymous.register()


@pytest.fixture
async def bob(anonymous: Client) -> Client:
    return await anonymous.register()
