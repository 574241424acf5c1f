"""One real database for the run: SecantusDB, or FOCUSGQL_TEST_MONGODB_URI."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.clock import SystemClock
from focusgql.settings import Settings
from focusgql.store.documents import SessionDocument
from focusgql.store.mongo import EmbeddedServer, init_database, make_client
from focusgql.store.sessions import Raw
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
        # Checkpoints run on real seconds; tests that count writes call flush().
        checkpoint_seconds=3600,
        # Freezing would keep this test process's garbage forever; the
        # subprocess servers run with the default (tests/e2e/test_gc.py).
        gc_freeze=False,
        # Every test connects from 127.0.0.1: the shared server counts, but far
        # above what the suite does; tests/api/test_ratelimit.py runs tight ones.
        rate_limit_login_per_address="100000/minute",
        rate_limit_login_per_account="100000/minute",
        rate_limit_mutations_per_user="100000/minute",
        rate_limit_mutations_per_address="100000/minute",
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
    """The API on the system clock, for the few tests that take real seconds.

    On a database of its own: it stays up for the rest of the run, and its
    reaper, on today's date, would end as abandoned every running session that
    the manual-clock tests create (their clock is months behind)."""
    own = settings.model_copy(update={"database": f"{settings.database}_live"})
    async with serve(own, SystemClock()) as running:
        yield running


@pytest.fixture
async def bound_database(settings: Settings) -> AsyncIterator[None]:
    """Beanie's documents bound to the test database on a client of this test's own
    (a server started and stopped by an earlier test leaves them on a closed one)."""
    assert settings.mongodb_uri
    client = make_client(settings.mongodb_uri)
    await init_database(client, settings.database)
    try:
        yield
    finally:
        await client.close()


@pytest.fixture
async def sessions_collection(bound_database: None) -> AsyncIterator[AsyncCollection[Raw]]:
    """A sessions collection of this test's own, dropped after it: a test may
    count or sweep everything in it."""
    database = SessionDocument.get_pymongo_collection().database
    collection: AsyncCollection[Raw] = database[f"sessions_{uuid.uuid4().hex[:8]}"]
    yield collection
    await collection.drop()
    await database[f"{collection.name}.journal"].drop()
    await database[f"{collection.name}.history"].drop()


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
