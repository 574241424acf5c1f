"""The database goes away for seconds during live sessions, then comes back.

One scenario, run once for the module on a SecantusDB of its own (stopping it
hurts no other test) and a `focusgql serve` process on it: three people with
sessions watched over graphql-transport-ws record events, the database stops
for OUTAGE_SECONDS, everything a client can do is tried while it is down, the
database restarts on the same files and port, and the clients carry on. Each
test below checks one promise against what the scenario recorded:

- while down: /health says 503, every request answers UNAVAILABLE (HTTP 200,
  within 10 s, never INTERNAL), open subscriptions keep ticking (counters are
  computed, not read), and a new subscription or connection gets an answer;
- once back: requests work again, watchers see the new changes, and every
  acknowledged event is in the counters, exactly as the oracle computes them.

FOCUSGQL_ABANDON_AFTER_SECONDS=30 makes an open subscription write a keep-alive
signal every 10 s, and the database stops 9 s after the subscriptions open, so
one keep-alive write falls inside the outage: with the default (a write every
60 s) any outage overlapping one does the same.
"""

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from focusgql.settings import Settings
from focusgql.store.mongo import EmbeddedServer
from tests.domain.oracle import Event, Kind, Oracle
from tests.support import Client, spawn

OUTAGE_SECONDS = 8.0
DOWN_AFTER_SECONDS = 9.0  # since the subscriptions opened: just before a keep-alive write
PROMPT_SECONDS = 10.0  # the longest a client may wait for an answer while the database is down
PROTOCOLS = [Subprotocol("graphql-transport-ws")]
ENV = {
    "FOCUSGQL_ABANDON_AFTER_SECONDS": "30",
    "FOCUSGQL_RATE_LIMIT_LOGIN_PER_ADDRESS": "",
    "FOCUSGQL_RATE_LIMIT_MUTATIONS_PER_USER": "",
    "FOCUSGQL_RATE_LIMIT_MUTATIONS_PER_ADDRESS": "",
}

FIELDS = "id status elapsedSeconds activeSeconds idleSeconds tabSwitches asOf startedAt"
CREATE = f"mutation {{ createSession(input: {{targetMinutes: 25}}) {{ {FIELDS} }} }}"
ACTIVITY = f"mutation($id: ID!) {{ recordActivity(sessionId: $id) {{ {FIELDS} }} }}"
TAB = f"mutation($id: ID!) {{ recordTabSwitch(sessionId: $id) {{ {FIELDS} }} }}"
PAUSE = f"mutation($id: ID!) {{ updateSession(id: $id, input: {{status: PAUSED}}) {{ {FIELDS} }} }}"
RESUME = (
    f"mutation($id: ID!) {{ updateSession(id: $id, input: {{status: ACTIVE}}) {{ {FIELDS} }} }}"
)
END = f"mutation($id: ID!) {{ endSession(id: $id) {{ {FIELDS} }} }}"
SESSION = f"query($id: ID!) {{ session(id: $id) {{ {FIELDS} }} }}"
KINDS = {ACTIVITY: Kind.ACTIVITY, TAB: Kind.TAB_SWITCH, PAUSE: Kind.PAUSE, RESUME: Kind.RESUME}

# Plain scalar fields take the tick fast path; a nested object takes Strawberry's execution.
TICKS = {
    "fast path": "subscription($id: ID!) {"
    " sessionTicks(sessionId: $id) { elapsedSeconds tabSwitches status } }",
    "strawberry path": "subscription($id: ID!) { sessionTicks(sessionId: $id) {"
    " elapsedSeconds tabSwitches status scoreBreakdown { score } } }",
}


@dataclass
class Answer:
    """What a client got for one request, and how long it waited."""

    seconds: float
    status: int | None
    body: dict[str, Any] | None = None
    text: str = ""

    @property
    def codes(self) -> list[str | None]:
        errors = (self.body or {}).get("errors") or []
        return [(e.get("extensions") or {}).get("code") for e in errors]


