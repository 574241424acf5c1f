import httpx

from tests.support import Client, RunningServer


async def test_health_reports_the_database(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_graphiql_is_served_to_browsers(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_a_malformed_body_is_a_clean_400(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            "/graphql", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_a_subscription_over_plain_http_is_refused_with_a_code(alice: Client) -> None:
    created = await alice.execute("mutation { createSession(input: {targetMinutes: 5}) { id } }")
    sid = created["createSession"]["id"]
    body = await alice.raw(f'subscription {{ sessionTicks(sessionId: "{sid}") {{ id }} }}')
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "WebSocket" in body["errors"][0]["message"]
