"""Random values for every argument of every operation, sent over real HTTP.

Whatever a client puts in its variables (strings of any size and alphabet,
integers past 32 bits, ids of other people's sessions, values of the wrong
JSON type), the answer is a 4xx or a GraphQL answer whose every error carries
a code other than INTERNAL and says nothing about the server's insides.

The server is a `focusgql serve` process of its own (rate limits off, so that
every request reaches its resolver); hypothesis runs in a worker thread with a
synchronous httpx client, leaving the test event loop free.
"""

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given
from hypothesis import settings as budget
from hypothesis import strategies as st
from websockets.typing import Subprotocol

from focusgql.settings import Settings
from tests.support import Client, spawn

UNLIMITED = {
    "FOCUSGQL_RATE_LIMIT_LOGIN_PER_ADDRESS": "",
    "FOCUSGQL_RATE_LIMIT_LOGIN_PER_ACCOUNT": "",
    "FOCUSGQL_RATE_LIMIT_MUTATIONS_PER_USER": "",
    "FOCUSGQL_RATE_LIMIT_MUTATIONS_PER_ADDRESS": "",
}
EXAMPLES = 60  # per operation: about 600 requests in all

# What no client may read: a trace, a source line, an exception's class, a library's name.
LEAK = re.compile(
    r'Traceback|File "|line \d+, in|\b[A-Z]\w*(?:Error|Exception)\b|'
    r"(?i:pymongo|bson|beanie|pydantic|strawberry|graphql\.|argon2|jwt\.)"
)

SESSION = (
    "id status targetMinutes contentId elapsedSeconds activeSeconds idleSeconds tabSwitches"
    " isIdle remainingSeconds focusScore projectedFocusScore idleThresholdSeconds"
    " lastActivityAt startedAt endedAt pausedAt asOf"
    " scoreBreakdown { completion activityRatio tabSwitchPenalty idlePenalty score }"
)
STATS = (
    "stats { totalSessions completedSessions totalFocusSeconds averageFocusScore"
    " lastFocusScore currentStreak longestStreak }"
)
USER = f"id email displayName timezone createdAt {STATS}"


# -- values ------------------------------------------------------------------------

INT_EDGES = [
    0, 1, -1, 4, 5, 15, 60, 100, 101, 1440, 1441, 3600, 3601,
    2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1,
    2**64, 10**30, -(10**30),
]  # fmt: skip
INTS = st.one_of(
    st.sampled_from(INT_EDGES), st.integers(-(2**31), 2**31 - 1), st.integers(), st.integers(-5, 5)
)
FLOATS = st.one_of(st.floats(), st.sampled_from([0.5, 1.0, 25.0, -0.0, 1e308, 5e-324]))

SPECIAL_STRINGS = [
    "", " ", "\x00", "\t\n", "null", "undefined", "NaN", "true", "0", "-1", "1e3",
    '{"$ne": null}', "$where", "a.b", "$set", "../../etc/passwd", "/etc/localtime", "UTC\x00",
    " UTC", "UTC ", "utc", "Europe/Paris", "Etc/GMT+14", "posixrules", "localtime", "Factory",
    "<script>alert(1)</script>", "'; DROP TABLE sessions; --", "%s%n%x", "\\", "\u202e",
    "\ufeff", "\ud800", "a\udfffb", "💥" * 3, "e\u0301", "ﷺ", "İ",
]  # fmt: skip
STRINGS = st.one_of(
    st.sampled_from(SPECIAL_STRINGS),
    st.text(max_size=40),
    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), max_size=12),
    st.text(st.characters(categories=["Cs", "Co", "Cn", "So", "Mn"]), max_size=12),
    # huge: just over the documented limits, and well past the 64 KiB body cap
    st.builds(
        lambda char, size: char * size,
        st.sampled_from(["a", "é", "𝄞", "\x00", " ", "\ud800"]),
        st.sampled_from([9, 65, 101, 201, 255, 257, 5_000, 40_000, 70_000]),
    ),
)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), INTS, FLOATS, STRINGS),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
"""Any JSON value at all: the wrong type for most arguments."""

