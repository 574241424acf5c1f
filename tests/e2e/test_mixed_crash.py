"""kill -9 under the dashboard's real traffic loses no acknowledged signal.

Every person holds one graphql-transport-ws socket with `sessionTicks` open and
sends their signals over that same socket: an activity about once a second (at
a phase of their own), a tab switch now and then, and now and then a pause and
a resume. An event counts as acknowledged once its `next` (with data) arrived;
its time is the `asOf` the answer reports. After the kill a restarted server
must compute, for every session, what the oracle computes from those events.

Each person waits for an answer before the next signal, so at the kill each has
at most one event in flight. It may or may not have landed, at any instant from
its sending to the kill: every outcome that follows from some such instant, or
from it not landing, is accepted. An acknowledged event is never optional.
"""

import asyncio
import contextlib
import itertools
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from focusgql.domain.timeline import truncate_to_ms
from focusgql.settings import Settings
from tests.domain.oracle import ONE_MS, Event, Kind, Oracle
from tests.e2e.test_crash import FIELDS, MUTATIONS
from tests.support import Client, create_session, seed_people, spawn

PEOPLE = 60
LOAD_SECONDS = 6.0
THRESHOLD = 5
"""Idle threshold of every session (the least allowed): read THRESHOLD + 1 s after
the kill, a session whose last acknowledged activity was lost shows an idle
second more than the oracle."""
TICKS = (
    "subscription($id: ID!) { sessionTicks(sessionId: $id) "
    "{ elapsedSeconds activeSeconds idleSeconds isIdle tabSwitches status } }"
)
SECOND = timedelta(seconds=1)

Seen = tuple[int, int, int, int, str]
"""elapsedSeconds, activeSeconds, idleSeconds, tabSwitches, status."""


def now_ms() -> datetime:
    return truncate_to_ms(datetime.now(UTC))


@dataclass
class InFlight:
    kind: Kind
    sent_at: datetime


class Person:
    def __init__(self, token: str, created: dict[str, Any], rng: random.Random) -> None:
        self.token = token
        self.id: str = created["id"]
        self.oracle = Oracle(datetime.fromisoformat(created["startedAt"]), threshold=THRESHOLD)
        self.events: list[Event] = []
        self.in_flight: InFlight | None = None
        self.paused = False
        self.subscribed = asyncio.Event()
        self.ticks = 0
        self.failures: list[dict[str, Any]] = []
        self._rng = rng
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def choose(self) -> Kind:
        draw = self._rng.random()
        if self.paused:
            return Kind.RESUME if draw < 0.5 else Kind.ACTIVITY
        if draw < 0.06:
            return Kind.PAUSE
        return Kind.TAB_SWITCH if draw < 0.2 else Kind.ACTIVITY

    async def run(self, url: str, ready: asyncio.Event, sent: asyncio.Event) -> None:
        """Signals about once a second until the server dies under them; `sent` is
        set whenever a signal has gone out."""
        protocols = [Subprotocol("graphql-transport-ws")]
        with contextlib.suppress(websockets.ConnectionClosed):
            async with websockets.connect(url, subprotocols=protocols, close_timeout=1) as ws:
                await ws.send(
                    json.dumps({"type": "connection_init", "payload": {"token": self.token}})
                )
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                subscribe = {"query": TICKS, "variables": {"id": self.id}}
                await ws.send(json.dumps({"id": "t", "type": "subscribe", "payload": subscribe}))
                assert json.loads(await ws.recv())["type"] == "next"
                self.subscribed.set()
                reader = asyncio.create_task(self._read(ws))
                try:
                    await ready.wait()
                    await self._signal(ws, sent)
                finally:
                    reader.cancel()

    async def _signal(self, ws: ClientConnection, sent: asyncio.Event) -> None:
        due = datetime.now(UTC) + self._rng.random() * SECOND
        for n in itertools.count():
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            due += SECOND
            kind = self.choose()
            op = f"s{n}"
            answer = self._answers[op] = asyncio.get_running_loop().create_future()
            self.in_flight = InFlight(kind, now_ms())  # before sending: it may land at once
            message = {
                "query": MUTATIONS[kind].replace("FIELDS", FIELDS),
                "variables": {"id": self.id},
            }
            await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": message}))
            sent.set()
            self._acknowledge(kind, await answer)

    def _acknowledge(self, kind: Kind, message: dict[str, Any]) -> None:
        payload = message.get("payload")
        if message["type"] != "next" or not isinstance(payload, dict) or payload.get("errors"):
            self.failures.append(message)
            self.in_flight = None  # refused: it changed nothing
            return
        (view,) = payload["data"].values()
        assert view["id"] == self.id
        self.events.append(Event(datetime.fromisoformat(view["asOf"]), kind))
        self.in_flight = None
        self.paused = kind is Kind.PAUSE or (self.paused and kind is not Kind.RESUME)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("id") == "t":
                    self.ticks += 1
                    continue
                answer = self._answers.pop(message.get("id"), None)
                if answer is not None and not answer.done():
                    answer.set_result(message)  # a `complete` follows; nothing waits for it
        except websockets.ConnectionClosed as closed:
            error: BaseException = closed
        else:
            error = websockets.ConnectionClosedOK(None, None)
        for answer in self._answers.values():
            if not answer.done():
                answer.set_exception(error)

    def outcomes(self, as_of: datetime, killed_at: datetime) -> set[Seen]:
        """Every reading the stored facts may give at `as_of`."""
        possible = [self.events]
        pending = self.in_flight
        if pending is not None and pending.sent_at <= killed_at:
            for instant in self._instants(pending.sent_at, killed_at):
                possible.append([*self.events, Event(instant, pending.kind)])
        seen = set()
        for events in possible:
            c = self.oracle.counters(events, as_of)
            seen.add((c.elapsed, c.active, c.idle, c.tab_switches, c.status))
        return seen

    def _instants(self, first: datetime, last: datetime) -> list[datetime]:
        """Instants from `first` to `last` covering every whole session-second in
        between: the ends, and both sides of each second the session clock passes."""
        if self.events:
            first = max(first, self.events[-1].at)
        instants = [first, last]
        replay = self.oracle.replay(self.events, first)
        if replay.status == "ACTIVE":  # the session clock runs with the wall clock
            boundary = first + (-replay.tau_ms % 1000) * ONE_MS
            while boundary <= last:
                instants += [boundary - ONE_MS, boundary]
                boundary += SECOND
        return [i for i in instants if first <= i <= last]


