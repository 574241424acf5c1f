"""Signing out everywhere and deleting an account close the person's sockets on
every server process within a second, not only on the one that was asked."""

import asyncio
import time
from typing import Any

import httpx

from tests.api.test_sign_out import SIGN_OUT, closed_with, open_socket, still_answers
from tests.support import Client, RunningServer, spawn

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

        # The token is refused at connection_init on the other process too.
        async with httpx.AsyncClient(base_url=second.url, timeout=30) as other:
            body = await Client(other, alice.token).raw("{ me { id } }")
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
        for ws in bystanders:
            await still_answers(ws)
            await ws.close()
