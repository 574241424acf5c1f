"""Over real HTTP: concurrent ends, retags and deletes leave stats equal to the sessions.

The person's history is read first (so it is built), then changed by
requests racing each other; afterwards `stats`, `dailyStats` and `tags`
equal what every session listed by `sessions` adds up to.
"""

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from tests.support import Client, ManualClock, create_session

END = "mutation($id: ID!, $s: SessionStatus) { endSession(id: $id, status: $s) { id } }"
RETAG = "mutation($id: ID!, $t: [String!]) { updateSession(id: $id, input: {tags: $t}) { id } }"
DELETE = "mutation($id: ID!) { deleteSession(id: $id) }"
FIGURES = """query($from: Date!, $to: Date!) { me {
  stats { totalSessions completedSessions totalFocusSeconds lastFocusScore }
  dailyStats(from: $from, to: $to) { date focusSeconds sessions completedSessions }
  tags { tag sessions }
} sessions(first: 100) { edges { node { status activeSeconds focusScore endedAt tags } } } }"""


async def ended(client: Client, clock: ManualClock, tags: list[str], completed: bool) -> str:
    session = await create_session(client, "id", tags=tags, idleThresholdSeconds=3600)
    clock.advance(90)
    status = "COMPLETED" if completed else "ABANDONED"
    await client.execute(END, {"id": session["id"], "s": status})
    sid: str = session["id"]
    return sid


def expected(nodes: list[dict[str, Any]], first: str) -> tuple[Any, ...]:
    done = [n for n in nodes if n["endedAt"] is not None]
    last = max(done, key=lambda n: n["endedAt"], default=None)
    days: Counter[str] = Counter()
    for n in done:
        days[n["endedAt"][:10]] += n["activeSeconds"]
    tags = Counter(t for n in nodes for t in n["tags"])
    return (
        {
            "totalSessions": len(nodes),
            "completedSessions": sum(n["status"] == "COMPLETED" for n in nodes),
            "totalFocusSeconds": sum(n["activeSeconds"] for n in done),
            "lastFocusScore": None if last is None else last["focusScore"],
        },
        {d: s for d, s in days.items() if d >= first},
        sorted(tags.items(), key=lambda item: (-item[1], item[0])),
    )


async def test_racing_changes_keep_the_figures_exact(alice: Client, clock: ManualClock) -> None:
    ids = [await ended(alice, clock, ["a"] if i % 2 else [], i % 3 > 0) for i in range(6)]
    today = clock.now().date()
    span = {"from": str(today - timedelta(days=30)), "to": str(today)}
    await alice.execute(FIGURES, span)  # the history is built now
    running = await create_session(alice, "id", tags=["b"], idleThresholdSeconds=3600)
    clock.advance(30)
    await asyncio.gather(
        alice.raw(END, {"id": running["id"], "s": "COMPLETED"}),
        alice.raw(END, {"id": running["id"], "s": "ABANDONED"}),  # one of the two wins
        alice.execute(RETAG, {"id": ids[0], "t": ["a", "c"]}),
        alice.execute(RETAG, {"id": ids[1], "t": []}),
        alice.execute(DELETE, {"id": ids[2]}),
        alice.execute(DELETE, {"id": ids[3]}),
    )
    data = await alice.execute(FIGURES, span)
    nodes = [e["node"] for e in data["sessions"]["edges"]]
    assert len(nodes) == 5
    stats, days, tags = expected(nodes, span["from"])
    assert data["me"]["stats"] == stats
    daily = {d["date"]: d["focusSeconds"] for d in data["me"]["dailyStats"] if d["sessions"]}
    assert daily == days
    assert [(t["tag"], t["sessions"]) for t in data["me"]["tags"]] == tags
