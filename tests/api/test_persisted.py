"""Persisted operations over HTTP and the socket: Apollo APQ, and trusted
documents from an Apollo manifest or a Relay id map."""

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import given
from hypothesis import strategies as st
from websockets.typing import Subprotocol

from focusgql.api.persisted import PersistedDocuments, PersistedQueryError
from focusgql.settings import Settings
from tests.support import Client, ManualClock, RunningServer, serve

ME = "query Me { me { id email } }"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(text: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest(text)}}


async def post(client: Client, body: dict[str, Any], accept: str = "*/*") -> httpx.Response:
    headers = {"Accept": accept}
    if client.token:
        headers["Authorization"] = f"Bearer {client.token}"
    return await client.http.post("/graphql", json=body, headers=headers)


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


async def test_apq_asks_for_the_text_once_then_runs_the_hash(alice: Client) -> None:
    query = f"query Me {{ me {{ id email }} }} # {id(alice)}"  # a text no test sent before
    first = await post(alice, {"extensions": apq(query)})
    assert first.status_code == 200 and codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    strict = await post(alice, {"extensions": apq(query)}, accept=GRAPHQL_RESPONSE_JSON)
    assert strict.status_code == 400 and "data" not in strict.json()

    registered = await post(alice, {"query": query, "extensions": apq(query)})
    me = registered.json()["data"]["me"]
    by_hash = await post(alice, {"extensions": apq(query)})
    assert by_hash.json() == {"data": {"me": me}}

    # GET, so a CDN may cache it: a short, stable URL.
    params = {"extensions": json.dumps(apq(query)), "operationName": "Me"}
    got = await alice.http.get(
        "/graphql", params=params, headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert got.status_code == 200 and got.json() == {"data": {"me": me}}


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 1, "sha256Hash": digest("something else")}},
        {"persistedQuery": {"version": 2, "sha256Hash": digest(ME)}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": "yes"},
    ],
)
async def test_a_bad_persisted_query_is_bad_user_input(
    alice: Client, extensions: dict[str, Any]
) -> None:
    response = await post(alice, {"query": ME, "extensions": extensions})
    assert codes(response) == ["BAD_USER_INPUT"]
    assert "Traceback" not in response.text


async def test_a_mutation_by_hash_over_get_is_405(alice: Client) -> None:
    mutation = "mutation Tab($id: ID!) { recordTabSwitch(sessionId: $id) { id } }"
    await post(alice, {"query": mutation, "extensions": apq(mutation), "variables": {"id": "x"}})
    params = {"extensions": json.dumps(apq(mutation)), "variables": '{"id": "x"}'}
    response = await alice.http.get("/graphql", params=params)
    assert response.status_code == 405 and response.headers["allow"] == "POST"


async def subscribe_once(url: str, token: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """The first answer (`next` or `error`) to one subscribe message."""
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] in ("next", "error"):
                return message


async def test_apq_over_the_socket(server: RunningServer, alice: Client) -> None:
    query = f"query Me {{ me {{ id }} }} # socket {id(alice)}"
    missing = await subscribe_once(
        server.ws_url, alice.token, {"query": "", "extensions": apq(query)}
    )
    assert missing["type"] == "error"
    assert missing["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    sent = await subscribe_once(
        server.ws_url, alice.token, {"query": query, "extensions": apq(query)}
    )
    me = sent["payload"]["data"]["me"]
    again = await subscribe_once(
        server.ws_url, alice.token, {"query": "", "extensions": apq(query)}
    )
    assert again["payload"] == {"data": {"me": me}}
    # One store per process: what the socket taught, HTTP knows.
    assert (await post(alice, {"extensions": apq(query)})).json() == {"data": {"me": me}}


# -- trusted documents -------------------------------------------------------------

LISTED_ME = "query ListedMe { me { id } }"
LISTED_LOGIN = (
    "mutation ListedLogin($email: String!, $password: String!) "
    "{ login(email: $email, password: $password) { token } }"
)
UNLISTED = "query Unlisted { me { email } }"


