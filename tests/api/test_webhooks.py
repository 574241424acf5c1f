"""Webhooks through the API: a real receiver checks every signature; the
server runs on a manual clock, so retries over hours take a moment."""

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from focusgql.sender import wall_clock
from focusgql.settings import Settings
from focusgql.store.mongo import make_client
from tests.conftest import START
from tests.receiver import Receiver, receiving
from tests.support import Client, GraphQLError, ManualClock, RunningServer, create_session, serve

CREATE = """mutation($url: String!, $events: [String!]!) {
  createWebhook(url: $url, events: $events) { secret webhook { id url events createdAt } }
}"""
DELIVERIES = """query($id: ID) {
  webhookDeliveries(webhookId: $id) {
    id webhookId eventId eventType sessionId payload status attempts responseCode error
    createdAt lastAttemptAt nextAttemptAt deliveredAt
  }
}"""
API_DOC = Path(__file__).parents[2] / "docs" / "api.md"
ALL = ["session.started", "session.paused", "session.resumed", "session.ended"]


@pytest.fixture(scope="module")
def hooks_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="module")
async def hooks_server(
    settings: Settings, hooks_clock: ManualClock
) -> AsyncIterator[RunningServer]:
    """The API with private webhook targets allowed (the receiver is on
    127.0.0.1), on a database and clock of its own."""
    own = settings.model_copy(
        update={
            "database": f"{settings.database}_webhooks",
            "webhook_allow_private": True,
            "webhook_poll_seconds": 0.05,
            "reaper_interval_seconds": 0.1,
        }
    )
    async with serve(own, hooks_clock) as running:
        yield running


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as running:
        yield running


@pytest.fixture
async def person(hooks_server: RunningServer) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=hooks_server.url, timeout=30) as http:
        yield await Client(http).register()


async def hook(client: Client, receiver: Receiver, events: list[str] = ALL) -> tuple[str, str]:
    """A webhook of `client`'s on a fresh receiver path: (its id, the path)."""
    path, url = receiver.endpoint()
    created = (await client.execute(CREATE, {"url": url, "events": events}))["createWebhook"]
    receiver.secrets[path] = created["secret"]
    return created["webhook"]["id"], path


async def deliveries(client: Client, webhook_id: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await client.execute(DELIVERIES, {"id": webhook_id}))[
        "webhookDeliveries"
    ]
    return found


