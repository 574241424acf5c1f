"""The live path writes only when something happens: ticks write nothing, and an
activity flood costs at most one write per second."""

import httpx

from tests.api.test_metrics import sample, scrape
from tests.support import Client, ManualClock, RunningServer

WRITES = "focusgql_database_writes_total"


async def test_sixty_activities_a_second_cost_one_write_a_second(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    sid = (await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }"))[
        "createSession"
    ]["id"]
    activity = f'mutation {{ recordActivity(sessionId: "{sid}") {{ activeSeconds }} }}'
    clock.advance(1)  # session time 1.000: the next 60 activities all mark second 2
    before = sample(await scrape(server), WRITES)
    for _ in range(10):
        for _ in range(60):
            await alice.execute(activity)
            clock.advance(milliseconds=16)
        clock.advance(milliseconds=40)
    after = sample(await scrape(server), WRITES)
    assert after - before == 10, f"{after - before} writes for 10 seconds of a 60 Hz flood"


async def test_ticking_writes_nothing(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    from gql import GraphQLRequest

    from tests.e2e.test_gql_client import TICKS, connect

    sid = (await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }"))[
        "createSession"
    ]["id"]
    async with connect(server, "graphql-transport-ws", {"token": alice.token}) as ws:
        frames = ws.subscribe(GraphQLRequest(TICKS, variable_values={"id": sid}))
        await anext(frames)
        before = sample(await scrape(server), WRITES)
        for _ in range(30):
            clock.advance(1)
            await anext(frames)
        after = sample(await scrape(server), WRITES)
        await frames.aclose()
    # Ticks write nothing; the only write allowed is the keep-alive round that
    # signals for every watched session at once, once a minute (30 s may hold one).
    assert after - before <= 1, f"30 ticks cost {after - before} writes"


async def test_health_is_cheap_and_metrics_are_text(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
