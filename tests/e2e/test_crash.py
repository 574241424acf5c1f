"""kill -9 loses nothing acknowledged: every counter is recomputed from stored facts."""

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

from tests.domain.oracle import Event, Kind, Oracle
from tests.support import Client, RunningServer, seed_people, spawn

FIELDS = "id status elapsedSeconds activeSeconds idleSeconds tabSwitches asOf startedAt"
UPDATE = "mutation($id: ID!) { updateSession(id: $id, input: {status: %s}) { FIELDS } }"
MUTATIONS = {
    Kind.ACTIVITY: "mutation($id: ID!) { recordActivity(sessionId: $id) { FIELDS } }",
    Kind.TAB_SWITCH: "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { FIELDS } }",
    Kind.PAUSE: UPDATE % "PAUSED",
    Kind.RESUME: UPDATE % "ACTIVE",
}
CREATE = "mutation { createSession(input: {targetMinutes: 25}) { FIELDS } }"
SESSIONS = 100


@contextlib.asynccontextmanager
async def watching(url: str, tracked: "Tracked") -> AsyncIterator[None]:
    """A sessionTicks subscription held open on its own socket."""
    protocols = [Subprotocol("graphql-transport-ws")]
    async with websockets.connect(url, subprotocols=protocols, close_timeout=1) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": tracked.token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription($id: ID!) { sessionTicks(sessionId: $id) { elapsedSeconds } }"
        subscribe = {"query": query, "variables": {"id": tracked.id}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        assert json.loads(await ws.recv())["type"] == "next"
        with contextlib.suppress(websockets.ConnectionClosed):
            yield


class Tracked:
    def __init__(self, client: Client, created: dict[str, Any]) -> None:
        self.client = client
        self.token = client.token
        self.id: str = created["id"]
        self.oracle = Oracle(datetime.fromisoformat(created["startedAt"]), threshold=15)
        self.events: list[Event] = []
        self.paused = False

    async def act(self, rng: random.Random) -> None:
        kind = rng.choice([Kind.ACTIVITY, Kind.ACTIVITY, Kind.TAB_SWITCH, Kind.PAUSE])
        if kind is Kind.PAUSE and self.paused:
            kind = Kind.RESUME
        if kind is Kind.TAB_SWITCH and self.paused:
            kind = Kind.RESUME
        query = MUTATIONS[kind].replace("FIELDS", FIELDS)
        data = await self.client.execute(query, {"id": self.id})
        (view,) = data.values()
        # A mutation's asOf is the instant it was applied: the event's time.
        self.events.append(Event(datetime.fromisoformat(view["asOf"]), kind))
        self.paused = kind is Kind.PAUSE or (self.paused and kind is not Kind.RESUME)


async def test_kill_9_with_100_live_sessions_loses_no_acknowledged_event(
    server: RunningServer, bound_database: None
) -> None:
    settings = server.settings
    tokens = await seed_people(settings, SESSIONS)
    rng = random.Random(9)
    async with spawn(settings) as victim:
        async with httpx.AsyncClient(base_url=victim.url, timeout=30) as http:
            people = [Client(http, token) for token in tokens]
            create = CREATE.replace("FIELDS", FIELDS)
            created = await asyncio.gather(*(p.execute(create) for p in people))
            tracked = [Tracked(p, c["createSession"]) for p, c in zip(people, created, strict=True)]
            async with contextlib.AsyncExitStack() as watchers:
                for t in tracked:  # every session live on a dashboard when the server dies
                    await watchers.enter_async_context(watching(victim.ws_url, t))
                for _ in range(3):
                    await asyncio.gather(*(t.act(rng) for t in tracked))
                    await asyncio.sleep(rng.random())
                victim.kill()  # SIGKILL: no shutdown, no final checkpoint
        assert victim.process.returncode == -9

    async with (
        spawn(settings) as survivor,
        httpx.AsyncClient(base_url=survivor.url, timeout=30) as http,
    ):
        for t in tracked:
            reader = Client(http, t.client.token)
            query = f'{{ session(id: "{t.id}") {{ {FIELDS} }} }}'
            view = (await reader.execute(query))["session"]
            expected = t.oracle.counters(t.events, datetime.fromisoformat(view["asOf"]))
            assert (
                view["elapsedSeconds"],
                view["activeSeconds"],
                view["idleSeconds"],
                view["tabSwitches"],
                view["status"],
            ) == (
                expected.elapsed,
                expected.active,
                expected.idle,
                expected.tab_switches,
                expected.status,
            ), t.id
