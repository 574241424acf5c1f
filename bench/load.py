"""Load generator for bench/ticks.py: one WebSocket (or, with --transport sse,
one GraphQL-over-SSE stream) per `sessionTicks` subscription.

Run by ticks.py (pinned to its own core), never by hand in normal use:

    python bench/load.py --url ws://127.0.0.1:PORT/graphql --jobs JOBS.json

JOBS.json is a list of [token, session_id]. The process opens one
graphql-transport-ws connection per job, in batches (a batch starts once the
previous one has all received their first snapshot), then prints
`READY <connected> <failed> <seconds>`. It then reads `WINDOW <t0> <t1>` (wall
clock, epoch seconds) on stdin, measures every tick received in that window,
prints `RESULT <json>` and exits.

Per message: lateness = receive time - due time, where due time is
`startedAt + elapsedSeconds` (the sessions are never paused, and the baseline
sends the same fields); a jump of `elapsedSeconds` by more than one is a
skipped tick, the same value twice a duplicated one. Only the two fields
needed are picked out of the text (no json.loads per tick), so the generator
stays cheap; lateness goes into a histogram of whole milliseconds.
"""

import argparse
import asyncio
import gc
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

QUERY = (
    "subscription($id: ID!) { sessionTicks(sessionId: $id) { elapsedSeconds activeSeconds "
    "idleSeconds isIdle remainingSeconds projectedFocusScore status startedAt } }"
)
PROTOCOL = Subprotocol("graphql-transport-ws")
ELAPSED = re.compile(r'"elapsedSeconds":(\d+)')
STARTED = re.compile(r'"startedAt":"([^"]+)"')


class Stats:
    def __init__(self, connections: int) -> None:
        self.t0 = float("inf")
        self.t1 = float("-inf")
        self.lateness_ms: Counter[int] = Counter()
        self.messages = 0
        self.skipped = 0
        """Ticks missing between two consecutive messages of one subscription."""
        self.skip_events = 0
        self.duplicated = 0
        self.backwards = 0
        self.per_connection = [0] * connections
        self.closed: Counter[str] = Counter()
        """Connections that ended after their first snapshot, by reason."""
        self.bad_messages: Counter[str] = Counter()
        self.worst_ms: dict[int, int] = {}
        """Worst lateness in each second of the window (seconds after t0), to line
        stalls up with the server's garbage collections."""

    def result(self) -> dict[str, Any]:
        return {
            "lateness_ms": sorted(self.lateness_ms.items()),
            "messages": self.messages,
            "skipped": self.skipped,
            "skip_events": self.skip_events,
            "duplicated": self.duplicated,
            "backwards": self.backwards,
            "silent": sum(1 for count in self.per_connection if count == 0),
            "closed": dict(self.closed),
            "bad_messages": dict(self.bad_messages),
            "worst_ms_by_second": sorted(self.worst_ms.items()),
        }


async def subscriber(
    index: int, url: str, token: str, session_id: str, ready: asyncio.Future[str], stats: Stats
) -> None:
    try:
        async with connect(
            url,
            subprotocols=[PROTOCOL],
            compression=None,
            proxy=None,
            open_timeout=60,
            ping_interval=None,
            ping_timeout=None,
            close_timeout=1,
            max_size=1 << 20,
        ) as ws:
            init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            await ws.send(json.dumps(init))
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"no connection_ack: {str(ack)[:200]}")
            subscribe = {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": QUERY, "variables": {"id": session_id}},
            }
            await ws.send(json.dumps(subscribe))
            previous = -1
            started_text = ""
            started = 0.0
            async for text in ws:
                now = time.time()
                match = ELAPSED.search(text)  # type: ignore[arg-type]
                if match is None:
                    kind = str(json.loads(text).get("type"))
                    if kind in ("ping", "pong"):
                        continue
                    stats.bad_messages[kind] += 1
                    if not ready.done():
                        ready.set_result(f"{kind}: {str(text)[:300]}")
                    if kind in ("error", "complete"):
                        break
                    continue
                elapsed = int(match.group(1))
                stamp = STARTED.search(text)  # type: ignore[arg-type]
                if stamp is not None and stamp.group(1) != started_text:
                    started_text = stamp.group(1)
                    started = datetime.fromisoformat(started_text).timestamp()
                if previous < 0:
                    previous = elapsed
                    ready.set_result("")
                    continue  # the snapshot sent at subscribe time has no due time
                if stats.t0 <= now <= stats.t1:
                    count_tick(stats, index, now, started, elapsed, previous)
                previous = elapsed
            reason = "closed by server"
            if ws.close_code is not None and ws.close_code != 1000:
                reason = f"closed {ws.close_code} {ws.close_reason}"
    except Exception as error:  # every failure is counted, none stops the others
        reason = f"{type(error).__name__}: {str(error)[:120]}"
    if not ready.done():
        ready.set_result(reason or "failed")
    else:
        stats.closed[reason] += 1