async def until_delivered(client: Client, webhook_id: str, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(15):
        while True:
            found = await deliveries(client, webhook_id)
            if len(found) == count and all(d["status"] != "PENDING" for d in found):
                return found
            await asyncio.sleep(0.02)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_a_session_s_life_reaches_the_receiver_signed_in_order(
    person: Client, receiver: Receiver
) -> None:
    webhook_id, path = await hook(person, receiver)
    session = await create_session(person, "id", tags=["Work"])
    sid = session["id"]
    update = (
        "mutation($id: ID!, $s: SessionStatus!) "
        "{ updateSession(id: $id, input: {status: $s}) { id } }"
    )
    await person.execute(update, {"id": sid, "s": "PAUSED"})
    await person.execute(update, {"id": sid, "s": "ACTIVE"})
    await person.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": sid})

    got = await receiver.wait_for(path, 4)
    assert all(r.verified for r in got), "every delivery verifies with its secret"
    assert [r.payload["type"] for r in got] == ALL
    assert len({r.webhook_id for r in got}) == 4
    assert all(r.webhook_id.startswith("msg_") for r in got)
    ended = got[-1].payload["data"]
    assert ended["id"] == sid and ended["status"] == "COMPLETED" and ended["tags"] == ["work"]
    assert ended["focusScore"] is not None and ended["endedAt"] is not None
    assert got[0].headers["content-type"] == "application/json"

    # docs/api.md shows this payload: the same keys.
    (sample,) = re.findall(r"```jsonc\n(.*?)```", API_DOC.read_text(), flags=re.DOTALL)
    documented = json.loads(sample)
    assert set(documented) == set(got[-1].payload)
    assert set(documented["data"]) == set(ended)

    listed = await until_delivered(person, webhook_id, 4)
    assert {d["eventId"] for d in listed} == {r.webhook_id for r in got}
    for d in listed:
        assert (d["status"], d["attempts"], d["responseCode"]) == ("DELIVERED", 1, 200)
        assert d["sessionId"] == sid and d["webhookId"] == webhook_id
        assert d["nextAttemptAt"] is None and d["deliveredAt"] is not None
    # The body listed is the body sent, byte for byte.
    by_id = {r.webhook_id: r.body.decode() for r in got}
    assert all(by_id[d["eventId"]] == d["payload"] for d in listed)


async def test_only_the_events_asked_for_are_sent(person: Client, receiver: Receiver) -> None:
    _, ended_only = await hook(person, receiver, ["session.ended"])
    _, started_only = await hook(person, receiver, ["session.started"])
    sid = (await create_session(person, "id"))["id"]
    await person.execute(
        "mutation($id: ID!) { endSession(id: $id, status: ABANDONED) { id } }", {"id": sid}
    )
    (ended,) = await receiver.wait_for(ended_only, 1)
    (started,) = await receiver.wait_for(started_only, 1)
    assert ended.payload["type"] == "session.ended"
    assert ended.payload["data"]["status"] == "ABANDONED"
    assert started.payload["type"] == "session.started"


async def test_a_new_session_ending_the_running_one_is_two_events(
    person: Client, receiver: Receiver
) -> None:
    _, path = await hook(person, receiver, ["session.started", "session.ended"])
    first = (await create_session(person, "id"))["id"]
    second = (await create_session(person, "id"))["id"]
    got = await receiver.wait_for(path, 3)
    seen = [(r.payload["type"], r.payload["data"]["id"], r.payload["data"]["status"]) for r in got]
    assert seen == [
        ("session.started", first, "ACTIVE"),
        ("session.ended", first, "ABANDONED"),
        ("session.started", second, "ACTIVE"),
    ]


async def test_signals_send_nothing(
    person: Client, receiver: Receiver, hooks_clock: ManualClock
) -> None:
    webhook_id, path = await hook(person, receiver)
    sid = (await create_session(person, "id"))["id"]
    await receiver.wait_for(path, 1)
    hooks_clock.advance(2)
    await person.execute(
        "mutation($id: ID!) { recordActivity(sessionId: $id) { id } }", {"id": sid}
    )
    await person.execute(
        "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { id } }", {"id": sid}
    )
    await person.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": sid})
    got = await receiver.wait_for(path, 2)
    assert [r.payload["type"] for r in got] == ["session.started", "session.ended"]
    assert got[1].payload["data"]["tabSwitches"] == 1
    assert len(await until_delivered(person, webhook_id, 2)) == 2


async def test_a_silent_session_s_abandonment_is_an_event(
    person: Client, receiver: Receiver, hooks_clock: ManualClock
) -> None:
    _, path = await hook(person, receiver, ["session.ended"])
    session = await create_session(person, "id startedAt")
    hooks_clock.advance(1800 + 5)  # the reaper ends it at its deadline
    (ended,) = await receiver.wait_for(path, 1)
    data = ended.payload["data"]
    assert data["id"] == session["id"] and data["status"] == "ABANDONED"
    assert (instant(data["endedAt"]) - instant(session["startedAt"])).total_seconds() == 1800


async def test_failures_are_retried_with_backoff_until_one_succeeds(
    person: Client, receiver: Receiver, hooks_clock: ManualClock
) -> None:
    webhook_id, path = await hook(person, receiver, ["session.started"])
    receiver.answers[path].extend([500, 503])
    await create_session(person, "id")
    await receiver.wait_for(path, 1)
    (first,) = await until_pending_after(person, webhook_id, attempts=1)
    assert first["responseCode"] == 500 and first["status"] == "PENDING"
    # The first wait of the 24 h schedule: 5 s after the failed attempt.
    wait = instant(first["nextAttemptAt"]) - instant(first["lastAttemptAt"])
    assert wait.total_seconds() == 5
    hooks_clock.advance(4)
    assert len(await deliveries(person, webhook_id)) == 1
    assert len(receiver.on(path)) == 1, "not due yet"
    hooks_clock.advance(1)
    await receiver.wait_for(path, 2)
    (second,) = await until_pending_after(person, webhook_id, attempts=2)
    assert second["responseCode"] == 503
    assert (
        instant(second["nextAttemptAt"]) - instant(second["lastAttemptAt"])
    ).total_seconds() == 10
    hooks_clock.advance(10)
    got = await receiver.wait_for(path, 3)
    assert len({r.webhook_id for r in got}) == 1, "every attempt carries the same webhook-id"
    assert len({r.body for r in got}) == 1, "and the same body"
    (done,) = await until_delivered(person, webhook_id, 1)
    assert (done["status"], done["attempts"], done["responseCode"]) == ("DELIVERED", 3, 200)
    metrics = (await person.http.get("/metrics")).text
    assert retries_counted(metrics, "retry") >= 2 and retries_counted(metrics, "delivered") >= 1


def retries_counted(metrics: str, outcome: str) -> float:
    (line,) = [
        line
        for line in metrics.splitlines()
        if line.startswith(f'focusgql_webhook_attempts_total{{outcome="{outcome}"}}')
    ]
    return float(line.split()[-1])


async def until_pending_after(
    client: Client, webhook_id: str, attempts: int
) -> list[dict[str, Any]]:
    async with asyncio.timeout(15):
        while True:
            found = await deliveries(client, webhook_id)
            if found and all(d["attempts"] >= attempts for d in found):
                return found
            await asyncio.sleep(0.02)


async def test_a_delivery_that_keeps_failing_gives_up_after_24_hours(
    person: Client, receiver: Receiver, hooks_clock: ManualClock
) -> None:
    webhook_id, path = await hook(person, receiver, ["session.started"])
    receiver.answers[path].extend([500] * 100)
    await create_session(person, "id")
    attempts = 0
    while True:
        attempts += 1
        (d,) = await until_pending_after(person, webhook_id, attempts=attempts)
        if d["status"] == "FAILED":
            break
        assert d["status"] == "PENDING" and d["responseCode"] == 500
        hooks_clock.advance((instant(d["nextAttemptAt"]) - hooks_clock.now()).total_seconds())
    assert attempts == 20  # at once, then 19 retries (domain/webhooks.py's schedule)
    assert len(receiver.on(path)) == 20
    span = instant(d["lastAttemptAt"]) - instant(d["createdAt"])
    assert span.total_seconds() == 24 * 3600
    assert d["nextAttemptAt"] is None


async def test_webhooks_are_listed_without_secrets_and_deleted(
    person: Client, receiver: Receiver
) -> None:
    webhook_id, path = await hook(person, receiver, ["session.ended", "session.started"])
    listed = (await person.execute("{ webhooks { id url events createdAt } }"))["webhooks"]
    assert [w["id"] for w in listed] == [webhook_id]
    assert listed[0]["events"] == ["session.started", "session.ended"]
    with pytest.raises(GraphQLError) as error:
        await person.execute("{ webhooks { secret } }")
    assert error.value.codes == ["GRAPHQL_VALIDATION_FAILED"]
    delete = "mutation($id: ID!) { deleteWebhook(id: $id) }"
    assert (await person.execute(delete, {"id": webhook_id}))["deleteWebhook"] == webhook_id
    assert (await person.execute("{ webhooks { id } }"))["webhooks"] == []
    with pytest.raises(GraphQLError) as error:
        await person.execute(delete, {"id": webhook_id})
    assert error.value.codes == ["NOT_FOUND"]
    _, control = await hook(person, receiver, ["session.started"])
    await create_session(person, "id")
    await receiver.wait_for(control, 1)  # the event went out: to the remaining one only
    assert receiver.on(path) == []


async def test_nobody_sees_or_deletes_another_person_s_webhooks(
    person: Client, receiver: Receiver, hooks_server: RunningServer
) -> None:
    webhook_id, path = await hook(person, receiver, ["session.started"])
    await create_session(person, "id")
    await until_delivered(person, webhook_id, 1)
    other = await person.as_user(None).register()
    assert (await other.execute("{ webhooks { id } }"))["webhooks"] == []
    assert await deliveries(other) == []
    for query, variables in [
        ("mutation($id: ID!) { deleteWebhook(id: $id) }", {"id": webhook_id}),
        (DELIVERIES, {"id": webhook_id}),
    ]:
        with pytest.raises(GraphQLError) as error:
            await other.execute(query, variables)
        assert error.value.codes == ["NOT_FOUND"]
    # The other person's sessions send nothing to it either.
    _, theirs = await hook(other, receiver, ["session.started"])
    await create_session(other, "id")
    await receiver.wait_for(theirs, 1)
    assert len(receiver.on(path)) == 1
    assert len(await deliveries(person, webhook_id)) == 1


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("ftp://example.com/hook", ["session.ended"], "url"),
        ("javascript:alert(1)", ["session.ended"], "url"),
        ("http:///nohost", ["session.ended"], "url"),
        ("http://user:pw@example.com/", ["session.ended"], "url"),
        ("http://example.com:99999/", ["session.ended"], "url"),
        ("http://exa mple.com/", ["session.ended"], "url"),
        ("http://example.com/" + "a" * 2048, ["session.ended"], "url"),
        ("http://example.com/", [], "events"),
        ("http://example.com/", ["session.deleted"], "events"),
        ("http://example.com/", ["SESSION.ENDED"], "events"),
    ],
)
async def test_bad_input_is_refused_with_a_code(
    person: Client, url: str, events: list[str], field: str
) -> None:
    with pytest.raises(GraphQLError) as error:
        await person.execute(CREATE, {"url": url, "events": events})
    assert error.value.codes == ["BAD_USER_INPUT"]
    assert error.value.errors[0]["extensions"]["field"] == field
    assert (await person.execute("{ webhooks { id } }"))["webhooks"] == []


