"""A session's life through HTTP, with time moved by hand.

The clock is shared by the whole run: read `clock.now()` when an absolute time
matters and only ever move it forward.
"""

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from focusgql.domain.scoring import score
from tests.support import (
    Client,
    GraphQLError,
    ManualClock,
    RunningServer,
    create_session,
    read_session,
)

SESSION = (
    "id status targetMinutes contentId startedAt endedAt pausedAt elapsedSeconds activeSeconds "
    "idleSeconds tabSwitches isIdle remainingSeconds focusScore projectedFocusScore "
    "idleThresholdSeconds lastActivityAt asOf "
    "scoreBreakdown { completion activityRatio base tabSwitchPenalty idlePenalty score }"
)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def create(client: Client, target: int = 25, **fields: Any) -> dict[str, Any]:
    return await create_session(client, SESSION, targetMinutes=target, **fields)


async def read(client: Client, sid: str) -> dict[str, Any]:
    return await read_session(client, sid, SESSION)


async def mutate(client: Client, field: str, sid: str, extra: str = "") -> dict[str, Any]:
    argument = "sessionId" if field.startswith("record") else "id"
    data = await client.execute(
        f"mutation($id: ID!) {{ {field}({argument}: $id{extra}) {{ {SESSION} }} }}", {"id": sid}
    )
    session: dict[str, Any] = data[field]
    return session


async def pause(client: Client, sid: str) -> dict[str, Any]:
    return await mutate(client, "updateSession", sid, ", input: {status: PAUSED}")


async def resume(client: Client, sid: str) -> dict[str, Any]:
    return await mutate(client, "updateSession", sid, ", input: {status: ACTIVE}")


async def end(client: Client, sid: str, status: str = "COMPLETED") -> dict[str, Any]:
    return await mutate(client, "endSession", sid, f", status: {status}")


def counters(session: dict[str, Any]) -> tuple[int, int, int]:
    return (session["elapsedSeconds"], session["activeSeconds"], session["idleSeconds"])


def expected_score(session: dict[str, Any]) -> int:
    return score(
        elapsed=session["elapsedSeconds"],
        active=session["activeSeconds"],
        idle=session["idleSeconds"],
        tab_switches=session["tabSwitches"],
        target_minutes=session["targetMinutes"],
    ).score


# -- creating -------------------------------------------------------------------


async def test_a_new_session_starts_clean(alice: Client, clock: ManualClock) -> None:
    now = clock.now()
    created = await create(alice, 25, contentId="chapter 3")
    assert created["status"] == "ACTIVE"
    assert at(created["startedAt"]) == now
    assert at(created["lastActivityAt"]) == now
    assert at(created["asOf"]) == now
    assert created["endedAt"] is None
    assert created["pausedAt"] is None
    assert counters(created) == (0, 0, 0)
    assert created["tabSwitches"] == 0
    assert created["isIdle"] is False
    assert created["remainingSeconds"] == 25 * 60
    assert created["focusScore"] is None
    assert created["idleThresholdSeconds"] == 15
    assert created["contentId"] == "chapter 3"
    assert await read(alice, created["id"]) == created


async def test_a_second_session_abandons_the_first(alice: Client, clock: ManualClock) -> None:
    first = await create(alice, 25)
    clock.advance(10)
    ended_at = clock.now()
    second = await create(alice, 30)
    clock.advance(10)
    old = await read(alice, first["id"])
    assert old["status"] == "ABANDONED"
    assert at(old["endedAt"]) == ended_at
    assert counters(old) == (10, 10, 0)
    assert old["focusScore"] == expected_score(old)
    assert (await read(alice, second["id"]))["status"] == "ACTIVE"
    active = (await alice.execute("{ activeSession { id } }"))["activeSession"]
    assert active == {"id": second["id"]}


async def test_a_second_session_abandons_a_paused_one_too(
    alice: Client, clock: ManualClock
) -> None:
    first = await create(alice, 25)
    clock.advance(10)
    await pause(alice, first["id"])
    clock.advance(50)
    await create(alice, 25)
    old = await read(alice, first["id"])
    assert old["status"] == "ABANDONED"
    assert old["pausedAt"] is None
    assert counters(old) == (10, 10, 0)