HEX24 = st.text("0123456789abcdef", min_size=24, max_size=24)
ZONES = st.one_of(st.timezone_keys(), st.sampled_from(["UTC", "Pacific/Kiritimati"]))
EMAILS = st.one_of(st.emails(), st.builds("{}@example.com".format, STRINGS))
PASSWORDS = st.one_of(st.text(min_size=8, max_size=40), st.text(min_size=250, max_size=260))
STATUSES = st.one_of(
    st.sampled_from(["ACTIVE", "PAUSED", "COMPLETED", "ABANDONED", "active", "Paused", "DELETED"]),
    STRINGS,
)
ODD_DATETIMES = [
    "0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999",
    "9999-12-31T23:59:59-14:00", "2026-03-02T09:00:00Z", "2026-03-02", "2026-13-45T99:00",
    "2026-03-02T09:00:00+25:00", "1970-01-01T00:00:00+00:00", "T", "now",
]  # fmt: skip
DATETIMES = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(ODD_DATETIMES),
    STRINGS,
)


def _cursor(millis: object, session_id: str) -> str:
    raw = f"{millis}:{session_id}".encode(errors="surrogatepass")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the argument's own type (random, odd or fine), sometimes anything."""
    return st.one_of(good, good, JSON)


def fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An input object with any subset of its fields, sometimes an unknown one too."""
    known = st.fixed_dictionaries({}, optional={k: either(v) for k, v in strategies.items()})
    extra = st.fixed_dictionaries({}, optional={"unknownField": JSON})
    return either(st.builds(lambda a, b: {**a, **b}, known, extra))


def variables(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the operation's variables (a missing required one is an error too)."""
    return st.fixed_dictionaries({}, optional=strategies)


# -- the running target -----------------------------------------------------------


@dataclass(frozen=True)
class Target:
    url: str
    alice: str
    bob: str
    alice_ids: tuple[str, ...]
    bob_ids: tuple[str, ...]
    cursor: str

    @property
    def running(self) -> str:
        return self.alice_ids[0]

    @property
    def ended(self) -> str:
        return self.alice_ids[1]

    @property
    def bobs(self) -> str:
        return self.bob_ids[0]

    def ids(self) -> st.SearchStrategy[Any]:
        known = st.sampled_from(self.alice_ids + self.bob_ids)
        near = known.flatmap(
            lambda i: st.sampled_from(
                [i.upper(), i + "\n", " " + i, i[:-1], i + "0", i.replace("a", "\u0430"), i * 2]
            )
        )
        return st.one_of(known, known, HEX24, near, STRINGS, INTS)

    def cursors(self) -> st.SearchStrategy[Any]:
        crafted = st.builds(_cursor, st.one_of(INTS, STRINGS, FLOATS), st.one_of(HEX24, STRINGS))
        return st.one_of(st.just(self.cursor), crafted, STRINGS)

    def tokens(self) -> st.SearchStrategy[str | None]:
        junk = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60)
        return st.one_of(st.just(self.alice), st.just(self.alice), st.none(), junk)


@dataclass(frozen=True)
class Operation:
    document: str
    variables: Callable[[Target], st.SearchStrategy[dict[str, Any]]]
    id_variable: str | None = None
    """The variable naming a session: Bob's must never answer Alice with data."""
    edges: Callable[[Target], list[dict[str, Any]]] = lambda t: []
    """Values tried as Alice on every run, besides the random ones."""


SURROGATE = "\ud800"
FINE = "correct horse battery"


def _register(**overrides: Any) -> dict[str, Any]:
    return {"input": {"email": "edge@example.com", "password": FINE, **overrides}}


