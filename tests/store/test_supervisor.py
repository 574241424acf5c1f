"""The supervisor restarts a SecantusDB that died, on the same files and port."""

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from pymongo import AsyncMongoClient

from focusgql.store.mongo import EmbeddedServer
from focusgql.store.supervisor import Supervisor


async def test_a_killed_database_is_restarted_with_its_data(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "db")
    await asyncio.to_thread(server.start)
    supervisor = Supervisor(server, "supervised", every=0.3)
    supervisor.start()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(server.uri, timeoutMS=3000)
    try:
        await client.supervised.things.insert_one({"_id": "acknowledged"})
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        began = time.monotonic()
        for _ in range(200):  # 20 s
            if server.pid != first and server.exit_code() is None:
                break
            await asyncio.sleep(0.1)
        # the same address: the client carries on by itself
        async with asyncio.timeout(20):
            while True:
                try:
                    found = await client.supervised.things.find_one({"_id": "acknowledged"})
                    break
                except Exception:
                    await asyncio.sleep(0.2)
        assert found == {"_id": "acknowledged"}
        assert supervisor.restarts == 1 and time.monotonic() - began < 15
    finally:
        await client.close()
        await asyncio.to_thread(supervisor.stop)
        await asyncio.to_thread(server.stop)


RESTARTED_BY_A_THREAD = """
import pathlib, sys, threading, time
from focusgql.store.mongo import EmbeddedServer

server = EmbeddedServer(sys.argv[1])
# As the supervisor restarts it: from a thread of its own that lives on.
threading.Thread(target=server.start, daemon=True).start()
while server.pid is None or server.exit_code() is not None:
    time.sleep(0.05)
time.sleep(1)  # started: the port answers
pathlib.Path(sys.argv[2]).write_text(str(server.pid))
time.sleep(600)
"""


async def test_a_database_started_by_a_thread_dies_with_its_killed_owner(
    tmp_path: Path,
) -> None:
    written = tmp_path / "child.pid"
    # No pipes: a child that outlived its owner would hold them open.
    owner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RESTARTED_BY_A_THREAD,
        str(tmp_path / "db"),
        str(written),
        stdout=asyncio.subprocess.DEVNULL,
    )
    child: int | None = None
    try:
        async with asyncio.timeout(60):
            while not written.exists() or not written.read_text():  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.1)
        child = int(written.read_text())
        owner.kill()
        await owner.wait()
        async with asyncio.timeout(15):
            while _alive(child):  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.1)
    finally:
        if owner.returncode is None:
            owner.kill()
            await owner.wait()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)  # the test failed: leave nothing behind


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # An exited child of a dead owner is reaped by init; until then a zombie.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