# -- pausing ----------------------------------------------------------------------


async def test_pause_freezes_the_counters(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 1))["id"]
    clock.advance(20)
    paused_at = clock.now()
    paused = await pause(alice, sid)
    assert paused["status"] == "PAUSED"
    assert at(paused["pausedAt"]) == paused_at
    assert counters(paused) == (20, 15, 5)
    clock.advance(100)
    still = await read(alice, sid)
    assert counters(still) == (20, 15, 5)
    assert still["remainingSeconds"] == 40
    assert still["isIdle"] is False  # a paused session is not counting idle ticks
    assert (await alice.execute("{ activeSession { id status } }"))["activeSession"] == {
        "id": sid,
        "status": "PAUSED",
    }
    # Pausing again changes nothing.
    assert counters(await pause(alice, sid)) == (20, 15, 5)


async def test_resume_counts_as_activity(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 25))["id"]
    clock.advance(10.5)
    await pause(alice, sid)
    clock.advance(100)
    resumed_at = clock.now()
    resumed = await resume(alice, sid)
    assert resumed["status"] == "ACTIVE"
    assert resumed["pausedAt"] is None
    assert at(resumed["lastActivityAt"]) == resumed_at
    assert counters(resumed) == (10, 10, 0)
    clock.advance(20)
    # The resume at session time 10.5 marks second 11 active: ticks 27..30 are idle.
    # Were the resume not activity, ticks 16..30 would be.
    assert counters(await read(alice, sid)) == (30, 26, 4)


async def test_several_pauses_add_up(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 25, idleThresholdSeconds=3600))["id"]
    for _ in range(3):
        clock.advance(7)
        await pause(alice, sid)
        clock.advance(1000)
        await resume(alice, sid)
    clock.advance(4)
    session = await read(alice, sid)
    assert counters(session) == (25, 25, 0)
    assert at(session["asOf"]) - at(session["startedAt"]) == timedelta(seconds=3025)


# -- idle accounting --------------------------------------------------------------


async def test_idle_after_the_default_threshold(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 25))["id"]
    clock.advance(15)
    session = await read(alice, sid)
    assert counters(session) == (15, 15, 0)
    assert session["isIdle"] is False
    clock.advance(5)
    session = await read(alice, sid)
    assert counters(session) == (20, 15, 5)
    assert session["isIdle"] is True


async def test_activity_resets_the_idle_run(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 25))["id"]
    clock.advance(20.5)
    # Activity at session time 20.5 marks second 21 active; ticks 16..20 stay idle.
    touched = await mutate(alice, "recordActivity", sid)
    assert at(touched["lastActivityAt"]) == clock.now()
    assert touched["isIdle"] is False
    assert counters(touched) == (20, 15, 5)
    clock.advance(15.5)  # tau = 36: tick 36 is 15 after the activity, not idle
    assert counters(await read(alice, sid)) == (36, 31, 5)
    clock.advance(4)  # tau = 40: ticks 37..40 idle
    session = await read(alice, sid)
    assert counters(session) == (40, 31, 9)
    assert session["isIdle"] is True


async def test_steady_activity_is_never_idle(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 25))["id"]
    for _ in range(6):
        clock.advance(14)
        await mutate(alice, "recordActivity", sid)
    clock.advance(15)
    assert counters(await read(alice, sid)) == (99, 99, 0)


async def test_counters_never_go_back(alice: Client, clock: ManualClock) -> None:
    """Activity, pause or resume landing exactly on a tick leaves what was reported."""
    sid = (await create(alice, 25))["id"]
    seen: list[tuple[int, int, int]] = []
    for step in range(40):
        clock.advance(1)
        seen.append(counters(await read(alice, sid)))
        if step in (19, 25):
            seen.append(counters(await mutate(alice, "recordActivity", sid)))
        if step == 30:
            seen.append(counters(await pause(alice, sid)))
            seen.append(counters(await resume(alice, sid)))
    for before, after in itertools.pairwise(seen):
        assert all(b <= a for b, a in zip(before, after, strict=True)), (before, after)
    assert all(e == a + i for e, a, i in seen)