async def test_deliveries_page_size_is_checked(person: Client) -> None:
    for first in (0, 101):
        with pytest.raises(GraphQLError) as error:
            await person.execute(
                "query($f: Int!) { webhookDeliveries(first: $f) { id } }", {"f": first}
            )
        assert error.value.codes == ["BAD_USER_INPUT"]
    with pytest.raises(GraphQLError) as error:
        await person.execute(DELIVERIES, {"id": "not-an-id"})
    assert error.value.codes == ["BAD_USER_INPUT"]


async def test_at_most_ten_webhooks(person: Client, receiver: Receiver) -> None:
    for _ in range(10):
        await hook(person, receiver, ["session.ended"])
    with pytest.raises(GraphQLError) as error:
        await hook(person, receiver, ["session.ended"])
    assert error.value.codes == ["CONFLICT"]


async def test_anonymous_callers_are_refused(hooks_server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=hooks_server.url) as http:
        anonymous = Client(http)
        for query in ("{ webhooks { id } }", "{ webhookDeliveries { id } }"):
            with pytest.raises(GraphQLError) as error:
                await anonymous.execute(query)
            assert error.value.codes == ["UNAUTHENTICATED"]
        with pytest.raises(GraphQLError) as error:
            await anonymous.execute(CREATE, {"url": "http://example.com/", "events": ALL})
        assert error.value.codes == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "https://100.64.0.1/",
    ],
)
async def test_private_targets_are_refused_unless_allowed(alice: Client, url: str) -> None:
    # The shared server keeps the default, FOCUSGQL_WEBHOOK_ALLOW_PRIVATE=false.
    with pytest.raises(GraphQLError) as error:
        await alice.execute(CREATE, {"url": url, "events": ALL})
    assert error.value.codes == ["BAD_USER_INPUT"]
    assert error.value.errors[0]["extensions"]["field"] == "url"


