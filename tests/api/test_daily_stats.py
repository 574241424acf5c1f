"""me { dailyStats(from, to) } over real HTTP: one entry per local day, exact after deletes.

The clock is shared by the whole run, so each test first moves to a known hour
(UTC) and works out its days from there.
"""

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.support import Client, GraphQLError, ManualClock, RunningServer

DAY = 24 * 3600
DAILY = """
query Daily($from: Date!, $to: Date!) {
  me { dailyStats(from: $from, to: $to) {
    date focusSeconds sessions completedSessions averageFocusScore
  } }
}
"""


def zero(day: date) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "focusSeconds": 0,
        "sessions": 0,
        "completedSessions": 0,
        "averageFocusScore": None,
    }


async def daily(client: Client, first: date, last: date) -> list[dict[str, Any]]:
    data = await client.execute(DAILY, {"from": first.isoformat(), "to": last.isoformat()})
    days: list[dict[str, Any]] = data["me"]["dailyStats"]
    return days


async def by_day(client: Client, first: date, last: date) -> dict[date, dict[str, Any]]:
    return {date.fromisoformat(d["date"]): d for d in await daily(client, first, last)}


async def run(
    client: Client,
    clock: ManualClock,
    seconds: float,
    *,
    status: str = "COMPLETED",
    threshold: int = 3600,
) -> dict[str, Any]:
    """Start a one-minute session, let `seconds` pass, end it."""
    sid = (
        await client.execute(
            "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
            {"i": {"targetMinutes": 1, "idleThresholdSeconds": threshold}},
        )
    )["createSession"]["id"]
    clock.advance(seconds)
    data = await client.execute(
        "mutation($id: ID!, $s: SessionStatus!) { endSession(id: $id, status: $s) "
        "{ id activeSeconds focusScore endedAt } }",
        {"id": sid, "s": status},
    )
    ended: dict[str, Any] = data["endSession"]
    return ended


def advance_to(clock: ManualClock, hour: int, minute: int = 0) -> datetime:
    """Move forward to the next hh:mm:00 UTC at least a minute away."""
    now = clock.now()
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    while target < now + timedelta(minutes=1):
        target += timedelta(days=1)
    return clock.advance((target - now).total_seconds())


async def stats(client: Client) -> dict[str, Any]:
    data = await client.execute(
        "{ me { stats { totalSessions completedSessions totalFocusSeconds } } }"
    )
    result: dict[str, Any] = data["me"]["stats"]
    return result


# -- buckets ----------------------------------------------------------------------


async def test_every_day_of_the_range_is_there_with_zeros(alice: Client) -> None:
    days = await daily(alice, date(2026, 2, 26), date(2026, 3, 4))
    assert days == [zero(date(2026, 2, 26) + timedelta(days=i)) for i in range(7)]


async def test_sessions_count_on_the_day_they_ended(alice: Client, clock: ManualClock) -> None:
    today = advance_to(clock, 9).date()
    await run(alice, clock, 60)  # 60 active, score 100
    await run(alice, clock, 30, status="ABANDONED", threshold=15)  # 15 active, score 25
    clock.advance(2 * DAY)
    await run(alice, clock, 60, threshold=45)  # 45 active, score 75
    first, last = today - timedelta(days=1), today + timedelta(days=3)
    assert await daily(alice, first, last) == [
        zero(first),
        {
            "date": today.isoformat(),
            "focusSeconds": 75,
            "sessions": 2,
            "completedSessions": 1,
            "averageFocusScore": 62.5,
        },
        zero(today + timedelta(days=1)),
        {
            "date": (today + timedelta(days=2)).isoformat(),
            "focusSeconds": 45,
            "sessions": 1,
            "completedSessions": 1,
            "averageFocusScore": 75.0,
        },
        zero(last),
    ]


async def test_the_days_add_up_to_the_stats(alice: Client, clock: ManualClock) -> None:
    today = advance_to(clock, 20).date()
    for _ in range(3):
        await run(alice, clock, 90, threshold=15)
        await run(alice, clock, 40, status="ABANDONED")
        clock.advance(DAY - 130)  # the same time the next day
    # A running session counts in neither until it ends.
    await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }")
    clock.advance(100)
    days = await daily(alice, today, today + timedelta(days=3))
    totals = await stats(alice)
    assert sum(d["focusSeconds"] for d in days) == totals["totalFocusSeconds"] == 3 * (15 + 40)
    assert sum(d["sessions"] for d in days) == totals["totalSessions"] - 1 == 6
    assert sum(d["completedSessions"] for d in days) == totals["completedSessions"] == 3
    assert [d["sessions"] for d in days] == [2, 2, 2, 0]


async def test_a_session_over_midnight_counts_on_the_day_it_ended(
    alice: Client, clock: ManualClock
) -> None:
    before = advance_to(clock, 23, 59).date()
    await run(alice, clock, 120)
    days = await by_day(alice, before, before + timedelta(days=1))
    assert (days[before]["sessions"], days[before + timedelta(days=1)]["focusSeconds"]) == (0, 120)


