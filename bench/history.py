"""Long histories: one person's reads over 5,000 ended sessions, history vs recompute.

    .venv/bin/python bench/history.py            # about 4 minutes
    .venv/bin/python bench/history.py --quick    # about 1.5 minutes

One person with 5,000 ended sessions over the last year (seeded through the
store's `add_ended`, so their history is written as a real end writes it)
and --live other people each with a running session whose `sessionTicks` a
socket of this script watches. A focusgql server (a child process on the
embedded database, on disk) answers over HTTP:

    stats   me { stats { ...every field } }
    daily   me { dailyStats(from, to) } over 366 days
    page    each page of sessions(first: 100), walked to the end

read one at a time, then ten at once (the three mixed); meanwhile the
sockets record tick lateness (arrival - when the tick was due), also over a
quiet window first. The same run does it twice, on two servers over the same
data: `recompute` derives every figure from the sessions and pages with the
plain query (what focusgql did before the history), `history` is focusgql as
it is. Ratios matter: the machine is shared.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from pydantic import SecretStr

from focusgql.app import create_app
from focusgql.auth import TokenIssuer
from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start, truncate_to_ms
from focusgql.domain.user import User
from focusgql.settings import Settings
from focusgql.store.mongo import EmbeddedServer, free_port, init_database, make_client
from focusgql.store.sessions import MongoSessionRepository
from focusgql.store.users import MongoUserRepository

SECRET = "bench-history-" + "x" * 32
DATABASE = "focusgql_bench_history"
STATS = (
    "{ me { stats { totalSessions completedSessions totalFocusSeconds averageFocusScore "
    "lastFocusScore currentStreak longestStreak goalStreak } } }"
)
DAILY = (
    "query($from: Date!, $to: Date!) { me { dailyStats(from: $from, to: $to) "
    "{ date focusSeconds sessions completedSessions averageFocusScore goalMet } } }"
)
PAGE = (
    "query($after: String) { sessions(first: 100, after: $after) { edges { node { id "
    "status elapsedSeconds activeSeconds focusScore tags } } pageInfo { hasNextPage endCursor } } }"
)
TICKS = "subscription($id: ID!) { sessionTicks(sessionId: $id) { elapsedSeconds } }"


def settings_for(uri: str, data_dir: Path) -> Settings:
    return Settings(
        mongodb_uri=uri,
        database=DATABASE,
        data_dir=data_dir,
        jwt_secret=SecretStr(SECRET),
        rate_limit_mutations_per_user="1000000/minute",
        rate_limit_mutations_per_address="1000000/minute",
        log_level="warning",
    )


# -- the server (a child process of this script) --------------------------------


async def serve(uri: str, data_dir: Path, port: int, recompute: bool) -> None:
    app = create_app(settings_for(uri, data_dir))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during startup")
        await asyncio.sleep(0.05)
    if recompute:
        # The baseline: figures from every session, pages by the plain query.
        # The app's parts are in its lifespan state, which uvicorn keeps.
        wiring = server.lifespan.state["runtime"].wiring
        wiring.services.stats.from_history = False
        wiring.sessions_repo.pages_from_history = False
    print("ready", flush=True)
    await task


# -- seeding --------------------------------------------------------------------


async def seed(uri: str, sessions: int, live: int) -> tuple[str, list[tuple[str, str, datetime]]]:
    """The long-history person's token, and (token, session id, start) per live person."""
    client = make_client(uri)
    await init_database(client, DATABASE)
    users = MongoUserRepository(client[DATABASE]["users"])
    repo = MongoSessionRepository(client[DATABASE]["sessions"])
    defaults = settings_for(uri, Path("."))
    issuer = TokenIssuer(
        SECRET,
        defaults.jwt_issuer,
        defaults.jwt_audience,
        timedelta(seconds=defaults.token_ttl_seconds),
    )
    now = truncate_to_ms(datetime.now(UTC))
    person = User(repo.new_id(), "long@example.com", None, "Europe/Paris", now, 50)
    await users.add(person, "not-a-real-hash")
    rnd = random.Random(15)
    spacing = timedelta(days=365) / sessions
    ended = []
    for i in range(sessions):
        at = now - timedelta(days=365) + spacing * i
        seconds = rnd.randint(60, 3000)
        begun = FocusSession(
            id=repo.new_id(),
            user_id=person.id,
            target_minutes=25,
            content_id=None,
            timeline=start(at, rnd.choice([15, 3600])),
            last_activity_at=at,
            last_signal_at=at,
            tags=tuple(rnd.sample(["thesis", "reading", "code"], rnd.randint(0, 2))),
        )
        status = Status.COMPLETED if rnd.random() < 0.8 else Status.ABANDONED
        ended.append(begun.ended(at + timedelta(seconds=seconds), status))
    began = time.perf_counter()
    await repo.add_ended(ended)
    print(f"seeded {sessions} ended sessions in {time.perf_counter() - began:.1f} s")
    watched = []
    for n in range(live):
        other = User(repo.new_id(), f"live-{n}@example.com", None, "UTC", now)
        await users.add(other, "not-a-real-hash")
        running = FocusSession(
            id=repo.new_id(),
            user_id=other.id,
            target_minutes=600,
            content_id=None,
            timeline=start(now, 15),
            last_activity_at=now,
            last_signal_at=now,
        )
        await repo.add(running)
        watched.append((issuer.issue(other.id, now), running.id, now))
    await client.close()
    return issuer.issue(person.id, now), watched


