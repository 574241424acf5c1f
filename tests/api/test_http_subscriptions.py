"""Subscriptions over HTTP streams: GraphQL over SSE and Apollo's multipart
protocol, from the same live hub and compiled payloads as the socket."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from focusgql.settings import Settings
from tests.conftest import START
from tests.support import Client, ManualClock, RunningServer, create_session, serve

SSE = "text/event-stream"
MULTIPART = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json'
COMPILED = "subscription($id: ID!) { sessionTicks(sessionId: $id) { elapsedSeconds status } }"
# A fragment is not compiled: Strawberry's own streaming runs it.
EXECUTED = (
    "subscription($id: ID!) { sessionTicks(sessionId: $id) "
    "{ ... on FocusSession { elapsedSeconds status } } }"
)


class Events:
    """Reads a stream and splits it into its protocol's events."""

    def __init__(self, response: httpx.Response, accept: str) -> None:
        self.response = response
        self.multipart = accept.startswith("multipart")
        self.raw = ""
        self._text = response.aiter_text()
        self._buffer = ""

    async def next(self) -> dict[str, Any]:
        """The next event: {"kind": "next"|"complete"|"heartbeat", "payload": ...}."""
        separator = "\r\n--graphql" if self.multipart else "\n\n"
        while True:
            if self.multipart and self._buffer.startswith("--graphql"):
                self._buffer = self._buffer[len("--graphql") :]
            if self.multipart and self._buffer.lstrip("\r\n").startswith("--graphql--"):
                return {"kind": "complete"}
            if self.multipart and self._buffer.startswith("--"):
                return {"kind": "complete"}
            index = self._buffer.find(separator)
            if index >= 0:
                event, self._buffer = self._buffer[:index], self._buffer[index + len(separator) :]
                return self._parse(event)
            chunk = await self._text.__anext__()
            self.raw += chunk
            self._buffer += chunk

    def _parse(self, event: str) -> dict[str, Any]:
        if self.multipart:
            body = json.loads(event.split("\r\n\r\n", 1)[1])
            if body == {}:
                return {"kind": "heartbeat"}
            return {"kind": "next", "payload": body["payload"]}
        if event.startswith(":"):
            return {"kind": "heartbeat"}
        fields = {}
        for line in event.split("\n"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if fields["event"] == "complete":
            return {"kind": "complete"}
        return {"kind": "next", "payload": json.loads(fields["data"])}

    async def data(self) -> dict[str, Any]:
        while (event := await self.next())["kind"] == "heartbeat":
            pass
        assert event["kind"] == "next", event
        payload: dict[str, Any] = event["payload"]
        return payload


def stream(client: Client, accept: str, query: str, variables: dict[str, Any]) -> Any:
    headers = {"Accept": accept, "Content-Type": "application/json"}
    if client.token:
        headers["Authorization"] = f"Bearer {client.token}"
    return client.http.stream(
        "POST", "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


@pytest.mark.parametrize("accept", [SSE, MULTIPART])
async def test_ticks_stream_until_the_session_ends(
    alice: Client, clock: ManualClock, accept: str
) -> None:
    sid = (await create_session(alice, "id"))["id"]
    async with stream(alice, accept, COMPILED, {"id": sid}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(accept.split(";")[0])
        assert response.headers["cache-control"].startswith("no-cache")
        assert response.headers["x-accel-buffering"] == "no"
        events = Events(response, accept)
        assert await events.next() == {"kind": "heartbeat"}  # at once, before any data
        first = await events.data()
        assert first == {"data": {"sessionTicks": {"elapsedSeconds": 0, "status": "ACTIVE"}}}
        clock.advance(1)
        assert (await events.data())["data"]["sessionTicks"]["elapsedSeconds"] == 1
        clock.advance(1)
        assert (await events.data())["data"]["sessionTicks"]["elapsedSeconds"] == 2
        await alice.execute(f'mutation {{ endSession(id: "{sid}") {{ id }} }}')
        final = await events.data()
        assert final["data"]["sessionTicks"] == {"elapsedSeconds": 2, "status": "COMPLETED"}
        assert await events.next() == {"kind": "complete"}


@pytest.mark.parametrize("accept", [SSE, MULTIPART])
async def test_compiled_and_executed_streams_send_the_same_events(
    alice: Client, clock: ManualClock, accept: str
) -> None:
    sid = (await create_session(alice, "id"))["id"]
    texts = []
    for query in (COMPILED, EXECUTED):
        async with stream(alice, accept, query, {"id": sid}) as response:
            events = Events(response, accept)
            first = await events.data()
            texts.append((first, events.raw))
    (compiled, compiled_raw), (executed, executed_raw) = texts
    assert compiled == executed
    # The same framing byte for byte; only the compiled stream opens with a
    # heartbeat for SSE (Strawberry's waits out its first interval).
    framed = json.dumps(compiled, separators=(",", ":"))
    assert framed in compiled_raw and framed in executed_raw
    assert compiled_raw.startswith(": ping") == (accept == SSE)
    assert not executed_raw.startswith(": ping")


@pytest.mark.parametrize("accept", [SSE, MULTIPART])
async def test_another_persons_session_is_not_found_over_a_stream(
    alice: Client, bob: Client, accept: str
) -> None:
    sid = (await create_session(alice, "id"))["id"]
    async with stream(bob, accept, COMPILED, {"id": sid}) as response:
        events = Events(response, accept)
        event = await events.data()
        assert event.get("data") is None
        assert [e["extensions"]["code"] for e in event["errors"]] == ["NOT_FOUND"]
        assert "Traceback" not in events.raw


async def test_a_stream_without_a_token_is_unauthenticated(alice: Client) -> None:
    sid = (await create_session(alice, "id"))["id"]
    async with stream(alice.as_user(None), SSE, COMPILED, {"id": sid}) as response:
        event = await Events(response, SSE).data()
        assert [e["extensions"]["code"] for e in event["errors"]] == ["UNAUTHENTICATED"]


async def test_a_query_accepting_json_or_a_stream_is_answered_as_json(alice: Client) -> None:
    response = await alice.http.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={
            "Authorization": f"Bearer {alice.token}",
            # What urql sends for a query.
            "Accept": "application/graphql-response+json, application/json, "
            "text/event-stream, multipart/mixed",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert response.json()["data"]["me"]["id"]


@pytest.fixture(scope="module")
async def quick_beats(settings: Settings) -> AsyncIterator[RunningServer]:
    """A server of its own (own clock, own database) beating every 0.2 s, its
    tokens valid a minute."""
    own = settings.model_copy(
        update={
            "database": f"{settings.database}_beats",
            "stream_heartbeat_seconds": 0.2,
            # Tokens that expire long before the session could be abandoned.
            "token_ttl_seconds": 60,
            "jwt_leeway_seconds": 0,
        }
    )
    async with serve(own, ManualClock(START)) as running:
        yield running


@pytest.mark.parametrize("accept", [SSE, MULTIPART])
async def test_heartbeats_flow_and_an_expired_token_ends_the_stream(
    quick_beats: RunningServer, accept: str
) -> None:
    clock = quick_beats.clock
    assert isinstance(clock, ManualClock)
    async with httpx.AsyncClient(base_url=quick_beats.url, timeout=30) as http:
        alice = await Client(http).register()
        sid = (await create_session(alice, "id"))["id"]
        async with stream(alice, accept, COMPILED, {"id": sid}) as response:
            events = Events(response, accept)
            assert await events.next() == {"kind": "heartbeat"}
            assert (await events.next())["kind"] == "next"
            # Nothing happens on the (stopped) session clock: beats keep coming.
            for _ in range(3):
                assert await events.next() == {"kind": "heartbeat"}
            clock.advance(61)
            # The token has expired: the stream ends, without a `complete`
            # (the subscription did not end; the client reconnects, signed in anew).
            kinds = []
            async with asyncio.timeout(10):
                with contextlib.suppress(StopAsyncIteration):
                    while True:
                        kinds.append((await events.next())["kind"])
            assert "complete" not in kinds
