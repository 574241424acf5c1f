"""Signals sent over the socket that carries the ticks are never refused for want
of a subscription slot, and a burst of them loses none.

The dashboard keeps one graphql-transport-ws socket with `sessionTicks` open and
reports activity on it; every `recordActivity` is an operation on that socket,
so a client that does not wait for each answer can have many going at once.
"""

import asyncio
import itertools
from collections import defaultdict
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from tests.e2e.test_ws_protocol import TICKS, acknowledged, opened, receive, send, subscribe
from tests.support import Client, ManualClock, RunningServer, create_session, read_session

ACTIVITY = (
    "mutation($id: ID!) { recordActivity(sessionId: $id) "
    "{ elapsedSeconds activeSeconds idleSeconds isIdle asOf } }"
)
COUNTERS = "elapsedSeconds activeSeconds idleSeconds isIdle"
_ops = itertools.count()


async def open_ticks(ws: ClientConnection, client: Client, sid: str) -> None:
    """Acknowledged, with the session's ticks subscribed as "t" and its first frame taken."""
    await acknowledged(ws, {"token": client.token})
    await send(ws, subscribe("t", TICKS, {"id": sid}))
    first = await receive(ws)
    assert (first["id"], first["type"]) == ("t", "next"), first


async def answers(ws: ClientConnection, ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Every message for `ids` until each has completed or failed (tick frames skipped)."""
    seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    open_ids = set(ids)
    async with asyncio.timeout(30):
        while open_ids:
            message = await receive(ws)
            if message.get("id") == "t":
                continue
            assert message.get("id") in ids, message
            seen[message["id"]].append(message)
            if message["type"] in ("complete", "error"):
                open_ids.discard(message["id"])
    return seen


def assert_all_answered(seen: dict[str, list[dict[str, Any]]], ids: set[str]) -> None:
    """Each operation got exactly one `next` with data and no errors, then `complete`."""
    refused = {op: m for op, msgs in seen.items() for m in msgs if m["type"] == "error"}
    assert not refused, f"{len(refused)} of {len(ids)} refused, e.g. {next(iter(refused.values()))}"
    for op in ids:
        kinds = [m["type"] for m in seen[op]]
        assert kinds == ["next", "complete"], (op, seen[op])
        payload = seen[op][0]["payload"]
        assert not payload.get("errors"), (op, payload)
        assert payload["data"]["recordActivity"]["isIdle"] is False, (op, payload)


async def burst(ws: ClientConnection, sid: str, count: int) -> None:
    """`count` recordActivity operations sent back to back, then all their answers."""
    ids = {f"a{next(_ops)}" for _ in range(count)}
    for op in ids:  # no waiting in between: every one is in flight at once
        await send(ws, subscribe(op, ACTIVITY, {"id": sid}))
    assert_all_answered(await answers(ws, ids), ids)


async def test_sixty_activities_back_to_back_on_the_ticking_socket_are_all_answered(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    assert server.settings.max_subscriptions_per_connection == 20  # the default
    sid = (await create_session(alice, "id"))["id"]
    async with opened(server) as ws:
        await open_ticks(ws, alice, sid)
        await burst(ws, sid, 60)
        clock.advance(1)  # the ticks subscription runs on
        tick = await receive(ws)
        assert (tick["id"], tick["payload"]["data"]["sessionTicks"]) == ("t", {"elapsedSeconds": 1})


@pytest.mark.slow
async def test_one_activity_a_second_on_the_ticking_socket_is_never_refused(
    live_server: RunningServer,
) -> None:
    assert live_server.settings.max_subscriptions_per_connection == 20
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        person = await Client(http).register()
        sid = (await create_session(person, "id"))["id"]
        async with opened(live_server) as ws:
            await open_ticks(ws, person, sid)
            ids = {f"s{second}" for second in range(6)}
            sending = asyncio.create_task(every_second(ws, sid, sorted(ids)))
            seen = await answers(ws, ids)  # the ticks keep coming in between
            await sending
        assert_all_answered(seen, ids)
        session = await read_session(person, sid, COUNTERS)
    assert session["elapsedSeconds"] >= 5
    assert session["idleSeconds"] == 0


async def every_second(ws: ClientConnection, sid: str, ids: list[str]) -> None:
    for op in ids:
        await send(ws, subscribe(op, ACTIVITY, {"id": sid}))
        await asyncio.sleep(1)


async def test_a_burst_of_200_activities_over_http_and_the_socket_keeps_the_counters_exact(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    sid = (await create_session(alice, "id"))["id"]
    clock.advance(10)  # ten active seconds
    # Over HTTP, all at once (httpx opens as many connections as its pool allows).
    results = await asyncio.gather(*(alice.raw(ACTIVITY, {"id": sid}) for _ in range(200)))
    failed = [r for r in results if r.get("errors") or not r.get("data")]
    assert not failed, f"{len(failed)} of 200 failed, e.g. {failed[0]}"
    assert {r["data"]["recordActivity"]["elapsedSeconds"] for r in results} == {10}
    clock.advance(14)  # the burst marked second 11: 24 - 11 is within the 15 s threshold
    assert await read_session(alice, sid, COUNTERS) == {
        "elapsedSeconds": 24,
        "activeSeconds": 24,
        "idleSeconds": 0,
        "isIdle": False,
    }
    # Over the ticking socket, all at once.
    async with opened(server) as ws:
        await open_ticks(ws, alice, sid)
        await burst(ws, sid, 200)
    clock.advance(14)  # marked second 25; without it 38 - 11 > 15 would be idle
    assert await read_session(alice, sid, COUNTERS) == {
        "elapsedSeconds": 38,
        "activeSeconds": 38,
        "idleSeconds": 0,
        "isIdle": False,
    }
