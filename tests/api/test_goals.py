"""The daily goal over real HTTP and a real WebSocket: set it, see it met, keep a
goal streak, and watch today's progress on the live frames (the fast path)."""

import json
from typing import Any

import websockets
from websockets.typing import Subprotocol

from tests.api.test_daily_stats import advance_to
from tests.api.test_tags import tagged
from tests.support import Client, GraphQLError, ManualClock, RunningServer, create_session

DAY = 24 * 3600
GOAL = "mutation($g: Int!) { updateProfile(input: {dailyGoalMinutes: $g}) { dailyGoalMinutes } }"
FIGURES = """query($from: Date!, $to: Date!, $t: String) { me {
  stats { goalStreak currentStreak }
  dailyStats(from: $from, to: $to, tag: $t) { date focusSeconds goalMinutes goalMet }
} }"""


async def figures(client: Client, clock: ManualClock, days: int, tag: str | None = None) -> Any:
    today = clock.now().date()
    first = today.fromordinal(today.toordinal() - days + 1)
    variables = {"from": first.isoformat(), "to": today.isoformat(), "t": tag}
    return (await client.execute(FIGURES, variables))["me"]


async def test_goal_is_validated_and_kept(alice: Client) -> None:
    assert (await alice.execute(GOAL, {"g": 45}))["updateProfile"] == {"dailyGoalMinutes": 45}
    assert (await alice.execute("{ me { dailyGoalMinutes } }"))["me"]["dailyGoalMinutes"] == 45
    for bad in (-1, 1441):
        try:
            await alice.execute(GOAL, {"g": bad})
        except GraphQLError as error:
            assert error.codes == ["BAD_USER_INPUT"]
            assert error.errors[0]["extensions"]["field"] == "dailyGoalMinutes"
        else:
            raise AssertionError(f"goal {bad} was accepted")


async def test_days_meet_the_goal_and_the_goal_streak_counts_them(
    alice: Client, clock: ManualClock
) -> None:
    advance_to(clock, 9)
    me = await figures(alice, clock, 1)
    assert me["stats"]["goalStreak"] == 0 and me["dailyStats"][0]["goalMinutes"] == 0
    await alice.execute(GOAL, {"g": 1})
    await tagged(alice, clock, [], 60)  # day 1: 60 s, met
    me = await figures(alice, clock, 1)
    assert me["dailyStats"][0]["goalMet"] is True and me["stats"]["goalStreak"] == 1
    clock.advance(DAY)
    await tagged(alice, clock, ["x"], 30)  # day 2: 30 s so far, not met
    me = await figures(alice, clock, 2)
    assert [d["goalMet"] for d in me["dailyStats"]] == [True, False]
    assert me["stats"]["goalStreak"] == 1  # alive through yesterday
    await tagged(alice, clock, [], 30)  # day 2 reaches 60 s
    me = await figures(alice, clock, 2)
    assert [d["goalMet"] for d in me["dailyStats"]] == [True, True]
    assert me["stats"]["goalStreak"] == 2
    # With a tag the totals are the tag's, but the goal is about the whole day.
    tagged_days = (await figures(alice, clock, 2, "x"))["dailyStats"]
    assert [(d["focusSeconds"], d["goalMet"]) for d in tagged_days] == [(0, True), (30, True)]
    clock.advance(2 * DAY)
    assert (await figures(alice, clock, 1))["stats"]["goalStreak"] == 0  # a day was missed


async def test_live_frames_carry_todays_progress(
    server: RunningServer, alice: Client, clock: ManualClock
) -> None:
    advance_to(clock, 9)
    await alice.execute(GOAL, {"g": 2})
    await tagged(alice, clock, [], 50)
    session = await create_session(alice, "id", targetMinutes=5, idleThresholdSeconds=3600)
    assert alice.token
    query = (
        f'subscription {{ sessionTicks(sessionId: "{session["id"]}") '
        "{ elapsedSeconds todayFocusSeconds dailyGoalMinutes } }"
    )
    async with websockets.connect(
        server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": alice.token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))

        async def frame() -> dict[str, Any]:
            message = json.loads(await ws.recv())
            assert message["type"] == "next", message
            ticks: dict[str, Any] = message["payload"]["data"]["sessionTicks"]
            return ticks

        assert await frame() == {
            "elapsedSeconds": 0,
            "todayFocusSeconds": 50,
            "dailyGoalMinutes": 2,
        }
        for second in range(1, 4):
            clock.advance(1)
            assert await frame() == {
                "elapsedSeconds": second,
                "todayFocusSeconds": 50 + second,
                "dailyGoalMinutes": 2,
            }
        # A new goal reaches the running subscription at once.
        await alice.execute(GOAL, {"g": 5})
        assert await frame() == {
            "elapsedSeconds": 3,
            "todayFocusSeconds": 53,
            "dailyGoalMinutes": 5,
        }
    # Elsewhere than on the live frames the fields are null.
    read = await alice.execute(
        "query($id: ID!) { session(id: $id) { todayFocusSeconds dailyGoalMinutes } }",
        {"id": session["id"]},
    )
    assert read["session"] == {"todayFocusSeconds": None, "dailyGoalMinutes": None}
    await alice.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": session["id"]})