async def test_a_deleted_session_leaves_its_day(alice: Client, clock: ManualClock) -> None:
    today = advance_to(clock, 12).date()
    kept = await run(alice, clock, 60)
    gone = await run(alice, clock, 30, status="ABANDONED", threshold=15)
    assert (await by_day(alice, today, today))[today]["sessions"] == 2
    await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": gone["id"]})
    assert await daily(alice, today, today) == [
        {
            "date": today.isoformat(),
            "focusSeconds": 60,
            "sessions": 1,
            "completedSessions": 1,
            "averageFocusScore": 100.0,
        }
    ]
    await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": kept["id"]})
    assert await daily(alice, today, today) == [zero(today)]


async def test_only_your_own_sessions_count(alice: Client, bob: Client, clock: ManualClock) -> None:
    today = advance_to(clock, 12).date()
    await run(bob, clock, 60)
    assert await daily(alice, today, today) == [zero(today)]
    assert (await daily(bob, today, today))[0]["sessions"] == 1


async def test_a_session_that_lapsed_unread_counts_at_its_deadline(
    alice: Client, clock: ManualClock, server: RunningServer
) -> None:
    window = timedelta(seconds=server.settings.abandon_after_seconds)
    # Silent from 23:45: abandoned at 23:45 + window, the next day for any window over 15 min.
    started = advance_to(clock, 23, 45)
    await alice.execute(
        "mutation { createSession(input: {targetMinutes: 60, idleThresholdSeconds: 3600}) { id } }"
    )
    clock.advance((window + timedelta(hours=1)).total_seconds())
    deadline = started + window
    days = await by_day(alice, started.date(), deadline.date())  # read before anything else
    assert deadline.date() > started.date()
    assert days[started.date()] == zero(started.date())
    ended_on = days[deadline.date()]
    assert (ended_on["sessions"], ended_on["completedSessions"]) == (1, 0)
    assert ended_on["focusSeconds"] == min(window.seconds, 3600)
    assert ended_on["focusSeconds"] == (await stats(alice))["totalFocusSeconds"]


# -- timezones --------------------------------------------------------------------


async def test_the_same_instants_fall_on_each_persons_own_days(
    anonymous: Client, clock: ManualClock
) -> None:
    people = {
        zone: await anonymous.register(zone)
        for zone in ("UTC", "America/Los_Angeles", "Asia/Tokyo")
    }
    # 01:00 UTC on day D is the evening of D-1 in Los Angeles and 10:00 on D in Tokyo;
    # 16:00 UTC is D in Los Angeles and 01:00 on D+1 in Tokyo.
    d = advance_to(clock, 1).date()
    for person in people.values():
        await run(person, clock, 60)
    clock.advance(15 * 3600 - 60 * len(people))
    for person in people.values():
        await run(person, clock, 60)
    span = (d - timedelta(days=1), d + timedelta(days=1))
    counts = {
        zone: [day["sessions"] for day in await daily(person, *span)]
        for zone, person in people.items()
    }
    assert counts == {
        "UTC": [0, 2, 0],
        "America/Los_Angeles": [1, 1, 0],
        "Asia/Tokyo": [0, 1, 1],
    }
    # Days are read in the current timezone: changing it re-buckets the same sessions.
    utc = people["UTC"]
    await utc.execute('mutation { updateProfile(input: {timezone: "Asia/Tokyo"}) { timezone } }')
    assert [day["sessions"] for day in await daily(utc, *span)] == [0, 1, 1]


# -- validation -------------------------------------------------------------------


async def test_the_range_may_span_366_days(alice: Client) -> None:
    days = await daily(alice, date(2024, 1, 1), date(2024, 12, 31))
    assert len(days) == 366
    assert days[0]["date"] == "2024-01-01" and days[-1]["date"] == "2024-12-31"
    assert len(await daily(alice, date(2026, 3, 1), date(2026, 3, 1))) == 1


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-03-02", "2026-03-01", "on or before"),
        ("2025-01-01", "2026-01-02", "366"),
        ("2026-02-30", "2026-03-01", "Date"),
        ("yesterday", "2026-03-01", "Date"),
        ("2026-03-01T00:00:00Z", "2026-03-01", "Date"),
    ],
)
async def test_bad_ranges_are_bad_input(alice: Client, first: str, last: str, message: str) -> None:
    with pytest.raises(GraphQLError) as raised:
        await alice.execute(DAILY, {"from": first, "to": last})
    assert raised.value.codes == ["BAD_USER_INPUT"]
    assert message in raised.value.errors[0]["message"]


async def test_daily_stats_need_a_signed_in_person(anonymous: Client) -> None:
    with pytest.raises(GraphQLError) as raised:
        await anonymous.execute(DAILY, {"from": "2026-03-01", "to": "2026-03-02"})
    assert raised.value.codes == ["UNAUTHENTICATED"]
