"""The MongoDB client, Beanie initialisation, and the embedded SecantusDB server."""

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from beanie import init_beanie
from pymongo import AsyncMongoClient

from focusgql.store.dblock import (
    LOCK_WAIT_SECONDS,
    DatabaseInUse,
    lock_holder,
    lock_is_free,
    wait_for_lock,
)
from focusgql.store.documents import IdempotencyKeyDocument, SessionDocument, UserDocument
from focusgql.store.webhook_documents import DeliveryDocument, WebhookDocument

log = logging.getLogger(__name__)

DOCUMENTS = [
    UserDocument,
    SessionDocument,
    IdempotencyKeyDocument,
    WebhookDocument,
    DeliveryDocument,
]


MAX_IDLE_MS = 240_000
TIMEOUT_MS = 5000


def make_client(uri: str, timeout_ms: int = TIMEOUT_MS) -> AsyncMongoClient[dict[str, object]]:
    # tz_aware: PyMongo otherwise returns naive datetimes. maxIdleTimeMS: retire
    # pooled connections before the server drops them (SecantusDB closes one
    # idle for 300 s, and the next use would fail with AutoReconnect).
    # timeoutMS: a database that stops answering on an open connection (a
    # SIGSTOP, a VM pause, a disk stall) is otherwise waited on until the
    # monitor gives up on it, about 30 s. A value in the URI wins for each.
    options: dict[str, Any] = {}
    given = _option_names(uri)
    if "maxidletimems" not in given:
        options["maxIdleTimeMS"] = MAX_IDLE_MS
    if "timeoutms" not in given:
        options["timeoutMS"] = timeout_ms
    return AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, **options)


def _option_names(uri: str) -> set[str]:
    """The connection string's option names, lowercased (MongoDB reads them so)."""
    query = urlsplit(uri).query
    return {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}


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


def _die_with_parent_hook() -> Callable[[], None] | None:
    """What the child runs before exec so that it gets SIGTERM when the thread
    that started it ends (the whole process, killed or not, included); None
    where the OS has no such thing. Looked up here, in the parent: the child
    of a process with threads must not import or take locks before exec."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None).prctl
    pr_set_pdeathsig = 1

    def hook() -> None:  # pragma: no cover - runs in the child
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


STOP_WAIT_SECONDS = 10.0


class EmbeddedServer:
    """SecantusDB as a child process, for running with nothing installed by hand."""

    def __init__(
        self,
        storage_path: Path | str,
        port: int | None = None,
        lock_wait: float = LOCK_WAIT_SECONDS,
        sync_on_commit: bool = True,
    ) -> None:
        self.storage_path = storage_path
        self.port = port or free_port()
        self.lock_wait = lock_wait
        self.sync_on_commit = sync_on_commit
        """Fsync WiredTiger's log at every commit. Without it a commit returns
        once its record is in WiredTiger's log buffer, and a panic (a full disk)
        or a kill loses what was acknowledged since the last write-out: one
        acknowledged tab switch was gone after a disk filled."""
        self._process: subprocess.Popen[bytes] | None = None

    def exit_code(self) -> int | None:
        """The process's exit code once it has exited (None while it runs)."""
        return self._process.poll() if self._process is not None else None

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
            "focusgql.store.secantus_child",  # `-m secantus`, safe against a burst of SIGTERMs
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.storage_path),
            "--log-level",
            "WARNING",
            *(["--sync-on-commit"] if self.sync_on_commit else []),
        ]
        # Tie the server's life to ours where the OS allows: uvicorn re-raises a
        # SIGTERM after its graceful shutdown, so no `finally` of ours would run.
        # From whichever thread starts it: the supervisor's restart, whose thread
        # lives until the stop, included (a restarted child used to outlive a
        # server killed with -9, holding its files).
        die_with_us = _die_with_parent_hook()
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
