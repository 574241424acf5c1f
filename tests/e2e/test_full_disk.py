"""The embedded database's disk fills while a person works, then space is freed.

`focusgql serve` with no database given starts (and supervises) its own
SecantusDB, here on a 96 MB tmpfs. A file fills the filesystem but for a few
megabytes and bulk inserts by another client take the rest: WiredTiger
panics, SecantusDB answers InternalError or nothing while still answering
pings. Meanwhile the person keeps recording tab switches. Every answer is
either acknowledged or UNAVAILABLE (never INTERNAL); /health reports the
database failing; the supervisor restarts SecantusDB on the same files once
the filler is removed, without a restart of the server; and every
acknowledged tab switch is counted afterwards.

Mounting needs root (or CAP_SYS_ADMIN); where the machine refuses, the test
skips and says why.
"""

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from focusgql.settings import Settings
from tests.support import Client, spawn_embedded

SIZE = "96m"
LEFT_FREE = 6 * 1024 * 1024
CREATE = "mutation { createSession(input: {targetMinutes: 25}) { id } }"
TAB = "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { tabSwitches } }"
SESSION = "query($id: ID!) { session(id: $id) { tabSwitches status } }"
ENV = {
    "FOCUSGQL_LOG_LEVEL": "info",
    "FOCUSGQL_RATE_LIMIT_LOGIN_PER_ADDRESS": "",
    "FOCUSGQL_RATE_LIMIT_MUTATIONS_PER_USER": "",
    "FOCUSGQL_RATE_LIMIT_MUTATIONS_PER_ADDRESS": "",
}


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("small-disk")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        reason = (mounted.stderr or mounted.stdout).strip()
        pytest.skip(f"cannot mount a {SIZE} tmpfs here ({reason}): needs root or CAP_SYS_ADMIN")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@dataclass
class Outcome:
    acknowledged: int = 0
    codes: list[str] = field(default_factory=list)
    """The code of every refused tab switch."""
    health: list[tuple[int, Any]] = field(default_factory=list)
    full_seen: bool = False
    recovered_after: float | None = None
    final: dict[str, Any] | None = None
    stored: int | None = None
    log: str = ""


async def tab(client: Client, sid: str, outcome: Outcome) -> bool:
    body = await client.raw(TAB, {"id": sid})
    if body.get("errors"):
        outcome.codes += [e.get("extensions", {}).get("code", "?") for e in body["errors"]]
        return False
    outcome.acknowledged += 1
    return True


async def fill(uri: str, database: str, disk: Path) -> None:
    """Inserts of big documents until the filesystem is full or the database
    refuses them for good (a slow insert is not a refusal)."""
    filler: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, timeoutMS=10_000)
    refusals = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and refusals < 3:
            try:
                await filler[database]["filler"].insert_one({"pad": "x" * 256_000})
            except PyMongoError:
                refusals += 1
            if await asyncio.to_thread(_free_bytes, disk) < 64 * 1024:
                refusals = max(refusals, 1)
    finally:
        await filler.close()


async def run_full_disk(settings: Settings, disk: Path, log_path: Path) -> Outcome:
    outcome = Outcome()
    async with (
        spawn_embedded(settings, disk, log_path, **ENV) as app,
        httpx.AsyncClient(base_url=app.url, timeout=30) as http,
    ):
        text = await asyncio.to_thread(log_path.read_text)
        found = re.search(r"embedded SecantusDB listening on port (\d+)", text)
        assert found, text[-2000:]
        uri = f"mongodb://127.0.0.1:{found[1]}/?directConnection=true"
        client = await Client(http).register()
        sid = (await client.execute(CREATE))["createSession"]["id"]
        for _ in range(20):
            assert await tab(client, sid, outcome)

        blocker = disk / "filler"
        free = await asyncio.to_thread(_free_bytes, disk)
        await asyncio.to_thread(_write_zeros, blocker, max(0, free - LEFT_FREE))
        filling = asyncio.create_task(fill(uri, settings.database, disk))
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            await tab(client, sid, outcome)
            response = await http.get("/health")
            outcome.health.append((response.status_code, response.json()))
            if response.status_code == 503:
                outcome.full_seen = True
                break
            await asyncio.sleep(0.1)
        await filling
        for _ in range(10):  # a few more tries while it is full
            await tab(client, sid, outcome)
            await asyncio.sleep(0.2)

        await asyncio.to_thread(blocker.unlink)
        freed_at = time.monotonic()
        while time.monotonic() - freed_at < 40:
            response = await http.get("/health")
            if response.status_code == 200 and await tab(client, sid, outcome):
                outcome.recovered_after = time.monotonic() - freed_at
                break
            await asyncio.sleep(0.5)
        for _ in range(5):
            await tab(client, sid, outcome)
        outcome.final = (await client.execute(SESSION, {"id": sid}))["session"]
    # After the server's clean stop everything is folded into the document.
    outcome.log = await asyncio.to_thread(log_path.read_text, errors="replace")
    return outcome


def _free_bytes(path: Path) -> int:
    import os

    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _write_zeros(path: Path, size: int) -> None:
    chunk = b"\0" * (1 << 20)
    with path.open("wb") as out:
        for _ in range(size // len(chunk)):
            out.write(chunk)


@pytest.fixture(scope="module")
async def outcome(settings: Settings, small_disk: Path) -> Outcome:
    own = settings.model_copy(update={"database": "focusgql_full_disk"})
    return await run_full_disk(own, small_disk, small_disk.parent / "full-disk-server.log")


def test_a_full_disk_answers_unavailable_never_internal(outcome: Outcome) -> None:
    assert outcome.codes, "some tab switch was refused while the disk was full"
    assert set(outcome.codes) == {"UNAVAILABLE"}, outcome.codes


def test_health_reports_the_database_failing(outcome: Outcome) -> None:
    assert outcome.full_seen, outcome.health[-5:]
    status, body = outcome.health[-1]
    assert status == 503 and body["database"] in ("failing", "down"), outcome.health[-5:]


def test_service_resumes_once_space_is_back_without_a_server_restart(outcome: Outcome) -> None:
    assert outcome.recovered_after is not None and outcome.recovered_after < 30, outcome.log[-3000:]
    assert "restarting it on the same files" in outcome.log
    assert "embedded SecantusDB serving again" in outcome.log


def test_every_acknowledged_write_is_there(outcome: Outcome) -> None:
    assert outcome.final is not None and outcome.final["status"] == "ACTIVE"
    stored = outcome.final["tabSwitches"]
    # Refused ones may have been stored (a timed-out write can land): never fewer.
    assert outcome.acknowledged <= stored <= outcome.acknowledged + len(outcome.codes), (
        outcome.acknowledged,
        stored,
    )
