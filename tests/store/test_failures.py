"""The store raises the domain's errors, chained from the driver's: an outage is
DatabaseUnavailable (UNAVAILABLE, retryAfter), any other failure a DatabaseError;
its own errors (a conflict, a taken email) pass as they are."""

import inspect
from collections.abc import AsyncGenerator

import pytest
from pymongo.errors import NetworkTimeout, OperationFailure

from focusgql.domain.errors import Conflict, DatabaseError, DatabaseUnavailable
from focusgql.store.failures import domain_errors, driver_errors, translated
from focusgql.store.idempotency import MongoIdempotencyStore
from focusgql.store.outbox import MongoOutbox
from focusgql.store.sessions import MongoSessionRepository
from focusgql.store.users import MongoUserRepository
from focusgql.store.webhooks import MongoWebhookRepository


@domain_errors
class Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.closed = False

    async def get(self) -> None:
        raise self.error

    async def rows(self) -> AsyncGenerator[int, None]:
        try:
            yield 1
            raise self.error
        finally:
            self.closed = True

    @driver_errors
    async def watch(self) -> None:
        raise self.error


async def test_an_outage_is_unavailable_with_what_clients_get_today() -> None:
    cause = NetworkTimeout("timed out")
    with pytest.raises(DatabaseUnavailable) as raised:
        await Failing(cause).get()
    assert raised.value.__cause__ is cause
    assert str(raised.value) == "the database is unavailable; try again"
    assert raised.value.extensions == {"code": "UNAVAILABLE", "retryAfter": 1}


async def test_a_refusal_is_a_database_error_and_not_the_clients_to_read() -> None:
    cause = OperationFailure("bad command", 2)
    with pytest.raises(DatabaseError) as raised:
        await Failing(cause).get()
    assert raised.value.__cause__ is cause
    assert not isinstance(raised.value, DatabaseUnavailable)


async def test_an_async_generator_translates_and_closes_what_it_wraps() -> None:
    failing = Failing(NetworkTimeout("timed out"))
    seen: list[int] = []
    with pytest.raises(DatabaseUnavailable):
        async for row in failing.rows():
            seen.append(row)
    assert seen == [1] and failing.closed

    stopped = Failing(NetworkTimeout("never raised"))
    rows = stopped.rows()
    assert await anext(rows) == 1
    await rows.aclose()  # a consumer that stops early
    assert stopped.closed


async def test_the_stores_own_errors_pass_and_driver_errors_stay_where_marked() -> None:
    with pytest.raises(Conflict):
        await Failing(Conflict("the history is changing concurrently; try again")).get()
    with pytest.raises(NetworkTimeout):
        await Failing(NetworkTimeout("timed out")).watch()
    assert translated(KeyError("x")).__class__ is KeyError


@pytest.mark.parametrize(
    "repository",
    [
        MongoSessionRepository,
        MongoUserRepository,
        MongoIdempotencyStore,
        MongoOutbox,
        MongoWebhookRepository,
    ],
)
def test_every_repository_method_that_reads_or_writes_translates(repository: type) -> None:
    """What services and the API are given raises no driver error (the e2e fault
    tests see it against a stalled and a killed database)."""
    for name, member in vars(repository).items():
        inner = getattr(member, "__wrapped__", member)
        does_io = inspect.iscoroutinefunction(inner) or inspect.isasyncgenfunction(inner)
        if name.startswith("_") or not does_io:
            continue
        if name != "watch":  # the change feeds' own, with the driver's errors
            assert hasattr(member, "__wrapped__"), f"{repository.__name__}.{name}"
