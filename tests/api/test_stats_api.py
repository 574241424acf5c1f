"""me { stats }: totals, scores and daily streaks, exact after deletes and across timezones.

The clock is shared by the whole run, so the time of day is whatever earlier
tests left; tests that care about days first move forward to a known hour.
"""

from datetime import datetime, timedelta
from typing import Any

from tests.support import Client, ManualClock, RunningServer

STATS = (
    "totalSessions completedSessions totalFocusSeconds averageFocusScore lastFocusScore "
    "currentStreak longestStreak"
)
EMPTY = {
    "totalSessions": 0,
    "completedSessions": 0,
    "totalFocusSeconds": 0,
    "averageFocusScore": None,
    "lastFocusScore": None,
    "currentStreak": 0,
    "longestStreak": 0,
}
DAY = 24 * 3600


async def stats(client: Client) -> dict[str, Any]:
    data = await client.execute(f"{{ me {{ stats {{ {STATS} }} }} }}")
    result: dict[str, Any] = data["me"]["stats"]
    return result


async def streaks(client: Client) -> tuple[int, int]:
    got = await stats(client)
    return got["currentStreak"], got["longestStreak"]


async def start(client: Client, target: int = 1, threshold: int | None = None) -> str:
    data = await client.execute(
        "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
        {"i": {"targetMinutes": target, "idleThresholdSeconds": threshold}},
    )
    sid: str = data["createSession"]["id"]
    return sid


async def finish(client: Client, sid: str, status: str = "COMPLETED") -> dict[str, Any]:
    data = await client.execute(
        "mutation($id: ID!, $s: SessionStatus!) { endSession(id: $id, status: $s) "
        "{ id status activeSeconds focusScore endedAt } }",
        {"id": sid, "s": status},
    )
    session: dict[str, Any] = data["endSession"]
    return session


async def session_run(
    clients: list[Client],
    clock: ManualClock,
    seconds: float,
    *,
    status: str = "COMPLETED",
    threshold: int | None = None,
    target: int = 1,
) -> list[dict[str, Any]]:
    """The same session, side by side for each client: start, let `seconds` pass, end."""
    sids = [await start(c, target, threshold) for c in clients]
    clock.advance(seconds)
    return [await finish(c, sid, status) for c, sid in zip(clients, sids, strict=True)]


def advance_to_hour(clock: ManualClock, hour: int) -> datetime:
    """Move forward to the next hh:00:00 UTC (at least a minute away)."""
    now = clock.now()
    target = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    while target < now + timedelta(minutes=1):
        target += timedelta(days=1)
    return clock.advance((target - now).total_seconds())


# -- totals ----------------------------------------------------------------------


async def test_a_new_person_has_empty_stats(alice: Client) -> None:
    assert await stats(alice) == EMPTY


async def test_totals_after_completed_and_abandoned_sessions(
    alice: Client, clock: ManualClock
) -> None:
    # 60 s, never idle: (60, 60, 0), score 100.
    (s1,) = await session_run([alice], clock, 60, threshold=3600)
    # 30 s abandoned, default threshold: active 15, idle 15;
    # 100 * 0.5 * 0.5 - 15/30 = 24.5, half up: 25.
    (s2,) = await session_run([alice], clock, 30, status="ABANDONED")
    # 60 s, threshold 45: active 45, idle 15; 75 - 0.5 = 74.5, half up: 75.
    (s3,) = await session_run([alice], clock, 60, threshold=45)
    assert [s["focusScore"] for s in (s1, s2, s3)] == [100, 25, 75]
    assert [s["activeSeconds"] for s in (s1, s2, s3)] == [60, 15, 45]
    expected = {
        "totalSessions": 3,
        "completedSessions": 2,
        "totalFocusSeconds": 120,
        "averageFocusScore": 200 / 3,
        "lastFocusScore": 75,
        "currentStreak": 1,
        "longestStreak": 1,
    }
    assert await stats(alice) == expected

    # A running session counts as a session but adds no focus time or score yet.
    running = await start(alice, 1, 3600)
    clock.advance(40)
    assert await stats(alice) == {**expected, "totalSessions": 4}
    # Starting another abandons it: now it is ended, scored and counted.
    await start(alice)
    abandoned = (
        await alice.execute(
            "query($id: ID!) { session(id: $id) { status activeSeconds focusScore } }",
            {"id": running},
        )
    )["session"]
    assert abandoned == {"status": "ABANDONED", "activeSeconds": 40, "focusScore": 67}
    assert await stats(alice) == {
        **expected,
        "totalSessions": 5,
        "totalFocusSeconds": 160,
        "averageFocusScore": (200 + 67) / 4,
        "lastFocusScore": 67,
    }