@dataclass
class Person:
    client: Client
    session_id: str
    oracle: Oracle
    events: list[Event] = field(default_factory=list)
    tab_switches: int = 0
    """Acknowledged tab switches that count: made while ACTIVE."""

    async def do(self, query: str) -> None:
        data = await self.client.execute(query, {"id": self.session_id})
        self.acknowledged(query, data)

    def acknowledged(self, query: str, data: dict[str, Any]) -> None:
        """Note an acknowledged event: its asOf is the instant it was applied."""
        (view,) = data.values()
        self.events.append(Event(datetime.fromisoformat(view["asOf"]), KINDS[query]))
        self.tab_switches += KINDS[query] is Kind.TAB_SWITCH and view["status"] == "ACTIVE"


@dataclass
class Watcher:
    """A sessionTicks subscription on its own socket; `frames` are (arrival, payload)."""

    label: str
    frames: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    finish: str | None = None
    """How it ended (None while it is open): a message type or a close code."""
    first: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, url: str, token: str, query: str, session_id: str) -> None:
        try:
            async with websockets.connect(url, subprotocols=PROTOCOLS, close_timeout=1) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                payload = {"query": query, "variables": {"id": session_id}}
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                async for raw in ws:
                    message = json.loads(raw)
                    if message["type"] == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif message["type"] == "next":
                        self.frames.append((time.monotonic(), message["payload"]))
                        self.first.set()
                    else:
                        self.finish = f"{message['type']}: {message.get('payload')}"
                        return
        except websockets.ConnectionClosed as closed:
            self.finish = f"closed {closed.rcvd.code if closed.rcvd else 1006}"

    def ticks(self, since: float, until: float) -> list[tuple[float, dict[str, Any]]]:
        return [(t, view) for t, view in self.views() if since <= t <= until]

    def views(self) -> list[tuple[float, dict[str, Any]]]:
        """The frames that carry a session (not errors)."""
        pairs = [(t, (p.get("data") or {}).get("sessionTicks")) for t, p in self.frames]
        return [(t, view) for t, view in pairs if view is not None]


@dataclass
class Scenario:
    people: list[Person]
    watchers: list[Watcher]
    down_at: float
    up_at: float
    health_down: Answer
    during: dict[str, Answer]
    late_subscriptions: dict[str, Answer]
    """What a subscribe sent on an open socket during the outage got first."""
    new_connection: Answer
    """What connection_init on a socket opened during the outage got."""
    recovered_after: float | None
    after: dict[str, Answer]
    final: dict[str, dict[str, Any] | None]
    watcher_state: dict[str, str | None]


async def timed(work: Awaitable[Answer], limit: float = PROMPT_SECONDS + 1) -> Answer:
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit):
            return await work
    except TimeoutError:
        return Answer(time.monotonic() - started, None, text=f"no answer in {limit} s")


async def all_of(work: Mapping[str, Awaitable[Answer]]) -> dict[str, Answer]:
    answers = await asyncio.gather(*(timed(w) for w in work.values()))
    return dict(zip(work, answers, strict=True))


async def post(http: httpx.AsyncClient, token: str | None, query: str, **variables: str) -> Answer:
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    return Answer(time.monotonic() - started, response.status_code, body, response.text)


async def get_health(http: httpx.AsyncClient) -> Answer:
    started = time.monotonic()
    response = await http.get("/health")
    return Answer(time.monotonic() - started, response.status_code, None, response.text)


@contextlib.asynccontextmanager
async def open_socket(url: str, token: str) -> AsyncIterator[Any]:
    async with websockets.connect(url, subprotocols=PROTOCOLS, close_timeout=1) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        yield ws


async def first_message(ws: Any, query: str, session_id: str) -> Answer:
    """Subscribe on an open socket; the first message back (its payload as the body)."""
    started = time.monotonic()
    payload = {"query": query, "variables": {"id": session_id}}
    await ws.send(json.dumps({"id": "late", "type": "subscribe", "payload": payload}))
    try:
        message = json.loads(await ws.recv())
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else 1006
        return Answer(time.monotonic() - started, None, text=f"closed {code}")
    body = message.get("payload")
    if message["type"] == "error":  # graphql-transport-ws: a list of errors
        body = {"errors": body}
    return Answer(time.monotonic() - started, 200, body, message["type"])


async def connect_now(url: str, token: str) -> Answer:
    """Open a socket and send connection_init: ack, or how it was closed."""
    started = time.monotonic()
    try:
        async with websockets.connect(url, subprotocols=PROTOCOLS, close_timeout=1) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
            message = json.loads(await ws.recv())
            return Answer(time.monotonic() - started, 200, message, message["type"])
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else 1006
        return Answer(time.monotonic() - started, code, None, f"closed {code}")


