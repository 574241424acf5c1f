"""The dashboard's real traffic: ticks, activity every second and tab switches.

    .venv/bin/python bench/mixed.py                        # the full sweep, both placements
    .venv/bin/python bench/mixed.py --quick                # a smoke run (~3 minutes)
    .venv/bin/python bench/mixed.py --activity-over http   # signals as POST /graphql

Per person, what an open dashboard sends (bench/mixed_load.py): one
graphql-transport-ws WebSocket with a `sessionTicks` subscription; a
`recordActivity` mutation once a second at the person's own phase of the
second, and a `recordTabSwitch` every 30 s, over that same socket (or, with
`--activity-over http`, as `POST /graphql` with a bearer token on a keep-alive
connection of the person's own, as the dashboard page does today).

For each placement, server and level N, on a freshly started server, after
the ramp-up and --settle seconds of traffic, over --window seconds: tick
lateness (receive time - due time), skipped ticks and change frames (an
elapsedSeconds seen already: an answer to activity, not a tick), signal answer
latency, errors by `extensions.code` and protocol errors and closes, sessions
whose idleSeconds rose although every signal of theirs was answered, server
CPU per person-second, RSS per person, the database's write commands and
documents written per second and its CPU, and the load generator's own CPU
and lag. A level passes with tick p99 <= --p99-ms, answer p99 <=
--answer-p99-ms, no error, no skipped tick and no idle rise; stepping a
server stops at its first failing level. Servers: `focusgql serve` (sessions
and users seeded straight into the database, as bench/ticks.py does) and
bench/bare_app.py (in memory: no database, no authentication).

Placements (--placement; both by default): "db-own-core", the server alone on
core 0 with SecantusDB and the load generator on core 1; "one-core", the
server and SecantusDB on core 0, the load generator on core 1.
`--second-process` also starts a second focusgql process on the same database
that serves no one (only its change feed reaches it) and reports its CPU.

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
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.levels import Level, Run, quantile
from harness.processes import (
    BENCH,
    CHILDREN,
    ROOT,
    core_busy,
    cpu_seconds,
    full_gcs_in_window,
    kill_children,
    rss_kb,
    stop,
    wait_quiet,
)
from harness.report import fmt, gc_column, noise_of, stall_line, sustained, verdict_of
from harness.seed import Database, seed
from pymongo.errors import PyMongoError

LEVELS = [50, 100, 200, 500, 1000, 1500, 2000, 3000, 4000, 5000]
QUICK_LEVELS = [20, 100]
PLACEMENTS = {
    "db-own-core": "server alone on core {s}; SecantusDB and the load generator on core {c}",
    "one-core": "server and SecantusDB on core {s}; the load generator on core {c}",
}
SECOND_PROCESS_TARGET = (5.0, 2000)
"""A second process serving no one: at most 5 % of a core at 2,000 people."""


def source_address(index: int) -> str:
    """Person `index`'s own loopback address (127.1.0.0/16), so per-address rate
    limits see one person each, as behind real clients."""
    return f"127.1.{1 + index // 250}.{1 + index % 250}"


@dataclass
class MixedLevel(Level):
    placement: str = ""
    over: str = "ws"
    changes: int = 0
    signals: int = 0
    signals_by_kind: Counter[str] = field(default_factory=Counter)
    answers: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    errors_outside: Counter[str] = field(default_factory=Counter)
    idle_rose: int = 0
    idle_examples: list[list[Any]] = field(default_factory=list)
    lag: Counter[int] = field(default_factory=Counter)
    reconnects: int = 0
    write_commands: float = float("nan")
    documents: float = float("nan")
    change_stream: str = ""
    second_cpu_pct: float = float("nan")
    load_core_pct: float = float("nan")

    def absorb(self) -> None:
        """Add up what each load process reported (ticks' fields are done)."""
        for result in self.results:
            self.changes += result["changes"]
            self.signals += result["signals_sent"]
            self.signals_by_kind.update(result["signals_by_kind"])
            self.answers.update({int(ms): n for ms, n in result["answers_ms"]})
            self.errors.update(result["errors"])
            self.errors_outside.update(result["errors_outside_window"])
            self.idle_rose += result["idle_rose"]
            self.idle_examples.extend(result["idle_rose_examples"])
            self.lag.update({int(ms): n for ms, n in result["lag_ms"]})
            self.reconnects += result["http_reconnects"]

    def judge(self, p99_limit: float, answer_limit: float = 100.0) -> None:
        super().judge(p99_limit)
        if not self.answers:
            self.problems.append("no answers")
        elif not quantile(self.answers, 0.99) <= answer_limit:
            self.problems.append(f"answer p99 > {answer_limit:g} ms")
        if self.errors:
            self.problems.append(f"{sum(self.errors.values())} errors")
        if self.idle_rose:
            self.problems.append(f"idle rose in {self.idle_rose}")

    @property
    def us_per_person_second(self) -> float:
        if not self.connected:
            return float("nan")
        return self.cpu_pct / 100 / self.connected * 1e6

    def per_second(self, count: float) -> float:
        return count / self.window if self.window else float("nan")

    def as_dict(self) -> dict[str, Any]:
        figures = super().as_dict()
        figures.update(
            placement=self.placement,
            activity_over=self.over,
            change_frames=self.changes,
            signals_sent=self.signals,
            signals_by_kind=dict(self.signals_by_kind),
            answer_p50_ms=quantile(self.answers, 0.5),
            answer_p99_ms=quantile(self.answers, 0.99),
            answer_max_ms=max(self.answers, default=None),
            answers=sum(self.answers.values()),
            errors=dict(self.errors),
            errors_outside_window=dict(self.errors_outside),
            idle_rose=self.idle_rose,
            idle_rose_examples=self.idle_examples[:5],
            client_lag_p99_ms=quantile(self.lag, 0.99),
            client_lag_max_ms=max(self.lag, default=None),
            http_reconnects=self.reconnects,
            cpu_us_per_person_second=round(self.us_per_person_second, 1),
            write_commands_per_s=round(self.per_second(self.write_commands), 2),
            documents_per_s=round(self.per_second(self.documents), 2),
            change_stream=self.change_stream,
            second_process_cpu_pct=round(self.second_cpu_pct, 2),
            load_core_busy_pct=round(self.load_core_pct, 1),
        )
        return figures


# -- the database's placement ------------------------------------------------------


def place(pid: int, cpu: int, nice: int) -> None:
    """Every thread of `pid` onto core `cpu` at `nice` (threads it starts later
    inherit both from their creator)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(task), {cpu})
            os.setpriority(os.PRIO_PROCESS, int(task), nice)


def database_core(args: argparse.Namespace, placement: str) -> int:
    return args.server_cpu if placement == "one-core" else args.client_cpu


# -- what the database did -----------------------------------------------------------


class Documents:
    """Documents written to the server's database (sessions, their signal
    journal, users): one change-stream event each, counted (the events carry
    only their resume token)."""

    def __init__(self, db: Database, name: str) -> None:
        self.collection = db.client[name]
        self.count = 0
        self.opened = asyncio.Event()
        self.status = "ok"
        self.task = asyncio.create_task(self.follow())

    async def follow(self) -> None:
        try:
            async with await self.collection.watch([{"$project": {"_id": 1}}]) as stream:
                self.opened.set()
                async for _ in stream:
                    self.count += 1
        except PyMongoError as error:
            self.status = f"unavailable ({type(error).__name__}: {str(error)[:80]})"

    async def wait_open(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.opened.wait(), 10)
        if not self.opened.is_set() and self.status == "ok":
            self.status = "unavailable (did not open in 10 s)"

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


async def write_commands(db: Database) -> float:
    """serverStatus opcounters insert + update + delete (a bulk write is one)."""
    try:
        status = await db.client.admin.command("serverStatus")
    except PyMongoError:
        return float("nan")
    counters = status.get("opcounters", {})
    return float(sum(counters.get(kind, 0) for kind in ("insert", "update", "delete")))


# -- one level -----------------------------------------------------------------------


async def run_level(run: Run, server_kind: str, n: int, placement: str) -> MixedLevel:
    args = run.args
    label = f"{placement}-{server_kind}-{n}"
    level = MixedLevel(server=server_kind, n=n, placement=placement, over=args.activity_over)
    database = run.database_name(label)
    if server_kind == "focusgql":
        seeded = await seed(run.db, database, n, run.secret)
    else:
        seeded = [("not-checked", f"bare-{i}") for i in range(n)]
    jobs = [(token, sid, source_address(i)) for i, (token, sid) in enumerate(seeded)]
    processes: list[asyncio.subprocess.Process] = []
    documents: Documents | None = None
    second: asyncio.subprocess.Process | None = None
    samples: dict[str, list[float]] = {}

    async def sample() -> None:
        for name, value in (
            ("load core", core_busy(args.client_cpu)),
            ("second", cpu_seconds(second.pid) if second else float("nan")),
            ("documents", float(documents.count) if documents else float("nan")),
            ("writes", await write_commands(run.db) if server_kind == "focusgql" else float("nan")),
        ):
            samples.setdefault(name, []).append(value)

    try:
        if server_kind == "focusgql" and not args.no_documents:
            documents = Documents(run.db, database)
            await documents.wait_open()
        server, port, _ = await run.start_server(server_kind, label)
        processes.append(server)
        if args.second_process and server_kind == "focusgql":
            second, _, _ = await run.start_server(
                "focusgql", label + "-second", cpu=args.second_cpu, database=database
            )
            processes.append(second)
        await asyncio.sleep(1)
        level.rss_before_kb = rss_kb(server.pid)
        extra = ["--activity-over", args.activity_over, "--grace", str(args.grace)]
        loads = await run.start_load(jobs, port, label, BENCH / "mixed_load.py", extra)
        processes[:0] = loads
        # --py-spy-second: profile the process serving no one instead of the server.
        profiled = second if args.py_spy_second and second is not None else server
        await run.measure(
            level, server, loads, args.window, at_t0=sample, at_t1=sample, profiled=profiled
        )
        level.full_gcs = full_gcs_in_window(run.gc_log(label), level.t0, level.window)
        if server.returncode is not None:
            level.problems.append("server died")
        if second is not None and second.returncode is not None:
            level.problems.append("second process died")
    except (RuntimeError, TimeoutError, OSError) as error:
        level.problems.append(f"error: {error}")
    finally:
        for process in processes:
            await stop(process)
        if documents is not None:
            await documents.close()
            level.change_stream = documents.status
        if server_kind == "focusgql":
            await run.db.drop(database)
    level.absorb()
    if all(len(values) == 2 for values in samples.values()) and level.window:

        def delta(name: str) -> float:
            return samples[name][1] - samples[name][0]

        level.load_core_pct = 100 * delta("load core") / level.window
        level.second_cpu_pct = 100 * delta("second") / level.window
        level.documents = delta("documents")
        level.write_commands = delta("writes")
    lag99 = quantile(level.lag, 0.99)
    level.client_bound = level.client_bound or lag99 > args.client_lag_ms
    level.judge(args.p99_ms, args.answer_p99_ms)
    return level


# -- reporting -----------------------------------------------------------------------

HEADER = (
    f"{'server':<9} {'N':>5} {'conn':>5} {'tick/s':>6} {'t50':>4} {'t99':>5} {'tmax':>5} "
    f"{'skip':>4} {'chg/s':>5} {'ans/s':>6} {'a50':>4} {'a99':>5} {'amax':>5} {'err':>5} "
    f"{'idle+':>5} {'CPU%':>5} {'us/p-s':>6} {'KB/p':>5} {'wr/s':>6} {'docs/s':>7} {'db%':>4} "
    f"{'client%':>7} {'lag99':>5} {'c1%':>4} {'2nd%':>5} {'noise s/c/o%':>12} {'GC2 n/ms':>8}  "
    "verdict"
)


def row(level: MixedLevel) -> str:
    verdict, noise = verdict_of(level), noise_of(level)
    answers = sum(level.answers.values())
    return (
        f"{level.server:<9} {level.n:>5} {level.connected:>5} {fmt(level.msgs_per_s):>6} "
        f"{fmt(level.percentile(0.5)):>4} {fmt(level.percentile(0.99)):>5} "
        f"{fmt(level.max_ms):>5} {level.skipped:>4} {fmt(level.per_second(level.changes), 1):>5} "
        f"{fmt(level.per_second(answers)):>6} {fmt(quantile(level.answers, 0.5)):>4} "
        f"{fmt(quantile(level.answers, 0.99)):>5} "
        f"{fmt(float(max(level.answers, default=float('nan')))):>5} "
        f"{sum(level.errors.values()):>5} {level.idle_rose:>5} {fmt(level.cpu_pct):>5} "
        f"{fmt(level.us_per_person_second):>6} {fmt(level.rss_per_sub_kb):>5} "
        f"{fmt(level.per_second(level.write_commands), 1):>6} "
        f"{fmt(level.per_second(level.documents)):>7} {fmt(level.db_cpu_pct):>4} "
        f"{fmt(level.client_cpu_pct):>7} {fmt(quantile(level.lag, 0.99)):>5} "
        f"{fmt(level.load_core_pct):>4} {fmt(level.second_cpu_pct, 1):>5} {noise:>12} "
        f"{gc_column(level):>8}  {verdict}"
    )


def detail_lines(level: MixedLevel) -> list[str]:
    """What a level's verdict rests on: its errors, closes and idle rises."""
    name = f"    {level.server} {level.n} {level.placement}:"
    lines = []
    if level.errors:
        lines.append(f"{name} errors in the window: {counted(level.errors)}")
    if level.errors_outside:
        lines.append(
            f"{name} errors before the window (not judged): {counted(level.errors_outside)}"
        )
    if level.idle_rose:
        examples = ", ".join(f"{sid}: {a} -> {b}" for sid, a, b in level.idle_examples[:3])
        lines.append(f"{name} idleSeconds rose with every signal answered: {examples}")
    if level.reconnects:
        lines.append(f"{name} HTTP connections reopened: {level.reconnects}")
    if level.change_stream not in ("", "ok"):
        lines.append(f"{name} change stream {level.change_stream}")
    stalls = stall_line(level)
    if stalls is not None:
        lines.append(stalls)
    return lines


