"""The supervisor restarts a SecantusDB that died, on the same files and port."""

import asyncio
import os
import signal
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
