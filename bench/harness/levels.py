"""One level of a benchmark (N people on a fresh server) and the run that
starts its servers and load generators and measures a window."""

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from focusgql.store.mongo import free_port
from harness.processes import (
    BENCH,
    ROOT,
    code_version,
    core_busy,
    cpu_seconds,
    read_line,
    rss_kb,
    sleep_until,
    spawn,
    stop,
    system_seconds,
    wait_healthy,
    wait_seconds,
)
from harness.seed import Database


def quantile(counts: Counter[int], q: float) -> float:
    """The q-quantile of a histogram {whole ms: count}; nan if it is empty."""
    total = sum(counts.values())
    if not total:
        return float("nan")
    seen = 0
    for ms in sorted(counts):
        seen += counts[ms]
        if seen >= q * total:
            return float(ms)
    return float(max(counts))


@dataclass
class Level:
    server: str
    n: int
    connected: int = 0
    window: float = 0.0
    messages: int = 0
    lateness: Counter[int] = field(default_factory=Counter)
    skipped: int = 0
    duplicated: int = 0
    silent: int = 0
    closed: int = 0
    cpu_pct: float = float("nan")
    system_pct: float = float("nan")
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    client_cpu_pct: float = float("nan")
    db_cpu_pct: float = float("nan")
    server_wait_pct: float = float("nan")
    """Share of the window the server was runnable but waited for its core."""
    client_wait_pct: float = float("nan")
    foreign_pct: float = float("nan")
    """Busy time of the server's core not spent by the server (other processes)."""
    attempts: int = 1
    ramp_seconds: float = 0.0
    t0: float = float("inf")
    """Wall time the window opened."""
    problems: list[str] = field(default_factory=list)
    client_bound: bool = False
    full_gcs: list[tuple[float, float]] = field(default_factory=list)
    """The server's full garbage collections overlapping the window:
    (seconds after t0 it began, pause seconds), from bench/gcwatch."""
    worst_ms: dict[int, int] = field(default_factory=dict)
    """Worst lateness in each second of the window."""
    results: list[dict[str, Any]] = field(default_factory=list)
    """Each load process's RESULT, as it printed it."""

    @property
    def stalls(self) -> list[tuple[int, int]]:
        """Seconds of the window (after t0) whose worst tick was later than 250 ms."""
        return [(second, ms) for second, ms in sorted(self.worst_ms.items()) if ms > 250]

    def percentile(self, q: float) -> float:
        return quantile(self.lateness, q)

    @property
    def max_ms(self) -> float:
        return float(max(self.lateness)) if self.lateness else float("nan")

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.window if self.window else 0.0

    @property
    def us_per_msg(self) -> float:
        """Server CPU per delivered tick: the figure other processes disturb least."""
        if not self.messages:
            return float("nan")
        return self.cpu_pct / 100 * self.window / self.messages * 1e6

    @property
    def rss_per_sub_kb(self) -> float:
        if not self.connected:
            return float("nan")
        return (self.rss_after_kb - self.rss_before_kb) / self.connected

    def judge(self, p99_limit: float) -> None:
        if self.connected < self.n:
            self.problems.append(f"{self.n - self.connected} not subscribed")
        if not self.messages:
            self.problems.append("no ticks")
        elif not self.percentile(0.99) <= p99_limit:
            self.problems.append(f"p99 > {p99_limit:g} ms")
        if self.skipped:
            self.problems.append(f"{self.skipped} skipped")
        if self.silent:
            self.problems.append(f"{self.silent} silent")
        if self.closed:
            self.problems.append(f"{self.closed} closed")

    @property
    def ok(self) -> bool:
        return not self.problems

    def disturbance(self) -> float:
        """How long the server or the client waited for a CPU (%); inf if unknown."""
        waits = [self.server_wait_pct, self.client_wait_pct]
        return max(waits) if all(w == w for w in waits) else float("inf")

    def noisy(self, limit: float) -> bool:
        """Did other processes on the machine delay the server or the client?"""
        return not self.disturbance() <= limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "n": self.n,
            "connected": self.connected,
            "msgs_per_s": round(self.msgs_per_s, 1),
            "p50_ms": self.percentile(0.5),
            "p99_ms": self.percentile(0.99),
            "max_ms": self.max_ms,
            "skipped": self.skipped,
            "duplicated": self.duplicated,
            "silent": self.silent,
            "closed": self.closed,
            "cpu_pct": round(self.cpu_pct, 1),
            "cpu_us_per_msg": round(self.us_per_msg, 1),
            "rss_per_sub_kb": round(self.rss_per_sub_kb, 1),
            "rss_before_mb": round(self.rss_before_kb / 1024, 1),
            "rss_after_mb": round(self.rss_after_kb / 1024, 1),
            "client_cpu_pct": round(self.client_cpu_pct, 1),
            "db_cpu_pct": round(self.db_cpu_pct, 1),
            "server_wait_pct": round(self.server_wait_pct, 1),
            "client_wait_pct": round(self.client_wait_pct, 1),
            "foreign_pct_server_core": round(self.foreign_pct, 1),
            "attempts": self.attempts,
            "ramp_seconds": self.ramp_seconds,
            "client_bound": self.client_bound,
            "full_gcs": [[round(at, 3), round(pause, 4)] for at, pause in self.full_gcs],
            "stalls": self.stalls,
            "ok": self.ok,
            "problems": self.problems,
        }


