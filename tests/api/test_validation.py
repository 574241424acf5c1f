"""Bad input gets a coded error, says nothing about the server's insides, and changes nothing."""

import base64
import re
from typing import Any

import pytest
from bson import ObjectId

from tests.support import Client, ManualClock, create_session, read_session

SESSION = "id status targetMinutes contentId idleThresholdSeconds tabSwitches elapsedSeconds"
CODES = {
    "UNAUTHENTICATED",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "RATE_LIMITED",
    "INTERNAL",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
}
# Words that only show up when Python's insides leak into a message.
LEAKS = re.compile(
    r"Traceback|File \"|\bline \d+, in\b|\b[A-Z][A-Za-z]*(?:Error|Exception|Warning)\b"
    r"|\bInvalidId\b|\bpymongo\b|\bbson\b|\bbeanie\b|\bstrawberry\b|\bfocusgql\b|\bNoneType\b"
    r"|object has no attribute|unexpected keyword|positional argument"
)


def check_errors(body: dict[str, Any]) -> list[str]:
    """Every error is coded with a known code and leaks nothing; returns the codes."""
    errors = body.get("errors")
    assert errors, body
    codes = []
    for error in errors:
        extensions = error.get("extensions") or {}
        code = extensions.get("code")
        assert code in CODES, error
        assert not LEAKS.search(error["message"]), error
        assert not {"exception", "stacktrace", "traceback"} & {k.lower() for k in extensions}
        codes.append(code)
    return codes


async def fails(
    client: Client, document: str, variables: dict[str, Any] | None = None
) -> list[str]:
    body = await client.raw(document, variables)
    data = body.get("data")
    assert data is None or all(value is None for value in data.values()), body
    return check_errors(body)


async def create(client: Client, **fields: Any) -> dict[str, Any]:
    return await create_session(client, SESSION, **fields)


async def read(client: Client, sid: str) -> dict[str, Any]:
    return await read_session(client, sid, SESSION)


async def session_count(client: Client) -> int:
    data = await client.execute("{ sessions { totalCount } }")
    count: int = data["sessions"]["totalCount"]
    return count


CREATE = f"mutation($i: CreateSessionInput!) {{ createSession(input: $i) {{ {SESSION} }} }}"
UPDATE = (
    f"mutation($id: ID!, $i: UpdateSessionInput!) {{ updateSession(id: $id, input: $i) "
    f"{{ {SESSION} }} }}"
)

# -- createSession / updateSession inputs -------------------------------------------

BAD_CREATE_INPUTS = {
    "target-0": {"targetMinutes": 0},
    "target-1441": {"targetMinutes": 1441},
    "target-negative": {"targetMinutes": -5},
    "idle-4": {"targetMinutes": 25, "idleThresholdSeconds": 4},
    "idle-3601": {"targetMinutes": 25, "idleThresholdSeconds": 3601},
    "idle-negative": {"targetMinutes": 25, "idleThresholdSeconds": -1},
    "content-201": {"targetMinutes": 25, "contentId": "x" * 201},
    "content-empty": {"targetMinutes": 25, "contentId": ""},
    "content-blank": {"targetMinutes": 25, "contentId": "   \t "},
}


async def test_create_session_rejects_bad_input_and_creates_nothing(alice: Client) -> None:
    running = await create(alice, contentId="keep me")
    problems = []
    for name, bad in BAD_CREATE_INPUTS.items():
        codes = await fails(alice, CREATE, {"i": bad})
        if codes != ["BAD_USER_INPUT"]:
            problems.append(f"{name}: {codes}")
    assert not problems
    # The running session was not abandoned for a create that never happened.
    assert await session_count(alice) == 1
    assert await read(alice, running["id"]) == running
    active = (await alice.execute("{ activeSession { id } }"))["activeSession"]
    assert active == {"id": running["id"]}


ACCEPTED_CREATE_INPUTS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"targetMinutes": 1}, {"targetMinutes": 1}),
    ({"targetMinutes": 1440}, {"targetMinutes": 1440}),
    ({"idleThresholdSeconds": 5}, {"idleThresholdSeconds": 5}),
    ({"idleThresholdSeconds": 3600}, {"idleThresholdSeconds": 3600}),
    ({}, {"idleThresholdSeconds": 15, "contentId": None}),
    ({"contentId": "c" * 200}, {"contentId": "c" * 200}),
    ({"contentId": None}, {"contentId": None}),
]


async def test_create_session_accepts_the_edges(alice: Client) -> None:
    for fields, expected in ACCEPTED_CREATE_INPUTS:
        created = await create(alice, **fields)
        assert {k: created[k] for k in expected} == expected, fields
        stored = await read(alice, created["id"])
        assert {k: stored[k] for k in expected} == expected, fields


