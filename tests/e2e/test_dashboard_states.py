"""The dashboard in single situations, in headless Chromium (tests/e2e/browser/
cases.mjs): a session at its target, giving up, a server outage, a phone, and
two devices of one person following each other.

The outage goes through a TCP gate in front of the server that the test closes
(every open connection cut, new ones refused) and opens again, so the page sees
what it would see of a server that went away: a dropped socket, failing requests."""

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from focusgql.store.mongo import free_port
from tests.e2e.test_dashboard import BROWSER_DIR, CHROMIUM, install_chromium
from tests.e2e.test_graphql_ws_node import check_node, install_node_modules
from tests.support import Client, ManualClock, RunningServer

SCRIPT = BROWSER_DIR / "cases.mjs"
Step = Callable[[], Awaitable[None]]


@pytest.fixture(scope="session")
def cases_driver() -> Path:
    check_node()
    install_chromium()
    install_node_modules(BROWSER_DIR)
    return SCRIPT


async def run_case(
    case: str, url: str, token: str, steps: dict[str, Step] | None = None
) -> dict[str, Any]:
    """Runs one case; a line the script prints that names a step runs it, then `ok`."""
    env = {**os.environ, "CHROMIUM": str(CHROMIUM)}
    if (shots := os.environ.get("FOCUSGQL_SCREENSHOTS")) and case == "phone":
        env["SCREENSHOT"] = str(Path(shots) / "dashboard-phone.png")  # make screenshots
    process = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        case,
        url,
        token,
        cwd=SCRIPT.parent,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    last = ""
    try:
        async with asyncio.timeout(90):
            while line := (await process.stdout.readline()).decode().strip():
                if steps and line in steps:
                    await steps[line]()
                    process.stdin.write(b"ok\n")
                    await process.stdin.drain()
                else:
                    last = line
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert last, f"cases.mjs {case} printed nothing: {stderr.decode()[-2000:]}"
    out: dict[str, Any] = json.loads(last)
    assert "error" not in out and process.returncode == 0, (
        f"cases.mjs {case} failed: {out.get('error')}\n{stderr.decode()[-2000:]}"
    )
    assert out["consoleErrors"] == [], out["consoleErrors"]
    return out


