"""Signals made through one server process reach a watcher on another within a tick.

tests/e2e/test_processes.py follows a tab switch, a pause and an end across
processes; this follows what the watcher's own process cannot work out from
what it holds: an activity that ends an idle stretch (its ticks would go on
saying idle) and a tab switch, both made through the other process.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from focusgql.settings import Settings
from tests.e2e.test_gql_client import ACTIVITY, TAB, Frames, connect
from tests.support import Client, create_session, spawn

WITHIN = 1.5
"""Seconds from the mutation's answer to the watcher's frame: about one tick."""
THRESHOLD = 5


async def first_frame(
    frames: Frames, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    while True:
        frame = await frames.queue.get()
        if predicate(frame):
            return frame


async def test_an_idle_ending_activity_and_a_tab_switch_reach_a_watcher_on_another_process(
    settings: Settings,
) -> None:
    own = settings.model_copy(update={"database": f"{settings.database}_processes"})
    async with (
        spawn(own) as writer,
        spawn(own) as watcher,
        httpx.AsyncClient(base_url=writer.url, timeout=30) as http,
    ):
        person = await Client(http).register()
        sid = (await create_session(person, "id", idleThresholdSeconds=THRESHOLD))["id"]
        payload = {"authorization": f"Bearer {person.token}"}
        async with connect(watcher, "graphql-transport-ws", payload) as ws:  # type: ignore[arg-type]
            frames = Frames(ws, sid)
            try:
                async with asyncio.timeout(10):
                    first = await frames.queue.get()
                assert (first["isIdle"], first["tabSwitches"]) == (False, 0)
                # Tick THRESHOLD + 1 is the first idle one.
                async with asyncio.timeout(THRESHOLD + 5):
                    idle = await first_frame(frames, lambda f: f["isIdle"])
                assert idle["idleSeconds"] >= 1

                answer = (await person.execute(ACTIVITY.payload["query"], {"id": sid}))[
                    "recordActivity"
                ]
                assert answer["isIdle"] is False
                async with asyncio.timeout(WITHIN):
                    woke = await first_frame(frames, lambda f: not f["isIdle"])
                assert woke["idleSeconds"] == answer["idleSeconds"]  # the idle run ended

                answer = (await person.execute(TAB.payload["query"], {"id": sid}))[
                    "recordTabSwitch"
                ]
                assert answer["tabSwitches"] == 1
                async with asyncio.timeout(WITHIN):
                    switched = await first_frame(frames, lambda f: f["tabSwitches"] == 1)
                assert (switched["isIdle"], switched["status"]) == (False, "ACTIVE")
            finally:
                await frames.close()