BAD_UPDATE_INPUTS = {
    "target-0": {"targetMinutes": 0},
    "target-1441": {"targetMinutes": 1441},
    "target-negative": {"targetMinutes": -5},
    "content-201": {"contentId": "x" * 201},
    "content-blank": {"contentId": "  "},
    "status-completed": {"status": "COMPLETED"},
    "status-abandoned": {"status": "ABANDONED"},
    "pause-with-bad-target": {"status": "PAUSED", "targetMinutes": 0},
}


async def test_update_session_rejects_bad_input_and_changes_nothing(
    alice: Client, clock: ManualClock
) -> None:
    before = await create(alice, contentId="keep me")
    clock.advance(5)
    problems = []
    for name, bad in BAD_UPDATE_INPUTS.items():
        codes = await fails(alice, UPDATE, {"id": before["id"], "i": bad})
        if codes != ["BAD_USER_INPUT"]:
            problems.append(f"{name}: {codes}")
    assert not problems
    assert await read(alice, before["id"]) == {**before, "elapsedSeconds": 5}


async def test_end_session_with_a_running_status_is_bad_input(alice: Client) -> None:
    sid = (await create(alice))["id"]
    for status in ("ACTIVE", "PAUSED"):
        codes = await fails(
            alice,
            "mutation($id: ID!, $s: SessionStatus!) { endSession(id: $id, status: $s) { id } }",
            {"id": sid, "s": status},
        )
        assert codes == ["BAD_USER_INPUT"]
    assert (await read(alice, sid))["status"] == "ACTIVE"


# -- ids ----------------------------------------------------------------------------

ID_OPS = {
    "session": "query($id: ID!) { session(id: $id) { id } }",
    "updateSession": "mutation($id: ID!) { updateSession(id: $id, input: {targetMinutes: 3}) "
    "{ id } }",
    "endSession": "mutation($id: ID!) { endSession(id: $id) { id } }",
    "deleteSession": "mutation($id: ID!) { deleteSession(id: $id) }",
    "recordActivity": "mutation($id: ID!) { recordActivity(sessionId: $id) { id } }",
    "recordTabSwitch": "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { id } }",
}
MALFORMED_IDS = ["nope", "123", "", "6" * 23, "6" * 25, "zz" * 12, "' OR 1=1 --", "{}"]


async def test_malformed_and_missing_ids(alice: Client) -> None:
    running = await create(alice)
    problems = []
    for op, document in ID_OPS.items():
        # An id sent as a number is coerced to a string by GraphQL's ID type: still malformed.
        for bad in [*MALFORMED_IDS, 123]:
            codes = await fails(alice, document, {"id": bad})
            if codes != ["BAD_USER_INPUT"]:
                problems.append(f"{op}({bad!r}): {codes}")
        codes = await fails(alice, document, {"id": str(ObjectId())})
        if codes != ["NOT_FOUND"]:
            problems.append(f"{op}(unknown id): {codes}")
    assert not problems
    assert await read(alice, running["id"]) == running


# -- accounts -----------------------------------------------------------------------

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { token user { id email } } }"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
PASSWORD = "correct horse battery"


def unique_email(tag: str) -> str:
    return f"{tag}-{ObjectId()}@example.com"


BAD_REGISTRATIONS: list[dict[str, str]] = [
    {"email": "not-an-email"},
    {"email": ""},
    {"email": "a@b"},
    {"email": "two@@example.com"},
    {"email": "x" * 250 + "@example.com"},
    {"password": "short"},
    {"password": "1234567"},
    {"password": ""},
    {"password": "p" * 257},
    {"timezone": "Mars/Olympus_Mons"},
    {"timezone": ""},
    {"timezone": " UTC"},
    {"timezone": "../../etc/passwd"},
    {"displayName": "   "},
    {"displayName": "n" * 101},
]


async def test_register_rejects_bad_input_and_creates_no_account(anonymous: Client) -> None:
    email = unique_email("bad")
    good = {"email": email, "password": PASSWORD, "timezone": "UTC"}
    problems = []
    for changes in BAD_REGISTRATIONS:
        codes = await fails(anonymous, REGISTER, {"i": {**good, **changes}})
        if codes != ["BAD_USER_INPUT"]:
            problems.append(f"{changes}: {codes}")
    assert not problems
    # Nothing was stored: the same address can now register properly.
    registered = await anonymous.execute(REGISTER, {"i": good})
    assert registered["register"]["user"]["email"] == email


async def test_register_accepts_the_password_edges(anonymous: Client) -> None:
    for password in ("p" * 8, "p" * 256):
        email = unique_email("edge")
        await anonymous.execute(REGISTER, {"i": {"email": email, "password": password}})
        await anonymous.execute(LOGIN, {"e": email, "p": password})


