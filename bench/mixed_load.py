"""Load generator for bench/mixed.py: the dashboard's traffic, person by person.

Run by mixed.py (pinned to the load core), never by hand in normal use:

    python bench/mixed_load.py --url ws://127.0.0.1:PORT/graphql --jobs JOBS.json \\
        [--activity-over ws|http]

JOBS.json is a list of [token, session_id, source_address]. Per person, one
graphql-transport-ws connection from its own loopback address (so per-address
rate limits see one person, as they would in production): `connection_init`
with the token, a `session(id) { startedAt }` query (what the dashboard page
loads first; it gives the due time of every tick), then the `sessionTicks`
subscription. Once its first snapshot is in, the person reports activity
(`recordActivity`) once a second at a random phase of the second, and a tab
switch (`recordTabSwitch`) every 30 s at a random phase of the 30 s: over the
same socket (`--activity-over ws`, a `subscribe` message each) or as `POST
/graphql` with `Authorization: Bearer` on a keep-alive HTTP/1.1 connection of
its own (`--activity-over http`, as the dashboard page does today; one
request at a time per connection, a request due while one is in flight waits,
and its wait counts in its latency).

Protocol with the orchestrator, as bench/load.py's: it prints `READY
<connected> <failed> <seconds>`, reads `WINDOW <t0> <t1>` on stdin, and
`--grace` seconds after t1 prints `RESULT <json>` and exits.

Measured in the window:
- ticks: lateness = receive time - (startedAt + elapsedSeconds), a histogram
  of whole ms; a jump of elapsedSeconds by more than one is skipped ticks; a
  frame whose elapsedSeconds was already seen is a change frame (an answer to
  activity), counted apart and kept out of lateness;
- signals sent in [t0, t1): answer latency (send, or due time if it had to
  wait, to the `next` or the HTTP response), errors by `extensions.code`,
  protocol errors (`error` messages such as "Subscription limit reached", by
  message), HTTP statuses, and signals still unanswered `--grace` s after t1;
- per person, idleSeconds at its first and last tick in the window: a person
  whose idleSeconds rose although every signal it ever sent was answered
  without error is reported (the server lost activity);
- the generator's own lag: how late its 10 ms scheduler woke, a measure of
  whether the generator itself was the limit.

It is built to be cheap: websockets' sans-I/O protocol on asyncio.Protocol
(no task or future per message), messages pre-built per person, regular
expressions on the bytes instead of json.loads per tick, and one scheduler
wheel for every person instead of a timer each.
"""

import argparse
import asyncio
import gc
import json
import math
import os
import random
import re
import resource
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from load import PROTOCOL, run
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

TICKS = (
    "subscription($id: ID!) { sessionTicks(sessionId: $id) "
    "{ elapsedSeconds activeSeconds idleSeconds isIdle } }"
)
ACTIVITY = "mutation($id: ID!) { recordActivity(sessionId: $id) { elapsedSeconds } }"
TAB_SWITCH = "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { tabSwitches } }"
STARTED = "query($id: ID!) { session(id: $id) { startedAt } }"
TAB_PERIOD = 30
SLOT = 0.01
"""The scheduler's step: signals go out within 10 ms of their phase."""

ELAPSED = re.compile(rb'"elapsedSeconds":\s*(\d+)')
OP_ID = re.compile(rb'"id":\s*"([^"]*)"')
IDLE = re.compile(rb'"idleSeconds":\s*(\d+)')
TICK_ID = b"t"
STARTED_ID = b"q"


class Stats:
    def __init__(self) -> None:
        self.t0 = float("inf")
        self.t1 = float("-inf")
        self.lateness_ms: Counter[int] = Counter()
        self.worst_ms: dict[int, int] = {}
        self.ticks = 0
        self.skipped = 0
        self.skip_events = 0
        self.changes = 0
        self.answers_ms: Counter[int] = Counter()
        self.sent = 0
        self.sent_by_kind: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        """Errors of signals sent in the window, and of tick subscriptions."""
        self.errors_outside: Counter[str] = Counter()
        """Errors of signals sent outside the window (ramp, settle)."""
        self.closed: Counter[str] = Counter()
        self.reconnects = 0
        self.lag_ms: Counter[int] = Counter()


