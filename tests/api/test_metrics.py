import httpx

from tests.support import Client, ManualClock, RunningServer


def sample(text: str, name: str) -> float:
    """The value of an unlabelled sample (or the sum over a labelled family's lines)."""
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    ]
    assert values, f"{name} not exported"
    return sum(values)


async def scrape(server: RunningServer) -> str:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_metrics_count_writes_and_errors(server: RunningServer, alice: Client) -> None:
    before = await scrape(server)
    await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }")
    await alice.raw('{ session(id: "000000000000000000000000") { id } }')
    after = await scrape(server)
    writes = "focusgql_database_writes_total"
    assert sample(after, writes) >= sample(before, writes) + 1
    not_found = 'focusgql_graphql_errors_total{code="NOT_FOUND"}'
    assert sample(after, not_found) == (sample(before, not_found) if not_found in before else 0) + 1


async def test_tick_lateness_and_live_gauges(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    from gql import GraphQLRequest

    from tests.e2e.test_gql_client import TICKS, connect

    sid = (await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }"))[
        "createSession"
    ]["id"]
    before = sample(await scrape(server), "focusgql_tick_lateness_seconds_count")
    async with connect(server, "graphql-transport-ws", {"token": alice.token}) as ws:
        frames = ws.subscribe(GraphQLRequest(TICKS, variable_values={"id": sid}))
        await anext(frames)
        live = await scrape(server)
        assert sample(live, "focusgql_subscriptions ") >= 1
        assert sample(live, "focusgql_live_sessions ") >= 1
        clock.advance(1)
        await anext(frames)
        await frames.aclose()
    after = sample(await scrape(server), "focusgql_tick_lateness_seconds_count")
    assert after >= before + 1
