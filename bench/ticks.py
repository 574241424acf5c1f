"""Live ticks under load: focusgql beside a bare Strawberry app, measured in one run.

    .venv/bin/python bench/ticks.py            # the full run (~30 minutes)
    .venv/bin/python bench/ticks.py --quick    # a smoke run (~2 minutes)

For each server (`focusgql serve`, and bench/bare_app.py as the baseline) and
each level N, on a freshly started server pinned to one core: N WebSocket
connections, one `sessionTicks` subscription each (a plain scalar selection),
opened in batches by bench/load.py on the other core; then, over a window,
tick lateness (receive time - due time: p50, p99, max), skipped and
duplicated ticks, messages per second, the server's CPU (% of one core) and
resident memory per subscription. A server sustains N when p99 lateness is
within --p99-ms, no tick is skipped and every subscription connected and kept
ticking; stepping a server stops at its first failing level. If the load
generator itself used more than --client-bound % of its core, the level is
marked client-bound: its figures say more about the client than the server.

focusgql's sessions and users are written straight into the database (the
sessions through the repository's `add_running`; tokens from focusgql's own
TokenIssuer; bench/harness/seed.py), so N
can be thousands without registering each through Argon2. Unless
FOCUSGQL_BENCH_MONGODB_URI names a server, SecantusDB is started in memory.

Last, database writes per session-minute while sessions only tick (no
mutation during the window): each write to the sessions collection is seen
on a change stream, and the write commands on serverStatus op counters. The
original design wrote every session every second: 60 writes per session-minute.

Ratios matter, not absolute times: the machine is shared. Every child
process is stopped on exit, Ctrl-C included.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.levels import Level, Run
from harness.processes import (
    CHILDREN,
    full_gcs_in_window,
    http,
    kill_children,
    rss_kb,
    stop,
    wait_quiet,
)
from harness.report import HEADER, cpu_summary, row, stall_line, sustained
from harness.seed import Database, seed

LEVELS = [250, 500, 1000, 2000, 3000, 4000, 5000, 6000, 8000]
QUICK_LEVELS = [100, 300]
ORIGINAL_WRITES_PER_SESSION_MINUTE = 60
RECORD_ACTIVITY = "mutation($id: ID!) { recordActivity(sessionId: $id) { elapsedSeconds } }"


async def run_level(run: Run, server_kind: str, n: int) -> Level:
    label = f"{server_kind}-{n}"
    level = Level(server=server_kind, n=n)
    # "sse": the same focusgql server, its ticks read over GraphQL over SSE.
    real = "focusgql" if server_kind in ("focusgql", "sse") else server_kind
    if real == "focusgql":
        jobs = await seed(run.db, run.database_name(label), n, run.secret)
    else:
        jobs = [("not-checked", f"bare-{i}") for i in range(n)]
    processes: list[asyncio.subprocess.Process] = []
    try:
        server, port, _ = await run.start_server(real, label)
        processes.append(server)
        await asyncio.sleep(1)
        level.rss_before_kb = rss_kb(server.pid)
        extra = ["--transport", "sse"] if server_kind == "sse" else []
        loads = await run.start_load(jobs, port, label, extra=extra)
        processes[:0] = loads
        await run.measure(level, server, loads, run.args.window)
        level.full_gcs = full_gcs_in_window(run.gc_log(label), level.t0, level.window)
        if server.returncode is not None:
            level.problems.append("server died")
    except (RuntimeError, TimeoutError, OSError) as error:
        level.problems.append(f"error: {error}")
    finally:
        for process in processes:
            await stop(process)
        if real == "focusgql":
            await run.db.drop(run.database_name(label))
    level.judge(run.args.p99_ms)
    return level


# -- writes while ticking --------------------------------------------------------


@dataclass
class Writes:
    sessions: int
    window: float
    watched_only: int = 0
    watched_only_writes: int = 0
    observed: int = 0
    observed_writes: int = 0
    other_writes: int = 0
    change_stream: str = "ok"
    write_commands: float = float("nan")
    ticks: Level | None = None

    def per_session_minute(self, writes: int, sessions: int) -> float:
        return writes / (sessions * self.window / 60) if sessions and self.window else 0.0


async def measure_writes(run: Run) -> Writes:
    """Ticking only: sessions just watched, and sessions this process has also seen
    a mutation for (one recordActivity each, before the window), which the
    checkpointer then keeps refreshing."""
    n = run.args.writes_sessions
    label = f"writes-{n}"
    writes = Writes(sessions=n, window=run.args.writes_seconds)
    jobs = await seed(run.db, run.database_name(label), n, run.secret)
    tokens = dict((session_id, token) for token, session_id in jobs)
    observed = {session_id for _, session_id in jobs[: n // 2]}
    watched = set(tokens) - observed
    writes.observed, writes.watched_only = len(observed), len(watched)
    collection = run.db.client[run.database_name(label)]["sessions"]
    events: list[tuple[float, str]] = []
    opened = asyncio.Event()
    counters: list[dict[str, int]] = []
    processes: list[asyncio.subprocess.Process] = []
    level = Level(server="focusgql", n=n)
    writes.ticks = level

    async def follow() -> None:
        async with await collection.watch() as stream:
            opened.set()
            async for change in stream:
                events.append((time.time(), str(change.get("documentKey", {}).get("_id"))))

    follower = asyncio.create_task(follow())

    async def record_activity(port: int, session_id: str, gate: asyncio.Semaphore) -> int:
        body = json.dumps({"query": RECORD_ACTIVITY, "variables": {"id": session_id}}).encode()
        async with gate:
            return await http(port, "POST", "/graphql", body, tokens[session_id])

    async def opcounters() -> None:
        with contextlib.suppress(Exception):
            status = await run.db.client.admin.command("serverStatus")
            counters.append(status["opcounters"])

    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(opened.wait(), 10)
        server, port, _ = await run.start_server("focusgql", label)
        processes.append(server)
        loads = await run.start_load(jobs, port, label)
        processes[:0] = loads

        async def on_ready() -> None:
            gate = asyncio.Semaphore(10)
            statuses = await asyncio.gather(
                *(record_activity(port, s, gate) for s in sorted(observed))
            )
            bad = Counter(s for s in statuses if s != 200)
            if bad:
                print(f"    recordActivity answered {dict(bad)}", flush=True)

        await run.measure(level, server, loads, writes.window, on_ready, opcounters, opcounters)
    except (RuntimeError, TimeoutError, OSError) as error:
        level.problems.append(f"error: {error}")
    finally:
        for process in processes:
            await stop(process)
        follower.cancel()
        with contextlib.suppress(BaseException):
            await follower
        if not opened.is_set():
            failure = follower.exception() if not follower.cancelled() else None
            writes.change_stream = f"unavailable ({failure or 'did not open'})"
        await run.db.drop(run.database_name(label))
    level.judge(run.args.p99_ms)
    in_window = [key for at, key in events if level.t0 <= at <= level.t0 + writes.window]
    writes.observed_writes = sum(1 for key in in_window if key in observed)
    writes.watched_only_writes = sum(1 for key in in_window if key in watched)
    writes.other_writes = len(in_window) - writes.observed_writes - writes.watched_only_writes
    if len(counters) == 2:
        writes.write_commands = sum(
            counters[1].get(kind, 0) - counters[0].get(kind, 0)
            for kind in ("insert", "update", "delete")
        )
    return writes


# -- reporting -------------------------------------------------------------------


def report(args: argparse.Namespace, levels: list[Level], writes: Writes | None, code: str) -> str:
    out = [
        f"focusgql bench/ticks.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        f"command: {' '.join(['.venv/bin/python', 'bench/ticks.py', *sys.argv[1:]])}",
        f"code: {code} (focusgql/ copied at the start; every level serves that copy)",
        f"window {args.window:g} s per level; servers on core {args.server_cpu}, "
        f"{args.clients} load process(es) on core {args.client_cpu}; "
        f"lateness = receive time - due time; pass: p99 <= {args.p99_ms:g} ms, no skipped tick",
        "CPU% = server (% of one core); us/msg = server CPU per delivered tick; "
        "client% = load generator(s); db% = embedded database; "
        "noise s/c/o% = % of the window the server / client waited for a CPU held by someone "
        "else, and other processes' load on the server's core; GC2 n/ms = the server's full "
        "garbage collections in the window / the longest, in ms (bench/gcwatch)",
        "",
        HEADER,
        *(row(level) for level in levels),
        "",
        *filter(None, (stall_line(level) for level in levels)),
    ]
    found = {}
    for server in args.servers:
        best, note = sustained(levels, server)
        found[server] = best
        out.append(f"sustained N, {server}: {best}{note}")
    if "focusgql" in found and "bare" in found:
        if found["bare"]:
            ratio = found["focusgql"] / found["bare"]
            out.append(
                f"ratio focusgql / bare: {ratio:.2f}x "
                f"(target: >= 2x and focusgql >= 5000: "
                f"{'met' if ratio >= 2 and found['focusgql'] >= 5000 else 'not met'})"
            )
        else:
            out.append("ratio focusgql / bare: bare sustained no level (use lower --levels)")
    out.extend(cpu_summary(levels, args))
    if writes is not None:
        out.append("")
        out.append(
            f"database writes while ticking ({writes.sessions} subscribed sessions, "
            f"{writes.window:g} s window, no mutation in the window; change stream "
            f"{writes.change_stream}):"
        )
        a = writes.per_session_minute(writes.watched_only_writes, writes.watched_only)
        b = writes.per_session_minute(writes.observed_writes, writes.observed)
        out.append(
            f"  watched only:                         {a:5.2f} writes/session-minute "
            f"({writes.watched_only_writes} writes, {writes.watched_only} sessions)"
        )
        out.append(
            f"  watched + one recordActivity before:  {b:5.2f} writes/session-minute "
            f"({writes.observed_writes} writes, {writes.observed} sessions)"
        )
        out.append(
            f"  original design:                      {ORIGINAL_WRITES_PER_SESSION_MINUTE:5d} "
            f"writes/session-minute (every session, every second)"
        )
        if writes.write_commands == writes.write_commands:
            per_minute = writes.write_commands / (writes.window / 60)
            out.append(
                f"  write commands (serverStatus opcounters insert+update+delete): "
                f"{per_minute:.1f}/minute for all {writes.sessions} sessions "
                f"({per_minute / writes.sessions:.3f} per session-minute; a bulk write is one)"
            )
        if writes.other_writes:
            out.append(f"  other documents written in the window: {writes.other_writes}")
        if writes.ticks is not None:
            out.append(f"  ticks meanwhile: {row(writes.ticks)}")
    return "\n".join(out)


# -- main ------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: small levels, short")
    parser.add_argument("--levels", help=f"comma-separated N (default {LEVELS})")
    parser.add_argument(
        "--servers",
        default="focusgql,bare",
        help="default focusgql,bare; sse: focusgql with its ticks read over SSE",
    )
    parser.add_argument(
        "--window",
        type=float,
        help="seconds measured per level (default 60: a full garbage collection comes "
        "about once a minute at thousands of subscriptions, and a shorter window "
        "samples p99 by whether it caught one)",
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after ramp-up")
    parser.add_argument("--batch", type=int, default=250, help="connections opened at once")
    parser.add_argument("--clients", type=int, default=1, help="load processes (same core)")
    parser.add_argument("--ramp-timeout", type=float, default=0.0, help="default 30 + 0.04 N s")
    parser.add_argument("--p99-ms", type=float, default=250.0)
    parser.add_argument(
        "--client-bound", type=float, default=85.0, help="load CPU %% that taints a level"
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=10.0,
        help="a failed level is retried if the server or client waited for a CPU\n"
        "held by another process more than this %% of the window",
    )
    parser.add_argument("--retries", type=int, default=2, help="retries of a noisy failed level")
    parser.add_argument("--quiet-wait", type=float, default=60.0, help="max wait before a retry")
    parser.add_argument(
        "--pre-wait", type=float, default=20.0, help="max wait for quiet cores before a level"
    )
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--no-writes", action="store_true", help="skip the writes measurement")
    parser.add_argument("--writes-sessions", type=int, help="default 200 (quick: 40)")
    parser.add_argument("--writes-seconds", type=float, help="default 60 (quick: 15)")
    parser.add_argument("--py-spy", help="py-spy binary: record the server in each window")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep logs and jobs (printed path)")
    args = parser.parse_args()
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(args.servers) - {"focusgql", "bare", "sse"}
    if unknown:
        parser.error(f"unknown servers: {sorted(unknown)}")
    if args.levels:
        args.levels = sorted({int(n) for n in args.levels.split(",")})
    else:
        args.levels = QUICK_LEVELS if args.quick else LEVELS
    args.window = args.window or (5.0 if args.quick else 60.0)
    args.writes_sessions = args.writes_sessions or (40 if args.quick else 200)
    args.writes_seconds = args.writes_seconds or (15.0 if args.quick else 60.0)
    return args


async def amain(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def terminate() -> None:
        print("SIGTERM: stopping", file=sys.stderr, flush=True)
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    cores = os.sched_getaffinity(0)
    if {args.server_cpu, args.client_cpu} <= cores and args.server_cpu != args.client_cpu:
        # The orchestrator and the embedded database stay off the server's core.
        os.sched_setaffinity(0, {args.client_cpu})
    else:
        print(f"warning: cores {sorted(cores)}: not pinning", file=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="focusgql-bench-"))
    db = Database(os.environ.get("FOCUSGQL_BENCH_MONGODB_URI") or None)
    levels: list[Level] = []
    writes: Writes | None = None
    try:
        run = Run(args, db, workdir)
        print(f"logs in {workdir}; database {'embedded' if db.embedded else 'external'}")
        print(HEADER, flush=True)
        alive = list(args.servers)
        for n in args.levels:  # interleaved, so both servers see the same noise
            for server in list(alive):
                tries: list[Level] = []
                for attempt in range(1, args.retries + 2):
                    await wait_quiet(args, args.quiet_wait if attempt > 1 else args.pre_wait)
                    level = await run_level(run, server, n)
                    level.attempts = attempt
                    tries.append(level)
                    print(row(level), flush=True)
                    if (stalls := stall_line(level)) is not None:
                        print(stalls, flush=True)
                    if level.ok or not level.noisy(args.noise) or attempt > args.retries:
                        break
                    print(f"    noisy machine: retrying {server} {n}", flush=True)
                # A pass stands; of failures, the least disturbed attempt is kept.
                if not level.ok:
                    level = min(tries, key=Level.disturbance)
                levels.append(level)
                if not level.ok:
                    alive.remove(server)
            if not alive:
                break
        if not args.no_writes and "focusgql" in args.servers:
            print(f"writes: {args.writes_sessions} sessions, {args.writes_seconds:g} s", flush=True)
            writes = await measure_writes(run)
        text = report(args, levels, writes, run.code)
        print("\n" + text)
        if args.json:
            figures = {
                "levels": [level.as_dict() for level in levels],
                "writes": writes and {k: v for k, v in vars(writes).items() if k != "ticks"},
                "report": text,
            }
            with open(args.json, "w") as file:  # noqa: ASYNC230 - once, at the end
                json.dump(figures, file, indent=2)
        return 0
    finally:
        for process in list(CHILDREN):
            await stop(process, grace=5)
        await db.close()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    import atexit

    atexit.register(kill_children)
    args = parse_args()
    try:
        return asyncio.run(amain(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except asyncio.CancelledError:
        print("cancelled (SIGTERM?)", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())
