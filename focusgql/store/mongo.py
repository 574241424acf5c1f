"""The MongoDB client, Beanie initialisation, and the embedded SecantusDB server."""

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient

from focusgql.store.dblock import (
    LOCK_WAIT_SECONDS,
    DatabaseInUse,
    lock_holder,
    lock_is_free,
    wait_for_lock,
)
from focusgql.store.documents import SessionDocument, UserDocument
from focusgql.store.webhook_documents import DeliveryDocument, WebhookDocument

log = logging.getLogger(__name__)

DOCUMENTS = [UserDocument, SessionDocument, WebhookDocument, DeliveryDocument]


MAX_IDLE_MS = 240_000


def make_client(uri: str) -> AsyncMongoClient[dict[str, object]]:
    # tz_aware: PyMongo otherwise returns naive datetimes. maxIdleTimeMS: retire
    # pooled connections before the server drops them (SecantusDB closes one
    # idle for 300 s, and the next use would fail with AutoReconnect); a value
    # in the URI wins.
    options: dict[str, Any] = {}
    if "maxidletimems" not in uri.lower():
        options["maxIdleTimeMS"] = MAX_IDLE_MS
    return AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, **options)


async def init_database(client: AsyncMongoClient[dict[str, object]], name: str) -> None:
    await init_beanie(database=client[name], document_models=DOCUMENTS)


async def ping(client: AsyncMongoClient[dict[str, object]]) -> bool:
    try:
        await asyncio.wait_for(client.admin.command("ping"), timeout=2)
    except Exception:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


STOP_WAIT_SECONDS = 10.0


class EmbeddedServer:
    """SecantusDB as a child process, for running with nothing installed by hand."""

    def __init__(
        self,
        storage_path: Path | str,
        port: int | None = None,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.storage_path = storage_path
        self.port = port or free_port()
        self.lock_wait = lock_wait
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self, timeout: float = 30.0) -> None:
        if isinstance(self.storage_path, Path):
            self.storage_path.mkdir(parents=True, exist_ok=True)
            wait_for_lock(self.storage_path, self.lock_wait)
        command = [
            sys.executable,
            "-m",
            "secantus",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.storage_path),
            "--log-level",
            "WARNING",
        ]
        # Tie the server's life to ours where the OS allows: uvicorn re-raises a
        # SIGTERM after its graceful shutdown, so no `finally` of ours would run.
        die_with_us = (
            _die_with_parent if threading.current_thread() is threading.main_thread() else None
        )
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, preexec_fn=die_with_us
            )
        except FileNotFoundError as error:  # pragma: no cover - broken install
            raise RuntimeError(
                "SecantusDB is not installed: pip install 'focusgql[embedded]'"
            ) from error
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := self._process.poll()) is not None:
                if isinstance(self.storage_path, Path) and not lock_is_free(self.storage_path):
                    # Taken between our wait and its start.
                    raise DatabaseInUse(self.storage_path, lock_holder(self.storage_path))
                raise RuntimeError(f"SecantusDB exited at start with code {code}; see its output")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    log.info("embedded SecantusDB listening on port %d", self.port)
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"SecantusDB did not listen on port {self.port} in {timeout}s")

    def stop(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Stop the server and wait until it has exited (killed after `timeout`),
        so its files are free when this returns."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("embedded SecantusDB did not stop in %.0f s; killed", timeout)
            self._process.kill()
            self._process.wait()