async def test_last_score_follows_the_latest_end(alice: Client, clock: ManualClock) -> None:
    await session_run([alice], clock, 60, threshold=3600)
    assert (await stats(alice))["lastFocusScore"] == 100
    await session_run([alice], clock, 30, status="ABANDONED")
    assert (await stats(alice))["lastFocusScore"] == 25
    await session_run([alice], clock, 60, threshold=3600)
    assert (await stats(alice))["lastFocusScore"] == 100


async def test_stats_see_a_session_that_lapsed_unread(
    alice: Client, clock: ManualClock, server: RunningServer
) -> None:
    await start(alice, 1)
    clock.advance(server.settings.abandon_after_seconds + 60)
    # Nobody has read the session since it went silent: stats must still count it ended,
    # at lastSignal + window: active 15 of 1800, score 0 after the idle penalty.
    assert await stats(alice) == {
        **EMPTY,
        "totalSessions": 1,
        "totalFocusSeconds": 15,
        "averageFocusScore": 0.0,
        "lastFocusScore": 0,
    }


# -- streaks ----------------------------------------------------------------------


async def test_consecutive_days_make_a_streak(alice: Client, clock: ManualClock) -> None:
    advance_to_hour(clock, 12)
    for day in range(1, 4):
        await session_run([alice], clock, 60)
        assert await streaks(alice) == (day, day)
        clock.advance(DAY - 60)
    # A day without a session: yesterday still keeps the streak alive.
    assert await streaks(alice) == (3, 3)
    clock.advance(DAY)
    # Two days since the last one: the current streak is over; the record stays.
    assert await streaks(alice) == (0, 3)
    await session_run([alice], clock, 60)
    assert await streaks(alice) == (1, 3)
    got = await stats(alice)
    assert (got["completedSessions"], got["totalSessions"]) == (4, 4)


async def test_a_gap_day_resets_the_current_streak(alice: Client, clock: ManualClock) -> None:
    advance_to_hour(clock, 12)
    await session_run([alice], clock, 60)
    clock.advance(DAY)
    await session_run([alice], clock, 60)
    assert await streaks(alice) == (2, 2)
    clock.advance(2 * DAY)  # skip a whole day
    await session_run([alice], clock, 60)
    assert await streaks(alice) == (1, 2)


async def test_several_sessions_on_one_day_count_once(alice: Client, clock: ManualClock) -> None:
    advance_to_hour(clock, 8)
    for _ in range(3):
        await session_run([alice], clock, 60)
        clock.advance(3600)
    assert await streaks(alice) == (1, 1)
    assert (await stats(alice))["completedSessions"] == 3


async def test_abandoned_sessions_do_not_keep_a_streak(alice: Client, clock: ManualClock) -> None:
    advance_to_hour(clock, 12)
    await session_run([alice], clock, 60)
    clock.advance(DAY)
    await session_run([alice], clock, 60, status="ABANDONED")
    clock.advance(DAY)
    await session_run([alice], clock, 60)
    assert await streaks(alice) == (1, 1)


async def test_ending_after_seconds_keeps_no_streak(alice: Client, clock: ManualClock) -> None:
    advance_to_hour(clock, 12)
    # "Finish early": COMPLETED at 34 s of a 25-minute target, never idle.
    (early,) = await session_run([alice], clock, 34, target=25, threshold=3600)
    assert early["status"] == "COMPLETED"
    got = await stats(alice)
    assert (got["completedSessions"], got["currentStreak"], got["longestStreak"]) == (1, 0, 0)
    # Early again, but after ten active minutes: that day counts.
    await session_run([alice], clock, 600, target=25, threshold=3600)
    assert await streaks(alice) == (1, 1)
    # The next day, 9:59 active and short of the target: no second day.
    clock.advance(DAY)
    await session_run([alice], clock, 599, target=25, threshold=3600)
    assert await streaks(alice) == (1, 1)
    # Reaching a short target counts, idle or not (15 active seconds of 60).
    await session_run([alice], clock, 60, target=1)
    assert await streaks(alice) == (2, 2)