OPERATIONS: dict[str, Operation] = {
    "register": Operation(
        "mutation($input: RegisterInput!) {"
        f" register(input: $input) {{ token user {{ {USER} }} }} }}",
        lambda t: variables(
            input=fields(
                email=st.one_of(EMAILS, STRINGS),
                password=st.one_of(PASSWORDS, STRINGS),
                displayName=STRINGS,
                timezone=st.one_of(ZONES, STRINGS),
            )
        ),
        edges=lambda t: [
            _register(email=f"lone{SURROGATE}@example.com"),
            _register(password=SURROGATE * 8),
            _register(displayName=SURROGATE),
            _register(timezone=SURROGATE),
            _register(timezone="../../../etc/localtime"),
            _register(email="x" * 70_000),
            {"input": {"email": None, "password": FINE}},
            {"input": [{"email": "edge@example.com"}]},
        ],
    ),
    "login": Operation(
        "mutation($email: String!, $password: String!) {"
        " login(email: $email, password: $password) { token user { id } } }",
        lambda t: variables(
            email=either(st.one_of(EMAILS, STRINGS)), password=either(st.one_of(PASSWORDS, STRINGS))
        ),
        edges=lambda t: [
            {"email": "edge@example.com", "password": SURROGATE},
            {"email": f"lone{SURROGATE}@example.com", "password": FINE},
            {"email": "edge@example.com", "password": ""},
            {"email": "edge@example.com", "password": "p" * 60_000},
            {"email": 7, "password": True},
        ],
    ),
    "updateProfile": Operation(
        f"mutation($input: UpdateProfileInput!) {{ updateProfile(input: $input) {{ {USER} }} }}",
        lambda t: variables(input=fields(displayName=STRINGS, timezone=st.one_of(ZONES, STRINGS))),
        edges=lambda t: [
            {"input": {"displayName": f"x{SURROGATE}"}},
            {"input": {"timezone": f"Europe/{SURROGATE}"}},
            {"input": {"timezone": "UTC\x00"}},
            {"input": {"displayName": "\x00\x01\x1f"}},
            {"input": {"displayName": {"$set": "x"}}},
        ],
    ),
    "createSession": Operation(
        f"mutation($input: CreateSessionInput!) {{ createSession(input: $input) {{ {SESSION} }} }}",
        lambda t: variables(
            input=fields(targetMinutes=INTS, contentId=STRINGS, idleThresholdSeconds=INTS)
        ),
        edges=lambda t: [
            {"input": {"targetMinutes": 25, "contentId": f"x{SURROGATE}"}},
            {"input": {"targetMinutes": 2**31}},
            {"input": {"targetMinutes": -(2**31)}},
            {"input": {"targetMinutes": 25, "idleThresholdSeconds": 2**31 - 1}},
            {"input": {"targetMinutes": 25.5}},
            {"input": {"targetMinutes": 25, "contentId": "\x00" * 200}},
        ],
    ),
    "updateSession": Operation(
        "mutation($id: ID!, $input: UpdateSessionInput!) {"
        f" updateSession(id: $id, input: $input) {{ {SESSION} }} }}",
        lambda t: variables(
            id=t.ids(), input=fields(targetMinutes=INTS, contentId=STRINGS, status=STATUSES)
        ),
        id_variable="id",
        edges=lambda t: [
            {"id": t.running, "input": {"contentId": f"x{SURROGATE}"}},
            {"id": t.running, "input": {"targetMinutes": 2**31 - 1}},
            {"id": t.running, "input": {"status": "COMPLETED"}},
            {"id": t.bobs, "input": {"status": "PAUSED"}},
            {"id": t.ended, "input": {"status": "ACTIVE"}},
        ],
    ),
    "endSession": Operation(
        "mutation($id: ID!, $status: SessionStatus) {"
        f" endSession(id: $id, status: $status) {{ {SESSION} }} }}",
        lambda t: variables(id=t.ids(), status=either(STATUSES)),
        id_variable="id",
        edges=lambda t: [
            # null in a variable given to an argument that is non-null with a default
            {"id": t.running, "status": None},
            {"id": t.bobs, "status": "COMPLETED"},
            {"id": t.ended, "status": "ABANDONED"},
            {"id": t.running, "status": "PAUSED"},
        ],
    ),
    "deleteSession": Operation(
        "mutation($id: ID!) { deleteSession(id: $id) }",
        lambda t: variables(id=t.ids()),
        id_variable="id",
        edges=lambda t: [{"id": t.bobs}, {"id": t.running + "\n"}, {"id": 12345}],
    ),
    "recordActivity": Operation(
        f"mutation($id: ID!) {{ recordActivity(sessionId: $id) {{ {SESSION} }} }}",
        lambda t: variables(id=t.ids()),
        id_variable="id",
        edges=lambda t: [{"id": t.bobs}, {"id": t.ended}, {"id": t.running.upper()}],
    ),
    "recordTabSwitch": Operation(
        f"mutation($id: ID!) {{ recordTabSwitch(sessionId: $id) {{ {SESSION} }} }}",
        lambda t: variables(id=t.ids()),
        id_variable="id",
        edges=lambda t: [{"id": t.bobs}, {"id": t.ended}, {"id": [t.running]}],
    ),
    "session": Operation(
        f"query($id: ID!) {{ session(id: $id) {{ {SESSION} }} }}",
        lambda t: variables(id=t.ids()),
        id_variable="id",
        edges=lambda t: [{"id": t.bobs}, {"id": "0" * 24}, {"id": SURROGATE * 24}],
    ),
    "sessions": Operation(
        "query($first: Int, $after: String, $status: SessionStatus,"
        " $startedAfter: DateTime, $startedBefore: DateTime) {"
        " sessions(first: $first, after: $after, status: $status,"
        " startedAfter: $startedAfter, startedBefore: $startedBefore) {"
        f" totalCount edges {{ cursor node {{ {SESSION} }} }}"
        " pageInfo { hasNextPage endCursor } } }",
        lambda t: variables(
            first=either(INTS),
            after=either(t.cursors()),
            status=either(STATUSES),
            startedAfter=either(DATETIMES),
            startedBefore=either(DATETIMES),
        ),
        edges=lambda t: [
            # null in a variable given to an argument that is non-null with a default
            {"first": None},
            {"first": 2**31},
            {"first": 0},
            {"after": SURROGATE},
            {"after": _cursor(10**20, "0" * 24)},
            {"after": _cursor(-(10**15), t.running)},
            {"startedAfter": "0001-01-01T00:00:00+14:00"},
            {"startedBefore": "9999-12-31T23:59:59-14:00"},
            {"startedAfter": "2026-03-02T09:00:00", "startedBefore": "2026-03-02T09:00:00Z"},
        ],
    ),
}


