"""Offline replay over real HTTP and WebSockets on the real database: signals
with `at` count as if they had arrived then, each rule is a coded error that
changes nothing, ids count once, a batch is all or nothing, watchers get the
corrected frame at once, and any timeline delivered late in batches ends as
the oracle says."""

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.typing import Subprotocol

from focusgql.api.fastpath import TickPlans
from focusgql.api.schema import build_schema
from focusgql.api.strawberry_internals import core_schema
from tests.domain.oracle import Event, Kind, Oracle
from tests.support import Client, GraphQLError, ManualClock, RunningServer, create_session

COUNTERS = "elapsedSeconds activeSeconds idleSeconds tabSwitches isIdle"
ACTIVITY = (
    "mutation($id: ID!, $at: DateTime, $sid: String) {"
    f" recordActivity(sessionId: $id, at: $at, signalId: $sid) {{ {COUNTERS} }} }}"
)
TAB = (
    "mutation($id: ID!, $at: DateTime, $sid: String) {"
    f" recordTabSwitch(sessionId: $id, at: $at, signalId: $sid) {{ {COUNTERS} }} }}"
)
BATCH = (
    "mutation($id: ID!, $s: [SignalInput!]!) {"
    f" recordSignals(sessionId: $id, signals: $s) {{ {COUNTERS} }} }}"
)
READ = f"query($id: ID!) {{ session(id: $id) {{ {COUNTERS} }} }}"
PAUSE = "mutation($id: ID!) { updateSession(id: $id, input: {status: PAUSED}) { status } }"
RESUME = "mutation($id: ID!) { updateSession(id: $id, input: {status: ACTIVE}) { status } }"
END = "mutation($id: ID!) { endSession(id: $id) { status } }"


def iso(t: datetime) -> str:
    return t.isoformat()


async def counters(client: Client, sid: str) -> dict[str, Any]:
    read: dict[str, Any] = (await client.execute(READ, {"id": sid}))["session"]
    return read