def counted(counts: Counter[str]) -> str:
    return ", ".join(f"{key} x {count}" for key, count in counts.most_common(6))


def legend(args: argparse.Namespace) -> list[str]:
    return [
        f"window {args.window:g} s per level after {args.settle:g} s of traffic; signals over "
        f"{args.activity_over}; {args.clients} load process(es) on core {args.client_cpu}; "
        f"pass: tick p99 <= {args.p99_ms:g} ms, answer p99 <= {args.answer_p99_ms:g} ms, no "
        "error, no skipped tick, no idle rise",
        "tick/s t50/t99/tmax = ticks received, lateness (receive - due) in ms; skip = skipped "
        "ticks; chg/s = change frames (an elapsedSeconds already seen); ans/s a50/a99/amax = "
        "signal answers, latency in ms; err = errors in the window (codes below); idle+ = "
        "sessions whose idleSeconds rose with every signal answered",
        "CPU% = server (% of one core); us/p-s = server CPU per person-second; KB/p = server "
        "RSS per person; wr/s = database write commands per second (opcounters); docs/s = "
        "documents written per second (change stream); db% = embedded database",
        "client% = load generator(s); lag99 = its scheduler's p99 lateness, ms; c1% = the load "
        "core's busy time; 2nd% = the second process (--second-process); noise s/c/o% = % of "
        "the window server / client waited for a CPU, and others' load on the server's core; "
        "GC2 n/ms = the server's full collections in the window / the longest",
    ]


