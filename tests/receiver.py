"""A real HTTP webhook receiver for the tests: uvicorn on a free port, checking
every delivery's signature with standardwebhooks' own Webhook.verify."""

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from focusgql.store.mongo import free_port

_names = itertools.count()


@dataclass
class Received:
    path: str
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any


@dataclass
class Receiver:
    url: str
    secrets: dict[str, str] = field(default_factory=dict)
    """Signing secret by path, set once the webhook exists."""
    answers: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    """Status codes to answer on a path, in turn (then 200)."""
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    arrivals: list[tuple[str, str, float]] = field(default_factory=list)
    """(path, webhook-id, monotonic time) of each request as it came in, before
    any delay: `received` lists them only once answered."""
    most_in_flight: int = 0
    """The most requests with one webhook-id handled at the same time."""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def endpoint(self) -> tuple[str, str]:
        """A fresh path on this receiver and its full URL."""
        path = f"/hook/{next(_names)}"
        return path, self.url + path

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int) -> list[Received]:
        """The first `count` requests on `path`, once they have come (15 s at most)."""
        async with asyncio.timeout(15):
            while len(self.on(path)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.on(path)[:count]

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        body = await request.body()
        webhook_id = request.headers.get("webhook-id", "")
        self.arrivals.append((path, webhook_id, time.monotonic()))
        self.in_flight[webhook_id] += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight[webhook_id])
        try:
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            secret = self.secrets.get(path)
            verified, payload = False, None
            if secret is not None:
                with contextlib.suppress(WebhookVerificationError):
                    payload = Webhook(secret).verify(body, dict(request.headers))
                    verified = True
            if payload is None:
                payload = json.loads(body)
            self.received.append(
                Received(path, webhook_id, dict(request.headers), body, verified, payload)
            )
            self._arrived.set()
            queue = self.answers[path]
            return Response(status_code=queue.popleft() if queue else 200)
        finally:
            self.in_flight[webhook_id] -= 1


@contextlib.asynccontextmanager
async def receiving(port: int | None = None) -> AsyncIterator[Receiver]:
    """A receiver on `port` (a free one if None)."""
    port = port or free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}")
    app = Starlette(routes=[Route("/hook/{name}", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
