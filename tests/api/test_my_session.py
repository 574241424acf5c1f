"""mySession over real WebSockets: two clients of one person follow whatever
session that person runs (start, ticks, pause, end, the next start), through
the compiled path and through Strawberry's execution alike; someone else sees
only their own null."""

import asyncio
import json
import random
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

from focusgql.api.fastpath import TickPlans
from focusgql.api.schema import build_schema
from focusgql.api.strawberry_internals import core_schema
from tests.api.test_fastpath import first_message, payload, random_selection
from tests.api.test_http_subscriptions import SSE, Events
from tests.support import Client, ManualClock, RunningServer, create_session

COMPILED = "subscription { mySession { id status elapsedSeconds tabSwitches } }"
# A nested selection: not compiled, so Strawberry's resolver runs it.
EXECUTED = (
    "subscription { mySession { id status elapsedSeconds tabSwitches scoreBreakdown { score } } }"
)
PAUSE = "mutation($id: ID!) { updateSession(id: $id, input: {status: PAUSED}) { status } }"
END = "mutation($id: ID!) { endSession(id: $id) { status } }"


class Follower:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, server: RunningServer, token: str, query: str) -> "Follower":
        ws = await websockets.connect(
            server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
        )
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "me", "type": "subscribe", "payload": {"query": query}}))
        return cls(ws)

    async def next(self, seconds: float = 5) -> dict[str, Any] | None:
        async with asyncio.timeout(seconds):
            message = json.loads(await self.ws.recv())
        assert message["type"] == "next", message
        frame: dict[str, Any] | None = message["payload"]["data"]["mySession"]
        if frame is not None:
            frame.pop("scoreBreakdown", None)  # only to make it take the other path
        return frame

    async def until(self, wanted: Any, seconds: float = 5) -> dict[str, Any] | None:
        """The first frame `wanted` accepts within `seconds`; ticks before it are skipped."""
        async with asyncio.timeout(seconds):
            while True:
                frame = await self.next()
                if wanted(frame):
                    return frame

    async def quiet(self, seconds: float = 0.3) -> None:
        try:
            async with asyncio.timeout(seconds):
                message = await self.ws.recv()
        except TimeoutError:
            return
        raise AssertionError(f"expected nothing, got {message}")


async def test_two_clients_of_one_person_follow_every_session(
    server: RunningServer, alice: Client, bob: Client, clock: ManualClock
) -> None:
    assert alice.token and bob.token
    laptop = await Follower.open(server, alice.token, COMPILED)
    phone = await Follower.open(server, alice.token, EXECUTED)
    other = await Follower.open(server, bob.token, COMPILED)
    for follower in (laptop, phone, other):
        assert await follower.next() is None  # nothing runs yet

    first = await create_session(alice, "id")
    for follower in (laptop, phone):
        frame = await follower.next()
        assert frame == {
            "id": first["id"],
            "status": "ACTIVE",
            "elapsedSeconds": 0,
            "tabSwitches": 0,
        }
    clock.advance(1)
    for follower in (laptop, phone):
        assert await follower.until(lambda f: f["elapsedSeconds"] == 1)
    tab = f'mutation {{ recordTabSwitch(sessionId: "{first["id"]}") {{ tabSwitches }} }}'
    await alice.execute(tab)
    for follower in (laptop, phone):
        assert await follower.until(lambda f: f["tabSwitches"] == 1)
    await alice.execute(PAUSE, {"id": first["id"]})
    for follower in (laptop, phone):
        paused = await follower.until(lambda f: f["status"] != "ACTIVE")
        assert paused is not None and paused["status"] == "PAUSED"
    await alice.execute(END, {"id": first["id"]})
    for follower in (laptop, phone):
        final = await follower.next()
        assert final is not None and (final["id"], final["status"]) == (first["id"], "COMPLETED")
        assert await follower.next() is None  # then null until the next one

    second = await create_session(alice, "id")
    for follower in (laptop, phone):
        frame = await follower.next()
        assert frame is not None and (frame["id"], frame["status"]) == (second["id"], "ACTIVE")
    # Creating a third abandons the second: its final frame, null, then the third.
    third = await create_session(alice, "id")
    for follower in (laptop, phone):
        ended = await follower.until(lambda f: f is None or f["status"] != "ACTIVE")
        assert ended is not None and (ended["id"], ended["status"]) == (second["id"], "ABANDONED")
        assert await follower.next() is None
        frame = await follower.next()
        assert frame is not None and frame["id"] == third["id"]

    await other.quiet()  # Bob saw none of it
    await alice.execute(END, {"id": third["id"]})
    for follower in (laptop, phone, other):
        await follower.ws.close()


async def test_a_follower_joining_mid_session_gets_it_at_once(
    server: RunningServer, alice: Client
) -> None:
    assert alice.token
    running = await create_session(alice, "id")
    late = await Follower.open(server, alice.token, COMPILED)
    frame = await late.next()
    assert frame is not None and (frame["id"], frame["status"]) == (running["id"], "ACTIVE")
    await alice.execute(f'mutation {{ deleteSession(id: "{running["id"]}") }}')
    ended = await late.next()
    assert ended is not None and ended["status"] == "ABANDONED"  # deleted: it ends
    assert await late.next() is None
    await late.ws.close()


async def test_my_session_needs_a_signed_in_socket(server: RunningServer) -> None:
    async with websockets.connect(
        server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": COMPILED}}))
        async with asyncio.timeout(5):
            message = json.loads(await ws.recv())
        assert message["type"] in ("error", "next"), message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]


def test_plain_my_session_selections_are_compiled() -> None:
    plans = TickPlans(core_schema(build_schema()))
    plan = plans.get(COMPILED, None)
    assert plan is not None and plan.follows_person and not plan.is_mutation
    assert plans.get(EXECUTED, None) is None


async def test_fast_and_normal_paths_agree_on_my_session(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    assert alice.token
    rng = random.Random(20261203)
    for round_ in range(8):
        if round_ == 3:
            sid = (await create_session(alice, "id", contentId="essay"))["id"]
        if round_ > 3:
            clock.advance(rng.choice([0, 1, 7, 16]), milliseconds=rng.randint(0, 999))
        query = f"subscription {{ mySession {{ {random_selection(rng)} }} }}"
        fast = await first_message(server, alice.token, "graphql-transport-ws", query)
        normal = await first_message(server, alice.token, "graphql-ws", query)
        assert '"type":"next"' in fast, "the fast path was not taken"
        assert payload(fast) == payload(normal)
        if payload(fast)["data"]["mySession"] is not None:
            assert list(payload(fast)["data"]["mySession"]) == list(
                payload(normal)["data"]["mySession"]
            ), "field order differs"
    await alice.execute(END, {"id": sid})


async def test_my_session_over_sse(server: RunningServer, alice: Client) -> None:
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
        http.stream(
            "POST",
            "/graphql",
            json={"query": COMPILED},
            headers={"Authorization": f"Bearer {alice.token}", "Accept": SSE},
        ) as response,
    ):
        assert response.status_code == 200
        events = Events(response, SSE)
        first = await events.next()
        assert first["payload"] == {"data": {"mySession": None}}
        sid = (await create_session(alice, "id"))["id"]
        started = await events.next()
        assert started["payload"]["data"]["mySession"]["id"] == sid
    await alice.execute(END, {"id": sid})