class Run:
    """Settings and scratch space shared by every level."""

    def __init__(self, args: argparse.Namespace, db: Database, workdir: Path) -> None:
        self.args = args
        self.db = db
        self.workdir = workdir
        self.secret = os.urandom(32).hex()
        self.tag = os.urandom(3).hex()
        # Others may edit focusgql/ during the run: every level serves the code as
        # it was when the run began.
        self.source = workdir / "src"
        self.code = code_version()
        shutil.copytree(
            ROOT / "focusgql",
            self.source / "focusgql",
            ignore=shutil.ignore_patterns("__pycache__"),
        )

    def gc_log(self, label: str) -> Path:
        return self.workdir / f"{label}.gc.log"

    def database_name(self, label: str) -> str:
        return f"bench_{self.tag}_{label}"

    async def start_server(
        self, server: str, label: str, cpu: int | None = None, database: str | None = None
    ) -> tuple[asyncio.subprocess.Process, int, Path]:
        """`server` on core `cpu` (default --server-cpu); focusgql on `database`
        (default this label's own)."""
        port = free_port()
        log = self.workdir / f"{label}.server.log"
        watch = {
            "BENCH_GC_LOG": str(self.gc_log(label)),
            "PYTHONPATH": os.pathsep.join(
                [str(BENCH / "gcwatch"), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        if server == "focusgql":
            env = {
                **os.environ,
                "FOCUSGQL_MONGODB_URI": self.db.uri,
                "FOCUSGQL_DATABASE": database or self.database_name(label),
                "FOCUSGQL_JWT_SECRET": self.secret,
                "FOCUSGQL_LOG_LEVEL": "warning",
                "FOCUSGQL_DATA_DIR": str(self.workdir / "data"),
                **watch,
                "PYTHONPATH": os.pathsep.join([str(self.source), watch["PYTHONPATH"]]),
            }
            command = [sys.executable, "-m", "focusgql", "serve", "--port", str(port)]
            cwd = self.source
        else:
            env = {**os.environ, **watch}
            command = [sys.executable, str(BENCH / "bare_app.py"), "--port", str(port)]
            cwd = ROOT
        pinned = self.args.server_cpu if cpu is None else cpu
        process = await spawn(command, pinned, log, env=env, cwd=cwd)
        await wait_healthy(port, process, log)
        return process, port, log

    async def start_load(
        self,
        jobs: Sequence[Sequence[str]],
        port: int,
        label: str,
        script: Path = BENCH / "load.py",
        extra: Sequence[str] = (),
    ) -> list[asyncio.subprocess.Process]:
        """--clients processes of `script` on --client-cpu, the jobs dealt out
        among them; `extra` is added to each one's command line."""
        clients = max(1, min(self.args.clients, len(jobs)))
        loads = []
        for k in range(clients):
            path = self.workdir / f"{label}.jobs{k}.json"
            path.write_text(json.dumps(jobs[k::clients]))
            command = [
                sys.executable,
                str(script),
                "--url",
                f"ws://127.0.0.1:{port}/graphql",
                "--jobs",
                str(path),
                "--batch",
                str(self.args.batch),
                "--ramp-timeout",
                str(self.ramp_timeout(len(jobs))),
                *extra,
            ]
            log = self.workdir / f"{label}.load{k}.log"
            loads.append(await spawn(command, self.args.client_cpu, log, pipes=True))
        return loads

    def ramp_timeout(self, n: int) -> float:
        return self.args.ramp_timeout or 30 + 0.04 * n

    async def measure(
        self,
        level: Level,
        server: asyncio.subprocess.Process,
        loads: list[asyncio.subprocess.Process],
        window: float,
        on_ready: Callable[[], Awaitable[None]] | None = None,
        at_t0: Callable[[], Awaitable[None]] | None = None,
        at_t1: Callable[[], Awaitable[None]] | None = None,
        profiled: asyncio.subprocess.Process | None = None,
    ) -> None:
        """Wait for the ramp (already started), then measure one window into `level`
        (with --py-spy, recording `profiled`, by default the server)."""
        timeout = self.ramp_timeout(level.n) + 60
        readies = await asyncio.gather(*(read_line(p, "READY", timeout) for p in loads))
        level.connected = sum(int(line.split()[1]) for line in readies)
        level.ramp_seconds = max(float(line.split()[3]) for line in readies)
        if level.connected < level.n:
            print(f"    ramp: {level.connected}/{level.n} subscribed", flush=True)
        if on_ready is not None:
            await on_ready()
        await asyncio.sleep(self.args.settle)
        t0 = level.t0 = time.time() + 0.5
        t1 = t0 + window
        for load in loads:
            assert load.stdin is not None
            load.stdin.write(f"WINDOW {t0!r} {t1!r}\n".encode())
            await load.stdin.drain()
        await sleep_until(t0)
        pids = [server.pid, *(p.pid for p in loads)]
        db_pid = self.db.pid
        before = [cpu_seconds(pid) for pid in pids]
        system_before = system_seconds(server.pid)
        waits_before = [wait_seconds(pid) for pid in pids]
        busy_before = core_busy(self.args.server_cpu)
        db_before = cpu_seconds(db_pid) if db_pid else float("nan")
        if at_t0 is not None:
            await at_t0()
        profiler = await self.profile((profiled or server).pid, level, window)
        await sleep_until(t1 - 0.3)
        level.rss_after_kb = rss_kb(server.pid)
        await sleep_until(t1)
        after = [cpu_seconds(pid) for pid in pids]
        system_after = system_seconds(server.pid)
        waits_after = [wait_seconds(pid) for pid in pids]
        busy_after = core_busy(self.args.server_cpu)
        db_after = cpu_seconds(db_pid) if db_pid else float("nan")
        if at_t1 is not None:
            await at_t1()
        level.window = window
        level.cpu_pct = 100 * (after[0] - before[0]) / window
        level.system_pct = 100 * (system_after - system_before) / window
        print(
            f"    server CPU {level.cpu_pct:.0f} %, of it in the kernel {level.system_pct:.0f} %",
            flush=True,
        )
        level.client_cpu_pct = (
            100 * sum(a - b for a, b in zip(after[1:], before[1:], strict=True)) / window
        )
        level.db_cpu_pct = 100 * (db_after - db_before) / window
        level.server_wait_pct = 100 * (waits_after[0] - waits_before[0]) / window
        level.client_wait_pct = (
            100
            * max(a - b for a, b in zip(waits_after[1:], waits_before[1:], strict=True))
            / window
        )
        level.foreign_pct = 100 * (busy_after - busy_before) / window - level.cpu_pct
        level.client_bound = level.client_cpu_pct > self.args.client_bound
        results = await asyncio.gather(*(read_line(p, "RESULT", 60) for p in loads))
        for line in results:
            result = json.loads(line.split(" ", 1)[1])
            level.results.append(result)
            level.messages += result["messages"]
            level.lateness.update({int(ms): count for ms, count in result["lateness_ms"]})
            level.skipped += result["skipped"]
            level.duplicated += result["duplicated"]
            level.silent += result["silent"]
            level.closed += sum(result["closed"].values())
            for second, ms in result["worst_ms_by_second"]:
                level.worst_ms[second] = max(ms, level.worst_ms.get(second, ms))
            for reason, count in {**result["failures"], **result["closed"]}.items():
                print(f"    {count} x {reason}", flush=True)
        if profiler is not None:
            await stop(profiler, grace=30)

    async def profile(
        self, pid: int, level: Level, window: float
    ) -> asyncio.subprocess.Process | None:
        if not self.args.py_spy:
            return None
        out = self.workdir / f"{level.server}-{level.n}.pyspy.txt"
        command = [
            self.args.py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(window) - 1)),
            "--rate",
            "100",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ]
        print(f"    py-spy -> {out}", flush=True)
        return await spawn(command, self.args.client_cpu, self.workdir / "py-spy.log")
