"""Signing out everywhere and deleting an account close the person's sockets on
every server process within a second, not only on the one that was asked."""

import asyncio
import time
from typing import Any

import httpx

from tests.api.test_sign_out import SIGN_OUT, closed_with, open_socket, still_answers
from tests.support import Client, RunningServer, create_session, spawn

DELETE = "mutation($p: String!) { deleteAccount(password: $p) }"


async def close_time(ws: Any, since: float) -> tuple[tuple[int, str], float]:
    reason = await closed_with(ws)
    return reason, time.monotonic() - since


async def test_sockets_on_two_processes_close_within_a_second(server: RunningServer) -> None:
    async with (
        spawn(server.settings) as first,
        spawn(server.settings) as second,
        httpx.AsyncClient(base_url=first.url, timeout=30) as http,
    ):
        anonymous = Client(http)
        alice, bob, carol = [await anonymous.register() for _ in range(3)]
        assert alice.token and bob.token and carol.token
        sockets = [await open_socket(p.ws_url, alice.token) for p in (first, second)]
        sid = (await create_session(alice, "id"))["id"]
        activity = f'mutation {{ recordActivity(sessionId: "{sid}") {{ elapsedSeconds }} }}'
        other = httpx.AsyncClient(base_url=second.url, timeout=30)
        elsewhere = Client(other, alice.token)
        await elsewhere.execute(activity)  # the second process now holds the token in its cache
        doomed = [await open_socket(p.ws_url, bob.token) for p in (first, second)]
        bystanders = [await open_socket(p.ws_url, carol.token) for p in (first, second)]

        assert (await alice.execute(SIGN_OUT))["signOutEverywhere"] is True
        answered = time.monotonic()
        closes = await asyncio.gather(*(close_time(ws, answered) for ws in sockets))
        for reason, seconds in closes:
            assert reason == (4403, "Forbidden: token revoked")
            assert seconds < 1.0, closes

        assert (await bob.execute(DELETE, {"p": "correct horse battery"}))["deleteAccount"]
        answered = time.monotonic()
        closes = await asyncio.gather(*(close_time(ws, answered) for ws in doomed))
        for reason, seconds in closes:
            assert reason == (4403, "Forbidden: account deleted")
            assert seconds < 1.0, closes

        # Refused on the other process too, its signal path's cache included.
        for query in ("{ me { id } }", activity):
            body = await elsewhere.raw(query)
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
        await other.aclose()
        for ws in bystanders:
            await still_answers(ws)
            await ws.close()
