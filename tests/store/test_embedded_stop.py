"""The embedded database stops on a burst of SIGTERMs, as a killed server sends them,
and lets go of its files."""

import asyncio
import os
import signal
from pathlib import Path

from focusgql.store.dblock import lock_is_free
from focusgql.store.mongo import EmbeddedServer

ROUNDS = 8
SIGNALS = 6


async def test_a_burst_of_sigterms_stops_the_database(tmp_path: Path) -> None:
    # Plain `python -m secantus` hung in about one burst of ten (its handler,
    # run again while it held its own lock, waited for itself).
    for round_ in range(ROUNDS):
        server = EmbeddedServer(tmp_path / "db")
        await asyncio.to_thread(server.start)
        pid = server.pid
        assert pid is not None
        try:
            for _ in range(SIGNALS):
                os.kill(pid, signal.SIGTERM)
                await asyncio.sleep(0.0005 * (round_ % 4 + 1))
            async with asyncio.timeout(15):
                while server.exit_code() is None:  # noqa: ASYNC110 - polling another process
                    await asyncio.sleep(0.05)
            assert lock_is_free(tmp_path / "db"), round_
        finally:
            await asyncio.to_thread(server.stop, 2)
