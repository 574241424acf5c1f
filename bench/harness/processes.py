"""The benchmarks' child processes: start them pinned to a core, stop them,
and read what the kernel says they used."""

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

CHILDREN: list[asyncio.subprocess.Process] = []
"""Every child still running: stopped on exit, Ctrl-C included."""


async def spawn(
    command: list[str],
    cpu: int | None,
    log: Path,
    env: dict[str, str] | None = None,
    pipes: bool = False,
    cwd: Path = ROOT,
) -> asyncio.subprocess.Process:
    """A child pinned to `cpu`, that gets SIGTERM if this process dies."""
    full = list(command)
    if cpu is not None and shutil.which("taskset"):
        full = ["taskset", "-c", str(cpu), *full]
    if shutil.which("setpriv"):
        full = ["setpriv", "--pdeathsig", "TERM", *full]
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            *full,
            env=env,
            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipes else sink,
            stderr=sink,
            cwd=cwd,
            limit=1 << 24,  # a RESULT line carries whole histograms: well over 64 KB
        )
    CHILDREN.append(process)
    return process


async def stop(process: asyncio.subprocess.Process, grace: float = 15.0) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    with contextlib.suppress(ValueError):
        CHILDREN.remove(process)


def kill_children() -> None:
    """Last resort (atexit): no child outlives the benchmark."""
    for process in CHILDREN:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def system_seconds(pid: int) -> float:
    """The kernel's share of cpu_seconds (stime): syscalls, and on loopback the
    peer's TCP receive work, which Linux charges to the sender."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return int(fields[12]) / CLK_TCK


def wait_seconds(pid: int) -> float:
    """Time the process spent runnable but waiting for a CPU (/proc/PID/schedstat)."""
    try:
        with open(f"/proc/{pid}/schedstat") as file:
            return int(file.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def core_busy(cpu: int) -> float:
    """Seconds core `cpu` has been busy (not idle, not iowait) since boot."""
    with open("/proc/stat") as file:
        for line in file:
            if line.startswith(f"cpu{cpu} "):
                ticks = [int(v) for v in line.split()[1:]]
                return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLK_TCK
    return float("nan")


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def http(port: int, method: str, path: str, body: bytes = b"", token: str = "") -> int:
    """Status code of one plain HTTP/1.1 request to loopback (no client library needed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        if body:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        await reader.read()
        return status
    finally:
        writer.close()


async def wait_healthy(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"server exited at startup; see {log}:\n{tail(log)}")
        with contextlib.suppress(OSError, ValueError, IndexError):
            if await http(port, "GET", "/health") == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"server not healthy within 60 s; see {log}:\n{tail(log)}")


def tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


async def sleep_until(wall: float) -> None:
    delay = wall - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def read_line(process: asyncio.subprocess.Process, prefix: str, seconds: float) -> str:
    """The first line the load generator prints that starts with `prefix`."""
    assert process.stdout is not None
    try:
        async with asyncio.timeout(seconds):
            while line := await process.stdout.readline():
                text = line.decode().strip()
                if text.startswith(prefix + " "):
                    return text
    except TimeoutError:
        raise RuntimeError(f"load generator: no {prefix} line within {seconds:.0f} s") from None
    code = await process.wait()
    raise RuntimeError(f"load generator exited (code {code}) before {prefix}")


def full_gcs_in_window(path: Path, t0: float, window: float) -> list[tuple[float, float]]:
    found = []
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            end, pause = (float(part) for part in line.split())
            if end - pause < t0 + window and end > t0:
                found.append((end - pause - t0, pause))
    return found


def code_version() -> str:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    revision = git("rev-parse", "--short", "HEAD") or "unknown revision"
    dirty = git("status", "--porcelain", "--", "focusgql")
    return f"git {revision}" + (" + uncommitted changes in focusgql/" if dirty else "")


async def wait_quiet(args: argparse.Namespace, patience: float) -> None:
    """Up to `patience` seconds for the two cores to be mostly idle (others' work)."""
    deadline = time.monotonic() + patience
    cores = (args.server_cpu, args.client_cpu)
    while time.monotonic() < deadline:
        before = [core_busy(c) for c in cores]
        await asyncio.sleep(2)
        busy = max(100 * (core_busy(c) - b) / 2 for c, b in zip(cores, before, strict=True))
        if busy < 25:
            return