async def stop_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_scenario(settings: Settings, storage: Path) -> Scenario:
    db = EmbeddedServer(storage)
    await asyncio.to_thread(db.start)
    own = settings.model_copy(update={"mongodb_uri": db.uri, "database": "focusgql_fault"})
    try:
        async with (
            spawn(own, **ENV) as app,
            httpx.AsyncClient(base_url=app.url, timeout=30) as http,
            contextlib.AsyncExitStack() as stack,
        ):
            people: list[Person] = []
            for _ in range(3):
                client = await Client(http).register()
                created = (await client.execute(CREATE))["createSession"]
                start = datetime.fromisoformat(created["startedAt"])
                people.append(Person(client, created["id"], Oracle(start, threshold=15)))
            tokens = [p.client.token or "" for p in people]

            labels = ["fast path", "strawberry path", "fast path"]
            watchers = [Watcher(f"{label} #{i}") for i, label in enumerate(labels)]
            tasks = [
                asyncio.create_task(w.run(app.ws_url, token, TICKS[label], p.session_id))
                for w, label, token, p in zip(watchers, labels, tokens, people, strict=True)
            ]
            stack.push_async_callback(stop_all, tasks)
            async with asyncio.timeout(10):
                for watcher in watchers:
                    await watcher.first.wait()
            opened = time.monotonic()
            idle = {
                label: await stack.enter_async_context(open_socket(app.ws_url, tokens[0]))
                for label in TICKS
            }

            # Before: a few acknowledged events each, one pause and resume.
            for round_ in range(4):
                for i, person in enumerate(people):
                    await person.do(ACTIVITY)
                    await person.do(TAB)
                    if i == 1 and round_ in (1, 2):
                        await person.do(PAUSE if round_ == 1 else RESUME)
                await asyncio.sleep(1.5)
            await asyncio.sleep(max(0.0, opened + DOWN_AFTER_SECONDS - time.monotonic()))

            await asyncio.to_thread(db.stop)
            down_at = time.monotonic()
            token, sid = tokens[0], people[0].session_id
            login = (
                'mutation { login(email: "nobody@example.com", password: "correct horse battery")'
                " { token } }"
            )
            requests = {
                "recordActivity": post(http, token, ACTIVITY, id=sid),
                "recordTabSwitch": post(http, token, TAB, id=sid),
                "updateSession": post(http, token, PAUSE, id=sid),
                "endSession": post(http, token, END, id=sid),
                "createSession": post(http, tokens[2], CREATE),
                "session": post(http, tokens[1], SESSION, id=people[1].session_id),
                "me": post(http, token, "{ me { id stats { totalSessions } } }"),
                "login": post(http, None, login),
            }
            subscribes = {label: first_message(ws, TICKS[label], sid) for label, ws in idle.items()}
            tried = asyncio.gather(
                all_of(requests),
                all_of(subscribes),
                timed(get_health(http)),
                timed(connect_now(app.ws_url, token)),
            )
            await asyncio.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))

            db = EmbeddedServer(storage, port=db.port)  # the same files, the same address
            await asyncio.to_thread(db.start)
            up_at = time.monotonic()
            during, late, health_down, new_connection = await tried  # each within its limit
            recovered_after: float | None = None
            for _ in range(100):  # 20 s
                if (await get_health(http)).status == 200:
                    recovered_after = time.monotonic() - up_at
                    break
                await asyncio.sleep(0.2)

            after: dict[str, Answer] = {}
            for i, person in enumerate(people):
                for j, query in enumerate((ACTIVITY, TAB, TAB)):
                    answer = await timed(
                        post(http, person.client.token, query, id=person.session_id)
                    )
                    after[f"person {i}, {KINDS[query].value} {j}"] = answer
                    if answer.body and answer.body.get("data") and not answer.codes:
                        person.acknowledged(query, answer.body["data"])
            await asyncio.sleep(1.5)  # a tick or two for the watchers

            final: dict[str, dict[str, Any] | None] = {}
            for person in people:
                read = await timed(post(http, person.client.token, SESSION, id=person.session_id))
                final[person.session_id] = ((read.body or {}).get("data") or {}).get("session")
            state = {w.label: w.finish for w in watchers}
            return Scenario(
                people=people,
                watchers=watchers,
                down_at=down_at,
                up_at=up_at,
                health_down=health_down,
                during=during,
                late_subscriptions=late,
                new_connection=new_connection,
                recovered_after=recovered_after,
                after=after,
                final=final,
                watcher_state=state,
            )
    finally:
        await asyncio.to_thread(db.stop)


