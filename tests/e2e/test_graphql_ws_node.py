"""Conformance with the official `graphql-ws` npm client, run by Node: a whole
session on one socket, and a bad token refused with 4403 (tests/e2e/node/).

The Node packages install themselves (`npm ci`) on first use; without Node the
test skips, except under CI, where it fails."""

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.support import RunningServer

NODE_DIR = Path(__file__).parent / "node"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def unavailable(message: str) -> NoReturn:
    """Skips on a developer's machine; fails under CI, where everything must run."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def check_node() -> None:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        unavailable("Node 20+ and npm are needed: install them (e.g. `apt-get install nodejs npm`)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    if int(version.stdout.strip().lstrip("v").split(".")[0]) < 20:
        unavailable(f"Node 20+ is needed, found {version.stdout.strip()}")


def install_node_modules(directory: Path) -> None:
    """`npm ci` into directory/node_modules when it is missing or older than the lockfile."""
    lock = directory / "package-lock.json"
    installed = directory / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    command = ["npm", "ci" if lock.exists() else "install", "--no-audit", "--no-fund"]
    done = subprocess.run(
        command, cwd=directory, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        unavailable(f"`{' '.join(command)}` in {directory} failed:\n{done.stderr[-2000:]}")


async def run_node(
    script: Path, *args: str, env: dict[str, str] | None = None, limit: float = 60
) -> dict[str, Any]:
    """Runs a Node script without blocking the loop the server runs in; returns its JSON."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        *args,
        cwd=script.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        async with asyncio.timeout(limit):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    lines = stdout.decode().strip().splitlines()
    assert lines, f"{script.name} printed nothing (exit {process.returncode}): {stderr.decode()}"
    output: dict[str, Any] = json.loads(lines[-1])
    assert process.returncode == 0 and "error" not in output, (
        f"{script.name} failed (exit {process.returncode}): {output.get('error')}\n"
        f"{stderr.decode()[-2000:]}"
    )
    return output


@pytest.fixture(scope="session")
def graphql_ws_client() -> Path:
    """The client script, its packages installed (sync: before the test's loop runs)."""
    check_node()
    install_node_modules(NODE_DIR)
    return NODE_DIR / "client.mjs"


@pytest.mark.slow
async def test_a_whole_session_on_one_graphql_ws_client(
    live_server: RunningServer, graphql_ws_client: Path
) -> None:
    out = await run_node(graphql_ws_client, "session", live_server.ws_url)
    results, frames = out["results"], out["frames"]

    # One socket carried everything, and the server answered the client's pings.
    assert out["events"].count("connected") == 1, out["events"]
    assert [e for e in out["events"] if isinstance(e, dict) and "nonLazyError" in e] == []
    assert "pong" in out["events"]
    assert out["anonymousEvents"].count("connected") == 1

    assert results["me"]["email"].startswith("node-")
    assert results["created"]["status"] == "ACTIVE"
    assert results["tab"]["tabSwitches"] == 1
    assert results["paused"]["status"] == "PAUSED"
    assert results["resumed"]["status"] == "ACTIVE"
    ended = results["ended"]
    assert ended["status"] == "COMPLETED"
    assert ended["focusScore"] is not None and ended["focusScore"] == ended["projectedFocusScore"]
    assert ended["activeSeconds"] + ended["idleSeconds"] == ended["elapsedSeconds"] >= 2

    # The subscription ends by completing, right after the final snapshot.
    assert out["ending"] == "completed"
    assert not [f for f in frames if "errors" in f], frames
    assert frames[-1] == ended
    assert frames[-1]["tabSwitches"] == 1
    statuses = [f["status"] for f in frames]
    first_pause = statuses.index("PAUSED")
    assert "ACTIVE" in statuses[first_pause:]
    assert statuses.count("COMPLETED") == 1
    elapsed = [f["elapsedSeconds"] for f in frames]
    assert elapsed == sorted(elapsed), "session time never runs backwards"
    assert results["me_after"]["stats"] == {"totalSessions": 1, "completedSessions": 1}


async def test_a_bad_token_in_connection_params_closes_with_4403(
    live_server: RunningServer, graphql_ws_client: Path
) -> None:
    out = await run_node(graphql_ws_client, "bad-token", live_server.ws_url)
    assert isinstance(out["outcome"], dict) and out["outcome"].get("code") == 4403, out
    assert "connected" not in out["events"]
    closes = [e["closed"] for e in out["events"] if isinstance(e, dict) and "closed" in e]
    assert [c["code"] for c in closes] == [4403]