async def test_the_same_instants_fall_on_different_local_days(
    anonymous: Client, clock: ManualClock
) -> None:
    utc = await anonymous.register("UTC")
    la = await anonymous.register("America/Los_Angeles")
    # 01:01 UTC is the previous evening in Los Angeles (UTC-8, or -7 in summer);
    # 10:01 UTC the same UTC day is early morning there: one UTC day, two LA days.
    advance_to_hour(clock, 1)
    first = await session_run([utc, la], clock, 60)
    clock.advance(9 * 3600 - 60)
    second = await session_run([utc, la], clock, 60)
    assert {s["endedAt"][:10] for s in first + second} == {first[0]["endedAt"][:10]}
    assert await streaks(utc) == (1, 1)
    assert await streaks(la) == (2, 2)

    # Days are read in the current timezone: changing it re-reads the same instants.
    await utc.execute(
        'mutation { updateProfile(input: {timezone: "America/Los_Angeles"}) { timezone } }'
    )
    await la.execute('mutation { updateProfile(input: {timezone: "UTC"}) { timezone } }')
    assert await streaks(utc) == (2, 2)
    assert await streaks(la) == (1, 1)


async def test_today_is_the_local_today(anonymous: Client, clock: ManualClock) -> None:
    utc = await anonymous.register("UTC")
    la = await anonymous.register("America/Los_Angeles")
    advance_to_hour(clock, 10)
    await session_run([utc, la], clock, 60)  # day D in UTC and in Los Angeles
    # Day D+2 at 05:00 UTC is still day D+1 in Los Angeles: "yesterday" there only.
    clock.advance(2 * DAY - 5 * 3600 - 60)
    assert await streaks(utc) == (0, 1)
    assert await streaks(la) == (1, 1)


# -- deleting ----------------------------------------------------------------------


async def test_deleting_sessions_leaves_stats_as_if_they_never_existed(
    alice: Client, bob: Client, clock: ManualClock
) -> None:
    """Alice and Bob do the same thing at the same instants, except for the sessions
    Alice deletes afterwards."""
    both = [alice, bob]
    advance_to_hour(clock, 12)
    await session_run(both, clock, 60, threshold=3600)  # day 1: 100 each
    clock.advance(DAY - 60)
    (extra,) = await session_run([alice], clock, 60, threshold=45)  # day 2: alice only, 75
    clock.advance(DAY - 60)
    await session_run(both, clock, 30, status="ABANDONED")  # day 3: 25 each
    await session_run(both, clock, 60, threshold=3600)  # 100 each

    assert (await streaks(alice), await streaks(bob)) == ((3, 3), (1, 1))
    assert await stats(alice) != await stats(bob)
    await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": extra["id"]})
    expected = {
        "totalSessions": 3,
        "completedSessions": 2,
        "totalFocusSeconds": 60 + 15 + 60,
        "averageFocusScore": 225 / 3,
        "lastFocusScore": 100,
        "currentStreak": 1,
        "longestStreak": 1,
    }
    assert await stats(bob) == expected
    assert await stats(alice) == expected

    # Deleting the latest ended session brings back the one before as the last score.
    (latest,) = await session_run([alice], clock, 30, status="ABANDONED")
    assert (await stats(alice))["lastFocusScore"] == 25
    await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": latest["id"]})
    assert await stats(alice) == expected

    # Deleting a running session, too.
    running = await start(alice)
    clock.advance(10)
    await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": running})
    assert await stats(alice) == expected


async def test_deleting_everything_empties_the_stats(alice: Client, clock: ManualClock) -> None:
    ended = await session_run([alice], clock, 60)
    ended += await session_run([alice], clock, 60, status="ABANDONED")
    for session in ended:
        await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": session["id"]})
    assert await stats(alice) == EMPTY