async def test_a_tab_switch_is_not_activity(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 25))["id"]
    clock.advance(10)
    switched = await mutate(alice, "recordTabSwitch", sid)
    assert switched["tabSwitches"] == 1
    clock.advance(10)
    session = await read(alice, sid)
    assert counters(session) == (20, 15, 5)
    assert at(session["lastActivityAt"]) == at(session["startedAt"])


@pytest.mark.parametrize(("threshold", "expected"), [(5, (20, 5, 15)), (60, (20, 20, 0))])
async def test_per_session_idle_threshold(
    threshold: int, expected: tuple[int, int, int], alice: Client, clock: ManualClock
) -> None:
    sid = (await create(alice, 25, idleThresholdSeconds=threshold))["id"]
    clock.advance(20)
    session = await read(alice, sid)
    assert session["idleThresholdSeconds"] == threshold
    assert counters(session) == expected


async def test_a_sessions_threshold_is_its_own(alice: Client, clock: ManualClock) -> None:
    quick = (await create(alice, 25, idleThresholdSeconds=5))["id"]
    clock.advance(20)
    await create(alice, 25)  # abandons `quick` at 20 s with its own threshold
    clock.advance(20)
    assert counters(await read(alice, quick)) == (20, 5, 15)


# -- scoring ------------------------------------------------------------------------


async def test_focus_score_is_null_until_ended_then_matches_the_formula(
    alice: Client, clock: ManualClock
) -> None:
    sid = (await create(alice, 1))["id"]
    clock.advance(30.5)
    await mutate(alice, "recordActivity", sid)
    await mutate(alice, "recordTabSwitch", sid)
    clock.advance(17)
    live = await read(alice, sid)
    assert live["focusScore"] is None
    assert live["projectedFocusScore"] == expected_score(live)
    assert live["scoreBreakdown"]["score"] == live["projectedFocusScore"]
    ended = await end(alice, sid)
    assert ended["status"] == "COMPLETED"
    assert at(ended["endedAt"]) == clock.now()
    assert ended["focusScore"] == ended["projectedFocusScore"] == expected_score(ended)
    assert ended["focusScore"] == live["projectedFocusScore"]
    # Ended is ended: time passing changes nothing.
    clock.advance(3600)
    later = await read(alice, sid)
    for field in ("elapsedSeconds", "activeSeconds", "idleSeconds", "focusScore", "endedAt"):
        assert later[field] == ended[field], field
    assert later["projectedFocusScore"] == ended["focusScore"]
    assert later["isIdle"] is False


async def test_a_hand_computed_score_rounds_half_up(alice: Client, clock: ManualClock) -> None:
    # Threshold 45 with no activity over 60 s: ticks 46..60 idle, so active 45, idle 15.
    # 100 * min(1, 60/60) * 45/60 - 0 * 2 - 15/30 = 75 - 0.5 = 74.5, half up: 75
    # (Python's round() would give 74).
    sid = (await create(alice, 1, idleThresholdSeconds=45))["id"]
    clock.advance(60)
    ended = await end(alice, sid)
    assert counters(ended) == (60, 45, 15)
    assert ended["scoreBreakdown"] == {
        "completion": 1.0,
        "activityRatio": 0.75,
        "base": 75.0,
        "tabSwitchPenalty": 0.0,
        "idlePenalty": 0.5,
        "score": 75,
    }
    assert ended["focusScore"] == 75


async def test_a_hand_computed_score_with_penalties_and_a_cap(
    alice: Client, clock: ManualClock
) -> None:
    # 120 s of a 1-minute target, threshold 60, no activity: active 60, idle 60.
    # completion is capped at 1: 100 * 1 * 0.5 - 3 * 2 - 60/30 = 50 - 6 - 2 = 42
    # (uncapped it would be 100 * 2 * 0.5 - 8 = 92).
    sid = (await create(alice, 1, idleThresholdSeconds=60))["id"]
    clock.advance(1)
    for _ in range(3):
        await mutate(alice, "recordTabSwitch", sid)
    clock.advance(119)
    ended = await end(alice, sid)
    assert counters(ended) == (120, 60, 60)
    assert ended["remainingSeconds"] == 0
    assert ended["scoreBreakdown"]["completion"] == 1.0
    assert ended["scoreBreakdown"]["tabSwitchPenalty"] == 6.0
    assert ended["focusScore"] == 42


