"""The database stops answering (SIGSTOP) for 15 s during live sessions, then goes on.

A stalled database is not a dead one: its port still accepts connections and
its open connections stay up, they only never answer. Without a deadline on
every operation requests wait until PyMongo's monitor gives up, about 30 s.
With FOCUSGQL_DATABASE_TIMEOUT_MS (left at its default here, 5 s) everything a
client does answers UNAVAILABLE with `retryAfter` within that deadline, open
subscriptions keep ticking, and once the process is continued the service
resumes by itself with every acknowledged event counted.

One scenario for the module, on a SecantusDB and a `focusgql serve` of its own
(stopping them hurts no other test); each test checks one promise. Requests
are tried in two waves: just after the stall begins (pooled connections
waiting on a silent server) and again 8 s in (fresh connections to it).
"""

import asyncio
import itertools
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from focusgql.settings import Settings
from focusgql.store.mongo import TIMEOUT_MS, EmbeddedServer
from tests.domain.oracle import Oracle
from tests.e2e.test_fault import (
    ACTIVITY,
    CREATE,
    END,
    PAUSE,
    RESUME,
    SESSION,
    TAB,
    TICKS,
    Answer,
    Person,
    Watcher,
    all_of,
    connect_now,
    first_message,
    get_health,
    open_socket,
    post,
    stop_all,
    timed,
)
from tests.support import Client, spawn_logged

STALL_SECONDS = 15.0
DEADLINE = TIMEOUT_MS / 1000
PROMPT_SECONDS = DEADLINE + 2.5  # the deadline, plus a server selection's slack
SECOND_WAVE_AT = 8.0
ENV = {
    "FOCUSGQL_ABANDON_AFTER_SECONDS": "30",  # a keep-alive write falls inside the stall
    "FOCUSGQL_CHECKPOINT_SECONDS": "3",  # checkpoints fail during it, and log once
    "FOCUSGQL_REAPER_INTERVAL_SECONDS": "1",
    "FOCUSGQL_LOG_LEVEL": "info",
    "FOCUSGQL_RATE_LIMIT_LOGIN_PER_ADDRESS": "",
    "FOCUSGQL_RATE_LIMIT_MUTATIONS_PER_USER": "",
    "FOCUSGQL_RATE_LIMIT_MUTATIONS_PER_ADDRESS": "",
}
LOGIN = (
    'mutation { login(email: "nobody@example.com", password: "correct horse battery") { token } }'
)


@dataclass
class Stall:
    people: list[Person]
    watchers: list[Watcher]
    stopped_at: float
    continued_at: float
    waves: list[dict[str, Answer]]
    health: list[Answer]
    late_subscriptions: dict[str, Answer]
    new_connections: list[Answer]
    recovered_after: float | None
    after: dict[str, Answer]
    final: dict[str, dict[str, Any] | None]
    watcher_state: dict[str, str | None]
    log: str


def wave(http: httpx.AsyncClient, people: list[Person]) -> dict[str, Any]:
    token = people[0].client.token
    sid = people[0].session_id
    return {
        "recordActivity": post(http, token, ACTIVITY, id=sid),
        "recordTabSwitch": post(http, token, TAB, id=sid),
        "updateSession": post(http, token, PAUSE, id=sid),
        "endSession": post(http, token, END, id=sid),
        "createSession": post(http, people[2].client.token, CREATE),
        "session": post(http, people[1].client.token, SESSION, id=people[1].session_id),
        "me": post(http, token, "{ me { id stats { totalSessions } } }"),
        "login": post(http, None, LOGIN),
    }


