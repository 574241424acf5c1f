"""Who may touch what: the owner, another person, nobody, and forged tokens.

Another person's session is NOT_FOUND (never FORBIDDEN, never their data) and
stays exactly as it was; without a valid token everything is UNAUTHENTICATED.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
from bson import ObjectId
from websockets.asyncio.client import connect

from tests.support import Client, GraphQLError, ManualClock, RunningServer

FIELDS = "id status targetMinutes contentId tabSwitches lastActivityAt"
CONTENT = "alice-secret-reading"


@dataclass(frozen=True)
class Op:
    """One operation that takes a session id."""

    name: str
    document: str
    variable: str = "id"


SESSION_OPS = [
    Op("session", f"query($id: ID!) {{ session(id: $id) {{ {FIELDS} }} }}"),
    Op(
        "updateSession",
        "mutation($id: ID!) { updateSession(id: $id, input: "
        f'{{status: PAUSED, targetMinutes: 99, contentId: "hijacked"}}) {{ {FIELDS} }} }}',
    ),
    Op("endSession", f"mutation($id: ID!) {{ endSession(id: $id) {{ {FIELDS} }} }}"),
    Op("deleteSession", "mutation($id: ID!) { deleteSession(id: $id) }"),
    Op(
        "recordActivity",
        f"mutation($id: ID!) {{ recordActivity(sessionId: $id) {{ {FIELDS} }} }}",
    ),
    Op(
        "recordTabSwitch",
        f"mutation($id: ID!) {{ recordTabSwitch(sessionId: $id) {{ {FIELDS} }} }}",
    ),
]

# Operations that need a signed-in person but no session id.
OTHER_OPS: dict[str, tuple[str, dict[str, Any]]] = {
    "me": ("{ me { id email } }", {}),
    "meStats": ("{ me { stats { totalSessions } } }", {}),
    "sessions": ("{ sessions { totalCount edges { node { id } } } }", {}),
    "activeSession": ("{ activeSession { id } }", {}),
    "updateProfile": (
        'mutation { updateProfile(input: {displayName: "Mallory"}) { id displayName } }',
        {},
    ),
    "createSession": ("mutation { createSession(input: {targetMinutes: 5}) { id } }", {}),
}


async def start_session(client: Client) -> dict[str, Any]:
    data = await client.execute(
        "mutation($c: String) { createSession(input: {targetMinutes: 25, contentId: $c}) "
        f"{{ {FIELDS} }} }}",
        {"c": CONTENT},
    )
    session: dict[str, Any] = data["createSession"]
    return session


async def read_session(client: Client, sid: str) -> dict[str, Any]:
    data = await client.execute(
        f"query($id: ID!) {{ session(id: $id) {{ {FIELDS} }} }}", {"id": sid}
    )
    session: dict[str, Any] = data["session"]
    return session


async def expect_codes(client: Client, document: str, variables: dict[str, Any]) -> list[str]:
    """The error codes of a request that must fail, having leaked no data."""
    body = await client.raw(document, variables)
    assert body.get("errors"), body
    # A nullable root field may come back as null beside its error; nothing more.
    data = body.get("data")
    assert data is None or all(value is None for value in data.values()), body
    assert CONTENT not in json.dumps(body)
    return [e.get("extensions", {}).get("code") for e in body["errors"]]


# -- the owner ------------------------------------------------------------------


@pytest.mark.parametrize("op", SESSION_OPS, ids=lambda op: op.name)
async def test_owner_can_use_every_session_operation(
    op: Op, alice: Client, clock: ManualClock
) -> None:
    created = await start_session(alice)
    sid = created["id"]
    clock.advance(3)
    data = await alice.execute(op.document, {op.variable: sid})
    result = data[op.name]
    if op.name == "deleteSession":
        assert result == sid
        with pytest.raises(GraphQLError) as error:
            await read_session(alice, sid)
        assert error.value.codes == ["NOT_FOUND"]
        return
    assert result["id"] == sid
    after = await read_session(alice, sid)
    expectations: dict[str, dict[str, Any]] = {
        "session": {"status": "ACTIVE"},
        "updateSession": {"status": "PAUSED", "targetMinutes": 99, "contentId": "hijacked"},
        "endSession": {"status": "COMPLETED"},
        "recordActivity": {"status": "ACTIVE"},
        "recordTabSwitch": {"status": "ACTIVE", "tabSwitches": 1},
    }
    expected = expectations[op.name]
    assert {k: after[k] for k in expected} == expected
    if op.name == "recordActivity":
        assert datetime.fromisoformat(after["lastActivityAt"]) == clock.now()


async def test_owner_can_use_every_other_operation(alice: Client) -> None:
    for name, (document, variables) in OTHER_OPS.items():
        data = await alice.execute(document, variables)
        assert name.removesuffix("Stats") in data
    assert (await alice.execute("{ me { displayName } }"))["me"]["displayName"] == "Mallory"
    assert (await alice.execute("{ activeSession { targetMinutes } }"))["activeSession"] == {
        "targetMinutes": 5
    }


# -- another person -------------------------------------------------------------


@pytest.mark.parametrize("op", SESSION_OPS, ids=lambda op: op.name)
async def test_another_persons_session_is_not_found_and_untouched(
    op: Op, alice: Client, bob: Client, clock: ManualClock
) -> None:
    created = await start_session(alice)
    sid = created["id"]
    await alice.execute(
        "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { id } }", {"id": sid}
    )
    before = await read_session(alice, sid)
    clock.advance(2)

    codes = await expect_codes(bob, op.document, {op.variable: sid})

    assert codes == ["NOT_FOUND"]
    after = await read_session(alice, sid)
    assert after == before
    assert after["tabSwitches"] == 1
    assert after["status"] == "ACTIVE"
    active = await alice.execute("{ activeSession { id } }")
    assert active["activeSession"] == {"id": sid}

    # Once ended it is still not found: not CONFLICT, which would tell bob it exists.
    await alice.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": sid})
    ended = await read_session(alice, sid)
    assert await expect_codes(bob, op.document, {op.variable: sid}) == ["NOT_FOUND"]
    assert await read_session(alice, sid) == ended


async def test_bobs_lists_never_contain_alices_sessions(alice: Client, bob: Client) -> None:
    alice_ids = set()
    for _ in range(3):
        alice_ids.add((await start_session(alice))["id"])
    bobs_own = (await start_session(bob))["id"]
    alice_cursor = (await alice.execute("{ sessions(first: 1) { pageInfo { endCursor } } }"))[
        "sessions"
    ]["pageInfo"]["endCursor"]

    for status in (None, "ACTIVE", "ABANDONED"):
        page = (
            await bob.execute(
                "query($s: SessionStatus) { sessions(first: 100, status: $s) "
                "{ totalCount edges { node { id contentId } } } }",
                {"s": status},
            )
        )["sessions"]
        ids = {e["node"]["id"] for e in page["edges"]}
        assert not ids & alice_ids
        assert page["totalCount"] == len(ids)
        assert ids <= {bobs_own}
    # Even with a cursor taken from alice's list, bob only pages through his own.
    page = (
        await bob.execute(
            "query($a: String) { sessions(after: $a) { edges { node { id } } } }",
            {"a": alice_cursor},
        )
    )["sessions"]
    assert not {e["node"]["id"] for e in page["edges"]} & alice_ids


async def test_bobs_active_session_is_null_while_alice_has_one(alice: Client, bob: Client) -> None:
    sid = (await start_session(alice))["id"]
    assert (await bob.execute("{ activeSession { id } }"))["activeSession"] is None
    assert (await alice.execute("{ activeSession { id } }"))["activeSession"] == {"id": sid}
    stats = (await bob.execute("{ me { stats { totalSessions completedSessions } } }"))["me"]
    assert stats["stats"] == {"totalSessions": 0, "completedSessions": 0}


async def test_bob_creating_a_session_does_not_abandon_alices(alice: Client, bob: Client) -> None:
    sid = (await start_session(alice))["id"]
    await start_session(bob)
    assert (await read_session(alice, sid))["status"] == "ACTIVE"


async def test_me_and_update_profile_only_ever_touch_the_caller(alice: Client, bob: Client) -> None:
    alice_me = (await alice.execute("{ me { id email displayName } }"))["me"]
    bob_me = (await bob.execute("{ me { id email } }"))["me"]
    assert alice_me["id"] != bob_me["id"]
    await bob.execute(
        'mutation { updateProfile(input: {displayName: "Bob", timezone: "Asia/Tokyo"}) { id } }'
    )
    assert (await alice.execute("{ me { id email displayName timezone } }"))["me"] == {
        **alice_me,
        "timezone": "UTC",
    }
    assert (await bob.execute("{ me { displayName timezone } }"))["me"] == {
        "displayName": "Bob",
        "timezone": "Asia/Tokyo",
    }


# -- nobody, and forged tokens ----------------------------------------------------


def forged_tokens(server: RunningServer, clock: ManualClock, user_id: str) -> dict[str, str]:
    settings = server.settings
    assert settings.jwt_secret is not None
    secret = settings.jwt_secret.get_secret_value()
    now = clock.now()
    claims = {
        "sub": user_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    return {
        "garbage": "not-a-jwt",
        "garbage-dots": "aaa.bbb.ccc",
        "other-secret": jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256"),
        "alg-none": jwt.encode(claims, "", algorithm="none"),
        "expired": jwt.encode(
            {
                **claims,
                "iat": int((now - timedelta(days=8)).timestamp()),
                # Well past any leeway the server allows for clock skew.
                "exp": int((now - timedelta(hours=1)).timestamp()),
            },
            secret,
            algorithm="HS256",
        ),
        "wrong-audience": jwt.encode({**claims, "aud": "someone-else"}, secret, algorithm="HS256"),
        "wrong-issuer": jwt.encode({**claims, "iss": "someone-else"}, secret, algorithm="HS256"),
        "no-such-user": jwt.encode({**claims, "sub": str(ObjectId())}, secret, algorithm="HS256"),
    }


ALL_OPS = [(op.name, op.document) for op in SESSION_OPS] + [
    (name, document) for name, (document, _) in OTHER_OPS.items()
]


TOKEN_KINDS = [
    "garbage",
    "garbage-dots",
    "other-secret",
    "alg-none",
    "expired",
    "wrong-audience",
    "wrong-issuer",
    "no-such-user",
]


@pytest.mark.parametrize(("name", "document"), ALL_OPS, ids=[n for n, _ in ALL_OPS])
async def test_no_token_or_a_bad_one_is_unauthenticated_everywhere(
    name: str,
    document: str,
    alice: Client,
    server: RunningServer,
    clock: ManualClock,
) -> None:
    sid = (await start_session(alice))["id"]
    user_id = (await alice.execute("{ me { id } }"))["me"]["id"]
    before = await read_session(alice, sid)
    tokens = forged_tokens(server, clock, user_id)
    assert sorted(tokens) == sorted(TOKEN_KINDS)
    for kind in [None, *TOKEN_KINDS]:
        caller = alice.as_user(None if kind is None else tokens[kind])
        codes = await expect_codes(caller, document, {"id": sid})
        assert codes == ["UNAUTHENTICATED"], kind
    assert await read_session(alice, sid) == before


async def test_non_bearer_authorization_is_anonymous(alice: Client) -> None:
    token = alice.token
    for header in (f"Basic {token}", f"{token}", "Bearer", f"Token {token}"):
        response = await alice.http.post(
            "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": header}
        )
        body = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], header


async def test_a_token_expires_on_the_servers_clock(
    anonymous: Client, server: RunningServer, clock: ManualClock
) -> None:
    alice = await anonymous.register()
    assert (await alice.execute("{ me { id } }"))["me"]["id"]
    clock.advance(server.settings.token_ttl_seconds + 3600)  # past any skew leeway
    with pytest.raises(GraphQLError) as error:
        await alice.execute("{ me { id } }")
    assert error.value.codes == ["UNAUTHENTICATED"]


async def test_login_token_works_and_names_the_same_person(anonymous: Client) -> None:
    email = f"authz-login-{ObjectId()}@example.com"
    registered = await anonymous.execute(
        "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
        {"i": {"email": email, "password": "long enough pw"}},
    )
    logged_in = await anonymous.execute(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        {"e": email.upper(), "p": "long enough pw"},
    )
    client = anonymous.as_user(logged_in["login"]["token"])
    me = (await client.execute("{ me { id email } }"))["me"]
    assert me == {"id": registered["register"]["user"]["id"], "email": email}


# -- the subscription -------------------------------------------------------------


async def subscribe_once(
    server: RunningServer, token: str | None, sid: str
) -> list[dict[str, Any]]:
    """Messages for a sessionTicks subscription up to its first error/next/complete."""
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init: dict[str, Any] = {"type": "connection_init"}
        if token is not None:
            init["payload"] = {"authorization": f"Bearer {token}"}
        await ws.send(json.dumps(init))
        ack = json.loads(await ws.recv())
        if ack["type"] != "connection_ack":
            return [ack]
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription($id: ID!) { sessionTicks(sessionId: $id) "
                        f"{{ {FIELDS} }} }}",
                        "variables": {"id": sid},
                    },
                }
            )
        )
        messages = [json.loads(await ws.recv())]
        return messages


def subscription_codes(messages: list[dict[str, Any]]) -> list[str]:
    message = messages[0]
    assert CONTENT not in json.dumps(message)
    if message["type"] == "error":
        errors = message["payload"]
    else:
        assert message["type"] == "next", message
        assert message["payload"].get("data") is None, message
        errors = message["payload"]["errors"]
    return [e.get("extensions", {}).get("code") for e in errors]


async def test_subscription_to_another_persons_session_is_not_found(
    alice: Client, bob: Client, server: RunningServer
) -> None:
    sid = (await start_session(alice))["id"]
    assert bob.token is not None
    assert subscription_codes(await subscribe_once(server, bob.token, sid)) == ["NOT_FOUND"]


async def test_anonymous_subscription_is_unauthenticated(
    alice: Client, server: RunningServer
) -> None:
    sid = (await start_session(alice))["id"]
    assert subscription_codes(await subscribe_once(server, None, sid)) == ["UNAUTHENTICATED"]


async def test_owner_subscription_gets_the_session(alice: Client, server: RunningServer) -> None:
    sid = (await start_session(alice))["id"]
    assert alice.token is not None
    messages = await subscribe_once(server, alice.token, sid)
    assert messages[0]["type"] == "next", messages
    assert messages[0]["payload"]["data"]["sessionTicks"]["id"] == sid
