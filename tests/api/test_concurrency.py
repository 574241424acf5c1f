"""Many requests at once over real HTTP: nothing lost, nothing doubled, nothing backwards."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

from focusgql.domain.scoring import score
from tests.support import Client, ManualClock, create_session, read_session

SESSION = (
    "id status targetMinutes startedAt elapsedSeconds activeSeconds idleSeconds tabSwitches "
    "focusScore lastActivityAt idleThresholdSeconds"
)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def create(client: Client, target: int = 25, threshold: int | None = None) -> dict[str, Any]:
    return await create_session(
        client, SESSION, targetMinutes=target, idleThresholdSeconds=threshold
    )


async def read(client: Client, sid: str) -> dict[str, Any]:
    return await read_session(client, sid, SESSION)


async def call(client: Client, field: str, sid: str, extra: str = "") -> dict[str, Any]:
    """The raw answer, so failures among many can be counted rather than raised."""
    argument = "sessionId" if field.startswith("record") else "id"
    return await client.raw(
        f"mutation($id: ID!) {{ {field}({argument}: $id{extra}) {{ {SESSION} }} }}", {"id": sid}
    )


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def idle_ticks(activity_seconds: set[int], elapsed: int, threshold: int) -> int:
    """The brute-force rule: tick k is idle when k - (latest activity second <= k) > T."""
    idle = 0
    for k in range(1, elapsed + 1):
        latest = max(a for a in activity_seconds if a <= k)
        idle += k - latest > threshold
    return idle


async def test_concurrent_tab_switches_are_all_counted(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice))["id"]
    clock.advance(3)
    answers = await asyncio.gather(*(call(alice, "recordTabSwitch", sid) for _ in range(20)))
    assert [codes(a) for a in answers] == [[]] * 20
    seen = sorted(a["data"]["recordTabSwitch"]["tabSwitches"] for a in answers)
    assert seen[-1] == 20
    assert all(1 <= n <= 20 for n in seen)
    session = await read(alice, sid)
    assert session["tabSwitches"] == 20
    assert session["status"] == "ACTIVE"
    assert (session["elapsedSeconds"], session["activeSeconds"]) == (3, 3)


async def test_tab_switches_mixed_with_other_writes_are_all_counted(
    alice: Client, clock: ManualClock
) -> None:
    sid = (await create(alice))["id"]
    writes = []
    for i in range(30):
        if i % 3 == 0:
            writes.append(call(alice, "recordTabSwitch", sid))
        elif i % 3 == 1:
            writes.append(call(alice, "recordActivity", sid))
        else:
            writes.append(call(alice, "updateSession", sid, f", input: {{targetMinutes: {i}}}"))
    clock.advance(2.5)
    answers = await asyncio.gather(*writes)
    assert [codes(a) for a in answers] == [[]] * 30
    assert (await read(alice, sid))["tabSwitches"] == 10


async def test_concurrent_activity_never_moves_backwards(alice: Client, clock: ManualClock) -> None:
    created = await create(alice)
    sid = created["id"]
    started = at(created["startedAt"])
    clock.advance(0.5)  # activities at session time k + 0.5 mark second k + 1 under any rounding
    tasks: list[asyncio.Task[dict[str, Any]]] = []
    for _ in range(30):
        tasks.append(asyncio.create_task(call(alice, "recordActivity", sid)))
        # Let some requests get going before time moves on, so they interleave.
        for _ in range(3):
            await asyncio.sleep(0)
        clock.advance(1)
    last = clock.now()
    tasks.append(asyncio.create_task(call(alice, "recordActivity", sid)))
    answers = await asyncio.gather(*tasks)
    assert [codes(a) for a in answers] == [[]] * 31

    session = await read(alice, sid)
    assert at(session["lastActivityAt"]) == last
    returned = [at(a["data"]["recordActivity"]["lastActivityAt"]) for a in answers]
    assert max(returned) == last
    elapsed = session["elapsedSeconds"]
    assert elapsed == 30
    assert session["activeSeconds"] + session["idleSeconds"] == elapsed
    # Every stored activity shows up in the answer to the request that stored it:
    # the idle count must be what the rule gives for exactly those seconds.
    moments = {t for t in returned} | {started}
    seconds = {round((t - started) / timedelta(seconds=1) + 0.5) for t in moments if t > started}
    assert session["idleSeconds"] == idle_ticks({0} | seconds, elapsed, 15)


async def test_concurrent_creates_leave_exactly_one_running(alice: Client) -> None:
    answers = await asyncio.gather(
        *(
            alice.raw("mutation { createSession(input: {targetMinutes: 5}) { id status } }")
            for _ in range(10)
        )
    )
    created = [a["data"]["createSession"]["id"] for a in answers if not a.get("errors")]
    # A create may ask to be retried when it keeps losing the race, but no other error.
    assert all(codes(a) in ([], ["CONFLICT"]) for a in answers)
    assert created

    active = (await alice.execute("{ activeSession { id } }"))["activeSession"]
    assert active is not None
    assert active["id"] in created
    running = (await alice.execute("{ sessions(status: ACTIVE) { totalCount } }"))["sessions"]
    assert running["totalCount"] == 1
    paused = (await alice.execute("{ sessions(status: PAUSED) { totalCount } }"))["sessions"]
    assert paused["totalCount"] == 0
    everything = (
        await alice.execute("{ sessions(first: 100) { totalCount edges { node { id status } } } }")
    )["sessions"]
    assert everything["totalCount"] == len(created)
    statuses = {e["node"]["id"]: e["node"]["status"] for e in everything["edges"]}
    assert statuses == {sid: ("ACTIVE" if sid == active["id"] else "ABANDONED") for sid in created}


async def test_concurrent_creates_by_different_people_do_not_interfere(
    anonymous: Client,
) -> None:
    people = [await anonymous.register() for _ in range(3)]
    answers = await asyncio.gather(
        *(
            person.raw("mutation { createSession(input: {targetMinutes: 5}) { id } }")
            for person in people
            for _ in range(3)
        )
    )
    assert all(codes(a) in ([], ["CONFLICT"]) for a in answers)
    for person in people:
        running = (await person.execute("{ sessions(status: ACTIVE) { totalCount } }"))["sessions"]
        assert running["totalCount"] == 1


async def test_concurrent_ends_end_once(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 1))["id"]
    clock.advance(30)
    answers = await asyncio.gather(
        *(call(alice, "endSession", sid, f", status: {s}") for s in ["COMPLETED", "ABANDONED"] * 5)
    )
    winners = [a for a in answers if not a.get("errors")]
    assert len(winners) == 1
    assert sorted(codes(a)[0] for a in answers if a.get("errors")) == ["CONFLICT"] * 9
    won = winners[0]["data"]["endSession"]
    assert await read(alice, sid) == won


async def test_tab_switches_racing_an_end_are_scored_consistently(
    alice: Client, clock: ManualClock
) -> None:
    sid = (await create(alice, 1, threshold=3600))["id"]
    clock.advance(60)
    requests = [call(alice, "recordTabSwitch", sid) for _ in range(10)]
    requests.insert(5, call(alice, "endSession", sid))
    answers = await asyncio.gather(*requests)
    assert all(codes(a) in ([], ["CONFLICT"]) for a in answers)
    counted = sum(1 for a in answers if "recordTabSwitch" in (a.get("data") or {}))
    session = await read(alice, sid)
    assert session["status"] == "COMPLETED"
    # Every tab switch that was answered with success is in the count, and the
    # score is the formula over the final counters, switches included.
    assert session["tabSwitches"] == counted
    assert session["focusScore"] == 100 - 2 * counted
    assert (
        session["focusScore"]
        == score(
            elapsed=session["elapsedSeconds"],
            active=session["activeSeconds"],
            idle=session["idleSeconds"],
            tab_switches=session["tabSwitches"],
            target_minutes=session["targetMinutes"],
        ).score
    )


async def test_pause_and_resume_racing_activity_keep_counters_whole(
    alice: Client, clock: ManualClock
) -> None:
    sid = (await create(alice))["id"]
    requests = []
    for i in range(24):
        if i % 4 == 0:
            requests.append(call(alice, "updateSession", sid, ", input: {status: PAUSED}"))
        elif i % 4 == 2:
            requests.append(call(alice, "updateSession", sid, ", input: {status: ACTIVE}"))
        else:
            requests.append(call(alice, "recordActivity", sid))
    clock.advance(40.5)
    answers = await asyncio.gather(*requests)
    # Activity on a paused session is not an error, just not counted.
    assert [codes(a) for a in answers] == [[]] * 24
    await call(alice, "updateSession", sid, ", input: {status: ACTIVE}")
    clock.advance(10)
    session = await read(alice, sid)
    assert session["status"] == "ACTIVE"
    assert session["activeSeconds"] + session["idleSeconds"] == session["elapsedSeconds"]
    assert session["elapsedSeconds"] == 50
