"""Compiled `sessionTicks` over HTTP streams: GraphQL over SSE (graphql-sse,
distinct connections mode) and Apollo's multipart subscriptions.

The same live hub and the same compiled payloads as the socket's fast path
(focusgql/api/ticking.py): the session is followed once, and each frame is
written as pre-serialized JSON in the stream's framing, with no GraphQL
execution per tick. The framing is byte for byte what Strawberry's own
transports write (strawberry/http/streaming.py; SSE with LF line ends, see
LineFeedSSE in api/strawberry_internals.py), which serve every other
subscription; a test compares the two.

Heartbeats keep proxies and load balancers from closing a quiet stream; the
headers ask them not to buffer it.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.types import Receive, Send

from focusgql.api.ticking import _TickSender
from focusgql.clock import Clock
from focusgql.services.frames import Frame
from focusgql.services.ports import FollowHandle

NO_BUFFERING = {"cache-control": "no-cache, no-transform", "x-accel-buffering": "no"}


@dataclass(frozen=True, slots=True)
class Framing:
    """How one streaming protocol writes its events (payloads are JSON text)."""

    headers: Mapping[str, str]
    opening: str
    next_prefix: str
    next_suffix: str
    complete: str
    heartbeat: str
    multipart: bool = False

    def next(self, payload: str) -> str:
        if self.multipart:
            part = '{"payload":' + payload + "}"
            return _part(part)
        return self.next_prefix + payload + self.next_suffix


def _part(body: str) -> str:
    return (
        "\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}\r\n--graphql"
    )


SSE = Framing(
    headers={"content-type": "text/event-stream", **NO_BUFFERING},
    # A comment at once: headers reach the client before the first event,
    # through proxies that wait for a first chunk.
    opening=": ping\n\n",
    next_prefix="event: next\ndata: ",
    next_suffix="\n\n",
    complete="event: complete\ndata: \n\n",
    heartbeat=": ping\n\n",
)

MULTIPART = Framing(
    headers={
        "content-type": "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json",
        **NO_BUFFERING,
    },
    # Apollo's protocol: an empty JSON part is the heartbeat; one goes at once.
    opening="--graphql" + _part("{}"),
    next_prefix="",
    next_suffix="",
    complete="\r\n--graphql--\r\n",
    heartbeat=_part("{}"),
    multipart=True,
)

FRAMINGS = {"sse": SSE, "multipart-subscription": MULTIPART}


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def stream_ticks(
    framing: Framing,
    follow: Callable[[Callable[[Frame], None]], Awaitable[FollowHandle]],
    encode: Callable[[Frame], str],
    receive: Receive,
    send: Send,
    *,
    heartbeat_seconds: float,
    clock: Clock,
    valid_until: datetime | None,
) -> None:
    """Follow a session and stream its frames until it ends, the client leaves
    or the token expires (checked at every heartbeat: the client then
    reconnects with a fresh one). `follow` raising sends nothing."""

    finished = False

    async def write(text: str, more: bool = True) -> None:
        nonlocal finished
        finished = not more
        await send({"type": "http.response.body", "body": text.encode(), "more_body": more})

    async def send_frame(frame: Frame) -> None:
        await write(framing.next(encode(frame)))

    sender = _TickSender(send_frame)
    following = await follow(sender.deliver)
    left: asyncio.Future[Any] = asyncio.ensure_future(_disconnected(receive))
    waited: set[asyncio.Future[Any]] = {sender.ended, left}
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(k.encode(), v.encode()) for k, v in framing.headers.items()],
            }
        )
        await write(framing.opening)
        sender.release()
        while True:
            done, _ = await asyncio.wait(
                waited, timeout=heartbeat_seconds, return_when="FIRST_COMPLETED"
            )
            if sender.ended in done:
                if sender.ended.result():
                    await write(framing.complete, more=False)
                return
            if left in done or (valid_until is not None and clock.now() >= valid_until):
                return
            await write(framing.heartbeat)
    finally:
        following.close()
        sender.stop()
        left.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await left
        if not finished:
            with contextlib.suppress(Exception):
                await write("", more=False)  # the client left, or the token expired
