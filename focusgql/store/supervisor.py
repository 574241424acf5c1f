"""Keep the embedded SecantusDB serving: restart it when it dies or can no longer write.

When its disk fills, WiredTiger panics: the process lives on and answers
`ping`, but every write (and most reads) from then on fails with
InternalError, or never answers, until the process is restarted, even once
space is back. And a SecantusDB that exits (killed, crashed) stays gone.
Either way the server would answer UNAVAILABLE until someone restarted it by
hand. The supervisor, a thread beside the server (the owner of the child
process, so `focusgql serve`'s, whichever workers use it), probes with a tiny
write every `every` seconds and restarts the child on the same files and port
when it has exited, or when writes fail while it still answers a ping: a
panic, not a stall (a stalled database answers no ping either, and is waited
for). Clients reconnect by themselves (same address); a restart that fails
(no space yet) is tried again each round. WiredTiger's recovery replays its
log, so everything acknowledged is there (with `--sync-on-commit`, even what
had not reached the disk's cache).
"""

import logging
import threading
from datetime import UTC, datetime

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from focusgql.store.mongo import EmbeddedServer

log = logging.getLogger(__name__)

PROBE_EVERY_SECONDS = 2.0
FAILED_PROBES_BEFORE_RESTART = 2
PROBE_TIMEOUT_MS = 2000
PROBE_COLLECTION = "health"


class Supervisor:
    def __init__(
        self,
        server: EmbeddedServer,
        database: str,
        every: float = PROBE_EVERY_SECONDS,
        failures_before_restart: int = FAILED_PROBES_BEFORE_RESTART,
    ) -> None:
        self.server = server
        self.database = database
        self.every = every
        self.failures_before_restart = failures_before_restart
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="secantus-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising (before stopping the server, so it is not restarted)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        client = self._client()
        failures = 0
        broken = False  # a restart is due or failed: say when it serves again
        try:
            while not self._stop.wait(self.every):
                code = self.server.exit_code()
                if code is None and self._writes(client):
                    if broken:
                        log.info("embedded SecantusDB serving again")
                    failures, broken = 0, False
                    continue
                if code is None:
                    failures += 1
                    if failures < self.failures_before_restart or not self._pings(client):
                        continue  # one slow probe, or a stall: wait for it
                if not broken:
                    why = (
                        f"exited with code {code}"
                        if code is not None
                        else "answers but cannot write (a full disk?)"
                    )
                    log.warning("embedded SecantusDB %s; restarting it on the same files", why)
                broken = True
                if self._restart():
                    failures = 0
                    client.close()
                    client = self._client()
                    if self._writes(client):
                        log.info("embedded SecantusDB serving again")
                        broken = False
        finally:
            client.close()

    def _client(self) -> MongoClient[dict[str, object]]:
        return MongoClient(self.server.uri, timeoutMS=PROBE_TIMEOUT_MS)

    def _writes(self, client: MongoClient[dict[str, object]]) -> bool:
        try:
            client[self.database][PROBE_COLLECTION].update_one(
                {"_id": "embedded-supervisor"},
                {"$set": {"at": datetime.now(UTC)}},
                upsert=True,
            )
        except PyMongoError:
            return False
        return True

    @staticmethod
    def _pings(client: MongoClient[dict[str, object]]) -> bool:
        try:
            client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    def _restart(self) -> bool:
        if self._stop.is_set():
            return False
        try:
            self.server.stop(timeout=5)
            self.server.start()
        except Exception as error:  # no space yet, most likely: the next round retries
            log.debug("embedded SecantusDB restart failed: %s", error)
            return False
        self.restarts += 1
        return True