# -- measuring ------------------------------------------------------------------


@dataclass
class Lateness:
    phase: str = "quiet"
    by_phase: dict[str, list[float]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    """Ticks never sent (a frame's elapsedSeconds more than one past the last)."""

    def skip(self, ticks: int) -> None:
        self.skipped[self.phase] = self.skipped.get(self.phase, 0) + ticks

    def add(self, ms: float) -> None:
        self.by_phase.setdefault(self.phase, []).append(ms)


async def watch(url: str, token: str, sid: str, started: datetime, late: Lateness) -> None:
    async with websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        await ws.recv()
        payload = {"query": TICKS, "variables": {"id": sid}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        last: int | None = None
        async for message in ws:
            arrived = datetime.now(UTC)
            frame = json.loads(message)
            if frame.get("type") != "next":
                continue
            elapsed = frame["payload"]["data"]["sessionTicks"]["elapsedSeconds"]
            if last is not None:  # the first frame answers the subscribe, not a tick
                due = started + timedelta(seconds=elapsed)
                late.add((arrived - due).total_seconds() * 1000)
                late.skip(max(0, elapsed - last - 1))
            last = elapsed


async def timed(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> tuple[float, Any]:
    began = time.perf_counter()
    answer = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    ms = (time.perf_counter() - began) * 1000
    body = answer.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return ms, body["data"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def pages(http: httpx.AsyncClient, limit: int) -> list[float]:
    times, after = [], None
    while len(times) < limit:
        ms, data = await timed(http, PAGE, {"after": after})
        times.append(ms)
        info = data["sessions"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    return times


async def measure(
    label: str,
    url: str,
    token: str,
    watched: list[tuple[str, str, datetime]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    late = Lateness()
    ws_url = url.replace("http://", "ws://") + "/graphql"
    sockets = [asyncio.create_task(watch(ws_url, t, s, at, late)) for t, s, at in watched]
    today = datetime.now(UTC).date()
    span = {"from": str(today - timedelta(days=365)), "to": str(today)}
    reads = args.reads if label == "history" else args.baseline_reads
    result: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(
            base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            await asyncio.sleep(args.quiet)
            late.phase = "reads"
            # The first read builds the history (the seed wrote records, but a
            # header only a build marks complete): not counted.
            await timed(http, STATS)
            result["stats"] = [(await timed(http, STATS))[0] for _ in range(reads)]
            result["daily"] = [(await timed(http, DAILY, span))[0] for _ in range(reads)]
            result["page"] = await pages(http, 1000 if label == "history" else args.baseline_pages)
            late.phase = "ten at once"
            kinds = [(STATS, None), (DAILY, span), (PAGE, {"after": None})]
            each: list[float] = []
            walls: list[float] = []
            for _ in range(reads if label == "history" else max(1, reads // 2)):
                began = time.perf_counter()
                done = await asyncio.gather(*(timed(http, *kinds[i % 3]) for i in range(10)))
                walls.append((time.perf_counter() - began) * 1000)
                each.extend(ms for ms, _ in done)
            result["ten at once (each)"] = each
            result["ten at once (all)"] = walls
            late.phase = "after"
            await asyncio.sleep(1.5)
    finally:
        for task in sockets:
            task.cancel()
        await asyncio.gather(*sockets, return_exceptions=True)
    result["lateness"] = late.by_phase
    result["skipped"] = late.skipped
    return result


@contextlib.asynccontextmanager
async def server(uri: str, data_dir: Path, recompute: bool) -> AsyncIterator[str]:
    port = free_port()
    command = [sys.executable, __file__, "--serve", uri, str(data_dir), str(port)]
    process = await asyncio.create_subprocess_exec(
        *(command + (["--recompute"] if recompute else [])), stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        while (line := await process.stdout.readline()) and line.strip() != b"ready":
            pass
        if process.returncode is not None or not line:
            raise RuntimeError("the server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()


def report(results: dict[str, dict[str, Any]]) -> None:
    print("\nreads (ms)                 path        n     p50     p99")
    for name in ("stats", "daily", "page", "ten at once (each)", "ten at once (all)"):
        for label, result in results.items():
            values = result[name]
            print(
                f"  {name:24s} {label:10s} {len(values):4d} {statistics.median(values):7.1f} "
                f"{percentile(values, 0.99):7.1f}"
            )
    print("\ntick lateness (ms)         path        n     p50     p99     max  skipped")
    for phase in ("quiet", "reads", "ten at once"):
        for label, result in results.items():
            values = result["lateness"].get(phase, [])
            if values:
                print(
                    f"  {phase:24s} {label:10s} {len(values):4d} {statistics.median(values):7.1f} "
                    f"{percentile(values, 0.99):7.1f} {max(values):7.1f} "
                    f"{result['skipped'].get(phase, 0):8d}"
                )


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="focusgql-bench-history-"))
    database = EmbeddedServer(workdir / "db")
    database.start()
    try:
        token, watched = await seed(database.uri, args.sessions, args.live)
        results = {}
        for label in ("recompute", "history"):
            async with server(
                database.uri, workdir / "data", recompute=label == "recompute"
            ) as url:
                results[label] = await measure(label, url, token, watched, args)
        report(results)
    finally:
        database.stop()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer reads and sockets")
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--live", type=int, default=50, help="people whose ticks are watched")
    parser.add_argument("--reads", type=int, default=40, help="reads of each kind (history)")
    parser.add_argument(
        "--baseline-reads", type=int, default=8, help="reads of each kind (recompute)"
    )
    parser.add_argument("--baseline-pages", type=int, default=15, help="pages walked (recompute)")
    parser.add_argument("--quiet", type=float, default=5.0, help="seconds of ticks before reading")
    parser.add_argument(
        "--serve", nargs=3, metavar=("URI", "DATA_DIR", "PORT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--recompute", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.live, args.reads, args.baseline_reads, args.baseline_pages, args.quiet = (
            10,
            10,
            3,
            5,
            3.0,
        )
    return args


if __name__ == "__main__":
    options = parse()
    if options.serve:
        uri, data_dir, port = options.serve
        os.environ.pop("FOCUSGQL_MONGODB_URI", None)
        asyncio.run(serve(uri, Path(data_dir), int(port), options.recompute))
    else:
        asyncio.run(main(options))
