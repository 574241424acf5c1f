"""Webhooks across processes: kill -9 between a change and its delivery loses
no event, and two processes on one database never send one event at once."""

import asyncio
import contextlib
from typing import Any

import httpx
from bson import ObjectId

from focusgql.settings import Settings
from focusgql.store.mongo import free_port, make_client
from tests.receiver import receiving
from tests.support import Client, create_session, spawn

CREATE = """mutation($url: String!, $events: [String!]!) {
  createWebhook(url: $url, events: $events) { secret webhook { id } }
}"""
UPDATE = (
    "mutation($id: ID!, $s: SessionStatus!) { updateSession(id: $id, input: {status: $s}) { id } }"
)
END = "mutation($id: ID!) { endSession(id: $id) { id } }"
ALL = ["session.started", "session.paused", "session.resumed", "session.ended"]
FAST = {
    "FOCUSGQL_WEBHOOK_ALLOW_PRIVATE": "true",
    "FOCUSGQL_WEBHOOK_POLL_SECONDS": "0.05",
    # First retry 0.1 s after a failure, doubling (domain/webhooks.py).
    "FOCUSGQL_WEBHOOK_RETRY_WINDOW_SECONDS": "1728",
}


def own(settings: Settings, name: str) -> Settings:
    return settings.model_copy(update={"database": f"{settings.database}_{name}"})


async def outbox_of(settings: Settings, session_id: str) -> list[dict[str, Any]]:
    assert settings.mongodb_uri
    client = make_client(settings.mongodb_uri)
    try:
        raw = await client[settings.database]["sessions"].find_one({"_id": ObjectId(session_id)})
    finally:
        await client.close()
    assert raw is not None
    outbox = raw.get("webhook_outbox", [])
    assert isinstance(outbox, list)
    return outbox


async def test_kill_9_before_the_events_were_handed_on_loses_none(settings: Settings) -> None:
    db = own(settings, "hooks_outbox_crash")
    async with receiving() as receiver:
        path, url = receiver.endpoint()
        # This process writes events but sends none: the kill finds every one
        # of them still in its session's outbox.
        async with spawn(db, FOCUSGQL_WEBHOOK_DISPATCH="false", **FAST) as victim:
            async with httpx.AsyncClient(base_url=victim.url, timeout=30) as http:
                person = await Client(http).register()
                created = await person.execute(CREATE, {"url": url, "events": ALL})
                receiver.secrets[path] = created["createWebhook"]["secret"]
                sid = (await create_session(person, "id"))["id"]
                await person.execute(END, {"id": sid})
            assert [e["type"] for e in await outbox_of(db, sid)] == [
                "session.started",
                "session.ended",
            ]
            victim.kill()
        assert receiver.received == []
        async with spawn(db, **FAST):
            got = await receiver.wait_for(path, 2)
        assert [r.payload["type"] for r in got] == ["session.started", "session.ended"]
        assert all(r.verified for r in got)
        assert got[1].payload["data"]["id"] == sid
        assert await outbox_of(db, sid) == [], "handed on, then taken out of the session"


async def test_kill_9_while_the_receiver_is_down_loses_nothing(settings: Settings) -> None:
    db = own(settings, "hooks_down_crash")
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook/down"  # nothing listens there yet
    async with spawn(db, **FAST) as victim:
        async with httpx.AsyncClient(base_url=victim.url, timeout=30) as http:
            person = await Client(http).register()
            created = await person.execute(CREATE, {"url": url, "events": ["session.started"]})
            secret = created["createWebhook"]["secret"]
            await create_session(person, "id")
            query = "{ webhookDeliveries { status attempts error } }"
            async with asyncio.timeout(15):
                while True:
                    (d,) = (await person.execute(query))["webhookDeliveries"] or [None]
                    if d is not None and d["attempts"] >= 2:
                        break
                    await asyncio.sleep(0.05)
            assert d["status"] == "PENDING" and d["error"] == "ConnectError"
        victim.kill()
    async with receiving(port) as receiver:
        receiver.secrets["/hook/down"] = secret
        async with spawn(db, **FAST):
            (got,) = await receiver.wait_for("/hook/down", 1)
    assert got.verified and got.payload["type"] == "session.started"


