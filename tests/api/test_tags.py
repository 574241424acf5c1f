"""Tags over real HTTP: set, filter, break stats down, list with counts, exact after deletes."""

from typing import Any

from tests.api.test_daily_stats import advance_to
from tests.support import Client, GraphQLError, ManualClock, create_session

END = "mutation($id: ID!) { endSession(id: $id) { id tags activeSeconds } }"


async def tagged(client: Client, clock: ManualClock, tags: list[str], seconds: int) -> str:
    session = await create_session(
        client, "id tags", targetMinutes=1, tags=tags, idleThresholdSeconds=3600
    )
    clock.advance(seconds)
    await client.execute(END, {"id": session["id"]})
    sid: str = session["id"]
    return sid


async def page_ids(client: Client, tag: str) -> tuple[list[str], int]:
    data = await client.execute(
        "query($t: String) { sessions(tag: $t, first: 100) { totalCount edges { node { id } } } }",
        {"t": tag},
    )
    conn = data["sessions"]
    return [e["node"]["id"] for e in conn["edges"]], conn["totalCount"]


async def tag_list(client: Client) -> list[dict[str, Any]]:
    data = await client.execute("{ me { tags { tag sessions } } }")
    tags: list[dict[str, Any]] = data["me"]["tags"]
    return tags


async def test_tags_are_normalized_and_filter_sessions(
    alice: Client, bob: Client, clock: ManualClock
) -> None:
    created = await create_session(alice, "id tags", tags=[" Thesis ", "thesis", "Reading"])
    assert created["tags"] == ["thesis", "reading"]
    await alice.execute(END, {"id": created["id"]})
    other = await tagged(alice, clock, ["reading"], 10)
    await tagged(alice, clock, [], 10)
    await tagged(bob, clock, ["thesis"], 10)  # someone else's never shows
    assert await page_ids(alice, "THESIS ") == ([created["id"]], 1)
    assert await page_ids(alice, "reading") == ([other, created["id"]], 2)
    assert await page_ids(alice, "nothing") == ([], 0)
    assert await tag_list(alice) == [
        {"tag": "reading", "sessions": 2},
        {"tag": "thesis", "sessions": 1},
    ]


async def test_update_replaces_tags_even_after_the_end(alice: Client, clock: ManualClock) -> None:
    sid = await tagged(alice, clock, ["a"], 5)
    data = await alice.execute(
        "mutation($id: ID!, $t: [String!]) "
        "{ updateSession(id: $id, input: {tags: $t}) { tags status } }",
        {"id": sid, "t": ["B", "c"]},
    )
    assert data["updateSession"] == {"tags": ["b", "c"], "status": "COMPLETED"}
    assert await tag_list(alice) == [{"tag": "b", "sessions": 1}, {"tag": "c", "sessions": 1}]
    try:
        await alice.execute(
            "mutation($id: ID!) { updateSession(id: $id, input: {targetMinutes: 5}) { id } }",
            {"id": sid},
        )
    except GraphQLError as error:
        assert error.codes == ["CONFLICT"]
    else:
        raise AssertionError("an ended session took a new target")


async def test_bad_tags_are_refused(alice: Client) -> None:
    for tags in (["  "], ["x" * 41], [f"t{i}" for i in range(11)]):
        response = await alice.raw(
            "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
            {"i": {"targetMinutes": 5, "tags": tags}},
        )
        assert [e["extensions"]["code"] for e in response["errors"]] == ["BAD_USER_INPUT"]
        assert response["errors"][0]["extensions"]["field"] == "tags"
    response = await alice.raw('{ sessions(tag: "") { totalCount } }')
    assert response["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_stats_and_days_break_down_by_tag_and_stay_exact_after_deletes(
    alice: Client, clock: ManualClock
) -> None:
    advance_to(clock, 9)
    await tagged(alice, clock, ["work"], 60)
    gone = await tagged(alice, clock, ["work", "home"], 30)
    await tagged(alice, clock, ["home"], 20)
    query = """query($t: String, $d: Date!) { me {
        stats(tag: $t) { totalSessions completedSessions totalFocusSeconds }
        dailyStats(from: $d, to: $d, tag: $t) { focusSeconds sessions }
    } }"""

    async def figures(tag: str | None) -> tuple[int, int, int, int]:
        day = clock.now().date()
        me = (await alice.execute(query, {"t": tag, "d": day.isoformat()}))["me"]
        s, (d,) = me["stats"], me["dailyStats"]
        return s["totalSessions"], s["totalFocusSeconds"], d["sessions"], d["focusSeconds"]

    assert await figures("work") == (2, 90, 2, 90)
    assert await figures("home") == (2, 50, 2, 50)
    everything = await figures(None)
    await alice.execute("mutation($id: ID!) { deleteSession(id: $id) }", {"id": gone})
    assert await figures("work") == (1, 60, 1, 60)
    assert await figures("home") == (1, 20, 1, 20)
    after = await figures(None)
    assert after == tuple(v - d for v, d in zip(everything, (1, 30, 1, 30), strict=True))
    assert await tag_list(alice) == [{"tag": "home", "sessions": 1}, {"tag": "work", "sessions": 1}]