async def test_a_score_never_goes_below_zero(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 60))["id"]
    for _ in range(10):
        await mutate(alice, "recordTabSwitch", sid)
    clock.advance(5)
    ended = await end(alice, sid, "ABANDONED")
    assert ended["status"] == "ABANDONED"
    assert ended["focusScore"] == 0
    assert ended["projectedFocusScore"] == 0


async def test_an_instant_session_scores_zero_without_dividing_by_zero(
    alice: Client,
) -> None:
    sid = (await create(alice, 1))["id"]
    ended = await end(alice, sid)
    assert counters(ended) == (0, 0, 0)
    assert ended["focusScore"] == 0
    assert ended["scoreBreakdown"]["activityRatio"] == 0.0


async def test_ending_a_paused_session_scores_the_frozen_counters(
    alice: Client, clock: ManualClock
) -> None:
    sid = (await create(alice, 1))["id"]
    clock.advance(30)
    await pause(alice, sid)
    clock.advance(500)
    ended = await end(alice, sid)
    assert ended["pausedAt"] is None
    assert counters(ended) == (30, 15, 15)
    assert ended["focusScore"] == expected_score(ended)


# -- tab switches, remaining, edits ----------------------------------------------------


async def test_tab_switches_while_paused_are_not_counted(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 25))["id"]
    await mutate(alice, "recordTabSwitch", sid)
    await pause(alice, sid)
    for _ in range(3):
        clock.advance(1)
        assert (await mutate(alice, "recordTabSwitch", sid))["tabSwitches"] == 1
    await resume(alice, sid)
    assert (await mutate(alice, "recordTabSwitch", sid))["tabSwitches"] == 2
    assert (await read(alice, sid))["tabSwitches"] == 2


async def test_remaining_seconds(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 1))["id"]
    clock.advance(20)
    assert (await read(alice, sid))["remainingSeconds"] == 40
    clock.advance(0.999)
    assert (await read(alice, sid))["remainingSeconds"] == 40
    clock.advance(0.001)
    assert (await read(alice, sid))["remainingSeconds"] == 39
    clock.advance(100)
    session = await read(alice, sid)
    assert session["remainingSeconds"] == 0
    assert session["status"] == "ACTIVE"  # reaching the target does not end it
    assert session["elapsedSeconds"] == 121


async def test_update_session_changes_target_and_content(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 1, contentId="before"))["id"]
    clock.advance(20)
    updated = await mutate(
        alice, "updateSession", sid, ', input: {targetMinutes: 2, contentId: "after"}'
    )
    assert (updated["targetMinutes"], updated["contentId"]) == (2, "after")
    assert updated["status"] == "ACTIVE"
    assert updated["remainingSeconds"] == 100
    assert counters(updated) == (20, 15, 5)  # an edit is a signal, not activity
    assert updated["projectedFocusScore"] == expected_score(updated)
    # Fields left out stay as they were.
    same = await mutate(alice, "updateSession", sid, ", input: {}")
    assert (same["targetMinutes"], same["contentId"]) == (2, "after")
    stored = await read(alice, sid)
    assert (stored["targetMinutes"], stored["contentId"]) == (2, "after")


async def test_pause_and_edit_in_one_update(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 1))["id"]
    clock.advance(5)
    both = await mutate(
        alice, "updateSession", sid, ', input: {status: PAUSED, targetMinutes: 3, contentId: "x"}'
    )
    assert (both["status"], both["targetMinutes"], both["contentId"]) == ("PAUSED", 3, "x")


# -- the sessions connection ------------------------------------------------------------

PAGE = (
    "query($first: Int!, $after: String, $status: SessionStatus, $from: DateTime, "
    "$to: DateTime) { sessions(first: $first, after: $after, status: $status, "
    "startedAfter: $from, startedBefore: $to) { totalCount pageInfo { hasNextPage endCursor } "
    "edges { cursor node { id status startedAt } } } }"
)


async def page(client: Client, first: int, after: str | None = None, **where: Any) -> Any:
    variables = {"first": first, "after": after, **where}
    return (await client.execute(PAGE, variables))["sessions"]