async def test_duplicate_email_in_another_case_is_conflict(anonymous: Client) -> None:
    email = unique_email("dup")
    first = await anonymous.execute(REGISTER, {"i": {"email": email, "password": PASSWORD}})
    for variant in (email.upper(), f"  {email.title()} "):
        codes = await fails(
            anonymous, REGISTER, {"i": {"email": variant, "password": "another password"}}
        )
        assert codes == ["CONFLICT"]
    # The first account keeps its password.
    login = await anonymous.execute(LOGIN, {"e": email, "p": PASSWORD})
    me = (await anonymous.as_user(login["login"]["token"]).execute("{ me { id } }"))["me"]
    assert me["id"] == first["register"]["user"]["id"]
    assert await fails(anonymous, LOGIN, {"e": email, "p": "another password"}) == [
        "UNAUTHENTICATED"
    ]


async def test_login_failures_look_the_same(anonymous: Client) -> None:
    email = unique_email("login")
    await anonymous.execute(REGISTER, {"i": {"email": email, "password": PASSWORD}})
    attempts = [
        (email, "wrong password!"),
        (unique_email("nobody"), PASSWORD),
        ("not-an-email", PASSWORD),
        (email, ""),
    ]
    messages = set()
    for address, password in attempts:
        body = await anonymous.raw(LOGIN, {"e": address, "p": password})
        assert check_errors(body) == ["UNAUTHENTICATED"], address
        assert body["data"] is None
        messages.add(body["errors"][0]["message"])
    assert len(messages) == 1, messages


async def test_update_profile_rejects_bad_input_and_changes_nothing(alice: Client) -> None:
    await alice.execute('mutation { updateProfile(input: {displayName: "Alice"}) { id } }')
    before = (await alice.execute("{ me { id email displayName timezone } }"))["me"]
    for changes in (
        {"timezone": "Nowhere/Special"},
        {"displayName": ""},
        {"displayName": "d" * 101},
        {"displayName": "Fine", "timezone": "Not/AZone"},
    ):
        codes = await fails(
            alice,
            "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id } }",
            {"i": changes},
        )
        assert codes == ["BAD_USER_INPUT"], changes
    assert (await alice.execute("{ me { id email displayName timezone } }"))["me"] == before


# -- the sessions connection -----------------------------------------------------------


async def test_page_size_out_of_range(alice: Client) -> None:
    await create(alice)
    for first in (0, -1, 101, 2**31 - 1):
        codes = await fails(
            alice, "query($f: Int!) { sessions(first: $f) { totalCount } }", {"f": first}
        )
        assert codes == ["BAD_USER_INPUT"], first


async def test_page_size_edges_are_accepted(alice: Client) -> None:
    await create(alice)
    for first in (1, 100):
        page = await alice.execute(
            "query($f: Int!) { sessions(first: $f) { edges { node { id } } } }", {"f": first}
        )
        assert len(page["sessions"]["edges"]) == 1


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


BAD_CURSORS = [
    "garbage",
    "",
    "!!!!",
    cursor("123:nope"),
    cursor(f"nope:{'6' * 24}"),
    cursor(f"{10**20}:{'6' * 24}"),  # a well-formed id, a time past year 9999
    cursor(f"{-(10**20)}:{'6' * 24}"),
    cursor(f"1.5:{'6' * 24}"),
    cursor("1000"),
    "/w",  # not UTF-8 once decoded
]


async def test_bad_cursor_is_bad_input(alice: Client) -> None:
    await create(alice)
    problems = []
    for after in BAD_CURSORS:
        codes = await fails(
            alice, "query($a: String) { sessions(after: $a) { totalCount } }", {"a": after}
        )
        if codes != ["BAD_USER_INPUT"]:
            problems.append(f"{after!r}: {codes}")
    assert not problems


async def test_bad_date_filters_are_bad_input(alice: Client) -> None:
    problems = []
    for argument in ("startedAfter", "startedBefore"):
        for value in ("yesterday", "2026-13-01T00:00:00+00:00", "", 12):
            codes = await fails(
                alice,
                f"query($d: DateTime) {{ sessions({argument}: $d) {{ totalCount }} }}",
                {"d": value},
            )
            if codes != ["BAD_USER_INPUT"]:
                problems.append(f"{argument}={value!r}: {codes}")
    assert not problems


