"""A socket whose client stops reading for a while, with answers of both kinds
interleaved on it: signals answered through the server's synchronous send
and large Strawberry results through the ASGI send (focusgql/corked.py
writes the frames of one loop turn together, in order).

What must hold: every answer arrives, once, `next` before `complete`; ticks
keep their order; and a person on another socket is answered at once
meanwhile.
"""

import asyncio
import json
import socket
from collections import defaultdict
from typing import Any

import websockets
from websockets.typing import Subprotocol

from tests.support import Client, ManualClock, RunningServer

PROTOCOLS = [Subprotocol("graphql-transport-ws")]
FIELDS = "elapsedSeconds activeSeconds idleSeconds tabSwitches"
CREATE = f"mutation {{ createSession(input: {{targetMinutes: 25}}) {{ id {FIELDS} }} }}"
ACTIVITY = f"mutation($id: ID!) {{ recordActivity(sessionId: $id) {{ {FIELDS} }} }}"
TICKS = f"subscription($id: ID!) {{ sessionTicks(sessionId: $id) {{ {FIELDS} }} }}"
# A large answer (tens of kilobytes) through Strawberry's own execution.
BIG = (
    "{ __schema { types { name description fields { name description"
    " args { name description type { name kind } } type { name kind } } } } }"
)
ROUNDS = 15  # Strawberry refuses more than 20 operations in flight on a socket


async def signed_in(
    url: str, token: str, receive_buffer: int | None = None, **options: Any
) -> websockets.ClientConnection:
    if receive_buffer is not None:
        # A small receive window, set before connecting: the server's writes
        # back up after a few kilobytes instead of megabytes.
        host, port = url.split("//")[1].split("/")[0].split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        options["sock"] = sock
    ws = await websockets.connect(url, subprotocols=PROTOCOLS, max_size=None, **options)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    return ws


def subscribe(identifier: str, query: str, session_id: str | None = None) -> str:
    payload: dict[str, Any] = {"query": query}
    if session_id is not None:
        payload["variables"] = {"id": session_id}
    return json.dumps({"id": identifier, "type": "subscribe", "payload": payload})


async def test_a_stalled_reader_gets_every_answer_in_order(
    server: RunningServer, alice: Client, bob: Client, clock: ManualClock
) -> None:
    mine = (await alice.execute(CREATE))["createSession"]["id"]
    theirs = (await bob.execute(CREATE))["createSession"]["id"]
    # max_queue=1: the client stops reading its socket as soon as one message
    # waits, so the server's writes back up into its own buffers.
    assert alice.token is not None and bob.token is not None
    slow = await signed_in(server.ws_url, alice.token, receive_buffer=4096, max_queue=1)
    other = await signed_in(server.ws_url, bob.token)
    try:
        await slow.send(subscribe("ticks", TICKS, mine))
        for n in range(ROUNDS):
            await slow.send(subscribe(f"big{n}", BIG))
            await slow.send(subscribe(f"act{n}", ACTIVITY, mine))
        for second in range(3):
            clock.advance(1)
            started = asyncio.get_running_loop().time()
            await other.send(subscribe(f"b{second}", ACTIVITY, theirs))
            async with asyncio.timeout(5):
                answer = json.loads(await other.recv())
                done = json.loads(await other.recv())
            assert answer["type"] == "next" and "errors" not in answer["payload"]
            assert done == {"id": f"b{second}", "type": "complete"}
            assert asyncio.get_running_loop().time() - started < 2
        by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
        async with asyncio.timeout(30):
            while sum(1 for m in by_id.values() if m and m[-1]["type"] == "complete") < 2 * ROUNDS:
                message = json.loads(await slow.recv())
                by_id[message.get("id", "?")].append(message)
    finally:
        await slow.close()
        await other.close()
    for n in range(ROUNDS):
        for identifier in (f"big{n}", f"act{n}"):
            kinds = [m["type"] for m in by_id[identifier]]
            assert kinds == ["next", "complete"], (identifier, kinds)
            assert "errors" not in by_id[identifier][0]["payload"], by_id[identifier][0]
    big = by_id["big0"][0]["payload"]["data"]["__schema"]["types"]
    assert len(json.dumps(big)) > 10_000
    elapsed = [m["payload"]["data"]["sessionTicks"]["elapsedSeconds"] for m in by_id["ticks"]]
    assert elapsed and elapsed == sorted(elapsed), elapsed