async def refusal(client: Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(GraphQLError) as error:
        await client.execute(query, variables)
    (only,) = error.value.errors
    extensions: dict[str, Any] = only["extensions"]
    return extensions


async def started(client: Client, clock: ManualClock) -> tuple[str, datetime]:
    """A session with the default threshold (15 s), and the instant it started."""
    return (await create_session(client, "id"))["id"], clock.now()


async def test_a_replayed_activity_counts_as_if_it_had_come_then(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    sid, t0 = await started(alice, clock)
    assert alice.token
    async with websockets.connect(
        server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": alice.token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        watch = f'subscription {{ sessionTicks(sessionId: "{sid}") {{ idleSeconds }} }}'
        await ws.send(json.dumps({"id": "w", "type": "subscribe", "payload": {"query": watch}}))
        assert json.loads(await ws.recv())["payload"]["data"]["sessionTicks"]["idleSeconds"] == 0
        clock.advance(40)  # offline: no activity reached the server for 40 s
        assert (await counters(alice, sid))["idleSeconds"] == 25
        answer = await alice.execute(ACTIVITY, {"id": sid, "at": iso(t0 + timedelta(seconds=10))})
        # Activity at 10 s: idle from 26 s on (40 - 11 - 15 = 14), where 25 were reported.
        assert answer["recordActivity"]["idleSeconds"] == 14
        async with asyncio.timeout(2):  # the corrected frame, at once
            while True:
                message = json.loads(await ws.recv())
                if message["payload"]["data"]["sessionTicks"]["idleSeconds"] == 14:
                    break
    assert await counters(alice, sid) == {
        "elapsedSeconds": 40,
        "activeSeconds": 26,
        "idleSeconds": 14,
        "tabSwitches": 0,
        "isIdle": True,
    }
    await alice.execute(END, {"id": sid})


async def test_each_rule_is_a_coded_error_that_changes_nothing(
    alice: Client, clock: ManualClock
) -> None:
    sid, t0 = await started(alice, clock)
    clock.advance(100)
    now = clock.now()
    cases = [
        (now + timedelta(seconds=31), "IN_FUTURE"),
        (t0 - timedelta(seconds=1), "BEFORE_START"),
    ]
    for at, rule in cases:
        before = await counters(alice, sid)
        for query in (ACTIVITY, TAB):
            extensions = await refusal(alice, query, {"id": sid, "at": iso(at)})
            assert extensions == {"code": "BAD_USER_INPUT", "field": "at", "rule": rule}
        assert await counters(alice, sid) == before
    await alice.execute(PAUSE, {"id": sid})
    clock.advance(10)
    in_pause = {"id": sid, "at": iso(clock.now() - timedelta(seconds=5))}
    assert (await refusal(alice, ACTIVITY, in_pause))["rule"] == "IN_PAUSE"
    await alice.execute(RESUME, {"id": sid})
    clock.advance(5)
    before_resume = {"id": sid, "at": iso(clock.now() - timedelta(seconds=8))}
    assert (await refusal(alice, TAB, before_resume))["rule"] == "BEFORE_LAST_ACTIVITY"
    clock.advance(601)
    too_old = {"id": sid, "at": iso(clock.now() - timedelta(seconds=601))}
    assert (await refusal(alice, ACTIVITY, too_old))["rule"] == "TOO_OLD"
    assert (await counters(alice, sid))["tabSwitches"] == 0
    await alice.execute(END, {"id": sid})


async def test_the_same_signal_id_counts_once(alice: Client, clock: ManualClock) -> None:
    sid, _ = await started(alice, clock)
    clock.advance(5)
    at = iso(clock.now() - timedelta(seconds=2))
    for _ in range(3):
        answer = await alice.execute(TAB, {"id": sid, "at": at, "sid": "tab-1"})
        assert answer["recordTabSwitch"]["tabSwitches"] == 1
    # An id without `at` counts now, once too.
    for _ in range(2):
        answer = await alice.execute(TAB, {"id": sid, "sid": "tab-2"})
        assert answer["recordTabSwitch"]["tabSwitches"] == 2
    batch = [{"kind": "TAB_SWITCH", "at": at, "signalId": "tab-1"}]
    assert (await alice.execute(BATCH, {"id": sid, "s": batch}))["recordSignals"][
        "tabSwitches"
    ] == 2
    await alice.execute(END, {"id": sid})


async def test_a_batch_is_all_or_nothing(alice: Client, bob: Client, clock: ManualClock) -> None:
    sid, t0 = await started(alice, clock)
    clock.advance(60)
    signals = [
        {"kind": "ACTIVITY", "at": iso(t0 + timedelta(seconds=20)), "signalId": "a"},
        {"kind": "TAB_SWITCH", "at": iso(t0 + timedelta(seconds=30)), "signalId": "b"},
        {"kind": "ACTIVITY", "at": iso(t0 + timedelta(seconds=15)), "signalId": "c"},
    ]
    before = await counters(alice, sid)
    extensions = await refusal(alice, BATCH, {"id": sid, "s": signals})
    assert extensions == {
        "code": "BAD_USER_INPUT",
        "field": "at",
        "rule": "BEFORE_LAST_ACTIVITY",
        "index": 2,
    }
    assert await counters(alice, sid) == before
    assert (await refusal(bob, BATCH, {"id": sid, "s": signals[:2]}))["code"] == "NOT_FOUND"
    too_many = [signals[0]] * 501
    assert (await refusal(alice, BATCH, {"id": sid, "s": too_many}))["field"] == "signals"
    answer = (await alice.execute(BATCH, {"id": sid, "s": signals[:2]}))["recordSignals"]
    # Activity at 20 s: idle 5..20 (the 5 s past the threshold), then from 36 s on.
    assert answer == {
        "elapsedSeconds": 60,
        "activeSeconds": 60 - 5 - 24,
        "idleSeconds": 5 + 24,
        "tabSwitches": 1,
        "isIdle": True,
    }
    await alice.execute(END, {"id": sid})
    ended = await refusal(alice, BATCH, {"id": sid, "s": signals[:1]})
    assert ended["code"] == "CONFLICT"


def test_signals_with_at_or_an_id_leave_the_compiled_path() -> None:
    plans = TickPlans(core_schema(build_schema()))
    assert plans.get('mutation { recordActivity(sessionId: "x") { idleSeconds } }', None)
    for extra in ('at: "2026-03-02T09:00:00Z"', 'signalId: "a"'):
        query = f'mutation {{ recordActivity(sessionId: "x", {extra}) {{ idleSeconds }} }}'
        assert plans.get(query, None) is None


gaps = st.lists(
    st.tuples(st.integers(0, 25_000), st.sampled_from(["ACTIVITY", "ACTIVITY", "TAB_SWITCH"])),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(gaps, st.lists(st.integers(1, 5), min_size=1, max_size=4), st.integers(0, 20_000))
async def test_a_timeline_delivered_late_in_batches_ends_as_the_oracle_says(
    alice: Client, clock: ManualClock, plan: list[tuple[int, str]], sizes: list[int], tail: int
) -> None:
    sid, t0 = await started(alice, clock)
    t0 = t0.replace(microsecond=t0.microsecond - t0.microsecond % 1000)
    at, queue, events = t0, [], []
    for index, (gap, kind) in enumerate(plan):
        at += timedelta(milliseconds=gap)
        queue.append({"kind": kind, "at": iso(at), "signalId": f"s{index}"})
        events.append(Event(at, Kind.ACTIVITY if kind == "ACTIVITY" else Kind.TAB_SWITCH))
    clock.advance((at - clock.now()).total_seconds() + tail / 1000)
    calls = 0
    while queue:
        size = sizes[calls % len(sizes)]
        batch, queue = queue[:size], queue[size:]
        await alice.execute(BATCH, {"id": sid, "s": batch})
        calls += 1
    expected = Oracle(t0, 15).counters(events, clock.now())
    seen = await counters(alice, sid)
    assert (
        seen["elapsedSeconds"],
        seen["activeSeconds"],
        seen["idleSeconds"],
        seen["tabSwitches"],
    ) == (expected.elapsed, expected.active, expected.idle, expected.tab_switches)
    await alice.execute(END, {"id": sid})
