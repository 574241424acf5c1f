"""GraphQL over HTTP by the spec: graphql-http's own audit suite (npm, run by
Node, installed like the other Node clients: tests/e2e/http/) must pass every
audit, MUSTs and SHOULDs; and the negotiation it checks, seen from Python."""

from pathlib import Path

import httpx
import pytest

from tests.e2e.test_graphql_ws_node import check_node, install_node_modules, run_node
from tests.support import Client, RunningServer

HTTP_DIR = Path(__file__).parent / "http"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


@pytest.fixture(scope="session")
def http_clients() -> Path:
    """The Node clients' directory, its packages installed."""
    check_node()
    install_node_modules(HTTP_DIR)
    return HTTP_DIR


async def test_every_graphql_http_audit_passes(server: RunningServer, http_clients: Path) -> None:
    out = await run_node(http_clients / "audit.mjs", server.url + "/graphql")
    audits = out["audits"]
    assert len(audits) >= 61
    failing = [a for a in audits if a["status"] != "ok"]
    assert failing == [], failing


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{", None),  # does not parse
        ("{ nope }", None),  # does not validate
        ("query($id: ID!) { session(id: $id) { id } }", {"id": None}),  # does not coerce
    ],
)
async def test_a_request_error_is_400_without_data_under_the_new_media_type(
    alice: Client, query: str, variables: dict[str, object] | None
) -> None:
    headers = {"Authorization": f"Bearer {alice.token}", "Accept": GRAPHQL_RESPONSE_JSON}
    body = {"query": query, "variables": variables}
    new = await alice.http.post("/graphql", json=body, headers=headers)
    assert new.status_code == 400
    assert new.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert "data" not in new.json() and new.json()["errors"][0]["extensions"]["code"]

    headers["Accept"] = "application/json"
    legacy = await alice.http.post("/graphql", json=body, headers=headers)
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("application/json")
    assert legacy.json()["data"] is None and legacy.json()["errors"]


async def test_a_field_error_is_still_200_with_data(alice: Client) -> None:
    headers = {"Authorization": f"Bearer {alice.token}", "Accept": GRAPHQL_RESPONSE_JSON}
    query = 'query { session(id: "0123456789abcdef01234567") { id } }'
    response = await alice.http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    body = response.json()
    assert "data" in body and [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]


async def test_a_mutation_over_get_is_405_allowing_post(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(
            "/graphql",
            params={"query": 'mutation { login(email: "a@b.c", password: "x") { token } }'},
            headers={"Accept": GRAPHQL_RESPONSE_JSON},
        )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("accept", ["text/plain", "application/xml, image/png;q=0.5"])
async def test_an_accept_nothing_satisfies_is_406(server: RunningServer, accept: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Accept": accept}
        )
    assert response.status_code == 406


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON},application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", "application/json"),
    ],
)
async def test_the_answer_has_the_media_type_asked_for(
    server: RunningServer, accept: str | None, media_type: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        headers = {"Accept": accept} if accept else {}
        request = http.build_request(
            "POST", "/graphql", json={"query": "{ __typename }"}, headers=headers
        )
        if accept is None:
            del request.headers["accept"]
        response = await http.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.json() == {"data": {"__typename": "Query"}}
