"""Abuse limits: document depth, aliases and tokens, body size, batches, introspection,
CORS and argument bounds. Each is refused cleanly, with a code or a 4xx, never a 500."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from focusgql.settings import Settings
from tests.support import Client, ManualClock, RunningServer, serve

ROOT = Path(__file__).parents[2]
TIGHT = {"max_query_depth": 2, "max_aliases": 2, "max_query_tokens": 60, "max_body_bytes": 2048}
APP = "https://app.example"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def tight(settings: Settings) -> AsyncIterator[RunningServer]:
    async with serve(settings.model_copy(update=TIGHT), ManualClock(START)) as running:
        yield running


@pytest.fixture(scope="module")
async def locked_down(settings: Settings) -> AsyncIterator[RunningServer]:
    changes = {"introspection": False, "cors_origins": [APP]}
    async with serve(settings.model_copy(update=changes), ManualClock(START)) as running:
        yield running


@pytest.fixture
async def http(tight: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=tight.url, timeout=30) as client:
        yield client


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def post(http: httpx.AsyncClient, query: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code in (200, 400), response.text
    body: dict[str, Any] = response.json()
    return body


# -- documents ------------------------------------------------------------------------


async def test_depth_up_to_the_limit_runs_and_deeper_is_refused(http: httpx.AsyncClient) -> None:
    person = await Client(http).register()
    within = await post(http, "{ me { stats { totalSessions } } }", person.token)
    assert within["data"]["me"]["stats"]["totalSessions"] == 0
    deeper = "{ sessions { edges { node { id } } } }"
    via_fragment = "{ ...F } fragment F on Query { sessions { edges { node { id } } } }"
    for document in (deeper, via_fragment):
        body = await post(http, document, person.token)
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
        assert "exceeds maximum operation depth of 2" in body["errors"][0]["message"]
        assert body.get("data") is None


async def test_aliases_up_to_the_limit_run_and_more_are_refused(http: httpx.AsyncClient) -> None:
    assert (await post(http, "{ a: __typename b: __typename }"))["data"] == {
        "a": "Query",
        "b": "Query",
    }
    body = await post(http, "{ a: __typename b: __typename c: __typename }")
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "3 aliases found. Allowed: 2" in body["errors"][0]["message"]


async def test_a_document_over_the_token_limit_is_not_parsed_or_run(
    http: httpx.AsyncClient,
) -> None:
    email = "too-many-tokens@example.com"
    register = (
        f'mutation {{ register(input: {{email: "{email}", password: "long enough pw"}}) '
        "{ token } }"
    )
    long = register.replace("{ token }", "{ token " + "user { id } " * 20 + "}")
    body = await post(http, long)
    assert codes(body) == ["GRAPHQL_PARSE_FAILED"]
    assert "more than 60 tokens" in body["errors"][0]["message"]
    # Nothing ran: the same email still registers.
    assert "token" in (await post(http, register))["data"]["register"]


async def test_nested_introspection_is_refused(anonymous: Client) -> None:
    fields = "name"
    for _ in range(3):
        fields = f"fields {{ type {{ {fields} }} }}"
    body = await anonymous.raw(f"{{ __schema {{ types {{ {fields} }} }} }}")
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "introspection depth" in body["errors"][0]["message"]


# -- bodies ---------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413(http: httpx.AsyncClient) -> None:
    def body(size: int) -> bytes:
        prefix, suffix = b'{"query": "{ __typename }", "variables": {"pad": "', b'"}}'
        return prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix

    headers = {"content-type": "application/json"}
    at_limit = await http.post("/graphql", content=body(2048), headers=headers)
    assert at_limit.status_code == 200, at_limit.text
    over = await http.post("/graphql", content=body(2049), headers=headers)
    assert over.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(3):
            yield b" " * 1000

    chunked = await http.post("/graphql", content=chunks(), headers=headers)
    assert chunked.status_code == 413


async def test_the_default_body_limit_is_64_kib(server: RunningServer) -> None:
    assert server.settings.max_body_bytes == 64 * 1024
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        response = await http.post(
            "/graphql", content=b" " * (64 * 1024 + 1), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    ['[{"query": "{ __typename }"}]', "[]", "1", '"query"', "null", "true", "  7 "],
)
async def test_batches_and_bodies_that_are_not_objects_are_400(
    server: RunningServer, body: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        response = await http.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text


# -- introspection and CORS -----------------------------------------------------------


async def test_introspection_is_on_by_default(anonymous: Client) -> None:
    body = await anonymous.raw("{ __schema { queryType { name } } }")
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_introspection_can_be_switched_off(locked_down: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=locked_down.url, timeout=30) as http:
        body = await post(http, "{ __schema { queryType { name } } }")
        assert set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection has been disabled" in body["errors"][0]["message"]
        assert body.get("data") is None
        assert (await post(http, "{ __typename }"))["data"] == {"__typename": "Query"}
        # No introspection, no GraphiQL (it could not work).
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()


async def test_cors_answers_only_the_listed_origins(
    locked_down: RunningServer, server: RunningServer
) -> None:
    preflight = {"access-control-request-method": "POST"}
    async with httpx.AsyncClient(base_url=locked_down.url, timeout=30) as http:
        allowed = await http.options("/graphql", headers={"origin": APP, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == APP
        assert "access-control-allow-credentials" not in allowed.headers
        other = await http.options(
            "/graphql", headers={"origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in other.headers
        simple = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": APP}
        )
        assert simple.headers["access-control-allow-origin"] == APP
    # Without FOCUSGQL_CORS_ORIGINS no origin gets CORS headers.
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        response = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": APP}
        )
        assert "access-control-allow-origin" not in response.headers


# -- arguments ------------------------------------------------------------------------


async def bad_input(client: Client, document: str, variables: dict[str, Any]) -> list[str]:
    body = await client.raw(document, variables)
    assert not any((body.get("data") or {}).values()), body
    return codes(body)


CREATE = "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { token } }"


async def test_strings_are_bounded(alice: Client, anonymous: Client) -> None:
    person = {"password": "long enough pw"}
    long_email = "a" * 243 + "@example.com"  # 255 characters
    assert await bad_input(anonymous, REGISTER, {"i": {**person, "email": long_email}}) == [
        "BAD_USER_INPUT"
    ]
    for password in ("p" * 257, "short"):
        variables = {"i": {"email": "bounds@example.com", "password": password}}
        assert await bad_input(anonymous, REGISTER, variables) == ["BAD_USER_INPUT"]
    timezone = {"email": "tz@example.com", **person, "timezone": "Europe/" + "x" * 58}
    assert await bad_input(anonymous, REGISTER, {"i": timezone}) == ["BAD_USER_INPUT"]
    content = {"i": {"targetMinutes": 5, "contentId": "c" * 201}}
    assert await bad_input(alice, CREATE, content) == ["BAD_USER_INPUT"]
    cursor = "query($a: String) { sessions(after: $a) { totalCount } }"
    assert await bad_input(alice, cursor, {"a": "A" * 201}) == ["BAD_USER_INPUT"]


async def test_a_huge_password_is_refused_without_hashing(anonymous: Client) -> None:
    login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
    body = await anonymous.raw(login, {"e": "nobody@example.com", "p": "x" * 60_000})
    assert codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "session_id",
    [
        "0123456789abcdef01234567\n",
        "0123456789ABCDEF01234567",
        "0123456789abcdef0123456",
        "0123456789abcdef012345678",
        "".join(chr(0x660 + d) for d in range(10)) + "abcdef01234567",
        "",
        "x" * 10_000,
    ],
    ids=["newline", "upper", "short", "long", "arabic-digits", "empty", "huge"],
)
async def test_malformed_ids_are_bad_input_everywhere(alice: Client, session_id: str) -> None:
    documents = [
        "query($id: ID!) { session(id: $id) { id } }",
        "mutation($id: ID!) { endSession(id: $id) { id } }",
        "mutation($id: ID!) { deleteSession(id: $id) }",
        "mutation($id: ID!) { recordActivity(sessionId: $id) { id } }",
        "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { id } }",
        "mutation($id: ID!) { updateSession(id: $id, input: {status: PAUSED}) { id } }",
    ]
    for document in documents:
        assert await bad_input(alice, document, {"id": session_id}) == ["BAD_USER_INPUT"], document


@pytest.mark.parametrize(
    ("variables", "document"),
    [
        ({"i": {"targetMinutes": 2**31}}, CREATE),
        ({"i": {"targetMinutes": -(2**31) - 1}}, CREATE),
        ({"i": {"targetMinutes": 0}}, CREATE),
        ({"i": {"targetMinutes": 1441}}, CREATE),
        ({"i": {"targetMinutes": 5, "idleThresholdSeconds": 2**31 - 1}}, CREATE),
        ({"f": 0}, "query($f: Int!) { sessions(first: $f) { totalCount } }"),
        ({"f": 101}, "query($f: Int!) { sessions(first: $f) { totalCount } }"),
        ({"f": 2**40}, "query($f: Int!) { sessions(first: $f) { totalCount } }"),
    ],
)
async def test_integers_are_bounded(
    alice: Client, variables: dict[str, Any], document: str
) -> None:
    assert await bad_input(alice, document, variables) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30T00:00:00Z", "x" * 500],
)
async def test_extreme_dates_never_fail_inside(alice: Client, moment: str) -> None:
    body = await alice.raw(
        "query($d: DateTime) { sessions(startedAfter: $d) { totalCount } }", {"d": moment}
    )
    assert "INTERNAL" not in codes(body), body
    assert codes(body) in ([], ["BAD_USER_INPUT"]), body


# -- documentation --------------------------------------------------------------------


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    security = (ROOT / "SECURITY.md").read_text()
    documented = set(re.findall(r"`FOCUSGQL_([A-Z0-9_]+)`", readme))
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"README's configuration table lacks {sorted(missing)}"
    limits = [
        name
        for name in Settings.model_fields
        if name.startswith(("max_", "ws_", "rate_limit_", "jwt_", "connection_"))
        or name in ("introspection", "allowed_origins", "cors_origins")
    ]
    for name in limits:
        assert f"FOCUSGQL_{name.upper()}" in security, f"SECURITY.md does not mention {name}"