def error_keys(body: bytes, protocol: bool = False) -> list[str]:
    """`extensions.code` of each error in a GraphQL response (or the message)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ["unparsable answer"]
    errors = parsed if isinstance(parsed, list) else None
    if isinstance(parsed, dict):
        errors = parsed.get("errors")
        if errors is None and isinstance(parsed.get("payload"), list | dict):
            payload = parsed["payload"]
            errors = payload if isinstance(payload, list) else payload.get("errors")
    if not errors:
        return []
    keys = []
    for error in errors:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if code and not protocol:
            keys.append(str(code))
        else:
            message = error.get("message") if isinstance(error, dict) else error
            keys.append(f"{'protocol error' if protocol else 'error'}: {str(message)[:80]}")
    return keys


class Person:
    """One person's dashboard: its socket, its ticks and its signals."""

    def __init__(
        self, token: str, session_id: str, address: str, stats: Stats, ready: asyncio.Future[str]
    ) -> None:
        self.token = token
        self.session_id = session_id
        self.address = address
        self.stats = stats
        self.ready = ready
        self.started = 0.0
        self.max_elapsed = -1
        self.window_ticks = 0
        self.idle_first = -1
        self.idle_last = -1
        self.clean = True
        """Every signal so far answered without error."""
        self.pending: dict[bytes, tuple[float, bool]] = {}
        """Signals awaiting their answer: (sent at, sent in the window)."""
        self.serial = 0
        sid = json.dumps(session_id)
        self.messages = {
            kind: (
                ',"type":"subscribe","payload":{"query":'
                + json.dumps(query)
                + ',"variables":{"id":'
                + sid
                + "}}}"
            ).encode()
            for kind, query in (("a", ACTIVITY), ("s", TAB_SWITCH))
        }
        self.ws: WebSocket | None = None
        self.http: HttpSignals | None = None

    # -- signals

    def signal(self, kind: str, now: float) -> None:
        """Send one recordActivity ("a") or recordTabSwitch ("s") now."""
        self.serial += 1
        op = b"%s%d" % (kind.encode(), self.serial)
        in_window = self.stats.t0 <= now < self.stats.t1
        if in_window:
            self.stats.sent += 1
            self.stats.sent_by_kind[kind] += 1
        self.pending[op] = (now, in_window)
        if self.http is not None:
            self.http.request(op, kind, now)
        elif self.ws is not None:
            self.ws.send(b'{"id":"' + op + b'"' + self.messages[kind])

    def answered(self, op: bytes, body: bytes, errors: list[str]) -> None:
        entry = self.pending.pop(op, None)
        if entry is None:
            return
        sent, in_window = entry
        if errors:
            self.clean = False
            (self.stats.errors if in_window else self.stats.errors_outside).update(errors)
        if in_window:
            self.stats.answers_ms[round((time.time() - sent) * 1000)] += 1

    # -- ticks

    def tick(self, data: bytes, now: float) -> None:
        match = ELAPSED.search(data)
        if match is None:
            if not self.ready.done():
                self.ended(f"ticks: {data[:200].decode(errors='replace')}")
            elif b'"errors"' in data or b'"type":"error"' in data:
                self.stats.errors.update(error_keys(data, b'"type":"error"' in data))
                self.clean = False
            elif b'"complete"' in data:
                self.stats.closed["tick subscription completed"] += 1
            return
        elapsed = int(match.group(1))
        if self.max_elapsed < 0:
            self.max_elapsed = elapsed
            self.ready.set_result("")  # the snapshot sent at subscribe time: no due time
            return
        stats = self.stats
        if stats.t0 <= now <= stats.t1:
            idle = IDLE.search(data)
            if idle is not None:
                self.idle_last = int(idle.group(1))
                if self.idle_first < 0:
                    self.idle_first = self.idle_last
            if elapsed <= self.max_elapsed:
                stats.changes += 1
                return
            self.window_ticks += 1
            stats.ticks += 1
            if elapsed > self.max_elapsed + 1:
                stats.skipped += elapsed - self.max_elapsed - 1
                stats.skip_events += 1
            late = round((now - self.started - elapsed) * 1000)
            stats.lateness_ms[late] += 1
            second = int(now - stats.t0)
            if late > stats.worst_ms.get(second, -(1 << 30)):
                stats.worst_ms[second] = late
        if elapsed > self.max_elapsed:
            self.max_elapsed = elapsed

    def ended(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_result(reason or "failed")
        else:
            self.stats.closed[reason] += 1
            self.clean = False


class WebSocket(asyncio.Protocol):
    """graphql-transport-ws on websockets' sans-I/O protocol."""

    def __init__(self, person: Person, url: str) -> None:
        self.person = person
        self.protocol = ClientProtocol(parse_uri(url), subprotocols=[PROTOCOL], max_size=1 << 20)
        self.transport: asyncio.Transport | None = None
        self.fragments: list[bytes] = []
        self.gone = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.protocol.send_request(self.protocol.connect())
        self.flush()

    def flush(self) -> None:
        out = self.protocol.data_to_send()
        if out and self.transport is not None:
            self.transport.writelines(out)
        if self.protocol.close_expected() and self.transport is not None:
            self.transport.close()

    def send(self, data: bytes) -> None:
        if self.gone:
            return
        self.protocol.send_text(data)
        self.flush()

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            if type(event) is Frame:
                if event.opcode is Opcode.TEXT or event.opcode is Opcode.CONT:
                    if not event.fin:
                        self.fragments.append(bytes(event.data))
                        continue
                    text = bytes(event.data)
                    if self.fragments:
                        text = b"".join([*self.fragments, text])
                        self.fragments.clear()
                    self.message(text)
            elif isinstance(event, Response):
                self.handshake()
        self.flush()

    def handshake(self) -> None:
        error = self.protocol.handshake_exc
        if error is not None:
            self.end(f"handshake: {type(error).__name__}: {str(error)[:100]}")
            return
        init = {
            "type": "connection_init",
            "payload": {"authorization": f"Bearer {self.person.token}"},
        }
        self.send(json.dumps(init).encode())

    def message(self, data: bytes) -> None:
        now = time.time()
        person = self.person
        match = OP_ID.search(data, 0, 40)
        op = match.group(1) if match is not None else None
        if op == TICK_ID:
            person.tick(data, now)
        elif op is not None and op in person.pending:
            if b'"type":"complete"' in data:
                person.answered(op, data, ["complete without an answer"])
            elif b'"type":"error"' in data:
                person.answered(op, data, error_keys(data, protocol=True))
            else:
                errors = error_keys(data) if b'"errors"' in data else []
                person.answered(op, data, errors)
        elif op == STARTED_ID:
            self.started_at(data)
        elif op is None:
            kind = json.loads(data).get("type")
            if kind == "connection_ack":
                query = {"query": STARTED, "variables": {"id": person.session_id}}
                self.subscribe(STARTED_ID, query)
            elif kind == "ping":
                self.send(b'{"type":"pong"}')
            elif kind != "pong":
                person.ended(f"unexpected message: {data[:120].decode(errors='replace')}")
        # else: the `complete` that follows an answer

    def started_at(self, data: bytes) -> None:
        if b'"type":"complete"' in data:
            return
        person = self.person
        try:
            stamp = json.loads(data)["payload"]["data"]["session"]["startedAt"]
            person.started = datetime.fromisoformat(stamp).timestamp()
        except (ValueError, KeyError, TypeError):
            person.ended(f"session query: {data[:200].decode(errors='replace')}")
            return
        query = {"query": TICKS, "variables": {"id": person.session_id}}
        self.subscribe(TICK_ID, query)

    def subscribe(self, op: bytes, payload: dict[str, Any]) -> None:
        message = {"id": op.decode(), "type": "subscribe", "payload": payload}
        self.send(json.dumps(message).encode())

    def end(self, reason: str) -> None:
        if not self.gone:
            self.gone = True
            self.person.ended(reason)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        code = self.protocol.close_code
        if code is not None:
            reason = f"closed {code} {self.protocol.close_reason or ''}".strip()
            if code == 1000:
                reason = "closed by server (1000)"
        else:
            reason = f"connection lost{f': {exc}' if exc else ''}"
        self.end(reason)


class HttpSignals(asyncio.Protocol):
    """A person's keep-alive HTTP/1.1 connection for `POST /graphql`, one request
    at a time; reconnects if the server closes it between requests."""

    def __init__(self, person: Person, url: str) -> None:
        self.person = person
        parts = urlsplit(url.replace("ws", "http", 1))
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        head = (
            f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Authorization: Bearer {person.token}\r\n"
        )
        self.requests = {}
        for kind, query in (("a", ACTIVITY), ("s", TAB_SWITCH)):
            body = json.dumps({"query": query, "variables": {"id": person.session_id}})
            self.requests[kind] = f"{head}Content-Length: {len(body)}\r\n\r\n{body}".encode()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.in_flight: bytes | None = None
        self.queue: list[tuple[bytes, str]] = []
        self.connecting = False

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(
            lambda: self, self.host, self.port, local_addr=(self.person.address, 0)
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.connecting = False
        self.next()

    def request(self, op: bytes, kind: str, now: float) -> None:
        self.queue.append((op, kind))
        if self.in_flight is None:
            self.next()

    def next(self) -> None:
        if self.in_flight is not None or not self.queue:
            return
        if self.transport is None or self.transport.is_closing():
            if not self.connecting:
                self.connecting = True
                self.person.stats.reconnects += 1
                asyncio.get_running_loop().create_task(self.reopen())
            return
        op, kind = self.queue.pop(0)
        self.in_flight = op
        self.transport.write(self.requests[kind])

    async def reopen(self) -> None:
        try:
            await self.open()
        except OSError as error:
            self.connecting = False
            for op, _ in self.queue:
                self.person.answered(op, b"", [f"HTTP connect: {error}"[:80]])
            self.queue.clear()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.in_flight is not None:
            response = self.parse()
            if response is None:
                return
            status, body = response
            op, self.in_flight = self.in_flight, None
            errors = error_keys(body) if b'"errors"' in body else []
            if status != 200 and not errors:
                errors = [f"HTTP {status}"]
            self.person.answered(op, body, errors)
            self.next()

    def parse(self) -> tuple[int, bytes] | None:
        """One complete response off the buffer, or None if it is not all in yet."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in head[1:])
        }
        start = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, position = bytearray(), start
            while True:
                line_end = self.buffer.find(b"\r\n", position)
                if line_end < 0:
                    return None
                size = int(bytes(self.buffer[position:line_end]).split(b";")[0], 16)
                if len(self.buffer) < line_end + 2 + size + 2:
                    return None
                body += self.buffer[line_end + 2 : line_end + 2 + size]
                position = line_end + 2 + size + 2
                if size == 0:
                    del self.buffer[:position]
                    return status, bytes(body)
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < start + length:
            return None
        body = bytes(self.buffer[start : start + length])
        del self.buffer[: start + length]
        return status, body

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.buffer.clear()
        if self.in_flight is not None:
            op, self.in_flight = self.in_flight, None
            self.person.answered(op, b"", ["HTTP connection lost mid-request"])
        if self.queue:
            self.next()


class Scheduler:
    """Every person's signals from one 10 ms wheel: activity at the person's
    phase of each second, a tab switch at its phase of each 30 s."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        per_second = round(1 / SLOT)
        self.activity: list[list[Person]] = [[] for _ in range(per_second)]
        self.tabs: list[list[Person]] = [[] for _ in range(per_second * TAB_PERIOD)]

    def add(self, person: Person) -> None:
        random.choice(self.activity).append(person)
        random.choice(self.tabs).append(person)

    async def drive(self) -> None:
        stats = self.stats
        step = math.ceil(time.time() / SLOT)
        while True:
            due = step * SLOT
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.time()
            if stats.t0 <= due <= stats.t1:
                stats.lag_ms[round((now - due) * 1000)] += 1
            for person in self.activity[step % len(self.activity)]:
                person.signal("a", now)
            for person in self.tabs[step % len(self.tabs)]:
                person.signal("s", now)
            step += 1


async def open_person(person: Person, url: str, over_http: bool) -> None:
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    try:
        if over_http:
            person.http = HttpSignals(person, url)
            await person.http.open()
        socket = WebSocket(person, url)
        person.ws = socket
        await loop.create_connection(
            lambda: socket,
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            local_addr=(person.address, 0),
        )
    except OSError as error:
        person.ended(f"connect: {type(error).__name__}: {str(error)[:100]}")


async def ramp(
    people: list[Person],
    url: str,
    over_http: bool,
    batch: int,
    deadline: float,
    scheduler: Scheduler,
) -> tuple[int, Counter[str]]:
    """Open the connections `batch` at a time; each person starts its signals as
    soon as its first snapshot is in."""
    connected = 0
    failures: Counter[str] = Counter()
    for first in range(0, len(people), batch):
        group = people[first : first + batch]
        for person in group:
            person.ready.add_done_callback(
                lambda ready, p=person: scheduler.add(p) if not ready.result() else None
            )
            asyncio.get_running_loop().create_task(open_person(person, url, over_http))
        await asyncio.wait([p.ready for p in group], timeout=max(1.0, deadline - time.monotonic()))
        for person in group:
            if not person.ready.done():
                failures["no first snapshot before the ramp deadline"] += 1
            elif person.ready.result():
                failures[person.ready.result()[:160]] += 1
            else:
                connected += 1
        if time.monotonic() >= deadline:
            failures["not started: ramp deadline"] += len(people) - first - len(group)
            break
    return connected, failures


def histogram(counts: Counter[int]) -> list[tuple[int, int]]:
    return sorted(counts.items())


def result(stats: Stats, people: list[Person], connected: int) -> dict[str, Any]:
    unanswered = Counter()
    for person in people:
        for _, in_window in person.pending.values():
            if in_window:
                unanswered["unanswered at the window's end + grace"] += 1
                person.clean = False
    errors = stats.errors + unanswered
    live = [p for p in people if p.ready.done() and not p.ready.result()]
    rose = [p for p in live if p.clean and p.idle_first >= 0 and p.idle_last > p.idle_first]
    return {
        "messages": stats.ticks,
        "lateness_ms": histogram(stats.lateness_ms),
        "skipped": stats.skipped,
        "skip_events": stats.skip_events,
        "duplicated": 0,
        "changes": stats.changes,
        "silent": sum(1 for p in live if p.window_ticks == 0),
        "closed": dict(stats.closed),
        "worst_ms_by_second": sorted(stats.worst_ms.items()),
        "signals_sent": stats.sent,
        "signals_by_kind": dict(stats.sent_by_kind),
        "answers_ms": histogram(stats.answers_ms),
        "errors": dict(errors),
        "errors_outside_window": dict(stats.errors_outside),
        "idle_rose": len(rose),
        "idle_rose_examples": [[p.session_id, p.idle_first, p.idle_last] for p in rose[:3]],
        "unclean_people": sum(1 for p in live if not p.clean),
        "http_reconnects": stats.reconnects,
        "lag_ms": histogram(stats.lag_ms),
        "connected": connected,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", required=True, help="JSON: [[token, session_id, address], ...]")
    parser.add_argument("--activity-over", choices=("ws", "http"), default="ws")
    parser.add_argument("--batch", type=int, default=250, help="connections opened at once")
    parser.add_argument("--ramp-timeout", type=float, default=300.0)
    parser.add_argument("--grace", type=float, default=2.0, help="seconds for answers after t1")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="hard stop")
    args = parser.parse_args()
    with open(args.jobs) as file:  # noqa: ASYNC230 - before any connection
        jobs = [(str(t), str(s), str(a)) for t, s, a in json.load(file)]
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    loop = asyncio.get_running_loop()
    stats = Stats()
    people = [Person(t, s, a, stats, loop.create_future()) for t, s, a in jobs]
    scheduler = Scheduler(stats)
    driver = loop.create_task(scheduler.drive())
    began = time.monotonic()
    connected, failures = await ramp(
        people,
        args.url,
        args.activity_over == "http",
        args.batch,
        began + args.ramp_timeout,
        scheduler,
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
    delay = stats.t1 + args.grace - time.time()
    if delay > 0:
        await asyncio.sleep(min(delay, args.max_seconds))
    driver.cancel()
    figures = result(stats, people, connected)
    figures.update(
        failed=len(jobs) - connected,
        failures=dict(failures.most_common(5)),
        ramp_seconds=round(ramp_seconds, 1),
    )
    print("RESULT " + json.dumps(figures), flush=True)
    os._exit(0)  # thousands of sockets: let the kernel close them


if __name__ == "__main__":
    run(main)
