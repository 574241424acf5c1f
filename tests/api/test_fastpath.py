"""The tick fast path sends exactly what Strawberry's own execution would."""

import json
import random
from typing import Any

import websockets
from websockets.typing import Subprotocol

from focusgql.api.fastpath import TickPlans
from focusgql.api.schema import build_schema
from focusgql.api.strawberry_internals import core_schema
from tests.support import Client, ManualClock, RunningServer

LEAVES = sorted(TickPlans(core_schema(build_schema())).readers)


def random_selection(rng: random.Random) -> str:
    fields = rng.sample([*LEAVES, "__typename"], rng.randint(1, len(LEAVES) + 1))
    aliased = set(rng.sample(range(len(fields)), min(len(fields), rng.randint(0, 5))))
    return " ".join(f"{name}{i}: {name}" if i in aliased else name for i, name in enumerate(fields))


async def first_message(server: RunningServer, token: str, protocol: str, query: str) -> str:
    """The raw text of the first data message a subscription receives."""
    async with websockets.connect(server.ws_url, subprotocols=[Subprotocol(protocol)]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        start = "subscribe" if protocol == "graphql-transport-ws" else "start"
        await ws.send(json.dumps({"id": "1", "type": start, "payload": {"query": query}}))
        while True:
            text = str(await ws.recv())
            if json.loads(text)["type"] in ("next", "data", "error"):
                return text


def payload(text: str) -> Any:
    return json.loads(text)["payload"]


async def test_fast_and_normal_paths_agree_on_random_selections(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    created = await alice.execute(
        'mutation { createSession(input: {targetMinutes: 2, contentId: "essay"}) { id } }'
    )
    sid = created["createSession"]["id"]
    rng = random.Random(20261126)
    for round_ in range(24):
        clock.advance(rng.choice([0, 1, 7, 16]), milliseconds=rng.randint(0, 999))
        step = rng.random()
        if step < 0.3:
            await alice.execute(f'mutation {{ recordTabSwitch(sessionId: "{sid}") {{ id }} }}')
        elif step < 0.45:
            await alice.execute(f'mutation {{ recordActivity(sessionId: "{sid}") {{ id }} }}')
        elif step < 0.55:
            status = "PAUSED" if round_ % 2 else "ACTIVE"
            await alice.execute(
                f'mutation {{ updateSession(id: "{sid}", input: {{status: {status}}}) {{ id }} }}'
            )
        query = f'subscription {{ sessionTicks(sessionId: "{sid}") {{ {random_selection(rng)} }} }}'
        assert alice.token
        fast = await first_message(server, alice.token, "graphql-transport-ws", query)
        normal = await first_message(server, alice.token, "graphql-ws", query)
        assert '"type":"next"' in fast, "the fast path was not taken"
        assert payload(fast) == payload(normal)
        assert list(payload(fast)["data"]["sessionTicks"]) == list(
            payload(normal)["data"]["sessionTicks"]
        ), "field order differs"


def test_only_plain_scalar_tick_selections_take_the_fast_path() -> None:
    plans = TickPlans(core_schema(build_schema()))
    fast = [
        'subscription { sessionTicks(sessionId: "x") { elapsedSeconds } }',
        "subscription S($id: ID!) { t: sessionTicks(sessionId: $id) { a: id status } }",
    ]
    slow = [
        'subscription { sessionTicks(sessionId: "x") { scoreBreakdown { score } } }',
        'subscription { sessionTicks(sessionId: "x") { ...F } } fragment F on FocusSession { id }',
        'subscription { sessionTicks(sessionId: "x") { id @include(if: true) } }',
        'subscription { sessionTicks(sessionId: "x") { nope } }',
        '{ session(id: "x") { id } }',
        "subscription { sessionTicks(",
    ]
    assert all(plans.get(q, None) is not None for q in fast)
    assert all(plans.get(q, None) is None for q in slow)


def test_selections_over_the_limits_are_left_to_strawberry() -> None:
    plans = TickPlans(core_schema(build_schema()), max_aliases=10, max_tokens=60)
    ten = " ".join(f"a{i}: id" for i in range(10))
    eleven = " ".join(f"a{i}: id" for i in range(11))
    assert plans.get(f'subscription {{ sessionTicks(sessionId: "x") {{ {ten} }} }}', None)
    assert (
        plans.get(f'subscription {{ sessionTicks(sessionId: "x") {{ {eleven} }} }}', None) is None
    )
    many_tokens = " ".join(["id"] * 60)
    assert (
        plans.get(f'subscription {{ sessionTicks(sessionId: "x") {{ {many_tokens} }} }}', None)
        is None
    )