# -- checking an answer -----------------------------------------------------------


def check_answer(response: httpx.Response) -> dict[str, Any] | None:
    """Fail on anything a client should never see; the body when it is GraphQL."""
    assert response.status_code < 500, (response.status_code, response.text[:2000])
    assert not LEAK.search(response.text), response.text[:2000]
    if not response.headers.get("content-type", "").startswith("application/json"):
        assert response.status_code >= 400, response.text[:2000]
        return None
    body: dict[str, Any] = response.json()
    assert "data" in body or "errors" in body, body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str) and code, error
        assert code != "INTERNAL", error
    return body


def post(http: httpx.Client, token: str | None, query: str, variables: object) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    # json.dumps as any client library would send it (NaN and Infinity included)
    body = json.dumps({"query": query, "variables": variables})
    return http.post("/graphql", content=body, headers=headers)


def check_call(
    http: httpx.Client, target: Target, name: str, values: dict[str, Any], token: str | None
) -> None:
    operation = OPERATIONS[name]
    body = check_answer(post(http, token, operation.document, values))
    sid = values.get(operation.id_variable or "")
    if body is not None and isinstance(sid, str) and sid in target.bob_ids:
        assert not body.get("data"), ("Bob's session answered Alice", body)


def fuzz(name: str, target: Target) -> None:
    with httpx.Client(base_url=target.url, timeout=30) as http:

        @budget(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(values=OPERATIONS[name].variables(target), token=target.tokens())
        def one(values: dict[str, Any], token: str | None) -> None:
            check_call(http, target, name, values, token)

        one()


def try_edges(name: str, target: Target) -> list[str]:
    """Every edge value of the operation; what went wrong with each that failed."""
    failures = []
    with httpx.Client(base_url=target.url, timeout=30) as http:
        for values in OPERATIONS[name].edges(target):
            try:
                check_call(http, target, name, values, target.alice)
            except AssertionError as error:
                failures.append(f"{name}({values!r:.200}): {error}")
    return failures


@pytest.fixture(scope="module")
async def target(settings: Settings) -> AsyncIterator[Target]:
    async with (
        spawn(settings, **UNLIMITED) as process,
        httpx.AsyncClient(base_url=process.url, timeout=30) as http,
    ):
        alice = await Client(http).register()
        bob = await Client(http).register()
        create = 'mutation { createSession(input: {targetMinutes: 25, contentId: "x"}) { id } }'
        ended = (await alice.execute(create))["createSession"]["id"]
        await alice.execute(f'mutation {{ endSession(id: "{ended}") {{ id }} }}')
        deleted = (await alice.execute(create))["createSession"]["id"]
        await alice.execute(f'mutation {{ deleteSession(id: "{deleted}") }}')
        running = (await alice.execute(create))["createSession"]["id"]
        bobs = (await bob.execute(create))["createSession"]["id"]
        page = await alice.execute("{ sessions(first: 1) { pageInfo { endCursor } } }")
        assert alice.token and bob.token
        yield Target(
            url=process.url,
            alice=alice.token,
            bob=bob.token,
            alice_ids=(running, ended, deleted),
            bob_ids=(bobs,),
            cursor=page["sessions"]["pageInfo"]["endCursor"],
        )
        # Nothing Alice sent touched Bob's session.
        query = f'{{ session(id: "{bobs}") {{ status tabSwitches contentId }} }}'
        view = await bob.execute(query)
        assert view["session"] == {"status": "ACTIVE", "tabSwitches": 0, "contentId": "x"}


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_edge_values_get_a_coded_answer_never_a_fault(name: str, target: Target) -> None:
    """The values listed in `edges`, every run: the ones known to have mattered."""
    failures = await asyncio.to_thread(try_edges, name, target)
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_random_arguments_get_a_coded_answer_never_a_fault(name: str, target: Target) -> None:
    await asyncio.to_thread(fuzz, name, target)


DOCUMENT = "query($first: Int) { sessions(first: $first) { totalCount } }"
QUERY = json.dumps(DOCUMENT)
TOO_MANY_DIGITS = "9" * 5000  # past Python's int-from-text limit (4300 digits)
TOO_DEEP = "[" * 20_000 + "]" * 20_000  # past the JSON decoder's recursion limit


def _with(variables: str) -> str:
    return '{"query": ' + QUERY + ', "variables": ' + variables + "}"


RAW_BODIES: dict[str, str | bytes] = {
    "digits past int parsing's limit": _with('{"first": ' + TOO_MANY_DIGITS + "}"),
    "nesting past the recursion limit": _with('{"first": ' + TOO_DEEP + "}"),
    "NaN": _with('{"first": NaN}'),
    "-Infinity": _with('{"first": -Infinity}'),
    "a lone surrogate escape": _with('{"first": "\\ud800"}'),
    "variables a list": _with("[1, 2]"),
    "variables a string": _with('"{}"'),
    "variables a number": _with("7"),
    "query a number": '{"query": 7, "variables": {}}',
    "query null": '{"query": null}',
    "operationName an object": '{"query": ' + QUERY + ', "operationName": {}}',
    "extensions a list": '{"query": ' + QUERY + ', "extensions": []}',
    "a batch": "[{" + '"query": ' + QUERY + "}]",
    "a bare string": QUERY,
    "truncated": _with('{"first":'),
    "not utf-8": b'{"query": "\xff\xfe"}',
}


@pytest.mark.parametrize("name", list(RAW_BODIES))
async def test_malformed_request_bodies_are_client_errors(name: str, target: Target) -> None:
    raw = RAW_BODIES[name]
    async with httpx.AsyncClient(base_url=target.url, timeout=30) as http:
        response = await http.post(
            "/graphql",
            content=raw.encode() if isinstance(raw, str) else raw,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {target.alice}"},
        )
    check_answer(response)


@pytest.mark.parametrize(
    "variables", [TOO_MANY_DIGITS, TOO_DEEP], ids=["too many digits", "too deep"]
)
async def test_undecodable_websocket_messages_close_with_4400(
    variables: str, target: Target
) -> None:
    """The same JSON over graphql-transport-ws: a protocol error (4400), not a dropped socket."""
    url = target.url.replace("http://", "ws://") + "/graphql"
    protocols = [Subprotocol("graphql-transport-ws")]
    async with websockets.connect(url, subprotocols=protocols, close_timeout=1) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": target.alice}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = '{"query": ' + QUERY + ', "variables": {"first": ' + variables + "}}"
        await ws.send('{"type": "subscribe", "id": "1", "payload": ' + payload + "}")
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(5):
                await ws.recv()
    assert ws.close_code == 4400, (ws.close_code, ws.close_reason)
