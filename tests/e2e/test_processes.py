"""Several server processes on one database serve the same live sessions."""

import asyncio
from typing import Any

import httpx
from gql import GraphQLRequest

from tests.e2e.test_gql_client import CREATE, TICKS, connect
from tests.support import Client, RunningServer, spawn

TAB = "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { tabSwitches asOf } }"
PAUSE = "mutation($id: ID!) { updateSession(id: $id, input: {status: PAUSED}) { status } }"
END = "mutation($id: ID!) { endSession(id: $id) { status focusScore } }"


async def test_a_change_through_one_process_reaches_watchers_on_another(
    server: RunningServer,
) -> None:
    settings = server.settings
    async with (
        spawn(settings) as first,
        spawn(settings) as second,
        httpx.AsyncClient(base_url=first.url, timeout=30) as http,
    ):
        person = await Client(http).register()
        created = (await person.execute(CREATE.payload["query"]))["createSession"]
        sid = created["id"]
        frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        payload = {"authorization": f"Bearer {person.token}"}
        async with connect(second, "graphql-transport-ws", payload) as ws:  # type: ignore[arg-type]

            async def watch() -> None:
                request = GraphQLRequest(TICKS, variable_values={"id": sid})
                async for result in ws.subscribe(request):
                    await frames.put(result["sessionTicks"])

            watcher = asyncio.create_task(watch())
            await frames.get()  # subscribed: the second process has the session live

            async def seen(predicate: Any) -> dict[str, Any]:
                """The first frame on the second process that satisfies `predicate`."""
                async with asyncio.timeout(1.0):  # within one tick
                    while True:
                        frame = await frames.get()
                        if predicate(frame):
                            return frame

            await person.execute(TAB, {"id": sid})
            assert (await seen(lambda f: f["tabSwitches"] == 1))["status"] == "ACTIVE"
            await person.execute(PAUSE, {"id": sid})
            await seen(lambda f: f["status"] == "PAUSED")
            ended = (await person.execute(END, {"id": sid}))["endSession"]
            final = await seen(lambda f: f["status"] == "COMPLETED")
            assert final["focusScore"] == ended["focusScore"]
            async with asyncio.timeout(5):
                await watcher  # the subscription on the second process completes
