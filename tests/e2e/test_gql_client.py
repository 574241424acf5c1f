"""A whole session driven by `gql`, a GraphQL client nobody here wrote, over both
WebSocket protocols, checked second by second against the brute-force oracle."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from gql import Client as GqlClient
from gql import GraphQLRequest, gql
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport

from tests.domain.oracle import Event, Kind, Oracle, expected_score
from tests.support import Client, ManualClock, RunningServer

FIELDS = """id status elapsedSeconds activeSeconds idleSeconds tabSwitches isIdle
remainingSeconds focusScore projectedFocusScore asOf"""
TICKS = gql(f"subscription($id: ID!) {{ sessionTicks(sessionId: $id) {{ {FIELDS} }} }}")
CREATE = gql(f"mutation {{ createSession(input: {{targetMinutes: 1}}) {{ {FIELDS} startedAt }} }}")
ACTIVITY = gql(f"mutation($id: ID!) {{ recordActivity(sessionId: $id) {{ {FIELDS} }} }}")
TAB = gql(f"mutation($id: ID!) {{ recordTabSwitch(sessionId: $id) {{ {FIELDS} }} }}")
PAUSE = gql(
    f"mutation($id: ID!) {{ updateSession(id: $id, input: {{status: PAUSED}}) {{ {FIELDS} }} }}"
)
RESUME = gql(
    f"mutation($id: ID!) {{ updateSession(id: $id, input: {{status: ACTIVE}}) {{ {FIELDS} }} }}"
)
END = gql(f"mutation($id: ID!) {{ endSession(id: $id) {{ {FIELDS} }} }}")
ME = gql("{ me { id email } }")

PROTOCOLS = [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL]


@contextlib.asynccontextmanager
async def connect(
    server: RunningServer, protocol: str, init_payload: dict[str, Any] | None, query: str = ""
) -> AsyncIterator[AsyncClientSession]:
    transport = WebsocketsTransport(
        url=server.ws_url + query, subprotocols=[protocol], init_payload=init_payload or {}
    )
    async with GqlClient(transport=transport, fetch_schema_from_transport=False) as session:
        yield session


class Frames:
    """Collects a subscription's frames in the background."""

    def __init__(self, session: AsyncClientSession, session_id: str) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.completed = asyncio.Event()
        self._task = asyncio.create_task(self._collect(session, session_id))

    async def _collect(self, session: AsyncClientSession, session_id: str) -> None:
        async for result in session.subscribe(
            GraphQLRequest(TICKS, variable_values={"id": session_id})
        ):
            await self.queue.put(result["sessionTicks"])
        self.completed.set()

    async def at(self, instant: datetime) -> dict[str, Any]:
        """The newest frame computed at `instant`, waiting for it to arrive."""
        async with asyncio.timeout(5):
            while True:
                frame = await self.queue.get()
                if datetime.fromisoformat(frame["asOf"]) == instant and self.queue.empty():
                    return frame

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def assert_matches(
    frame: dict[str, Any], oracle: Oracle, events: list[Event], now: datetime
) -> None:
    expected = oracle.counters(events, now)
    seen = (
        frame["elapsedSeconds"],
        frame["activeSeconds"],
        frame["idleSeconds"],
        frame["isIdle"],
        frame["status"],
    )
    assert seen == (
        expected.elapsed,
        expected.active,
        expected.idle,
        expected.is_idle,
        expected.status,
    ), f"at {now}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_whole_session_second_by_second(
    server: RunningServer, alice: Client, clock: ManualClock, protocol: str
) -> None:
    """graphql-transport-ws carries everything on one socket; the legacy graphql-ws
    protocol carries the subscription while mutations go over HTTP."""
    payload = {"authorization": f"Bearer {alice.token}"}
    one_socket = protocol == WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
    async with connect(server, protocol, payload) as ws:

        async def run(request: GraphQLRequest) -> dict[str, Any]:
            if one_socket:
                return await ws.execute(request)
            return dict(await alice.execute(request.payload["query"], request.variable_values))

        created = (await run(CREATE))["createSession"]
        sid = created["id"]
        start = datetime.fromisoformat(created["startedAt"])
        oracle = Oracle(start, threshold=15)
        events: list[Event] = []
        frames = Frames(ws, sid)
        try:
            assert_matches(await frames.at(clock.now()), oracle, events, clock.now())

            async def tick(seconds: int) -> None:
                for _ in range(seconds):
                    clock.advance(1)
                    frame = await frames.at(clock.now())
                    assert_matches(frame, oracle, events, clock.now())

            async def act(mutation: Any, kind: Kind, ending: str | None = None) -> dict[str, Any]:
                result = await run(GraphQLRequest(mutation, variable_values={"id": sid}))
                events.append(Event(clock.now(), kind, ending))
                (view,) = result.values()
                assert_matches(view, oracle, events, clock.now())
                return dict(view)

            await tick(3)
            clock.advance(milliseconds=500)
            await act(ACTIVITY, Kind.ACTIVITY)
            await tick(20)  # silence: idle from tick 19 on
            clock.advance(milliseconds=250)
            await act(TAB, Kind.TAB_SWITCH)
            await act(TAB, Kind.TAB_SWITCH)
            await act(ACTIVITY, Kind.ACTIVITY)
            await tick(2)
            paused = await act(PAUSE, Kind.PAUSE)
            clock.advance(30)  # no ticks while paused
            resumed = await act(RESUME, Kind.RESUME)
            assert resumed["elapsedSeconds"] == paused["elapsedSeconds"]
            await tick(17)
            ended = await act(END, Kind.END, "COMPLETED")
            final = await frames.at(clock.now())
            assert final["status"] == "COMPLETED"
            async with asyncio.timeout(5):
                await frames.completed.wait()  # the subscription completes after the end
        finally:
            await frames.close()
    expected = oracle.counters(events, clock.now())
    assert ended["status"] == "COMPLETED"
    assert ended["tabSwitches"] == 2
    assert ended["focusScore"] == expected_score(
        elapsed=expected.elapsed,
        active=expected.active,
        idle=expected.idle,
        tab_switches=2,
        target_minutes=1,
    )