@pytest.fixture(scope="module")
async def outage(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return await run_scenario(settings, tmp_path_factory.mktemp("fault") / "db")


def test_health_says_503_while_the_database_is_down(outage: Scenario) -> None:
    answer = outage.health_down
    assert answer.status == 503, answer
    assert answer.seconds < PROMPT_SECONDS, answer
    assert json.loads(answer.text) == {"status": "degraded", "database": "down"}


def test_requests_during_the_outage_answer_unavailable_promptly(outage: Scenario) -> None:
    assert set(outage.during) == {
        "recordActivity", "recordTabSwitch", "updateSession", "endSession",
        "createSession", "session", "me", "login",
    }  # fmt: skip
    for name, answer in outage.during.items():
        assert answer.status == 200, (name, answer)
        assert answer.seconds < PROMPT_SECONDS, (name, answer)
        assert answer.codes == ["UNAVAILABLE"], (name, answer)
        assert not (answer.body or {}).get("data"), (name, answer)


def test_open_subscriptions_keep_ticking_through_the_outage(outage: Scenario) -> None:
    for watcher in outage.watchers:
        ticks = watcher.ticks(outage.down_at, outage.up_at)
        seconds = sorted({t["elapsedSeconds"] for _, t in ticks})
        # one tick a second, none skipped, none late by more than a second
        assert len(seconds) >= OUTAGE_SECONDS - 1, (watcher.label, seconds, watcher.finish)
        assert seconds == list(range(seconds[0], seconds[0] + len(seconds))), watcher.label
        arrivals = [outage.down_at] + [t for t, _ in ticks] + [outage.up_at]
        gaps = [round(b - a, 2) for a, b in itertools.pairwise(arrivals)]
        assert max(gaps) < 2.0, (watcher.label, gaps, watcher.finish)


def test_open_subscriptions_survive_the_outage(outage: Scenario) -> None:
    """Still open afterwards, and showing the changes made since the database came back."""
    assert outage.watcher_state == {w.label: None for w in outage.watchers}
    for watcher, person in zip(outage.watchers, outage.people, strict=True):
        _, last = watcher.views()[-1]
        final = outage.final[person.session_id]
        assert final is not None, person.session_id
        assert last["tabSwitches"] == final["tabSwitches"], watcher.label


@pytest.mark.parametrize("path", list(TICKS))
def test_subscribing_during_the_outage_answers_unavailable(outage: Scenario, path: str) -> None:
    answer = outage.late_subscriptions[path]
    assert answer.seconds < PROMPT_SECONDS, answer
    assert answer.codes == ["UNAVAILABLE"], answer


def test_connecting_during_the_outage_gets_an_answer(outage: Scenario) -> None:
    """An ack, or a close with a code a client can act on; not a dropped connection."""
    answer = outage.new_connection
    assert answer.seconds < PROMPT_SECONDS, answer
    assert answer.text == "connection_ack" or answer.status not in (None, 1006), answer


def test_requests_work_again_once_the_database_is_back(outage: Scenario) -> None:
    assert outage.recovered_after is not None and outage.recovered_after < 15, outage
    for name, answer in outage.after.items():
        assert answer.status == 200 and answer.codes == [], (name, answer)


def test_every_acknowledged_event_survives(outage: Scenario) -> None:
    for person in outage.people:
        view = outage.final[person.session_id]
        assert view is not None, person.session_id
        assert view["tabSwitches"] == person.tab_switches
        expected = person.oracle.counters(person.events, datetime.fromisoformat(view["asOf"]))
        assert (
            view["status"],
            view["elapsedSeconds"],
            view["activeSeconds"],
            view["idleSeconds"],
            view["tabSwitches"],
        ) == (
            expected.status,
            expected.elapsed,
            expected.active,
            expected.idle,
            expected.tab_switches,
        ), person.session_id