async def test_kill_9_in_the_middle_of_a_send_sends_again_once_the_lease_ends(
    settings: Settings,
) -> None:
    db = own(settings, "hooks_lease_crash")
    quick = {**FAST, "FOCUSGQL_WEBHOOK_TIMEOUT_SECONDS": "1"}  # a lease of 1 + 5 s
    async with receiving() as receiver:
        path, url = receiver.endpoint()
        receiver.delay_seconds = 3  # holds the first attempt open while the sender dies
        async with spawn(db, **quick) as victim:
            async with httpx.AsyncClient(base_url=victim.url, timeout=30) as http:
                person = await Client(http).register()
                created = await person.execute(CREATE, {"url": url, "events": ["session.started"]})
                receiver.secrets[path] = created["createWebhook"]["secret"]
                await create_session(person, "id")
            async with asyncio.timeout(15):
                while True:  # the attempt is in flight, its answer held back
                    if receiver.arrivals:
                        break
                    await asyncio.sleep(0.01)
            victim.kill()
        receiver.delay_seconds = 0
        async with spawn(db, **quick) as survivor:
            second = await receiver.wait_for(path, 2)
            async with httpx.AsyncClient(base_url=survivor.url, timeout=30) as http:
                listed = await Client(http, person.token).execute(
                    "{ webhookDeliveries { status attempts responseCode } }"
                )
    (first_at, again_at) = [at for p, _, at in receiver.arrivals if p == path]
    assert again_at - first_at >= 5, "not before the dead sender's lease ended"
    assert len({r.webhook_id for r in second}) == 1, "the same webhook-id: a repeat to ignore"
    assert all(r.verified for r in second)
    assert receiver.most_in_flight == 1
    # Only the survivor's attempt was recorded: the victim died before writing its own.
    assert listed["webhookDeliveries"] == [
        {"status": "DELIVERED", "attempts": 1, "responseCode": 200}
    ]


async def test_two_processes_never_send_one_event_at_the_same_time(settings: Settings) -> None:
    db = own(settings, "hooks_two")
    async with contextlib.AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(receiving())
        servers = [await stack.enter_async_context(spawn(db, **FAST)) for _ in range(2)]
        https = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=s.url, timeout=30))
            for s in servers
        ]
        # Slow answers and two failures first on every path: both processes
        # keep finding due deliveries, retries included, while others are in
        # flight.
        receiver.delay_seconds = 0.15
        people: list[tuple[str, str]] = []
        for i in range(4):
            person = await Client(https[i % 2]).register()
            path, url = receiver.endpoint()
            created = await person.execute(CREATE, {"url": url, "events": ALL})
            receiver.secrets[path] = created["createWebhook"]["secret"]
            receiver.answers[path].extend([500, 500])
            assert person.token
            people.append((person.token, path))

        async def life(token: str, i: int) -> None:
            # Each change through the other process than the one before.
            via = [Client(https[(i + k) % 2], token) for k in range(4)]
            sid = (await create_session(via[0], "id"))["id"]
            await via[1].execute(UPDATE, {"id": sid, "s": "PAUSED"})
            await via[2].execute(UPDATE, {"id": sid, "s": "ACTIVE"})
            await via[3].execute(END, {"id": sid})

        await asyncio.gather(*(life(token, i) for i, (token, _) in enumerate(people)))
        for _, path in people:
            await receiver.wait_for(path, 6)
        await asyncio.sleep(0.5)  # anything sent twice would have come by now
    assert receiver.most_in_flight == 1
    assert all(r.verified for r in receiver.received)
    for _, path in people:
        got = receiver.on(path)
        # Two failed attempts, then each of the four events exactly once.
        assert len(got) == 6, [r.payload["type"] for r in got]
        assert {r.payload["type"] for r in got[2:]} == set(ALL)
        assert len({r.webhook_id for r in got[2:]}) == 4
