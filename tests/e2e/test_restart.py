"""`focusgql serve` on the embedded database, stopped and started again at once.

A stopped server used to leave its SecantusDB child holding the files for
seconds, and a start in that window died with a traceback blaming the install.
"""

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from focusgql.settings import Settings
from focusgql.store.dblock import lock_is_free
from focusgql.store.mongo import EmbeddedServer, free_port
from tests.support import Client, server_env

RESTARTS = 10


def embedded_env(settings: Settings, data_dir: Path, **extra: str) -> dict[str, str]:
    env = server_env(settings, FOCUSGQL_DATA_DIR=str(data_dir), **extra)
    del env["FOCUSGQL_MONGODB_URI"]  # the server starts SecantusDB on data_dir/db
    env.pop("MONGODB_URI", None)
    return env


def start(env: dict[str, str], port: int) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "-m", "focusgql", "serve", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def healthy(process: "subprocess.Popen[str]", url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http, asyncio.timeout(60):
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve exited {process.returncode}: {process.stderr}")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


def stderr_of(process: "subprocess.Popen[str]") -> str:
    """Wait for the exit; what it wrote to stderr (and the pipe closed)."""
    _, err = process.communicate(timeout=30)
    return err


@pytest.fixture
def processes() -> Iterator[list["subprocess.Popen[str]"]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        # Bounded: a database child that outlived its server holds the pipe.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=30)


async def test_stop_and_start_again_at_once_ten_times(
    settings: Settings, tmp_path: Path, processes: list["subprocess.Popen[str]"]
) -> None:
    env = embedded_env(settings, tmp_path, FOCUSGQL_DATABASE="focusgql_restart")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    token: str | None = None
    session_id: str | None = None
    for round_ in range(RESTARTS):
        process = start(env, port)
        processes.append(process)
        await healthy(process, url)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            if token is None:
                client = await Client(http).register()
                token = client.token
                created = await client.execute(
                    "mutation { createSession(input: {targetMinutes: 25}) { id } }"
                )
                session_id = created["createSession"]["id"]
            # What the first round stored is there in every later one.
            data = await Client(http, token).execute(
                "query($id: ID!) { session(id: $id) { id status } }", {"id": session_id}
            )
            assert data["session"] == {"id": session_id, "status": "ACTIVE"}, round_
        if round_ % 3 == 2:
            process.kill()  # its SecantusDB child outlives it for a moment
        else:
            process.send_signal(signal.SIGTERM)
        err = stderr_of(process)
        assert "Traceback" not in err, err
        if round_ % 3 != 2:
            assert process.returncode == 0, err
            # A stop returns only once the database has exited and let go of its files.
            assert lock_is_free(tmp_path / "db"), round_


async def test_files_held_by_another_process_are_named_in_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    holder = EmbeddedServer(tmp_path / "db")
    await asyncio.to_thread(holder.start)
    try:
        env = embedded_env(settings, tmp_path, FOCUSGQL_EMBEDDED_LOCK_WAIT_SECONDS="1")
        began = time.monotonic()
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "focusgql", "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        await asyncio.to_thread(holder.stop)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert time.monotonic() - began < 30
    lines = [line for line in done.stderr.splitlines() if "in use by" in line]
    assert len(lines) == 1, done.stderr
    assert str(tmp_path / "db") in lines[0]
    assert f"process {holder.pid} " in lines[0]
    assert "secantus" in lines[0]
