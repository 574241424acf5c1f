"""A change pushes a frame at once only to subscriptions whose selection it changes.

On the manual clock: a tick happens only when a test moves time, so any frame
that arrives while time stands still was pushed by the change itself. "No extra
frame" is checked by giving the server time to push one, then moving the clock a
second: the next frame received must be that tick, not a repeat of the last one.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection

from tests.e2e.test_ws_protocol import acknowledged, opened, receive, send, subscribe
from tests.support import Client, ManualClock, RunningServer, create_session

COUNTERS = "elapsedSeconds activeSeconds idleSeconds isIdle"
ACTIVITY = "mutation($id: ID!) { recordActivity(sessionId: $id) { elapsedSeconds } }"
TAB = "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { tabSwitches } }"
PUSH_GRACE = 0.3
"""Real seconds a pushed frame has to arrive before the clock moves on."""


def ticks(fields: str) -> str:
    return f"subscription($id: ID!) {{ sessionTicks(sessionId: $id) {{ {fields} }} }}"


async def frame(ws: ClientConnection) -> dict[str, Any]:
    """The next message, which must be a frame of subscription "t"."""
    message = await receive(ws)
    assert (message["id"], message["type"]) == ("t", "next"), message
    view: dict[str, Any] = message["payload"]["data"]["sessionTicks"]
    return view


@contextlib.asynccontextmanager
async def watch(
    server: RunningServer, client: Client, clock: ManualClock, fields: str
) -> AsyncIterator[tuple[str, ClientConnection]]:
    """A new session, a socket subscribed to its ticks, and its first tick taken."""
    sid: str = (await create_session(client, "id"))["id"]
    async with opened(server) as ws:
        await acknowledged(ws, {"token": client.token})
        await send(ws, subscribe("t", ticks(fields), {"id": sid}))
        assert (await frame(ws))["elapsedSeconds"] == 0  # the state on subscribing
        clock.advance(1)
        assert (await frame(ws))["elapsedSeconds"] == 1
        yield sid, ws


async def assert_next_frame_is_the_tick(
    ws: ClientConnection, clock: ManualClock, before: dict[str, Any]
) -> None:
    await asyncio.sleep(PUSH_GRACE)  # time for a frame the change should not have pushed
    clock.advance(1)
    following = await frame(ws)
    assert following["elapsedSeconds"] == before["elapsedSeconds"] + 1, (
        f"an extra frame {following} came before the tick after {before}"
    )


async def test_an_activity_that_changes_no_selected_field_pushes_no_frame(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    async with watch(server, alice, clock, COUNTERS) as (sid, ws):
        before = {"elapsedSeconds": 1, "activeSeconds": 1, "idleSeconds": 0, "isIdle": False}
        answer = await alice.execute(ACTIVITY, {"id": sid})
        assert answer["recordActivity"]["elapsedSeconds"] == 1
        await assert_next_frame_is_the_tick(ws, clock, before)
        # Several more in the same second change nothing either.
        for _ in range(5):
            await alice.execute(ACTIVITY, {"id": sid})
        await assert_next_frame_is_the_tick(ws, clock, {**before, "elapsedSeconds": 2})


async def test_a_tab_switch_pushes_a_frame_at_once_when_tab_switches_are_selected(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    async with watch(server, alice, clock, f"{COUNTERS} tabSwitches") as (sid, ws):
        assert (await alice.execute(TAB, {"id": sid}))["recordTabSwitch"]["tabSwitches"] == 1
        pushed = await frame(ws)  # the clock has not moved: no tick can have sent it
        assert pushed == {
            "elapsedSeconds": 1,
            "activeSeconds": 1,
            "idleSeconds": 0,
            "isIdle": False,
            "tabSwitches": 1,
        }
        await assert_next_frame_is_the_tick(ws, clock, pushed)


async def test_an_activity_pushes_a_frame_at_once_when_last_activity_at_is_selected(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    async with watch(server, alice, clock, "elapsedSeconds lastActivityAt") as (sid, ws):
        clock.advance(milliseconds=400)
        await alice.execute(ACTIVITY, {"id": sid})
        pushed = await frame(ws)
        assert pushed["elapsedSeconds"] == 1
        # The dates are compared as the server writes them (what the session says).
        read = await alice.execute(
            "query($id: ID!) { session(id: $id) { lastActivityAt } }", {"id": sid}
        )
        assert pushed["lastActivityAt"] == read["session"]["lastActivityAt"]
        clock.advance(milliseconds=600)
        assert (await frame(ws))["elapsedSeconds"] == 2


async def test_an_activity_that_ends_an_idle_stretch_pushes_a_frame_at_once(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    async with watch(server, alice, clock, COUNTERS) as (sid, ws):
        clock.advance(19)  # ticks 2..20; from tick 16 on more than 15 s since second 0
        idle: dict[str, Any] = {}
        while idle.get("elapsedSeconds") != 20:
            idle = await frame(ws)  # one per tick, or only the newest if they were merged
        assert idle == {"elapsedSeconds": 20, "activeSeconds": 15, "idleSeconds": 5, "isIdle": True}
        await alice.execute(ACTIVITY, {"id": sid})
        pushed = await frame(ws)  # at once: the clock still reads tick 20
        assert pushed == {**idle, "isIdle": False}
        clock.advance(1)  # tick 21 is the activity's second: active
        assert await frame(ws) == {
            "elapsedSeconds": 21,
            "activeSeconds": 16,
            "idleSeconds": 5,
            "isIdle": False,
        }
