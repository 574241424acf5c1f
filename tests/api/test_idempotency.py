"""Idempotency keys (`clientMutationId`) over real HTTP on the real database: a
retry gets the first answer and changes nothing, a different request with the
same key is CONFLICT, keys are per person and last 24 hours."""

import asyncio
from typing import Any

import pytest

from focusgql.settings import Settings
from focusgql.store.mongo import make_client
from tests.support import Client, GraphQLError, ManualClock, read_session

FIELDS = "id status targetMinutes elapsedSeconds activeSeconds idleSeconds asOf startedAt"
CREATE = (
    "mutation($i: CreateSessionInput!, $k: String) {"
    f" createSession(input: $i, clientMutationId: $k) {{ {FIELDS} }} }}"
)
UPDATE = (
    "mutation($id: ID!, $i: UpdateSessionInput!, $k: String) {"
    f" updateSession(id: $id, input: $i, clientMutationId: $k) {{ {FIELDS} }} }}"
)
END = (
    "mutation($id: ID!, $s: SessionStatus! = COMPLETED, $k: String) {"
    " endSession(id: $id, status: $s, clientMutationId: $k) { id status focusScore asOf } }"
)
DELETE = "mutation($id: ID!, $k: String) { deleteSession(id: $id, clientMutationId: $k) }"
COUNT = "{ sessions(first: 1) { totalCount } }"


async def count(client: Client) -> int:
    total: int = (await client.execute(COUNT))["sessions"]["totalCount"]
    return total


async def refused(client: Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(GraphQLError) as error:
        await client.execute(query, variables)
    (only,) = error.value.errors
    extensions: dict[str, Any] = only["extensions"]
    return extensions


async def test_a_retried_create_answers_the_first_answer_and_starts_nothing(
    alice: Client, clock: ManualClock
) -> None:
    variables = {"i": {"targetMinutes": 25, "contentId": "chapter-3"}, "k": "create-1"}
    first = (await alice.execute(CREATE, variables))["createSession"]
    before = await count(alice)
    clock.advance(5)
    # The same request, its arguments in another order: the same request.
    reordered = {"k": "create-1", "i": {"contentId": "chapter-3", "targetMinutes": 25}}
    again = (await alice.execute(CREATE, reordered))["createSession"]
    assert again == first  # the first answer, as of then
    assert await count(alice) == before
    now = await read_session(alice, first["id"], "status elapsedSeconds")
    assert now == {"status": "ACTIVE", "elapsedSeconds": first["elapsedSeconds"] + 5}

    changed = {"i": {"targetMinutes": 50}, "k": "create-1"}
    assert await refused(alice, CREATE, changed) == {
        "code": "CONFLICT",
        "field": "clientMutationId",
    }
    assert await count(alice) == before
    assert (await read_session(alice, first["id"], "status"))["status"] == "ACTIVE"
    # Another mutation with the same key is a different request too.
    assert (await refused(alice, END, {"id": first["id"], "k": "create-1"}))["code"] == "CONFLICT"
    await alice.execute(END, {"id": first["id"]})


async def test_keys_belong_to_one_person(alice: Client, bob: Client) -> None:
    variables = {"i": {"targetMinutes": 25}, "k": "shared-key"}
    mine = (await alice.execute(CREATE, variables))["createSession"]
    theirs = (await bob.execute(CREATE, variables))["createSession"]
    assert mine["id"] != theirs["id"]
    for client, sid in ((alice, mine["id"]), (bob, theirs["id"])):
        assert (await read_session(client, sid, "status"))["status"] == "ACTIVE"
        await client.execute(END, {"id": sid})


async def test_update_end_and_delete_retried(alice: Client, clock: ManualClock) -> None:
    sid = (await alice.execute(CREATE, {"i": {"targetMinutes": 25}}))["createSession"]["id"]
    clock.advance(10)
    pause = {"id": sid, "i": {"status": "PAUSED"}, "k": "pause-1"}
    paused = (await alice.execute(UPDATE, pause))["updateSession"]
    await alice.execute(UPDATE, {"id": sid, "i": {"status": "ACTIVE"}})
    clock.advance(10)
    # The retry of the pause does not pause the resumed session again.
    assert (await alice.execute(UPDATE, pause))["updateSession"] == paused
    assert await read_session(alice, sid, "status elapsedSeconds") == {
        "status": "ACTIVE",
        "elapsedSeconds": 20,
    }

    end = {"id": sid, "k": "end-1"}
    ended = (await alice.execute(END, end))["endSession"]
    clock.advance(3)
    assert (await alice.execute(END, end))["endSession"] == ended  # not "already ended"
    abandon = {"id": sid, "s": "ABANDONED", "k": "end-1"}
    assert (await refused(alice, END, abandon))["code"] == "CONFLICT"

    delete = {"id": sid, "k": "delete-1"}
    assert (await alice.execute(DELETE, delete))["deleteSession"] == sid
    assert (await alice.execute(DELETE, delete))["deleteSession"] == sid  # not NOT_FOUND
    assert (await refused(alice, DELETE, {"id": sid}))["code"] == "NOT_FOUND"


async def test_a_failed_request_keeps_no_answer(alice: Client) -> None:
    bad = {"i": {"targetMinutes": 0}, "k": "will-fail"}
    for _ in range(2):  # the same error again, not CONFLICT: nothing was kept
        assert (await refused(alice, CREATE, bad))["field"] == "targetMinutes"
    # The key is still free for a request that succeeds.
    good = {"i": {"targetMinutes": 5}, "k": "will-fail"}
    created = (await alice.execute(CREATE, good))["createSession"]
    assert created["targetMinutes"] == 5
    await alice.execute(END, {"id": created["id"]})


async def test_racing_retries_run_once(alice: Client) -> None:
    before = await count(alice)
    variables = {"i": {"targetMinutes": 25}, "k": "racing"}
    answers = await asyncio.gather(*(alice.execute(CREATE, variables) for _ in range(4)))
    assert len({a["createSession"]["id"] for a in answers}) == 1
    assert await count(alice) == before + 1
    await alice.execute(END, {"id": answers[0]["createSession"]["id"]})


async def test_a_key_lasts_24_hours(alice: Client, clock: ManualClock) -> None:
    variables = {"i": {"targetMinutes": 25}, "k": "daily"}
    first = (await alice.execute(CREATE, variables))["createSession"]
    clock.advance(24 * 3600 - 1)
    assert (await alice.execute(CREATE, variables))["createSession"]["id"] == first["id"]
    clock.advance(2)
    # Expired (whether or not the TTL monitor has removed it yet): a new request.
    second = (await alice.execute(CREATE, variables))["createSession"]
    assert second["id"] != first["id"]
    await alice.execute(END, {"id": second["id"]})


@pytest.mark.parametrize("key", ["", "x" * 129, "tab\there"])
async def test_a_malformed_key_is_bad_input(alice: Client, key: str) -> None:
    before = await count(alice)
    extensions = await refused(alice, CREATE, {"i": {"targetMinutes": 25}, "k": key})
    assert extensions == {"code": "BAD_USER_INPUT", "field": "clientMutationId"}
    assert await count(alice) == before


async def test_keys_have_a_ttl_index(server: Any, settings: Settings) -> None:
    assert settings.mongodb_uri
    client = make_client(settings.mongodb_uri)
    try:
        indexes = await client[settings.database]["idempotency_keys"].index_information()
    finally:
        await client.close()
    assert indexes["ttl_24h"]["expireAfterSeconds"] == 86400
    assert indexes["user_key_unique"]["unique"] is True
