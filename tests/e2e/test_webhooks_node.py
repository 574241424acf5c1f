"""The deliveries' signatures verify with another implementation of Standard
Webhooks than the server's: the `standardwebhooks` npm package, under Node
(tests/e2e/webhooks_node/, installed on first use like tests/e2e/node/)."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from focusgql.settings import Settings
from tests.conftest import START
from tests.e2e.test_graphql_ws_node import check_node, install_node_modules, run_node
from tests.receiver import receiving
from tests.support import Client, ManualClock, RunningServer, create_session, serve

VERIFIER_DIR = Path(__file__).parent / "webhooks_node"


@pytest.fixture(scope="session")
def verifier() -> Path:
    check_node()
    install_node_modules(VERIFIER_DIR)
    return VERIFIER_DIR / "verify.mjs"


@pytest.fixture
async def hooks_server(settings: Settings) -> AsyncIterator[RunningServer]:
    own = settings.model_copy(
        update={"database": f"{settings.database}_hooks_node", "webhook_allow_private": True}
    )
    async with serve(own, ManualClock(START)) as running:
        yield running


async def test_the_npm_standardwebhooks_package_verifies_every_delivery(
    hooks_server: RunningServer, verifier: Path, tmp_path: Path
) -> None:
    async with receiving() as receiver, httpx.AsyncClient(base_url=hooks_server.url) as http:
        person = await Client(http).register()
        path, url = receiver.endpoint()
        created = await person.execute(
            "mutation($u: String!) { createWebhook(url: $u, events: "
            '["session.started", "session.ended"]) { secret } }',
            {"u": url},
        )
        secret = created["createWebhook"]["secret"]
        sid = (await create_session(person, "id", contentId="ünïcødé ✓"))["id"]
        await person.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": sid})
        got = await receiver.wait_for(path, 2)
    captured = [{"secret": secret, "headers": r.headers, "body": r.body.decode()} for r in got]
    tampered = {**captured[1], "body": captured[1]["body"].replace("COMPLETED", "ABANDONED")}
    other = "whsec_" + "A" * 32
    wrong_secret = {**captured[0], "secret": other}
    batch = tmp_path / "deliveries.json"
    batch.write_text(json.dumps({"deliveries": [*captured, tampered, wrong_secret]}))

    out = await run_node(verifier, str(batch))
    results = out["results"]
    assert [r["ok"] for r in results] == [True, True, False, False], results
    assert [r["payload"]["type"] for r in results[:2]] == ["session.started", "session.ended"]
    assert results[0]["payload"]["data"]["contentId"] == "ünïcødé ✓"
