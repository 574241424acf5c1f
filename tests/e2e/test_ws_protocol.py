"""graphql-transport-ws conformance with a raw WebSocket client: every close code the
protocol defines (PROTOCOL.md of graphql-ws), message-size and subscription limits,
Origin checks, and the socket closing when its token expires."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from websockets import ConnectionClosed, InvalidStatus
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from focusgql.settings import Settings
from tests.support import Client, ManualClock, RunningServer, serve

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"
APP = "https://app.example"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUICK = {
    "connection_init_timeout_seconds": 0.3,
    "max_subscriptions_per_connection": 2,
    "ws_max_message_bytes": 4096,
    "allowed_origins": [APP],
    "token_ttl_seconds": 60,
    "jwt_leeway_seconds": 30,
}
TICKS = "subscription($id: ID!) { sessionTicks(sessionId: $id) { elapsedSeconds } }"


@pytest.fixture(scope="module")
async def quick(settings: Settings) -> AsyncIterator[RunningServer]:
    async with serve(settings.model_copy(update=QUICK), ManualClock(START)) as running:
        yield running


@pytest.fixture
async def person(quick: RunningServer) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=quick.url, timeout=30) as http:
        yield await Client(http).register()


@contextlib.asynccontextmanager
async def opened(
    server: RunningServer, protocol: str = TRANSPORT, query: str = "", **options: Any
) -> AsyncIterator[ClientConnection]:
    url = server.ws_url + query
    async with connect(url, subprotocols=[Subprotocol(protocol)], **options) as ws:
        yield ws


async def send(ws: ClientConnection, message: Any) -> None:
    await ws.send(message if isinstance(message, str | bytes) else json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return message


async def closed(ws: ClientConnection) -> tuple[int, str]:
    """Reads until the server closes; its close code and reason."""
    with pytest.raises(ConnectionClosed) as error:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    assert error.value.rcvd is not None, "the server closed without a close frame"
    return error.value.rcvd.code, error.value.rcvd.reason


async def acknowledged(ws: ClientConnection, payload: dict[str, Any] | None = None) -> None:
    await send(ws, {"type": "connection_init", **({"payload": payload} if payload else {})})
    assert (await receive(ws))["type"] == "connection_ack"


async def start_session(client: Client) -> str:
    created = await client.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }")
    session_id: str = created["createSession"]["id"]
    return session_id


def subscribe(op: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}}


# -- close codes ----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_4408_without_connection_init_in_time(quick: RunningServer, protocol: str) -> None:
    async with opened(quick, protocol) as ws:
        assert await closed(ws) == (4408, "Connection initialisation timeout")


async def test_4401_subscribe_before_the_ack(quick: RunningServer) -> None:
    async with opened(quick) as ws:
        await send(ws, subscribe("1", "{ __typename }"))
        assert await closed(ws) == (4401, "Unauthorized")


async def test_4429_a_second_connection_init(quick: RunningServer) -> None:
    async with opened(quick) as ws:
        await acknowledged(ws)
        await send(ws, {"type": "connection_init"})
        assert await closed(ws) == (4429, "Too many initialisation requests")


async def test_4409_a_subscriber_id_in_use(quick: RunningServer, person: Client) -> None:
    session_id = await start_session(person)
    async with opened(quick) as ws:
        await acknowledged(ws, {"token": person.token})
        await send(ws, subscribe("a", TICKS, {"id": session_id}))
        assert (await receive(ws))["type"] == "next"
        await send(ws, subscribe("a", TICKS, {"id": session_id}))
        assert await closed(ws) == (4409, "Subscriber for a already exists")


@pytest.mark.parametrize("where", ["payload", "query"])
async def test_4403_a_bad_token(quick: RunningServer, where: str) -> None:
    query, payload = (
        ("", {"token": "not-a-token"}) if where == "payload" else ("?token=x.y.z", None)
    )
    async with opened(quick, query=query) as ws:
        await send(ws, {"type": "connection_init", **({"payload": payload} if payload else {})})
        assert await closed(ws) == (4403, "Forbidden")


INVALID = [
    "not json",
    b"\x00binary",
    [],
    "[1]",
    "7",
    "null",
    {"payload": {}},
    {"type": 7},
    {"type": "unknown"},
    {"type": "next", "id": "1", "payload": {}},
    {"type": "connection_init", "payload": "token"},
    {"type": "connection_init", "payload": []},
    {"type": "subscribe", "payload": {"query": "{ __typename }"}},
    {"type": "subscribe", "id": "", "payload": {"query": "{ __typename }"}},
    {"type": "subscribe", "id": 1, "payload": {"query": "{ __typename }"}},
    {"type": "subscribe", "id": ["1"], "payload": {"query": "{ __typename }"}},
    {"type": "subscribe", "id": "1"},
    {"type": "subscribe", "id": "1", "payload": "{ __typename }"},
    {"type": "subscribe", "id": "1", "payload": {"query": 1}},
    {"type": "subscribe", "id": "1", "payload": {"query": "{ me { id } }", "variables": [1]}},
    {"type": "subscribe", "id": "1", "payload": {"query": "{ x }", "operationName": 1}},
    {"type": "subscribe", "id": "1", "payload": {"query": "{ x }", "extensions": "e"}},
    {"type": "complete"},
    {"type": "complete", "id": {"a": 1}},
    {"type": "ping", "payload": "p"},
]


@pytest.mark.parametrize("message", INVALID, ids=[repr(m)[:40] for m in INVALID])
async def test_4400_a_malformed_message(quick: RunningServer, message: Any) -> None:
    async with opened(quick) as ws:
        await acknowledged(ws)
        await send(ws, message)
        code, reason = await closed(ws)
    assert code == 4400, reason
    assert reason


async def test_a_malformed_connection_init_is_4400_too(quick: RunningServer) -> None:
    async with opened(quick) as ws:
        await send(ws, {"type": "connection_init", "payload": 12})
        assert (await closed(ws))[0] == 4400


@pytest.mark.parametrize("message", [[], "7", {"type": "start", "id": 1}, {"type": "stop"}])
async def test_the_legacy_protocol_closes_on_malformed_messages(
    quick: RunningServer, message: Any
) -> None:
    async with opened(quick, LEGACY) as ws:
        await acknowledged(ws)
        await send(ws, message)
        assert (await closed(ws))[0] == 4400


# -- what stays open ------------------------------------------------------------------


async def test_ping_pong_and_a_null_init_payload(quick: RunningServer) -> None:
    async with opened(quick) as ws:
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["type"] == "pong"
        await send(ws, {"type": "connection_init", "payload": None})
        assert (await receive(ws))["type"] == "connection_ack"
        await send(ws, {"type": "pong", "payload": {"any": "thing"}})
        await send(ws, subscribe("q", "{ __typename }"))
        assert await receive(ws) == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }
        assert (await receive(ws))["type"] == "complete"


async def test_subscriptions_per_connection_are_limited(
    quick: RunningServer, person: Client
) -> None:
    session_id = await start_session(person)
    async with opened(quick) as ws:
        await acknowledged(ws, {"token": person.token})
        for op in ("1", "2"):
            await send(ws, subscribe(op, TICKS, {"id": session_id}))
            assert (await receive(ws))["id"] == op
        await send(ws, subscribe("3", TICKS, {"id": session_id}))
        refused = await receive(ws)
        assert (refused["id"], refused["type"]) == ("3", "error")
        assert refused["payload"][0]["message"] == "Subscription limit reached"
        # Finishing one frees its slot.
        await send(ws, {"id": "1", "type": "complete"})
        await send(ws, subscribe("4", TICKS, {"id": session_id}))
        assert (await receive(ws))["id"] == "4"


async def test_a_message_over_the_size_limit_closes_with_1009(quick: RunningServer) -> None:
    async with opened(quick) as ws:
        await acknowledged(ws)
        await send(ws, subscribe("ok", "{ __typename }", {"pad": "x" * 3000}))
        assert (await receive(ws))["type"] == "next"
        await send(ws, subscribe("big", "{ __typename }", {"pad": "x" * 5000}))
        assert (await closed(ws))[0] == 1009


# -- origins --------------------------------------------------------------------------


async def test_browsers_on_other_origins_are_refused(quick: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with opened(quick, origin=Origin("https://evil.example")):
            pass
    assert refused.value.response.status_code == 403
    same = Origin(quick.url)
    for origin in (Origin(APP), same, None):  # listed, same-origin, not a browser
        async with opened(quick, origin=origin) as ws:
            await acknowledged(ws)


async def test_without_a_list_only_same_origin_browsers_connect(server: RunningServer) -> None:
    assert server.settings.allowed_origins == []
    with pytest.raises(InvalidStatus):
        async with opened(server, origin=Origin(APP)):
            pass
    async with opened(server, origin=Origin(server.url)) as ws:
        await acknowledged(ws)


# -- token lifetime -------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_the_socket_closes_when_its_token_expires(
    quick: RunningServer, person: Client, protocol: str
) -> None:
    clock = quick.clock
    assert isinstance(clock, ManualClock)
    session_id = await start_session(person)
    payload = {"authorization": f"Bearer {person.token}"}
    async with opened(quick, protocol) as ws:
        await acknowledged(ws, payload)
        start = "subscribe" if protocol == TRANSPORT else "start"
        await send(ws, {**subscribe("t", TICKS, {"id": session_id}), "type": start})
        assert (await receive(ws))["id"] == "t"
        clock.advance(60 + 29)  # ttl + leeway - 1: still valid
        with contextlib.suppress(TimeoutError):
            while True:  # the ticks the advance produced, if any
                await asyncio.wait_for(ws.recv(), 0.3)
        clock.advance(1)
        assert await closed(ws) == (4403, "Forbidden: token expired")
    # A fresh token gets a fresh connection.
    fresh = (await person.register()).token
    async with opened(quick, protocol) as ws:
        await acknowledged(ws, {"token": fresh})


async def test_a_legacy_reinit_with_a_fresher_token_moves_the_expiry(
    quick: RunningServer, person: Client
) -> None:
    clock = quick.clock
    assert isinstance(clock, ManualClock)
    async with opened(quick, LEGACY) as ws:
        await acknowledged(ws, {"token": person.token})
        clock.advance(30)
        fresher = (await person.register()).token  # valid 30 s longer
        await acknowledged(ws, {"token": fresher})
        clock.advance(60 + 1)  # past the first token's ttl + leeway, not the fresher's
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)  # still open, nothing said
        clock.advance(29)
        assert await closed(ws) == (4403, "Forbidden: token expired")