class Gate:
    """A TCP pass-through to the server that can be cut and restored."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.open = True
        self.writers: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self.writers.discard(writer)

    async def cut(self) -> None:
        self.open = False
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def restore(self) -> None:
        self.open = True


@contextlib.asynccontextmanager
async def gate_to(server: RunningServer) -> AsyncIterator[tuple[Gate, str]]:
    gate = Gate(int(server.url.rsplit(":", 1)[1]))
    port = free_port()
    listener = await asyncio.start_server(gate.handle, "127.0.0.1", port)
    try:
        yield gate, f"http://127.0.0.1:{port}"
    finally:
        listener.close()
        await gate.cut()


async def signed_up(http: httpx.AsyncClient) -> Client:
    return await Client(http).register()


async def create(person: Client, target: int, **extra: Any) -> str:
    data = await person.execute(
        "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
        {"i": {"targetMinutes": target, **extra}},
    )
    session_id: str = data["createSession"]["id"]
    return session_id


async def test_a_session_at_its_target_is_completed(
    server: RunningServer, clock: ManualClock, cases_driver: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        person = await signed_up(http)
        await create(person, 1, idleThresholdSeconds=3600)
        clock.advance(61)
        assert person.token
        out = await run_case("target", server.url, person.token)
        stored = await person.execute("{ sessions(first: 1) { edges { node { status } } } }")
        stats = await person.execute("{ me { stats { currentStreak } } }")
    assert (out["end"], out["giveUpShown"]) == ("Finish", False)
    assert out["result"] == "Session completed"
    assert out["note"] == "Target reached."
    assert stored["sessions"]["edges"][0]["node"]["status"] == "COMPLETED"
    assert stats["me"]["stats"]["currentStreak"] == 1


@pytest.mark.slow
async def test_giving_up_abandons_the_session(
    live_server: RunningServer, cases_driver: Path
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        person = await signed_up(http)
        await create(person, 25)
        assert person.token
        out = await run_case("give-up", live_server.url, person.token)
        stored = await person.execute(
            "{ sessions(first: 1) { edges { node { status } } } me { stats { currentStreak } } }"
        )
    assert out["result"] == "Session abandoned"
    assert "no streak day" in out["note"]
    assert stored["sessions"]["edges"][0]["node"]["status"] == "ABANDONED"
    assert stored["me"]["stats"]["currentStreak"] == 0


@pytest.mark.slow
async def test_an_outage_is_said_at_once_and_the_clock_goes_on(
    live_server: RunningServer, cases_driver: Path
) -> None:
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=30) as http,
        gate_to(live_server) as (gate, url),
    ):
        person = await signed_up(http)
        session_id = await create(person, 25)
        assert person.token
        moments: dict[str, datetime] = {}

        async def cut() -> None:
            moments["cut"] = datetime.now(UTC)
            await gate.cut()

        async def restore() -> None:
            moments["restore"] = datetime.now(UTC)
            await gate.restore()

        out = await run_case("outage", url, person.token, {"cut": cut, "restore": restore})
        read = (
            await person.execute(
                "query($id: ID!) { session(id: $id) { elapsedSeconds lastActivityAt } }",
                {"id": session_id},
            )
        )["session"]
        elapsed = read["elapsedSeconds"]

    # Said at once (the socket dropped), not when a later signal fails.
    assert out["noticeAfterMs"] < 1500, out
    assert out["unconfirmedShown"] and not out["errorShownOffline"], out
    # The clock kept running on the page, from the last snapshot.
    samples = out["offlineSamples"]
    assert samples == sorted(samples) and samples[-1] - out["before"] >= 2, out
    assert "kept" in out["offlineText"], out["offlineText"]
    # Back: confirmed by the server again within a few seconds, banners gone.
    assert out["confirmedAfterMs"] < 5000, out
    assert out["backText"].startswith("Reconnected"), out["backText"]
    assert "made offline sent" in out["backText"], out["backText"]
    # They were replayed once back, each counted at its offline instant.
    last_activity = datetime.fromisoformat(read["lastActivityAt"])
    assert moments["cut"] < last_activity < moments["restore"], (moments, last_activity)
    assert not out["errorShownBack"]
    # What the page shows once back is the server's clock (read a moment later here).
    assert 0 <= elapsed - out["after"] <= 5, (out["after"], elapsed)


@pytest.mark.slow
async def test_the_page_fits_a_phone(live_server: RunningServer, cases_driver: Path) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        person = await Client(http).register()
        email = (await person.execute("{ me { email } }"))["me"]["email"]
        for topic in ("chapter 3: linear maps and their matrices", None):
            session_id = await create(person, 25, **({"contentId": topic} if topic else {}))
            await person.execute(
                "mutation($id: ID!) { endSession(id: $id) { id } }", {"id": session_id}
            )
        assert person.token
        out = await run_case("phone", live_server.url, person.token)
    page = out["page"]
    assert out["viewport"]["width"] == 390
    assert page["scrollWidth"] <= page["width"], page
    assert page["outside"] == [], page["outside"]
    assert page["clipped"] == [], page["clipped"]
    # The e-mail in the header is one line, cut with an ellipsis, whole in its title.
    assert page["who"] == {"lines": 1, "ellipsis": "ellipsis", "title": email}, page["who"]
    # Each history row is stacked: every cell readable, labelled, none cut.
    cells = page["historyCells"]
    assert len(cells) == 6 and cells[4] == "Status completed", cells


@pytest.mark.slow
async def test_a_second_device_follows_the_first_within_a_tick(
    live_server: RunningServer, cases_driver: Path
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        person = await signed_up(http)
        assert person.token
        out = await run_case("two-devices", live_server.url, person.token)
        stored = await person.execute(
            "{ sessions(first: 2) { edges { node { id status } } } activeSession { id } }"
        )
        if stored["activeSession"]:
            await person.execute(
                "mutation($id: ID!) { endSession(id: $id) { id } }",
                {"id": stored["activeSession"]["id"]},
            )
    # Each change made on one page shows on the other within a tick (plus the page's work).
    for moment in ("start", "pause", "resume", "end", "restart"):
        assert out[f"{moment}SeenAfterMs"] < 1500, out
    assert out["ticked"], out
    assert out["otherResult"] in ("Finished early", "Session completed"), out
    newest, older = (edge["node"] for edge in stored["sessions"]["edges"])
    assert older["status"] == "COMPLETED" and newest["status"] == "ACTIVE"
    assert stored["activeSession"]["id"] == newest["id"]
    assert out["sessionIds"] == [newest["id"], newest["id"]], out