async def walk(client: Client, first: int, **where: Any) -> tuple[list[str], list[Any]]:
    """Every id, page by page, and the pages themselves."""
    ids: list[str] = []
    pages: list[Any] = []
    after = None
    while True:
        got = await page(client, first, after, **where)
        pages.append(got)
        ids += [e["node"]["id"] for e in got["edges"]]
        if got["edges"]:
            assert got["pageInfo"]["endCursor"] == got["edges"][-1]["cursor"]
        if not got["pageInfo"]["hasNextPage"]:
            return ids, pages
        after = got["pageInfo"]["endCursor"]
        assert len(pages) < 20


async def seven_sessions(client: Client, clock: ManualClock) -> list[dict[str, Any]]:
    """Seven sessions a minute apart, oldest first; all but the last abandoned."""
    made = []
    for i in range(7):
        made.append(await create(client, 5, contentId=f"s{i}"))
        clock.advance(60)
    return made


async def test_sessions_paginate_newest_first_without_gaps(
    alice: Client, clock: ManualClock
) -> None:
    made = await seven_sessions(alice, clock)
    newest_first = [s["id"] for s in reversed(made)]
    ids, pages = await walk(alice, 3)
    assert ids == newest_first
    assert [len(p["edges"]) for p in pages] == [3, 3, 1]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    assert all(p["totalCount"] == 7 for p in pages)
    starts = [at(e["node"]["startedAt"]) for p in pages for e in p["edges"]]
    assert starts == sorted(starts, reverse=True)
    # An exact fit leaves no empty page behind, and the page size can vary as you go.
    ids7, pages7 = await walk(alice, 7)
    assert ids7 == newest_first
    assert len(pages7) == 1
    assert pages7[0]["pageInfo"]["hasNextPage"] is False
    first_two = await page(alice, 2)
    rest = await page(alice, 5, first_two["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in first_two["edges"] + rest["edges"]] == newest_first
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_sessions_started_at_the_same_instant_page_cleanly(
    alice: Client, clock: ManualClock
) -> None:
    made = [await create(alice, 5) for _ in range(5)]
    clock.advance(1)
    ids, pages = await walk(alice, 2)
    assert sorted(ids) == sorted(s["id"] for s in made)
    assert len(set(ids)) == 5
    assert [len(p["edges"]) for p in pages] == [2, 2, 1]


async def test_an_empty_connection(alice: Client) -> None:
    empty = await page(alice, 5)
    assert empty == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_sessions_filter_by_status(alice: Client, clock: ManualClock) -> None:
    made = await seven_sessions(alice, clock)
    await end(alice, made[-1]["id"])
    completed = await page(alice, 10, status="COMPLETED")
    assert [e["node"]["id"] for e in completed["edges"]] == [made[-1]["id"]]
    assert completed["totalCount"] == 1
    abandoned_ids, pages = await walk(alice, 4, status="ABANDONED")
    assert abandoned_ids == [s["id"] for s in reversed(made[:-1])]
    assert [p["totalCount"] for p in pages] == [6, 6]
    assert all(e["node"]["status"] == "ABANDONED" for p in pages for e in p["edges"])
    none = await page(alice, 10, status="ACTIVE")
    assert (none["totalCount"], none["edges"]) == (0, [])
    assert (await page(alice, 10, status="PAUSED"))["totalCount"] == 0


async def test_sessions_filter_by_start_time(alice: Client, clock: ManualClock) -> None:
    made = await seven_sessions(alice, clock)
    starts = [at(s["startedAt"]) for s in made]
    # Between the 2nd and 3rd start, and between the 5th and 6th.
    low = (starts[1] + timedelta(seconds=30)).isoformat()
    high = (starts[4] + timedelta(seconds=30)).isoformat()
    window = await page(alice, 10, **{"from": low, "to": high})
    assert [e["node"]["id"] for e in window["edges"]] == [made[i]["id"] for i in (4, 3, 2)]
    assert window["totalCount"] == 3
    after_only = await page(alice, 10, **{"from": high})
    assert [e["node"]["id"] for e in after_only["edges"]] == [made[6]["id"], made[5]["id"]]
    before_only = await page(alice, 10, **{"to": low})
    assert [e["node"]["id"] for e in before_only["edges"]] == [made[1]["id"], made[0]["id"]]
    ids, _ = await walk(alice, 2, **{"from": low, "to": high})
    assert ids == [made[i]["id"] for i in (4, 3, 2)]
    # Filters combine with status.
    both = await page(alice, 10, status="ACTIVE", **{"from": low})
    assert [e["node"]["id"] for e in both["edges"]] == [made[6]["id"]]
    assert both["totalCount"] == 1
    # A window in another timezone's notation means the same instants.
    shifted = (starts[1] + timedelta(seconds=30)).astimezone(ZoneInfo("Asia/Kolkata"))
    assert shifted.isoformat().endswith("+05:30")
    shifted_text = shifted.isoformat()
    assert (await page(alice, 10, **{"from": shifted_text, "to": high}))["totalCount"] == 3


async def test_connection_nodes_are_live(alice: Client, clock: ManualClock) -> None:
    sid = (await create(alice, 5))["id"]
    clock.advance(42)
    node = (await alice.execute("{ sessions(first: 1) { edges { node { id elapsedSeconds } } } }"))[
        "sessions"
    ]["edges"][0]["node"]
    assert node == {"id": sid, "elapsedSeconds": 42}


# -- deleting ----------------------------------------------------------------------------


async def test_delete_session(alice: Client, clock: ManualClock) -> None:
    made = await seven_sessions(alice, clock)
    victim = made[3]["id"]
    deleted = await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": victim})
    assert deleted == {"deleteSession": victim}
    with pytest.raises(GraphQLError) as error:
        await read(alice, victim)
    assert error.value.codes == ["NOT_FOUND"]
    ids, pages = await walk(alice, 3)
    assert ids == [s["id"] for s in reversed(made) if s["id"] != victim]
    assert pages[0]["totalCount"] == 6
    with pytest.raises(GraphQLError) as error:
        await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": victim})
    assert error.value.codes == ["NOT_FOUND"]


async def test_deleting_the_running_session_frees_the_slot(
    alice: Client, clock: ManualClock
) -> None:
    sid = (await create(alice, 5))["id"]
    clock.advance(5)
    await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": sid})
    assert (await alice.execute("{ activeSession { id } }"))["activeSession"] is None
    fresh = await create(alice, 5)
    assert (await alice.execute("{ activeSession { id } }"))["activeSession"] == {"id": fresh["id"]}
    assert (await page(alice, 10))["totalCount"] == 1


# -- abandoning ----------------------------------------------------------------------------


async def test_a_silent_session_is_abandoned_at_last_signal_plus_the_window(
    alice: Client, clock: ManualClock, server: RunningServer
) -> None:
    window = server.settings.abandon_after_seconds
    sid = (await create(alice, 60, idleThresholdSeconds=3600))["id"]
    clock.advance(100)
    last_signal = clock.now()
    await mutate(alice, "recordActivity", sid)
    clock.advance(window - 1)
    assert (await read(alice, sid))["status"] == "ACTIVE"
    clock.advance(1 + 777)
    session = await read(alice, sid)
    assert session["status"] == "ABANDONED"
    assert at(session["endedAt"]) == last_signal + timedelta(seconds=window)
    assert session["elapsedSeconds"] == 100 + window
    assert session["focusScore"] == expected_score(session)
    assert (await alice.execute("{ activeSession { id } }"))["activeSession"] is None
    clock.advance(500)
    assert await read(alice, sid) == {**session, "asOf": clock.now().isoformat()}


@pytest.mark.parametrize(
    "signal",
    [
        ("recordTabSwitch", ""),
        ("updateSession", ', input: {contentId: "still here"}'),
    ],
    ids=["tab-switch", "update"],
)
async def test_other_signals_keep_a_session_alive(
    signal: tuple[str, str], alice: Client, clock: ManualClock, server: RunningServer
) -> None:
    window = server.settings.abandon_after_seconds
    sid = (await create(alice, 60))["id"]
    clock.advance(window - 10)
    last_signal = clock.now()
    await mutate(alice, signal[0], sid, signal[1])
    clock.advance(window - 10)
    assert (await read(alice, sid))["status"] == "ACTIVE"
    clock.advance(20)
    session = await read(alice, sid)
    assert session["status"] == "ABANDONED"
    assert at(session["endedAt"]) == last_signal + timedelta(seconds=window)
    assert session["elapsedSeconds"] == 2 * window - 10


@pytest.mark.parametrize(
    "signal",
    [
        ("recordTabSwitch", ""),
        ("recordActivity", ""),
        ("updateSession", ', input: {contentId: "still here"}'),
    ],
    ids=["tab-switch", "activity", "update"],
)
async def test_signals_keep_a_paused_session_alive(
    signal: tuple[str, str], alice: Client, clock: ManualClock, server: RunningServer
) -> None:
    """A paused session counts nothing, but a client still talking about it is there."""
    window = server.settings.abandon_after_seconds
    sid = (await create(alice, 60))["id"]
    clock.advance(10)
    await pause(alice, sid)
    clock.advance(window - 10)
    last_signal = clock.now()
    answer = await mutate(alice, signal[0], sid, signal[1])
    assert answer["status"] == "PAUSED"
    clock.advance(window - 10)
    session = await read(alice, sid)
    assert session["status"] == "PAUSED"
    assert (session["tabSwitches"], session["elapsedSeconds"]) == (0, 10)
    clock.advance(20)
    session = await read(alice, sid)
    assert session["status"] == "ABANDONED"
    assert at(session["endedAt"]) == last_signal + timedelta(seconds=window)
    assert session["elapsedSeconds"] == 10


async def test_a_silent_paused_session_is_abandoned_with_its_pause_folded_in(
    alice: Client, clock: ManualClock, server: RunningServer
) -> None:
    window = server.settings.abandon_after_seconds
    sid = (await create(alice, 60))["id"]
    clock.advance(50)
    paused_at = clock.now()
    await pause(alice, sid)
    clock.advance(window + 1)
    session = await read(alice, sid)
    assert session["status"] == "ABANDONED"
    assert at(session["endedAt"]) == paused_at + timedelta(seconds=window)
    assert session["pausedAt"] is None
    assert counters(session) == (50, 15, 35)


async def test_an_abandoned_session_cannot_be_revived(
    alice: Client, clock: ManualClock, server: RunningServer
) -> None:
    sid = (await create(alice, 60))["id"]
    clock.advance(server.settings.abandon_after_seconds + 5)
    # The first thing to touch it is a change: it must find the session already over.
    with pytest.raises(GraphQLError) as error:
        await mutate(alice, "recordActivity", sid)
    assert error.value.codes == ["CONFLICT"]
    session = await read(alice, sid)
    assert session["status"] == "ABANDONED"
    assert session["elapsedSeconds"] == server.settings.abandon_after_seconds


async def test_a_lapsed_session_is_not_listed_as_active(
    alice: Client, clock: ManualClock, server: RunningServer
) -> None:
    sid = (await create(alice, 60))["id"]
    clock.advance(server.settings.abandon_after_seconds + 5)
    # Nothing has read the session since it lapsed: the list must still tell the truth.
    active = await page(alice, 10, status="ACTIVE")
    assert (active["totalCount"], active["edges"]) == (0, [])
    abandoned = await page(alice, 10, status="ABANDONED")
    assert [e["node"]["id"] for e in abandoned["edges"]] == [sid]
    assert abandoned["totalCount"] == 1


async def test_an_open_subscription_keeps_a_paused_session_alive(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    from gql import GraphQLRequest

    from tests.e2e.test_gql_client import TICKS, connect

    sid = (await create(alice))["id"]
    await mutate(alice, "updateSession", sid, ", input: {status: PAUSED}")
    async with connect(server, "graphql-transport-ws", {"token": alice.token}) as ws:
        frames = ws.subscribe(GraphQLRequest(TICKS, variable_values={"id": sid}))
        assert (await anext(frames))["sessionTicks"]["status"] == "PAUSED"
        for _ in range(31):  # 31 minutes with no signal but the open subscription
            clock.advance(60)
            await asyncio.sleep(0.05)  # let the keep-alive write land
        await frames.aclose()
    assert (await read(alice, sid))["status"] == "PAUSED"
