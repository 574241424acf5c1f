"""The two in-process servers of a test run keep out of each other's sessions:
the system-clock one's reaper must not end what the manual-clock tests create."""

import asyncio

from tests.support import Client, RunningServer


async def test_the_live_server_leaves_manual_clock_sessions_running(
    live_server: RunningServer, alice: Client
) -> None:
    created = await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }")
    session_id = created["createSession"]["id"]
    # Longer than a reaper round of the live server, which runs at once and then
    # every reaper_interval_seconds.
    await asyncio.sleep(live_server.settings.reaper_interval_seconds + 1)
    read = await alice.execute(
        "query($id: ID!) { session(id: $id) { status } }", {"id": session_id}
    )
    assert read["session"]["status"] == "ACTIVE"