async def sse_subscriber(
    index: int, url: str, token: str, session_id: str, ready: asyncio.Future[str], stats: Stats
) -> None:
    """The same subscription over GraphQL over SSE (one HTTP/1.1 stream each),
    on a bare asyncio connection: the events are found by their delimiter, and
    the chunked encoding's size lines between them are never read as data."""
    host, _, rest = url.removeprefix("ws://").removeprefix("http://").partition("/")
    hostname, _, port = host.partition(":")
    body = json.dumps({"query": QUERY, "variables": {"id": session_id}}).encode()
    request = (
        f"POST /{rest} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    reason = ""
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.open_connection(hostname, int(port or 80), limit=1 << 20)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head[:200].decode(errors="replace"))
        lines = _Lines()
        while True:
            event = await reader.readuntil(b"\n\n")
            text = event.decode()
            if "event: complete" in text:
                break
            if "event: next" in text and not lines.take(index, text, ready, stats):
                break
        reason = "closed by server"
    except asyncio.IncompleteReadError:
        reason = "closed by server"
    except Exception as error:  # every failure is counted, none stops the others
        reason = f"{type(error).__name__}: {str(error)[:120]}"
    finally:
        if writer is not None:
            writer.close()
    if not ready.done():
        ready.set_result(reason or "failed")
    else:
        stats.closed[reason] += 1


class _Lines:
    """One SSE subscription's tick bookkeeping (`subscriber` reads the socket's)."""

    def __init__(self) -> None:
        self.previous = -1
        self.started_text = ""
        self.started = 0.0

    def take(self, index: int, text: str, ready: asyncio.Future[str], stats: Stats) -> bool:
        now = time.time()
        match = ELAPSED.search(text)
        if match is None:
            stats.bad_messages["no elapsedSeconds"] += 1
            if not ready.done():
                ready.set_result(f"bad event: {text[:300]}")
            return False
        elapsed = int(match.group(1))
        stamp = STARTED.search(text)
        if stamp is not None and stamp.group(1) != self.started_text:
            self.started_text = stamp.group(1)
            self.started = datetime.fromisoformat(self.started_text).timestamp()
        previous, self.previous = self.previous, elapsed
        if previous < 0:
            ready.set_result("")
            return True  # the snapshot sent at subscribe time has no due time
        if stats.t0 <= now <= stats.t1:
            count_tick(stats, index, now, self.started, elapsed, previous)
        return True


def count_tick(
    stats: Stats, index: int, now: float, started: float, elapsed: int, previous: int
) -> None:
    """One tick inside the window: its lateness against its due time (the
    session's start plus its elapsed seconds), and any skip or repeat."""
    stats.messages += 1
    stats.per_connection[index] += 1
    late = round((now - started - elapsed) * 1000)
    stats.lateness_ms[late] += 1
    second = int(now - stats.t0)
    if late > stats.worst_ms.get(second, -(1 << 30)):
        stats.worst_ms[second] = late
    if elapsed == previous:
        stats.duplicated += 1
    elif elapsed > previous + 1:
        stats.skipped += elapsed - previous - 1
        stats.skip_events += 1
    elif elapsed < previous:
        stats.backwards += 1


