"""WebSocket behaviour with `gql`: real seconds, auth paths, errors on the socket."""

import asyncio
import itertools
import json
from datetime import datetime
from typing import Any

import httpx
import pytest
import websockets
from gql import GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.typing import Subprotocol

from tests.e2e.test_gql_client import CREATE, ME, PROTOCOLS, TICKS, connect
from tests.support import Client, RunningServer


@pytest.mark.slow
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_real_time_ticks_raise_elapsed_by_exactly_one(
    live_server: RunningServer, protocol: str
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        person = await Client(http).register()
        created = (await person.execute(CREATE.payload["query"]))["createSession"]
    frames: list[dict[str, Any]] = []
    payload = {"authorization": f"Bearer {person.token}"}
    async with connect(live_server, protocol, payload) as ws:
        request = GraphQLRequest(TICKS, variable_values={"id": created["id"]})
        async with asyncio.timeout(10):
            async for result in ws.subscribe(request):
                frames.append(result["sessionTicks"])
                if len(frames) == 5:
                    break
    elapsed = [f["elapsedSeconds"] for f in frames]
    # The first frame is the state on subscribing; every later one is a tick.
    assert [b - a for a, b in itertools.pairwise(elapsed[1:])] == [1, 1, 1]
    started = datetime.fromisoformat(created["startedAt"])
    for frame in frames[1:]:
        as_of = datetime.fromisoformat(frame["asOf"])
        lateness = (as_of - started).total_seconds() - frame["elapsedSeconds"]
        assert 0 <= lateness < 0.5, f"tick {frame['elapsedSeconds']} computed {lateness}s late"


async def test_token_in_the_url_authenticates(server: RunningServer, alice: Client) -> None:
    protocol = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
    async with connect(server, protocol, None, query=f"?token={alice.token}") as ws:
        me = (await ws.execute(ME))["me"]
    assert me["email"].endswith("@example.com")


@pytest.mark.parametrize("payload_key", ["authorization", "token"])
async def test_connection_init_payload_authenticates(
    server: RunningServer, alice: Client, payload_key: str
) -> None:
    value = f"Bearer {alice.token}" if payload_key == "authorization" else alice.token
    protocol = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
    async with connect(server, protocol, {payload_key: value}) as ws:
        assert (await ws.execute(ME))["me"]["id"]


@pytest.mark.parametrize(
    ("query", "payload"),
    [("", {"authorization": "Bearer not-a-token"}), ("?token=not-a-token", {})],
)
async def test_a_bad_token_is_refused_at_connection(
    server: RunningServer, query: str, payload: dict[str, str]
) -> None:
    async with websockets.connect(
        server.ws_url + query, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_anonymous_subscription_is_unauthenticated(
    server: RunningServer, alice: Client, protocol: str
) -> None:
    created = (await alice.execute(CREATE.payload["query"]))["createSession"]
    async with connect(server, protocol, None) as ws:
        request = GraphQLRequest(TICKS, variable_values={"id": created["id"]})
        with pytest.raises(TransportQueryError) as error:
            async for _ in ws.subscribe(request):
                pass
    assert error.value.errors and error.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_watching_another_persons_session_is_not_found(
    server: RunningServer, alice: Client, bob: Client, protocol: str
) -> None:
    created = (await alice.execute(CREATE.payload["query"]))["createSession"]
    async with connect(server, protocol, {"authorization": f"Bearer {bob.token}"}) as ws:
        request = GraphQLRequest(TICKS, variable_values={"id": created["id"]})
        with pytest.raises(TransportQueryError) as error:
            async for _ in ws.subscribe(request):
                pass
    assert error.value.errors and error.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_legacy_protocol_refuses_mutations_with_a_code(
    server: RunningServer, alice: Client
) -> None:
    protocol = WebsocketsTransport.APOLLO_SUBPROTOCOL
    async with connect(server, protocol, {"authorization": f"Bearer {alice.token}"}) as ws:
        with pytest.raises(TransportQueryError) as error:
            await ws.execute(gql("mutation { createSession(input: {targetMinutes: 5}) { id } }"))
    assert error.value.errors and error.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
