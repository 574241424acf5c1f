"""Signals over a WebSocket taken as they arrive (focusgql/corked.py, LISTEN),
without a pass through Strawberry's receive loop.

What must hold: such a signal is answered exactly as the loop would answer
it (the same counters as a read, the same error codes), each taken one
counted in `focusgql_ws_signals_on_arrival`, and whatever the shortcut must
not decide (an id already in use) still reaches the loop and its rules.
"""

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.api.test_metrics import sample, scrape
from tests.e2e.test_slow_reader import ACTIVITY, CREATE, FIELDS, signed_in, subscribe
from tests.support import Client, ManualClock, RunningServer

TAB_SWITCH = f"mutation($id: ID!) {{ recordTabSwitch(sessionId: $id) {{ {FIELDS} }} }}"
TAKEN = "focusgql_ws_signals_on_arrival_total"


async def answer_of(ws: object, identifier: str) -> dict[str, object]:
    async with asyncio.timeout(5):
        answer = json.loads(await ws.recv())  # type: ignore[attr-defined]
        done = json.loads(await ws.recv())  # type: ignore[attr-defined]
    assert answer["id"] == identifier and answer["type"] == "next", answer
    assert done == {"id": identifier, "type": "complete"}
    payload: dict[str, object] = answer["payload"]
    return payload


async def test_signals_are_answered_on_arrival_as_the_loop_would(
    server: RunningServer, alice: Client, bob: Client, clock: ManualClock
) -> None:
    mine = (await alice.execute(CREATE))["createSession"]["id"]
    theirs = (await bob.execute(CREATE))["createSession"]["id"]
    assert alice.token is not None
    ws = await signed_in(server.ws_url, alice.token)
    before = sample(await scrape(server), TAKEN)
    try:
        answers = []
        for n in range(6):
            clock.advance(1)
            query = TAB_SWITCH if n % 3 == 2 else ACTIVITY
            await ws.send(subscribe(f"s{n}", query, mine))
            answers.append(await answer_of(ws, f"s{n}"))
        await ws.send(subscribe("foreign", ACTIVITY, theirs))
        refused = await answer_of(ws, "foreign")
    finally:
        await ws.close()
    assert sample(await scrape(server), TAKEN) == before + 7
    last = answers[-1]["data"]
    assert isinstance(last, dict)
    (frame,) = last.values()
    read = await alice.execute(
        f'{{ session(id: "{mine}") {{ {FIELDS} }} }}',
    )
    assert frame == read["session"]
    assert frame["tabSwitches"] == 2 and frame["idleSeconds"] == 0
    assert refused["data"] is None
    errors = refused["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_an_id_in_use_still_meets_the_loops_rule(
    server: RunningServer, alice: Client
) -> None:
    mine = (await alice.execute(CREATE))["createSession"]["id"]
    assert alice.token is not None
    ws = await signed_in(server.ws_url, alice.token)
    # The second arrives while the first waits for its commit (a window of
    # tens of milliseconds): its id is taken, and only the loop may answer.
    await ws.send(subscribe("same", ACTIVITY, mine))
    await ws.send(subscribe("same", ACTIVITY, mine))
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409
