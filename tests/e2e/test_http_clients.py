"""Subscriptions over HTTP with clients written by others, run by Node
(tests/e2e/http/clients.mjs): the graphql-sse client (SSE, distinct
connections), Apollo Client 4 over HttpLink (multipart) and urql with
fetchSubscriptions. Each watches a session tick in real seconds, ends it
through the same client, and sees the subscription complete."""

import re
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_graphql_ws_node import run_node
from tests.e2e.test_http_spec import http_clients  # noqa: F401 - the fixture
from tests.support import Client, RunningServer, create_session


@pytest.mark.slow
@pytest.mark.parametrize("client", ["sse", "apollo", "urql"])
async def test_a_client_watches_ticks_over_http_until_the_end(
    live_server: RunningServer,
    http_clients: Path,  # noqa: F811
    client: str,
) -> None:
    out = await run_node(http_clients / "clients.mjs", client, live_server.url + "/graphql")
    frames = out["frames"]
    assert frames and not [f for f in frames if f.get("errors")], frames
    ticks = [f["data"]["sessionTicks"] for f in frames]
    elapsed = [t["elapsedSeconds"] for t in ticks]
    assert elapsed == sorted(elapsed) and elapsed[0] == 0 and max(elapsed) >= 2
    for tick in ticks:
        assert tick["activeSeconds"] + tick["idleSeconds"] == tick["elapsedSeconds"]
    ended = out["ended"]["endSession"]
    assert ended["status"] == "COMPLETED"
    # The stream completed right after the final snapshot.
    assert ticks[-1]["status"] == "COMPLETED"
    assert ticks[-1]["elapsedSeconds"] == ended["elapsedSeconds"]


async def test_apollos_persisted_queries_link(
    server: RunningServer,
    http_clients: Path,  # noqa: F811
) -> None:
    out = await run_node(http_clients / "clients.mjs", "apq", server.url + "/graphql")
    requests = out["requests"]
    summary = [(r["method"], r["withText"], r["codes"]) for r in requests]
    assert summary[:3] == [
        ("GET", False, ["PERSISTED_QUERY_NOT_FOUND"]),  # the hash alone, unknown yet
        ("POST", True, []),  # then the text, which the server checks and remembers
        ("GET", False, []),  # the hash alone again, found: a short URL a CDN can cache
    ], summary
    # The mutation goes by POST, never GET; by its hash, then its text.
    assert [r["method"] for r in requests[3:]] == ["POST"] * len(requests[3:]), summary
    assert requests[-1]["codes"] == [], summary
    assert len({r["hash"] for r in requests[:3]}) == 1 and requests[0]["hash"]
    assert out["first"] == out["second"]
    assert out["first"]["session"]["status"] == "ACTIVE"
    assert out["ended"]["endSession"]["status"] == "COMPLETED"


EXAMPLE = re.compile(r"// >>> (\S+)\n(.*?)\n *// <<<", re.DOTALL)
CLIENTS_MD = Path(__file__).parents[2] / "docs" / "clients.md"


def test_every_example_run_is_in_clients_md() -> None:
    examples = EXAMPLE.findall((Path(__file__).parent / "http" / "examples.mjs").read_text())
    assert {name for name, _ in examples} >= {"apollo-client", "urql", "relay"}
    page = CLIENTS_MD.read_text()
    for name, code in examples:
        assert textwrap.dedent(code) in page, f"docs/clients.md lacks the {name} example"


@pytest.mark.slow
async def test_the_clients_md_examples_run(
    live_server: RunningServer,
    http_clients: Path,  # noqa: F811
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        alice = await Client(http).register()
        sid = (await create_session(alice, "id"))["id"]
    assert alice.token
    out = await run_node(
        http_clients / "examples.mjs", live_server.url + "/graphql", alice.token, sid
    )
    assert out["urql"][0]["status"] == "ACTIVE"
    assert out["apollo"][-1]["status"] == "COMPLETED" and out["events"] == ["completed"]
    assert out["ended"]["status"] == "COMPLETED"
    assert out["relay"] == {
        "data": {"node": {"__typename": "FocusSession", "id": sid, "status": "COMPLETED"}}
    }