# -- documents and variables ----------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        ("{ me { id ", None, "GRAPHQL_PARSE_FAILED"),
        (
            "mutation { createSession(input: {targetMinutes: 5}) { id }",
            None,
            "GRAPHQL_PARSE_FAILED",
        ),
        ("{ me { id nickname } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ whoami }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "mutation { createSession(input: {targetMinutes: 5, colour: RED}) { id } }",
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ session { id } }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
            {"i": {"targetMinutes": "ten"}},
            "BAD_USER_INPUT",
        ),
        (
            "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
            {"i": {"targetMinutes": 2**40}},
            "BAD_USER_INPUT",
        ),
        (
            "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
            {"i": {"targetMinutes": 2.5}},
            "BAD_USER_INPUT",
        ),
        (
            "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
            {"i": {}},
            "BAD_USER_INPUT",
        ),
        (
            "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
            {},
            "BAD_USER_INPUT",
        ),
        (
            "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
            {"i": {"targetMinutes": 5, "colour": "red"}},
            "BAD_USER_INPUT",
        ),
        (
            "query($s: SessionStatus) { sessions(status: $s) { totalCount } }",
            {"s": "RUNNING"},
            "BAD_USER_INPUT",
        ),
    ],
    ids=[
        "unclosed",
        "unclosed-mutation",
        "unknown-field",
        "unknown-root",
        "unknown-input-field",
        "missing-argument",
        "string-for-int",
        "int-overflow",
        "float-for-int",
        "missing-input-field",
        "missing-variable",
        "unknown-variable-field",
        "unknown-enum",
    ],
)
async def test_document_and_variable_errors_are_coded(
    document: str, variables: dict[str, Any] | None, code: str, anonymous: Client
) -> None:
    # Documents and variables are checked before anyone is asked who they are.
    assert await fails(anonymous, document, variables) == [code]


async def test_rejected_documents_change_nothing(alice: Client) -> None:
    create_with = "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }"
    bad_variables: list[dict[str, Any]] = [{"i": {"targetMinutes": "ten"}}, {"i": {}}, {}]
    for variables in bad_variables:
        assert (await alice.raw(create_with, variables))["errors"]
    for document in (
        "mutation { createSession(input: {targetMinutes: 5}) { id nope } }",
        "mutation { createSession(input: {targetMinutes: 5}) { id ",
    ):
        assert (await alice.raw(document))["errors"]
    assert await session_count(alice) == 0


async def test_multiple_errors_are_each_coded(alice: Client) -> None:
    body = await alice.raw("{ me { nickname } whoami }")
    codes = check_errors(body)
    assert len(codes) == 2
    assert set(codes) == {"GRAPHQL_VALIDATION_FAILED"}


# -- state conflicts ------------------------------------------------------------------


async def test_end_session_twice_is_conflict(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice))["id"]
    clock.advance(10)
    first = (
        await alice.execute(
            "mutation($id: ID!) { endSession(id: $id) { status focusScore endedAt } }", {"id": sid}
        )
    )["endSession"]
    clock.advance(10)
    for status in ("COMPLETED", "ABANDONED"):
        codes = await fails(
            alice,
            "mutation($id: ID!, $s: SessionStatus!) { endSession(id: $id, status: $s) { id } }",
            {"id": sid, "s": status},
        )
        assert codes == ["CONFLICT"]
    again = (
        await alice.execute(
            "query($id: ID!) { session(id: $id) { status focusScore endedAt } }", {"id": sid}
        )
    )["session"]
    assert again == first


CHANGES = {
    "activity": "mutation($id: ID!) { recordActivity(sessionId: $id) { id } }",
    "tab-switch": "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { id } }",
    "content": 'mutation($id: ID!) { updateSession(id: $id, input: {contentId: "late"}) { id } }',
    "target": "mutation($id: ID!) { updateSession(id: $id, input: {targetMinutes: 2}) { id } }",
    "resume": "mutation($id: ID!) { updateSession(id: $id, input: {status: ACTIVE}) { id } }",
    "pause": "mutation($id: ID!) { updateSession(id: $id, input: {status: PAUSED}) { id } }",
}


@pytest.mark.parametrize("ended_as", ["COMPLETED", "ABANDONED"])
async def test_changing_an_ended_session_is_conflict(
    ended_as: str, alice: Client, clock: ManualClock
) -> None:
    sid = (await create(alice, contentId="done"))["id"]
    clock.advance(30)
    await alice.execute(
        "mutation($id: ID!, $s: SessionStatus!) { endSession(id: $id, status: $s) { id } }",
        {"id": sid, "s": ended_as},
    )
    before = await read(alice, sid)
    clock.advance(30)
    problems = []
    for name, document in CHANGES.items():
        codes = await fails(alice, document, {"id": sid})
        if codes != ["CONFLICT"]:
            problems.append(f"{name}: {codes}")
    assert not problems
    assert await read(alice, sid) == before


async def test_errors_after_deletion_are_not_found(alice: Client) -> None:
    sid = (await create(alice))["id"]
    assert (await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": sid})) == {
        "deleteSession": sid
    }
    for document in ID_OPS.values():
        assert await fails(alice, document, {"id": sid}) == ["NOT_FOUND"]