async def test_a_name_that_does_not_resolve_is_refused(alice: Client) -> None:
    with pytest.raises(GraphQLError) as error:
        await alice.execute(CREATE, {"url": "http://no-such-host.invalid/", "events": ALL})
    assert error.value.codes == ["BAD_USER_INPUT"]


async def test_deleting_the_account_erases_webhooks_and_deliveries(
    person: Client, receiver: Receiver, hooks_server: RunningServer
) -> None:
    webhook_id, _ = await hook(person, receiver)
    await create_session(person, "id")
    await until_delivered(person, webhook_id, 1)
    me = (await person.execute("{ me { id } }"))["me"]["id"]
    await person.execute(
        "mutation($p: String!) { deleteAccount(password: $p) }", {"p": "correct horse battery"}
    )
    settings = hooks_server.settings
    assert settings.mongodb_uri
    client = make_client(settings.mongodb_uri)
    try:
        db = client[settings.database]
        for name in ("webhooks", "webhook_deliveries", "sessions"):
            assert await db[name].count_documents({"user_id": ObjectId(me)}) == 0, name
    finally:
        await client.close()


def test_the_receiver_would_catch_a_forged_signature() -> None:
    """The receiver's check is real: a body signed with another secret fails."""
    good = "whsec_" + base64.b64encode(b"k" * 24).decode()
    bad = "whsec_" + base64.b64encode(b"x" * 24).decode()
    now = wall_clock()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(bad).sign("msg_1", now, "{}"),
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(good).verify("{}", headers)


async def test_an_address_that_turned_private_is_refused_at_send_time(
    alice: Client, receiver: Receiver, server: RunningServer
) -> None:
    """A name checked at creation may resolve elsewhere later (DNS rebinding):
    the shared server (private targets refused) checks again before sending.
    The webhook is written straight to the database, as if its host had
    resolved to a public address when it was made."""
    me = (await alice.execute("{ me { id } }"))["me"]["id"]
    path, url = receiver.endpoint()
    settings = server.settings
    assert settings.mongodb_uri
    client = make_client(settings.mongodb_uri)
    try:
        await client[settings.database]["webhooks"].insert_one(
            {
                "user_id": ObjectId(me),
                "url": url,
                "events": ["session.started"],
                "secret": "whsec_" + base64.b64encode(b"s" * 24).decode(),
                "created_at": server.clock.now(),
            }
        )
    finally:
        await client.close()
    await create_session(alice, "id")
    async with asyncio.timeout(15):
        while True:
            found = await deliveries(alice)
            if found and found[0]["attempts"] > 0:
                break
            await asyncio.sleep(0.05)
    (d,) = found
    assert (d["status"], d["error"], d["responseCode"]) == ("PENDING", "address not allowed", None)
    assert receiver.on(path) == []
