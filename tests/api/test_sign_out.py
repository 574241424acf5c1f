"""signOutEverywhere and changePassword over real HTTP and WebSockets: every
token the person held stops working everywhere (HTTP, the signal fast path,
connection_init), their open sockets close with 4403, a token issued after
keeps working, and nobody else is touched."""

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

from tests.support import Client, GraphQLError, RunningServer, create_session

SIGN_OUT = "mutation { signOutEverywhere }"
CHANGE = (
    "mutation($c: String!, $n: String!) {"
    " changePassword(currentPassword: $c, newPassword: $n) { token user { id } } }"
)
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
PASSWORD = "correct horse battery"


async def open_socket(ws_url: str, token: str) -> Any:
    ws = await websockets.connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    return ws


async def closed_with(ws: Any, seconds: float = 5) -> tuple[int, str]:
    """The close code and reason the server sends within `seconds`."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def still_answers(ws: Any) -> None:
    await ws.send(
        json.dumps({"id": "q", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
    )
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await ws.recv())
            if message.get("id") == "q" and message["type"] == "next":
                assert message["payload"]["data"]["me"]["id"]
                return


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def email_of(client: Client) -> str:
    email: str = (await client.execute("{ me { email } }"))["me"]["email"]
    return email


async def test_signing_out_everywhere_revokes_every_token_and_socket(
    server: RunningServer, alice: Client, bob: Client
) -> None:
    email = await email_of(alice)
    other_device = alice.as_user(
        (await alice.as_user(None).execute(LOGIN, {"e": email, "p": PASSWORD}))["login"]["token"]
    )
    running = await create_session(alice, "id")
    activity = f'mutation {{ recordActivity(sessionId: "{running["id"]}") {{ elapsedSeconds }} }}'
    await other_device.execute(activity)  # its token now in the signal path's cache
    assert alice.token and other_device.token and bob.token
    asking, watching = (
        await open_socket(server.ws_url, alice.token),
        await open_socket(server.ws_url, other_device.token),
    )
    bobs = await open_socket(server.ws_url, bob.token)

    await asking.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SIGN_OUT}}))
    answer = json.loads(await asking.recv())
    assert answer["payload"] == {"data": {"signOutEverywhere": True}}, answer
    assert await closed_with(watching) == (4403, "Forbidden: token revoked")
    assert await closed_with(asking) == (4403, "Forbidden: token revoked")

    for client in (alice, other_device):
        for query in ("{ me { id } }", activity):
            assert codes(await client.raw(query)) == ["UNAUTHENTICATED"]
        with pytest.raises(websockets.ConnectionClosed) as refused:
            assert client.token
            await open_socket(server.ws_url, client.token)
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 4403

    # Bob keeps his socket and his token; Alice signs in again and goes on.
    await still_answers(bobs)
    await bobs.close()
    again = alice.as_user(
        (await alice.as_user(None).execute(LOGIN, {"e": email, "p": PASSWORD}))["login"]["token"]
    )
    assert (await again.execute(activity))["recordActivity"]["elapsedSeconds"] >= 0
    assert again.token
    fresh = await open_socket(server.ws_url, again.token)
    await still_answers(fresh)
    await fresh.close()


async def test_changing_the_password_revokes_old_tokens_and_answers_a_fresh_one(
    server: RunningServer, alice: Client
) -> None:
    email = await email_of(alice)
    assert alice.token
    old_socket = await open_socket(server.ws_url, alice.token)
    for current, new, field in (
        ("not the password", "a new long password", "currentPassword"),
        (PASSWORD, "short", "newPassword"),
    ):
        with pytest.raises(GraphQLError) as refused:
            await alice.execute(CHANGE, {"c": current, "n": new})
        assert refused.value.codes == ["BAD_USER_INPUT"]
        assert refused.value.errors[0]["extensions"]["field"] == field
    assert (await alice.execute("{ me { email } }"))["me"]["email"] == email  # nothing changed

    changed = (await alice.execute(CHANGE, {"c": PASSWORD, "n": "a new long password"}))[
        "changePassword"
    ]
    fresh = alice.as_user(changed["token"])
    new_socket = await open_socket(server.ws_url, changed["token"])
    assert await closed_with(old_socket) == (4403, "Forbidden: token revoked")
    assert codes(await alice.raw("{ me { id } }")) == ["UNAUTHENTICATED"]
    assert (await fresh.execute("{ me { email } }"))["me"]["email"] == email
    await still_answers(new_socket)  # signed in with the new generation: it stays
    await new_socket.close()

    anonymous = alice.as_user(None)
    assert codes(await anonymous.raw(LOGIN, {"e": email, "p": PASSWORD})) == ["UNAUTHENTICATED"]
    assert (await anonymous.execute(LOGIN, {"e": email, "p": "a new long password"}))["login"]


async def test_signing_out_needs_a_signed_in_person(anonymous: Client) -> None:
    assert codes(await anonymous.raw(SIGN_OUT)) == ["UNAUTHENTICATED"]
    body = await anonymous.raw(CHANGE, {"c": PASSWORD, "n": "a new long password"})
    assert codes(body) == ["UNAUTHENTICATED"]