async def run_stall(settings: Settings, storage: Path, log_path: Path) -> Stall:
    db = EmbeddedServer(storage)
    await asyncio.to_thread(db.start)
    assert db.pid is not None
    own = settings.model_copy(update={"mongodb_uri": db.uri, "database": "focusgql_stall"})
    tasks: list[asyncio.Task[None]] = []
    stopped = False
    try:
        async with (
            spawn_logged(own, log_path, **ENV) as app,
            httpx.AsyncClient(base_url=app.url, timeout=60) as http,
        ):
            people: list[Person] = []
            for _ in range(3):
                client = await Client(http).register()
                created = (await client.execute(CREATE))["createSession"]
                start = datetime.fromisoformat(created["startedAt"])
                people.append(Person(client, created["id"], Oracle(start, threshold=15)))
            labels = ["fast path", "strawberry path", "fast path"]
            watchers = [Watcher(f"{label} #{i}") for i, label in enumerate(labels)]
            tasks = [
                asyncio.create_task(
                    w.run(app.ws_url, p.client.token or "", TICKS[label], p.session_id)
                )
                for w, label, p in zip(watchers, labels, people, strict=True)
            ]
            async with asyncio.timeout(10):
                for watcher in watchers:
                    await watcher.first.wait()
            async with open_socket(app.ws_url, people[0].client.token or "") as idle_socket:
                for round_ in range(3):
                    for i, person in enumerate(people):
                        await person.do(ACTIVITY)
                        await person.do(TAB)
                        if i == 1 and round_ in (0, 1):
                            await person.do(PAUSE if round_ == 0 else RESUME)
                    await asyncio.sleep(1.0)

                os.kill(db.pid, signal.SIGSTOP)
                stopped = True
                stopped_at = time.monotonic()
                await asyncio.sleep(0.5)
                token = people[0].client.token or ""
                first = asyncio.gather(
                    all_of(wave(http, people)),
                    timed(get_health(http)),
                    all_of(
                        {
                            "fast path": first_message(
                                idle_socket, TICKS["fast path"], people[0].session_id
                            )
                        }
                    ),
                    timed(connect_now(app.ws_url, token)),
                )
                await asyncio.sleep(max(0.0, stopped_at + SECOND_WAVE_AT - time.monotonic()))
                second = asyncio.gather(
                    all_of(wave(http, people)),
                    timed(get_health(http)),
                    timed(connect_now(app.ws_url, token)),
                )
                (
                    (wave_1, health_1, late, connect_1),
                    (wave_2, health_2, connect_2),
                ) = await asyncio.gather(first, second)
                await asyncio.sleep(max(0.0, stopped_at + STALL_SECONDS - time.monotonic()))
                os.kill(db.pid, signal.SIGCONT)
                stopped = False
                continued_at = time.monotonic()

            recovered_after: float | None = None
            for _ in range(100):  # 20 s
                if (await get_health(http)).status == 200:
                    recovered_after = time.monotonic() - continued_at
                    break
                await asyncio.sleep(0.2)
            after: dict[str, Answer] = {}
            for i, person in enumerate(people):
                for j, query in enumerate((ACTIVITY, TAB, TAB)):
                    answer = await timed(
                        post(http, person.client.token, query, id=person.session_id)
                    )
                    after[f"person {i}, #{j}"] = answer
                    if answer.body and answer.body.get("data") and not answer.codes:
                        person.acknowledged(query, answer.body["data"])
            await asyncio.sleep(1.5)  # a tick or two for the watchers
            final: dict[str, dict[str, Any] | None] = {}
            for person in people:
                read = await timed(post(http, person.client.token, SESSION, id=person.session_id))
                final[person.session_id] = ((read.body or {}).get("data") or {}).get("session")
            state = {w.label: w.finish for w in watchers}
            await stop_all(tasks)
        return Stall(
            people=people,
            watchers=watchers,
            stopped_at=stopped_at,
            continued_at=continued_at,
            waves=[wave_1, wave_2],
            health=[health_1, health_2],
            late_subscriptions=late,
            new_connections=[connect_1, connect_2],
            recovered_after=recovered_after,
            after=after,
            final=final,
            watcher_state=state,
            log=await asyncio.to_thread(log_path.read_text, errors="replace"),
        )
    finally:
        await stop_all(tasks)
        if stopped:
            os.kill(db.pid, signal.SIGCONT)
        await asyncio.to_thread(db.stop)


