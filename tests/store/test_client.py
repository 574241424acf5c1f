"""The MongoDB client retires idle connections before the server drops them, and
gives every operation a deadline."""

from pymongo.errors import ExecutionTimeout, NetworkTimeout, OperationFailure

from focusgql.store.failures import is_outage
from focusgql.store.mongo import MAX_IDLE_MS, TIMEOUT_MS, make_client


async def test_idle_connections_are_retired_before_the_servers_300_s() -> None:
    client = make_client("mongodb://127.0.0.1:1")
    try:
        assert client.options.pool_options.max_idle_time_seconds == MAX_IDLE_MS / 1000 < 300
    finally:
        await client.close()


async def test_a_uri_that_sets_it_wins() -> None:
    client = make_client("mongodb://127.0.0.1:1/?maxIdleTimeMS=1000")
    try:
        assert client.options.pool_options.max_idle_time_seconds == 1
    finally:
        await client.close()


async def test_every_operation_has_a_deadline() -> None:
    client = make_client("mongodb://127.0.0.1:1")
    other = make_client("mongodb://127.0.0.1:1", timeout_ms=1234)
    given = make_client("mongodb://127.0.0.1:1/?connectTimeoutMS=100&timeoutMS=750")
    try:
        assert client.options.timeout == TIMEOUT_MS / 1000
        assert other.options.timeout == 1.234
        assert given.options.timeout == 0.75  # the URI's wins; connectTimeoutMS is another
    finally:
        for each in (client, other, given):
            await each.close()


def test_a_spent_deadline_is_an_outage_and_a_refused_command_is_not() -> None:
    assert is_outage(NetworkTimeout("timed out"))
    assert is_outage(ExecutionTimeout("operation exceeded time limit", 50))
    assert not is_outage(OperationFailure("bad command", 2))
