"""GraphiQL at /graphql in headless Chromium with no network beyond the server:
it renders from the vendored files, runs a query with a token from its Headers
tab, and shows a sessionTicks subscription's ticks arriving over its WebSocket
(tests/e2e/browser/graphiql.mjs). Chromium is found or installed as for the
dashboard's test."""

from pathlib import Path

import httpx
import pytest

from tests.e2e.test_dashboard import BROWSER_DIR, CHROMIUM, install_chromium
from tests.e2e.test_graphql_ws_node import check_node, install_node_modules, run_node
from tests.support import Client, RunningServer


@pytest.fixture(scope="session")
def graphiql_driver() -> Path:
    check_node()
    install_chromium()
    install_node_modules(BROWSER_DIR)
    return BROWSER_DIR / "graphiql.mjs"


@pytest.mark.slow
async def test_graphiql_offline_with_a_token_and_a_subscription(
    live_server: RunningServer, graphiql_driver: Path
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        person = await Client(http).register()
        created = await person.execute(
            "mutation { createSession(input: {targetMinutes: 5}) { id } }"
        )
        me = await person.execute("{ me { email } }")
    session_id = created["createSession"]["id"]
    assert person.token is not None
    out = await run_node(
        graphiql_driver,
        live_server.url,
        person.token,
        session_id,
        env={"CHROMIUM": str(CHROMIUM)},
        limit=90,
    )

    assert out["consoleErrors"] == []
    assert out["blocked"] == [], "the page asked for something beyond the server"
    assert out["loadingGone"]
    assert "/static/vendor/graphiql/graphiql.min.js" in out["requested"]
    assert {path for path in out["requested"] if not path.startswith("/static/")} == {"/graphql"}

    # Without the header, the server says who is missing; with it, who is asking.
    anonymous_codes = {e["extensions"]["code"] for e in out["anonymous"]["errors"]}
    assert anonymous_codes == {"UNAUTHENTICATED"}
    assert out["signedIn"]["data"]["me"]["email"] == me["me"]["email"]
    assert out["signedIn"]["data"]["activeSession"] == {"id": session_id, "status": "ACTIVE"}

    # The subscription went over the page's own socket, signed in with the header,
    # and its result pane moved with the ticks (one a second over 4.5 s).
    assert out["sockets"] and set(out["sockets"]) == {live_server.ws_url}, out["sockets"]
    assert out["initCarriesToken"]
    ticks = out["ticks"]
    assert all(isinstance(t, int) for t in ticks), ticks
    assert ticks == sorted(ticks) and len(ticks) >= 3, ticks

    # The token never reached the address bar.
    assert out["pageUrl"] == f"{live_server.url}/graphql"