@pytest.fixture(scope="module")
async def stall(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Stall:
    where = tmp_path_factory.mktemp("stall")
    return await run_stall(settings, where / "db", where / "server.log")


def test_every_request_answers_unavailable_within_the_deadline(stall: Stall) -> None:
    for number, answers in enumerate(stall.waves, 1):
        assert set(answers) == {
            "recordActivity", "recordTabSwitch", "updateSession", "endSession",
            "createSession", "session", "me", "login",
        }  # fmt: skip
        for name, answer in answers.items():
            assert answer.status == 200, (number, name, answer)
            assert answer.seconds < PROMPT_SECONDS, (number, name, answer)
            assert answer.codes == ["UNAVAILABLE"], (number, name, answer)
            assert not (answer.body or {}).get("data"), (number, name, answer)
            (error,) = (answer.body or {})["errors"]
            assert error["extensions"]["retryAfter"] >= 1, (number, name, answer)
            assert "Traceback" not in answer.text and "pymongo" not in answer.text.lower()


def test_health_says_503_promptly(stall: Stall) -> None:
    for answer in stall.health:
        assert answer.status == 503 and answer.seconds < PROMPT_SECONDS, answer


def test_a_subscribe_during_the_stall_answers_unavailable(stall: Stall) -> None:
    answer = stall.late_subscriptions["fast path"]
    assert answer.seconds < PROMPT_SECONDS, answer
    assert answer.codes == ["UNAVAILABLE"], answer


def test_a_new_socket_gets_an_answer_within_the_deadline(stall: Stall) -> None:
    for answer in stall.new_connections:
        assert answer.seconds < PROMPT_SECONDS, answer
        assert answer.text == "connection_ack" or answer.status == 1013, answer


def test_open_subscriptions_keep_their_cadence(stall: Stall) -> None:
    for watcher in stall.watchers:
        arrivals = [t for t, view in watcher.views() if view.get("status") == "ACTIVE"]
        during = [t for t in arrivals if stall.stopped_at <= t <= stall.continued_at]
        assert len(during) >= STALL_SECONDS - 2, (watcher.label, len(during))
        edges = [stall.stopped_at, *during, stall.continued_at]
        gaps = [b - a for a, b in itertools.pairwise(edges)]
        assert max(gaps) < 2.0, (watcher.label, [round(g, 2) for g in gaps])
        seconds = [v["elapsedSeconds"] for t, v in watcher.ticks(stall.stopped_at, 1e12)]
        assert seconds == sorted(seconds), watcher.label  # never backwards


def test_the_service_resumes_by_itself(stall: Stall) -> None:
    assert stall.recovered_after is not None and stall.recovered_after < 10, stall.recovered_after
    for name, answer in stall.after.items():
        assert answer.status == 200 and answer.codes == [], (name, answer)
    assert stall.watcher_state == {w.label: None for w in stall.watchers}
    for watcher, person in zip(stall.watchers, stall.people, strict=True):
        _, last = watcher.views()[-1]
        final = stall.final[person.session_id]
        assert final is not None and last["tabSwitches"] == final["tabSwitches"], watcher.label


def test_every_acknowledged_event_is_counted_as_the_oracle_says(stall: Stall) -> None:
    for person in stall.people:
        view = stall.final[person.session_id]
        assert view is not None, person.session_id
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


def test_the_stall_is_one_warning_and_its_end_one_info_line(stall: Stall) -> None:
    """Whatever the number of requests and background rounds that met it."""
    lines = [line for line in stall.log.splitlines() if "focusgql" in line]
    warnings = [line for line in lines if " WARNING " in line]
    assert len(warnings) == 1, warnings
    assert "focusgql.database" in warnings[0] and "database unavailable" in warnings[0]
    back = [line for line in lines if "database available again" in line]
    assert len(back) == 1 and " INFO " in back[0], back
    assert "Traceback" not in stall.log, stall.log[-3000:]
    assert not [line for line in lines if " ERROR " in line], lines
