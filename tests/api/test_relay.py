"""Relay conventions: the Node interface with node(id:) / nodes(ids:), and full
PageInfo with backward paging, checked against slices of the forward list."""

from typing import Any

import pytest

from tests.support import Client, GraphQLError, ManualClock, create_session

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on FocusSession { status } ... on User { email } } }"""
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


async def sessions(client: Client, **arguments: Any) -> dict[str, Any]:
    data = await client.execute(
        """query($first: Int! = 20, $after: String, $last: Int, $before: String) {
          sessions(first: $first, after: $after, last: $last, before: $before) {
            edges { cursor node { id } } """
        + PAGE_INFO
        + " } }",
        arguments,
    )
    page: dict[str, Any] = data["sessions"]
    return page


async def test_node_finds_you_and_your_sessions_and_nothing_else(
    alice: Client, bob: Client
) -> None:
    mine = (await create_session(alice, "id"))["id"]
    theirs = (await create_session(bob, "id"))["id"]
    me = (await alice.execute("{ me { id email } }"))["me"]

    session = (await alice.execute(NODE, {"id": mine}))["node"]
    assert session == {"__typename": "FocusSession", "id": mine, "status": "ACTIVE"}
    user = (await alice.execute(NODE, {"id": me["id"]}))["node"]
    assert user == {"__typename": "User", "id": me["id"], "email": me["email"]}
    # Another person's session, another person, nonsense: all simply absent.
    for absent in (theirs, (await bob.execute("{ me { id } }"))["me"]["id"], "nope"):
        assert (await alice.execute(NODE, {"id": absent}))["node"] is None

    listed = await alice.execute(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": [theirs, mine, me["id"]]},
    )
    assert listed["nodes"] == [
        None,
        {"__typename": "FocusSession", "id": mine},
        {"__typename": "User", "id": me["id"]},
    ]
    with pytest.raises(GraphQLError) as refused:
        await alice.execute(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [mine] * 101}
        )
    assert refused.value.codes == ["BAD_USER_INPUT"]


async def test_node_needs_a_token(anonymous: Client) -> None:
    with pytest.raises(GraphQLError) as refused:
        await anonymous.execute(NODE, {"id": "0123456789abcdef01234567"})
    assert refused.value.codes == ["UNAUTHENTICATED"]


async def test_backward_pages_are_slices_of_the_forward_list(
    alice: Client, clock: ManualClock
) -> None:
    for _ in range(7):
        await create_session(alice, "id")
        clock.advance(3)
    everything = await sessions(alice, first=100)
    ids = [edge["node"]["id"] for edge in everything["edges"]]
    cursors = [edge["cursor"] for edge in everything["edges"]]
    assert len(ids) == 7
    info = everything["pageInfo"]
    assert info["startCursor"] == cursors[0] and info["endCursor"] == cursors[-1]
    assert info["hasPreviousPage"] is False and info["hasNextPage"] is False

    for last in (1, 2, 3, 7, 10):
        # From the end: the oldest `last`, newest first like every page.
        page = await sessions(alice, last=last)
        assert [e["node"]["id"] for e in page["edges"]] == ids[-last:]
        assert page["pageInfo"]["hasPreviousPage"] is (last < 7)
        assert page["pageInfo"]["hasNextPage"] is False
        for index in range(len(ids)):
            page = await sessions(alice, last=last, before=cursors[index])
            assert [e["node"]["id"] for e in page["edges"]] == ids[max(0, index - last) : index]
            assert page["pageInfo"]["hasPreviousPage"] is (index - last > 0)
            assert page["pageInfo"]["hasNextPage"] is True

    # Walking back page by page from the end visits everything once.
    seen: list[str] = []
    page = await sessions(alice, last=3)
    while True:
        seen[:0] = [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        page = await sessions(alice, last=3, before=page["pageInfo"]["startCursor"])
    assert seen == ids

    forward = await sessions(alice, first=2, after=cursors[1])
    assert forward["pageInfo"]["hasPreviousPage"] is True
    assert forward["pageInfo"]["startCursor"] == forward["edges"][0]["cursor"]


@pytest.mark.parametrize(
    "arguments",
    [{"last": 0}, {"last": 101}, {"after": "x", "before": "y"}, {"last": 2, "after": "x"}],
)
async def test_bad_paging_is_bad_user_input(alice: Client, arguments: dict[str, Any]) -> None:
    with pytest.raises(GraphQLError) as refused:
        await sessions(alice, **arguments)
    assert refused.value.codes == ["BAD_USER_INPUT"]
