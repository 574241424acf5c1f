"""The MongoDB client retires idle connections before the server drops them."""

from focusgql.store.mongo import MAX_IDLE_MS, make_client


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