def summary(args: argparse.Namespace, levels: list[MixedLevel], placement: str) -> list[str]:
    here = [lv for lv in levels if lv.placement == placement]
    out = [f"placement {placement}:"]
    found = {}
    for server in args.servers:
        best, note = sustained(here, server)  # type: ignore[arg-type]
        found[server] = best
        out.append(f"  largest passing N, {server}: {best}{note}")
    if {"focusgql", "bare"} <= set(found):
        if found["bare"]:
            out.append(f"  ratio focusgql / bare: {found['focusgql'] / found['bare']:.2f}x")
        else:
            out.append("  ratio focusgql / bare: bare passed no level (use lower --levels)")
    per_person = [
        f"N={lv.n}: {fmt(lv.us_per_person_second)}"
        for lv in here
        if lv.server == "focusgql" and lv.messages
    ]
    bare = {lv.n: lv for lv in here if lv.server == "bare" and lv.messages}
    shared = [
        f"N={lv.n}: {lv.us_per_person_second / bare[lv.n].us_per_person_second:.1f}x"
        for lv in here
        if lv.server == "focusgql" and lv.n in bare and lv.messages
    ]
    if per_person:
        out.append(f"  focusgql CPU per person-second (us): {', '.join(per_person)}")
    if shared:
        out.append(f"  focusgql / bare CPU per person-second: {', '.join(shared)}")
    seconds = [
        f"N={lv.n}: {fmt(lv.second_cpu_pct, 1)} %"
        for lv in here
        if lv.server == "focusgql" and lv.second_cpu_pct == lv.second_cpu_pct
    ]
    if seconds:
        limit, at = SECOND_PROCESS_TARGET
        out.append(
            f"  second process (no sessions, change feed only), CPU: {', '.join(seconds)} "
            f"(target: <= {limit:g} % at {at})"
        )
    return out