def manifests(directory: Path) -> dict[str, Path]:
    apollo = directory / "apollo.json"
    apollo.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {
                        "id": digest(LISTED_ME),
                        "name": "ListedMe",
                        "type": "query",
                        "body": LISTED_ME,
                    },
                    {
                        "id": "login-1",
                        "name": "ListedLogin",
                        "type": "mutation",
                        "body": LISTED_LOGIN,
                    },
                ],
            }
        )
    )
    relay = directory / "relay.json"
    relay.write_text(json.dumps({"me-1": LISTED_ME, "login-1": LISTED_LOGIN}))
    return {"apollo": apollo, "relay": relay}


@pytest.fixture(scope="module", params=["apollo", "relay"])
async def trusted(
    request: pytest.FixtureRequest,
    settings: Settings,
    clock: ManualClock,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningServer]:
    """A server that runs only the documents in its manifest (same database)."""
    path = manifests(tmp_path_factory.mktemp("manifests"))[request.param]
    own = settings.model_copy(update={"trusted_documents": path})
    async with serve(own, clock) as running:
        yield running


async def test_only_trusted_documents_run(trusted: RunningServer, alice: Client) -> None:
    async with httpx.AsyncClient(base_url=trusted.url) as http:
        client = Client(http, alice.token)
        me = (await alice.execute("{ me { id } }"))["me"]  # on the open server
        kind = Path(str(trusted.settings.trusted_documents)).stem
        reference = {"doc_id": "me-1"} if kind == "relay" else {"extensions": apq(LISTED_ME)}
        for body in (
            reference,
            {"documentId": "me-1"} if kind == "relay" else reference,
            {"query": LISTED_ME},
        ):
            answer = await post(client, body)
            assert answer.json() == {"data": {"me": me}}, body
        refused = await post(client, {"query": UNLISTED})
        assert codes(refused) == ["PERSISTED_QUERY_NOT_IN_LIST"] and "data" not in refused.json()
        unknown_hash = await post(client, {"extensions": apq(UNLISTED)})
        assert codes(unknown_hash) == ["PERSISTED_QUERY_NOT_FOUND"]
        # Nothing is learned at run time in this mode.
        taught = await post(client, {"query": UNLISTED, "extensions": apq(UNLISTED)})
        assert codes(taught) == ["PERSISTED_QUERY_NOT_IN_LIST"]

    socket_refused = await subscribe_once(trusted.ws_url, alice.token, {"query": UNLISTED})
    assert socket_refused["type"] == "error"
    assert socket_refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    listed = await subscribe_once(trusted.ws_url, alice.token, {"query": LISTED_ME})
    assert listed["payload"] == {"data": {"me": me}}


async def test_a_compiled_signal_is_held_to_the_list_too(
    trusted: RunningServer, alice: Client
) -> None:
    """The signal fast paths (HTTP and on arrival over the socket) check the list."""
    sid = (await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }"))[
        "createSession"
    ]["id"]
    signal = f'mutation {{ recordTabSwitch(sessionId: "{sid}") {{ tabSwitches }} }}'
    async with httpx.AsyncClient(base_url=trusted.url) as http:
        refused = await post(Client(http, alice.token), {"query": signal})
    assert codes(refused) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    over_socket = await subscribe_once(trusted.ws_url, alice.token, {"query": signal})
    assert over_socket["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    read = await alice.execute(f'{{ session(id: "{sid}") {{ tabSwitches }} }}')
    assert read["session"]["tabSwitches"] == 0


# -- the APQ store's rule, against a brute-force oracle ----------------------------


@given(
    st.integers(min_value=1, max_value=4),
    st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=6)), max_size=40),
)
def test_the_store_remembers_the_most_recently_used(
    size: int, steps: list[tuple[bool, int]]
) -> None:
    """Registering (text + hash) or running (hash alone) a document makes it the
    most recent; a hash is found iff it is among the `size` most recent."""
    documents = PersistedDocuments(size=size)
    recent: list[str] = []  # the oracle: every use, in order
    for register, n in steps:
        text = f"query Q{n} {{ __typename }}"
        body: dict[str, Any] = {"extensions": apq(text)}
        if register:
            body["query"] = text
        distinct_recent = list(dict.fromkeys(reversed(recent)))[:size]
        expected = register or text in distinct_recent
        try:
            assert documents.resolve(body) == text
            assert expected
            recent.append(text)
        except PersistedQueryError as error:
            assert not expected and error.code == "PERSISTED_QUERY_NOT_FOUND"