SUBSCRIBERS = {"ws": subscriber, "sse": sse_subscriber}


async def ramp(
    jobs: list[tuple[str, str]],
    url: str,
    stats: Stats,
    batch: int,
    deadline: float,
    tasks: list[asyncio.Task[None]],
    transport: str = "ws",
) -> tuple[int, Counter[str]]:
    loop = asyncio.get_running_loop()
    connected = 0
    failures: Counter[str] = Counter()
    for first in range(0, len(jobs), batch):
        readies: list[asyncio.Future[str]] = []
        for index in range(first, min(first + batch, len(jobs))):
            token, session_id = jobs[index]
            ready: asyncio.Future[str] = loop.create_future()
            readies.append(ready)
            tasks.append(
                asyncio.create_task(
                    SUBSCRIBERS[transport](index, url, token, session_id, ready, stats)
                )
            )
        timeout = max(1.0, deadline - time.monotonic())
        await asyncio.wait(readies, timeout=timeout)
        for ready in readies:
            if not ready.done():
                failures["no first snapshot before the ramp deadline"] += 1
            elif ready.result():
                failures[ready.result()[:160]] += 1
            else:
                connected += 1
        if time.monotonic() >= deadline:
            failures["not started: ramp deadline"] += len(jobs) - first - len(readies)
            break
    return connected, failures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", required=True, help="JSON file: [[token, session_id], ...]")
    parser.add_argument("--batch", type=int, default=250, help="connections opened at once")
    parser.add_argument("--ramp-timeout", type=float, default=300.0)
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="hard stop")
    parser.add_argument("--transport", choices=sorted(SUBSCRIBERS), default="ws")
    args = parser.parse_args()
    with open(args.jobs) as file:  # noqa: ASYNC230 - before any connection
        jobs = [(str(token), str(session_id)) for token, session_id in json.load(file)]

    stats = Stats(len(jobs))
    tasks: list[asyncio.Task[None]] = []
    began = time.monotonic()
    connected, failures = await ramp(
        jobs, args.url, stats, args.batch, began + args.ramp_timeout, tasks, args.transport
    )
    # Thousands of long-lived connections: keep the cyclic GC from walking them.
    gc.collect()
    gc.freeze()
    ramp_seconds = time.monotonic() - began
    print(f"READY {connected} {len(jobs) - connected} {ramp_seconds:.1f}", flush=True)
    if failures:
        print(f"FAILURES {json.dumps(dict(failures.most_common(5)))}", file=sys.stderr)

    line = await asyncio.wait_for(asyncio.to_thread(sys.stdin.readline), timeout=args.max_seconds)
    parts = line.split()
    if len(parts) != 3 or parts[0] != "WINDOW":
        os._exit(1)  # the orchestrator went away or gave up
    stats.t0, stats.t1 = float(parts[1]), float(parts[2])
    delay = stats.t1 - time.time()
    if delay > 0:
        await asyncio.sleep(min(delay, args.max_seconds))
    result = stats.result()
    result.update(
        connected=connected,
        failed=len(jobs) - connected,
        failures=dict(failures.most_common(5)),
        ramp_seconds=round(ramp_seconds, 1),
    )
    print("RESULT " + json.dumps(result), flush=True)
    # Thousands of sockets: let the kernel close them rather than a slow shutdown.
    os._exit(0)


def run(entry: Callable[[], Coroutine[Any, Any, None]] = main) -> None:
    """`entry` on uvloop when installed (bench/mixed_load.py runs its own this way)."""
    try:
        import uvloop  # what uvicorn runs the servers on, when installed
    except ImportError:  # pragma: no cover
        asyncio.run(entry())
    else:
        uvloop.run(entry())


if __name__ == "__main__":
    run()
