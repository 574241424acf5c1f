"""The README's worked example runs as written, in order, over HTTP and WebSocket."""

import asyncio
import re
from pathlib import Path
from typing import Any

from gql import gql

from tests.e2e.test_gql_client import connect
from tests.support import Client, ManualClock, RunningServer

README = Path(__file__).parents[2] / "README.md"


def readme_operations() -> dict[str, str]:
    blocks = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)
    named = {}
    for block in blocks:
        name = re.match(r"\s*(?:query|mutation|subscription)\s+(\w+)", block)
        assert name, f"every README example is a named operation: {block[:40]}"
        named[name.group(1)] = block
    return named


async def test_the_readme_session_runs_as_written(
    server: RunningServer, anonymous: Client, clock: ManualClock
) -> None:
    ops = readme_operations()
    assert list(ops) == [
        "Register",
        "Start",
        "Watch",
        "Activity",
        "TabSwitch",
        "Pause",
        "Resume",
        "End",
        "Me",
    ]
    registered = (await anonymous.execute(ops["Register"]))["register"]
    ada = anonymous.as_user(registered["token"])
    session_id = (await ada.execute(ops["Start"]))["createSession"]["id"]

    def filled(name: str) -> str:
        return ops[name].replace("<session id>", session_id)

    frames: list[dict[str, Any]] = []
    payload = {"authorization": f"Bearer {registered['token']}"}
    async with connect(server, "graphql-transport-ws", payload) as ws:

        async def watch() -> None:
            async for result in ws.subscribe(gql(filled("Watch"))):
                frames.append(result["sessionTicks"])

        watcher = asyncio.create_task(watch())
        clock.advance(3)
        results: dict[str, Any] = {}
        for name in ("Activity", "TabSwitch", "Pause", "Resume", "End"):
            results[name] = await ada.execute(filled(name))
            clock.advance(2)
        async with asyncio.timeout(5):
            await watcher  # completes once the session has ended

    ended = results["End"]["endSession"]
    assert ended["status"] == "COMPLETED"
    assert ended["tabSwitches"] == 1
    assert ended["scoreBreakdown"]["score"] == ended["focusScore"]
    assert frames and frames[-1]["status"] == "COMPLETED"
    me = await ada.execute(ops["Me"])
    assert me["me"]["stats"]["completedSessions"] == 1
    assert me["sessions"]["edges"][0]["node"]["id"] == session_id
