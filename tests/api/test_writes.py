"""The live path writes only when something happens: ticks write nothing, and an
activity flood costs at most one journal entry per second. Each write of a
session bumps its stored version, and each journal entry names its session, so
both count this session's writes exactly, whatever else the server is doing
meanwhile."""

from typing import Any

from bson import ObjectId

from focusgql.store.documents import SessionDocument
from tests.support import Client, ManualClock, RunningServer


async def stored(sid: str) -> dict[str, Any]:
    raw: dict[str, Any] | None = await SessionDocument.get_pymongo_collection().find_one(
        {"_id": ObjectId(sid)}
    )
    assert raw is not None
    return raw


async def journal_entries(sid: str) -> int:
    """Entries for this session in the signal journal (not folded yet: the test
    server checkpoints hourly)."""
    journal = SessionDocument.get_pymongo_collection().database["sessions.journal"]
    docs = await journal.find({}).to_list()
    return sum(1 for raw in docs for session_id, _, _ in raw["e"] if session_id == sid)


async def test_sixty_activities_a_second_cost_one_write_a_second(
    server: RunningServer, alice: Client, clock: ManualClock, bound_database: None
) -> None:
    sid = (await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }"))[
        "createSession"
    ]["id"]
    activity = f'mutation {{ recordActivity(sessionId: "{sid}") {{ activeSeconds }} }}'
    clock.advance(1)  # session time 1.000: the next 60 activities all mark second 2
    before = await journal_entries(sid)
    version = (await stored(sid))["version"]
    for _ in range(10):
        for _ in range(60):
            await alice.execute(activity)
            clock.advance(milliseconds=16)
        clock.advance(milliseconds=40)
    writes = await journal_entries(sid) - before
    assert (await stored(sid))["version"] == version  # the session waits for a fold
    assert writes == 10, f"{writes} writes for 10 seconds of a 60 Hz flood"


async def test_ticking_writes_nothing(
    server: RunningServer, alice: Client, clock: ManualClock, bound_database: None
) -> None:
    from gql import GraphQLRequest

    from tests.e2e.test_gql_client import TICKS, connect

    sid = (await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }"))[
        "createSession"
    ]["id"]
    async with connect(server, "graphql-transport-ws", {"token": alice.token}) as ws:
        frames = ws.subscribe(GraphQLRequest(TICKS, variable_values={"id": sid}))
        await anext(frames)
        before = await stored(sid)
        for _ in range(30):
            clock.advance(1)
            await anext(frames)
        after = await stored(sid)
        await frames.aclose()
    # No state change, no checkpoint (the test server checkpoints hourly); at most
    # the keep-alive that signals for every watched session once a minute.
    assert after["version"] == before["version"]
    assert after["counted_at"] == before["counted_at"]
    assert {k: v for k, v in after.items() if k != "last_signal_at"} == {
        k: v for k, v in before.items() if k != "last_signal_at"
    }


async def test_metrics_are_text(server: RunningServer) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
