"""deleteAccount over real HTTP and WebSockets: nothing of the person is left in
any collection, their tokens stop working, their sockets close, others keep theirs."""

import asyncio
import json
from typing import Any

import pytest
import websockets
from bson import json_util
from websockets.typing import Subprotocol

from focusgql.settings import Settings
from focusgql.store.mongo import make_client
from tests.support import Client, GraphQLError, ManualClock, RunningServer, create_session

DELETE = "mutation($p: String!) { deleteAccount(password: $p) }"
PASSWORD = "correct horse battery"


async def leftovers(settings: Settings, needles: list[str]) -> list[tuple[str, str]]:
    """(collection, needle) for every stored document mentioning a needle."""
    assert settings.mongodb_uri
    client = make_client(settings.mongodb_uri)
    found: list[tuple[str, str]] = []
    try:
        database = client[settings.database]
        for name in await database.list_collection_names():
            async for raw in database[name].find({}):
                text = json_util.dumps(raw)
                found += [(name, n) for n in needles if n in text]
    finally:
        await client.close()
    return found


def close_of(error: websockets.ConnectionClosed) -> tuple[int, str]:
    assert error.rcvd is not None, "closed without a close frame"
    return error.rcvd.code, error.rcvd.reason


async def socket(server: RunningServer, token: str) -> Any:
    ws = await websockets.connect(server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    return ws


async def test_deleting_an_account_leaves_nothing_of_it(
    server: RunningServer, settings: Settings, alice: Client, bob: Client, clock: ManualClock
) -> None:
    me = await alice.execute("{ me { id email } }")
    user_id, email = me["me"]["id"], me["me"]["email"]
    ended = await create_session(alice, "id", tags=["private-project"])
    await alice.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": ended["id"]})
    running = await create_session(alice, "id", targetMinutes=30)
    keyed = 'mutation { createSession(input: {targetMinutes: 30}, clientMutationId: "k") { id } }'
    running = (await alice.execute(keyed))["createSession"]  # an idempotency key kept, too
    activity = f'mutation {{ recordActivity(sessionId: "{running["id"]}") {{ id }} }}'
    await alice.execute(activity)  # a journalled signal, and the token in the signal cache
    bobs = await create_session(bob, "id")
    assert alice.token
    watching, idle = await socket(server, alice.token), await socket(server, alice.token)
    query = f'subscription {{ sessionTicks(sessionId: "{running["id"]}") {{ status }} }}'
    await watching.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    assert (
        json.loads(await watching.recv())["payload"]["data"]["sessionTicks"]["status"] == "ACTIVE"
    )

    with pytest.raises(GraphQLError) as refused:
        await alice.execute(DELETE, {"p": "not the password"})
    assert refused.value.codes == ["BAD_USER_INPUT"]
    assert (await alice.execute("{ me { id } }"))["me"]["id"] == user_id

    assert (await alice.execute(DELETE, {"p": PASSWORD}))["deleteAccount"] == user_id

    # Watchers see the session end; then each socket of theirs closes with 4403.
    messages = []
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                messages.append(json.loads(await watching.recv()))
    assert close_of(closed.value) == (4403, "Forbidden: account deleted")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            await idle.recv()
    assert close_of(closed.value)[0] == 4403
    statuses = [m["payload"]["data"]["sessionTicks"]["status"] for m in messages if "payload" in m]
    assert statuses in ([], ["ABANDONED"])

    # The token names nobody now: over HTTP, over the signal fast path, on a new socket.
    for query in ("{ me { id } }", activity):
        body = await alice.raw(query)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await socket(server, alice.token)
    assert close_of(closed.value)[0] == 4403
    relogin = await alice.as_user(None).raw(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        {"e": email, "p": PASSWORD},
    )
    assert relogin["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    needles = [user_id, email, ended["id"], running["id"], "private-project"]
    assert await leftovers(settings, needles) == []
    assert ("sessions", bobs["id"]) in await leftovers(settings, [bobs["id"]])  # the scan sees
    # Someone else's data is untouched.
    read = await bob.execute("query($id: ID!) { session(id: $id) { status } }", {"id": bobs["id"]})
    assert read["session"]["status"] == "ACTIVE"
    await bob.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": bobs["id"]})


async def test_delete_account_needs_a_signed_in_person(anonymous: Client) -> None:
    body = await anonymous.raw(DELETE, {"p": PASSWORD})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
