"""Who holds the embedded database's files: WiredTiger's single-writer lock.

A server stopped or killed a moment ago leaves its SecantusDB child finishing
for a few seconds, and a SecantusDB started on the same files meanwhile exits
at once. So a start waits for the lock to go, and names the holder when it
does not.
"""

import fcntl
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = "WiredTiger.lock"
LOCK_WAIT_SECONDS = 10.0
"""How long a start waits for a previous owner of the files to let go: a server
stopped (or killed) a moment ago leaves its SecantusDB child finishing for a
few seconds."""


class DatabaseInUse(RuntimeError):
    """The embedded database's files are held by another process."""

    def __init__(self, storage_path: Path, holder: int | None) -> None:
        self.storage_path = storage_path
        self.holder = holder
        who = f"process {holder} ({_command_of(holder)})" if holder else "another process"
        super().__init__(
            f"the embedded database in {storage_path} is in use by {who}; stop it, "
            "or set FOCUSGQL_DATA_DIR (or FOCUSGQL_MONGODB_URI) to use another database"
        )


def lock_is_free(storage_path: Path) -> bool:
    """Whether no process holds WiredTiger's single-writer lock on these files."""
    try:
        fd = os.open(storage_path / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        # A whole-file probe conflicts with WiredTiger's lock, whatever its range.
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)  # drops our probe lock, never anyone else's


def lock_holder(storage_path: Path) -> int | None:
    """The process holding the lock, from /proc/locks (Linux); None if unknown."""
    try:
        stat = os.stat(storage_path / LOCK_FILE)
        entries = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    for entry in entries:
        fields = entry.split()
        if len(fields) > 5 and fields[5] == device and fields[4].isdigit():
            return int(fields[4])
    return None


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "command unknown"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:200]


def wait_for_lock(storage_path: Path, timeout: float = LOCK_WAIT_SECONDS) -> None:
    """Return once the files are free; DatabaseInUse if they stay held `timeout` s."""
    deadline = time.monotonic() + timeout
    announced = False
    while not lock_is_free(storage_path):
        if time.monotonic() >= deadline:
            raise DatabaseInUse(storage_path, lock_holder(storage_path))
        if not announced:
            log.info("waiting for the previous owner of %s to let go", storage_path)
            announced = True
        time.sleep(0.1)