def report(args: argparse.Namespace, levels: list[MixedLevel], code: str, db_note: str) -> str:
    out = [
        f"focusgql bench/mixed.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        f"command: {' '.join(['.venv/bin/python', 'bench/mixed.py', *sys.argv[1:]])}",
        f"code: {code} (focusgql/ copied at the start; every level serves that copy)",
        f"database: {db_note}",
        *legend(args),
    ]
    for placement in args.placements:
        here = [lv for lv in levels if lv.placement == placement]
        out += [
            "",
            f"placement {placement}: "
            + PLACEMENTS[placement].format(s=args.server_cpu, c=args.client_cpu),
            HEADER,
            *(row(level) for level in here),
            *(line for level in here for line in detail_lines(level)),
        ]
    out.append("")
    for placement in args.placements:
        out += summary(args, levels, placement)
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: N 20 and 100, 8 s")
    parser.add_argument("--levels", help=f"comma-separated N (default {LEVELS})")
    parser.add_argument("--servers", default="focusgql,bare", help="default focusgql,bare")
    parser.add_argument(
        "--placement",
        default=",".join(PLACEMENTS),
        help="comma-separated, of: " + "; ".join(f"{k}: {v}" for k, v in PLACEMENTS.items()),
    )
    parser.add_argument("--activity-over", choices=("ws", "http"), default="ws")
    parser.add_argument("--window", type=float, help="seconds measured per level (default 30)")
    parser.add_argument("--settle", type=float, help="seconds of traffic before it (default 5)")
    parser.add_argument("--grace", type=float, default=2.0, help="seconds for late answers")
    parser.add_argument("--batch", type=int, default=250, help="connections opened at once")
    parser.add_argument("--clients", type=int, default=1, help="load processes (same core)")
    parser.add_argument("--ramp-timeout", type=float, default=0.0, help="default 30 + 0.04 N s")
    parser.add_argument("--p99-ms", type=float, default=250.0, help="tick lateness limit")
    parser.add_argument("--answer-p99-ms", type=float, default=100.0, help="answer limit")
    parser.add_argument(
        "--client-bound", type=float, default=85.0, help="load CPU %% that taints a level"
    )
    parser.add_argument(
        "--client-lag-ms",
        type=float,
        default=50.0,
        help="the load generator's scheduler p99 lateness that taints a level",
    )
    parser.add_argument("--noise", type=float, default=10.0, help="see bench/ticks.py")
    parser.add_argument("--retries", type=int, default=1, help="retries of a noisy failed level")
    parser.add_argument("--pre-wait", type=float, help="max wait for quiet cores (default 20)")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument(
        "--db-nice", type=int, default=0, help="the embedded database's nice value (default 0)"
    )
    parser.add_argument(
        "--second-process",
        action="store_true",
        help="also run a second focusgql process on the same database, serving no one",
    )
    parser.add_argument("--second-cpu", type=int, help="its core (default --client-cpu)")
    parser.add_argument(
        "--no-documents", action="store_true", help="no change stream (docs/s not measured)"
    )
    parser.add_argument("--rev", help="serve focusgql/ as of this git revision, not the tree")
    parser.add_argument("--py-spy", help="py-spy binary: record the server in each window")
    parser.add_argument(
        "--py-spy-second",
        action="store_true",
        help="with --py-spy and --second-process: record the second process instead",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep logs (printed path)")
    args = parser.parse_args()
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if set(args.servers) - {"focusgql", "bare"}:
        parser.error(f"unknown servers: {sorted(set(args.servers) - {'focusgql', 'bare'})}")
    args.placements = [p.strip() for p in args.placement.split(",") if p.strip()]
    if set(args.placements) - set(PLACEMENTS):
        parser.error(f"unknown placements: {sorted(set(args.placements) - set(PLACEMENTS))}")
    if args.levels:
        args.levels = sorted({int(n) for n in args.levels.split(",")})
    else:
        args.levels = QUICK_LEVELS if args.quick else LEVELS
    args.window = args.window or (8.0 if args.quick else 30.0)
    args.settle = args.settle if args.settle is not None else (3.0 if args.quick else 5.0)
    args.pre_wait = args.pre_wait if args.pre_wait is not None else (3.0 if args.quick else 20.0)
    args.quiet_wait = 3 * args.pre_wait
    if args.second_cpu is None:
        args.second_cpu = args.client_cpu
    return args


def serve_revision(run: Run, revision: str) -> None:
    """Replace the copied focusgql/ with `revision`'s."""
    shutil.rmtree(run.source / "focusgql")
    archive = subprocess.run(
        ["git", "archive", revision, "focusgql"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(run.source)], input=archive.stdout, check=True)
    short = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    run.code = f"git {short} (--rev {revision})"


async def start_database(args: argparse.Namespace, placement: str) -> Database:
    db = Database(os.environ.get("FOCUSGQL_BENCH_MONGODB_URI") or None)
    if db.pid is not None:
        place(db.pid, database_core(args, placement), args.db_nice)
    return db


async def step(run: Run, placement: str, levels: list[MixedLevel]) -> None:
    """Every level of one placement, both servers interleaved (the same noise)."""
    args = run.args
    alive = list(args.servers)
    for n in args.levels:
        for server in list(alive):
            tries: list[MixedLevel] = []
            for attempt in range(1, args.retries + 2):
                await wait_quiet(args, args.quiet_wait if attempt > 1 else args.pre_wait)
                level = await run_level(run, server, n, placement)
                level.attempts = attempt
                tries.append(level)
                print(row(level), flush=True)
                for line in detail_lines(level):
                    print(line, flush=True)
                if level.ok or not level.noisy(args.noise) or attempt > args.retries:
                    break
                print(f"    noisy machine: retrying {server} {n}", flush=True)
            if not level.ok:
                level = min(tries, key=Level.disturbance)
            levels.append(level)
            if not level.ok:
                alive.remove(server)
        if not alive:
            break


async def amain(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    cores = os.sched_getaffinity(0)
    if {args.server_cpu, args.client_cpu} <= cores and args.server_cpu != args.client_cpu:
        os.sched_setaffinity(0, {args.client_cpu})  # the orchestrator stays off the server's
    else:
        print(f"warning: cores {sorted(cores)}: not pinning", file=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="focusgql-mixed-"))
    levels: list[MixedLevel] = []
    db: Database | None = None
    db_note = "embedded SecantusDB in memory, restarted per placement, nice " + str(args.db_nice)
    try:
        for placement in args.placements:
            db = await start_database(args, placement)
            if db.embedded is None:
                db_note = "external (FOCUSGQL_BENCH_MONGODB_URI): not pinned, placements alike"
            if not levels and placement == args.placements[0]:
                run = Run(args, db, workdir)
                if args.rev:
                    serve_revision(run, args.rev)
                print(f"logs in {workdir}; serving {run.code}")
            run.db = db
            where = PLACEMENTS[placement].format(s=args.server_cpu, c=args.client_cpu)
            print(f"\nplacement {placement}: {where}\n{HEADER}", flush=True)
            await step(run, placement, levels)
            await db.close()
            db = None
        text = report(args, levels, run.code, db_note)
        print("\n" + text)
        if args.json:
            figures = {"levels": [level.as_dict() for level in levels], "report": text}
            with open(args.json, "w") as file:  # noqa: ASYNC230 - once, at the end
                json.dump(figures, file, indent=2)
        return 0
    finally:
        for process in list(CHILDREN):
            await stop(process, grace=5)
        if db is not None:
            await db.close()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    import atexit

    atexit.register(kill_children)
    args = parse_args()
    started = time.monotonic()
    try:
        return asyncio.run(amain(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except asyncio.CancelledError:
        print("cancelled (SIGTERM?)", file=sys.stderr)
        return 143
    finally:
        print(f"took {time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
