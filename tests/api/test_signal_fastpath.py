"""Signals answered without a GraphQL execution say exactly what Strawberry says.

Each case is sent twice, as a plain selection (the fast path) and as the same
selection through a fragment (which the fast path leaves to Strawberry), over
HTTP and over the socket, on the manual clock so both answers are of one
instant: data and errors must be identical, byte for byte once parsed.
"""

import json
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

from focusgql.api.fastpath import TickPlans
from focusgql.api.schema import build_schema
from focusgql.api.strawberry_internals import core_schema
from tests.support import Client, RunningServer, create_session

FIELDS = "id status elapsedSeconds activeSeconds idleSeconds isIdle tabSwitches asOf"
PLAIN = "mutation($id: ID!) {{ {field}(sessionId: $id) {{ {fields} }} }}"
# The same field at the same position (line 1, column 20), through a fragment.
FRAGMENT = (
    "mutation($id: ID!) {{ {field}(sessionId: $id) {{ ...F }} }} "
    "fragment F on FocusSession {{ {fields} }}"
)


def documents(field: str) -> tuple[str, str]:
    return PLAIN.format(field=field, fields=FIELDS), FRAGMENT.format(field=field, fields=FIELDS)


def test_the_plain_document_is_compiled_and_the_fragment_is_not() -> None:
    plans = TickPlans(core_schema(build_schema()))
    for field in ("recordActivity", "recordTabSwitch"):
        plain, fragment = documents(field)
        plan = plans.get(plain, None)
        assert plan is not None and plan.is_mutation and plan.field == field
        assert plans.get(fragment, None) is None
    other = "mutation($id: ID!) { endSession(id: $id) { id } }"
    assert plans.get(other, None) is None


async def over_socket(server: RunningServer, token: str | None, query: str, sid: str) -> Any:
    protocols = [Subprotocol("graphql-transport-ws")]
    async with websockets.connect(server.ws_url, subprotocols=protocols) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": {"id": sid}}
        await ws.send(json.dumps({"id": "a", "type": "subscribe", "payload": payload}))
        answer = json.loads(await ws.recv())
        assert answer["type"] == "next", answer
        assert json.loads(await ws.recv()) == {"id": "a", "type": "complete"}
        return answer["payload"]


@pytest.mark.parametrize("field", ["recordActivity", "recordTabSwitch"])
async def test_fast_and_strawberry_answers_agree(
    server: RunningServer, alice: Client, bob: Client, anonymous: Client, field: str
) -> None:
    plain, fragment = documents(field)
    sid = (await create_session(alice, "id"))["id"]
    ended = (await create_session(bob, "id"))["id"]
    await bob.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": ended})
    cases: list[tuple[str, Client, str]] = [
        ("ok", alice, sid),
        ("someone else's", bob, sid),
        ("ended", bob, ended),
        ("malformed id", alice, "not-an-id"),
        ("bad token", anonymous.as_user("not.a.token"), sid),
    ]
    for label, client, target in cases:
        # Activity is idempotent within a second and the clock stands still, so
        # both answers describe the same state; a tab switch counts each time.
        fast = await client.raw(plain, {"id": target})
        slow = await client.raw(fragment, {"id": target})
        if label == "ok" and field == "recordTabSwitch":
            assert slow["data"][field]["tabSwitches"] == fast["data"][field]["tabSwitches"] + 1
            slow["data"][field]["tabSwitches"] -= 1
        assert fast == slow, label
        if label != "ok":
            codes = [error["extensions"]["code"] for error in fast["errors"]]
            assert codes == [
                {
                    "someone else's": "NOT_FOUND",
                    "ended": "CONFLICT",
                    "malformed id": "BAD_USER_INPUT",
                    "bad token": "UNAUTHENTICATED",
                }[label]
            ], label
        if label == "bad token":
            continue  # a socket with a bad token is refused at connection_init (4403)
        socket = await over_socket(server, client.token, plain, target)
        strawberry = await over_socket(server, client.token, fragment, target)
        if label == "ok" and field == "recordTabSwitch":
            strawberry["data"][field]["tabSwitches"] -= 1
        assert socket == strawberry, label
        if label != "ok":
            assert socket == fast, label
