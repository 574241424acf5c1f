"""mySession across server processes: a session started, paused and ended
through one process reaches a follower of that person on another within a
tick; a second person following there sees nothing of it."""

import httpx

from tests.api.test_my_session import COMPILED, END, PAUSE, Follower
from tests.support import Client, RunningServer, create_session, spawn


async def test_a_session_started_elsewhere_is_followed_within_a_tick(
    server: RunningServer,
) -> None:
    async with (
        spawn(server.settings) as first,
        spawn(server.settings) as second,
        httpx.AsyncClient(base_url=first.url, timeout=30) as http,
    ):
        alice, bob = await Client(http).register(), await Client(http).register()
        assert alice.token and bob.token
        there = RunningServer(url=second.url, clock=server.clock, settings=server.settings)
        phone = await Follower.open(there, alice.token, COMPILED)
        other = await Follower.open(there, bob.token, COMPILED)
        assert await phone.next() is None
        assert await other.next() is None

        for _ in range(2):  # started, ended, and started again
            sid = (await create_session(alice, "id"))["id"]
            frame = await phone.next(seconds=1.0)
            assert frame is not None and (frame["id"], frame["status"]) == (sid, "ACTIVE")
            tick = await phone.next(seconds=1.5)  # the next tick, computed over there
            assert tick is not None and tick["elapsedSeconds"] >= 1
            await alice.execute(PAUSE, {"id": sid})
            paused = await phone.until(lambda f: f["status"] != "ACTIVE", seconds=1.0)
            assert paused is not None and paused["status"] == "PAUSED"
            await alice.execute(END, {"id": sid})
            final = await phone.next(seconds=1.0)
            assert final is not None and (final["id"], final["status"]) == (sid, "COMPLETED")
            assert await phone.next(seconds=1.0) is None

        await other.quiet()
        for follower in (phone, other):
            await follower.ws.close()