async def test_kill_9_under_ticks_and_socket_signals_loses_no_acknowledged_event(
    settings: Settings,
) -> None:
    own = settings.model_copy(update={"database": f"{settings.database}_mixed_crash"})
    tokens = await seed_people(own, PEOPLE)
    rng = random.Random(2026)
    async with spawn(own) as victim:
        async with httpx.AsyncClient(base_url=victim.url, timeout=30) as http:
            created = await asyncio.gather(
                *(
                    create_session(Client(http, t), FIELDS, idleThresholdSeconds=THRESHOLD)
                    for t in tokens
                )
            )
        people = [
            Person(token, c, random.Random(rng.random()))
            for token, c in zip(tokens, created, strict=True)
        ]
        ready, sent = asyncio.Event(), asyncio.Event()
        running = [asyncio.create_task(p.run(victim.ws_url, ready, sent)) for p in people]
        async with asyncio.timeout(30):
            await asyncio.gather(*(p.subscribed.wait() for p in people))  # all live first
        ready.set()
        await asyncio.sleep(LOAD_SECONDS)
        sent.clear()
        await sent.wait()  # a signal has just gone out: it dies in flight, or just lands
        victim.kill()  # SIGKILL mid-load: no shutdown, no final checkpoint
        killed_at = now_ms() + ONE_MS
        async with asyncio.timeout(30):
            await asyncio.gather(*running)
    assert victim.process.returncode == -9

    failures = [f for p in people for f in p.failures]
    assert not failures, f"{len(failures)} signals refused before the kill, e.g. {failures[0]}"
    acknowledged = sum(len(p.events) for p in people)
    assert acknowledged >= PEOPLE * (LOAD_SECONDS - 2), f"only {acknowledged} acknowledged"
    # Paused sessions do not tick; the others tick every second on the same sockets.
    ticks = sum(p.ticks for p in people)
    assert ticks >= PEOPLE * (LOAD_SECONDS - 2), f"only {ticks} frames on {PEOPLE} dashboards"
    kinds = {e.kind for p in people for e in p.events}
    assert kinds == {Kind.ACTIVITY, Kind.TAB_SWITCH, Kind.PAUSE, Kind.RESUME}, kinds

    async with (
        spawn(own) as survivor,
        httpx.AsyncClient(base_url=survivor.url, timeout=30) as http,
    ):
        # Past the threshold since the last signals: a lost activity shows as idle.
        await asyncio.sleep(max(0.0, (killed_at - now_ms()).total_seconds() + THRESHOLD + 1))
        wrong = []
        for p in people:
            query = f'{{ session(id: "{p.id}") {{ {FIELDS} }} }}'
            view = (await Client(http, p.token).execute(query))["session"]
            seen = (
                view["elapsedSeconds"],
                view["activeSeconds"],
                view["idleSeconds"],
                view["tabSwitches"],
                view["status"],
            )
            possible = p.outcomes(datetime.fromisoformat(view["asOf"]), killed_at)
            if seen not in possible:
                wrong.append((p.id, seen, sorted(possible), p.in_flight, p.events[-3:]))
    assert not wrong, f"{len(wrong)} of {PEOPLE} sessions lost an acknowledged event: {wrong[:3]}"
