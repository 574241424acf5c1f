"""Rate limits: sign-ins per address and per account, changes per person and per address,
answered RATE_LIMITED with a retryAfter hint; activity is never limited.

Each test speaks from its own loopback address (127.0.0.x), so per-address counts
stay apart. Limits count on the system clock (the `limits` library reads it), so
the one test that waits for a window to pass uses a one-second window.
"""

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from focusgql.domain.errors import RateLimited
from focusgql.services.ratelimit import Bucket, RateLimiter, RatePolicy
from focusgql.settings import Settings
from tests.support import Client, ManualClock, RunningServer, serve

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIMITS = {
    "rate_limit_login_per_address": "6/hour",
    "rate_limit_login_per_account": "3/hour",
    "rate_limit_mutations_per_user": "4/hour",
    "rate_limit_mutations_per_address": "8/hour",
}
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
# Over the 256-character bound: refused before Argon2 runs, so guessing stays quick here.
GUESS = "wrong password " * 20
CREATE = "mutation { createSession(input: {targetMinutes: 5}) { id } }"
ACTIVITY = "mutation($id: ID!) { recordActivity(sessionId: $id) { elapsedSeconds } }"
TAB = "mutation($id: ID!) { recordTabSwitch(sessionId: $id) { tabSwitches } }"
_hosts = itertools.count(2)


class Connect(Protocol):
    def __call__(self, token: str | None = None) -> Client: ...


@pytest.fixture(scope="module")
async def limited(settings: Settings, clock: ManualClock) -> AsyncIterator[RunningServer]:
    # The shared clock: people registered on the shared server sign in here too.
    async with serve(settings.model_copy(update=LIMITS), clock) as running:
        yield running


@pytest.fixture
async def from_address(limited: RunningServer) -> AsyncIterator[Callable[[], Connect]]:
    """Clients on `limited`, each call of the factory from a fresh loopback address."""
    opened: list[httpx.AsyncClient] = []

    def address() -> Connect:
        transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{next(_hosts)}")
        http = httpx.AsyncClient(base_url=limited.url, transport=transport, timeout=30)
        opened.append(http)

        def client(token: str | None = None) -> Client:
            return Client(http, token)

        return client

    yield address
    for http in opened:
        await http.aclose()


def error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    first: dict[str, Any] = body["errors"][0]
    return first


def limited_error(body: dict[str, Any]) -> dict[str, Any]:
    first = error(body)
    assert first["extensions"]["code"] == "RATE_LIMITED", body
    retry_after = first["extensions"]["retryAfter"]
    assert isinstance(retry_after, int) and 1 <= retry_after <= 3600, body
    assert body["data"] is None
    return first


async def test_sign_ins_are_limited_per_address(from_address: Callable[[], Connect]) -> None:
    client = from_address()()
    for n in range(6):
        body = await client.raw(LOGIN, {"e": f"guess{n}@example.com", "p": GUESS})
        assert error(body)["extensions"]["code"] == "UNAUTHENTICATED"
    refused = limited_error(await client.raw(LOGIN, {"e": "other@example.com", "p": "pw"}))
    assert "from this address" in refused["message"]
    # Registering counts too: it is how one would mint accounts to guess with.
    register = (
        'mutation { register(input: {email: "r@example.com", password: "long enough"}) { token } }'
    )
    limited_error(await client.raw(register))
    # Another address is not affected.
    other = from_address()()
    body = await other.raw(LOGIN, {"e": "other@example.com", "p": GUESS})
    assert error(body)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_sign_ins_are_limited_per_account_across_addresses(
    from_address: Callable[[], Connect], anonymous: Client
) -> None:
    person = await anonymous.register()
    email = (await person.execute("{ me { email } }"))["me"]["email"]
    for _ in range(3):
        body = await from_address()().raw(LOGIN, {"e": email.upper(), "p": GUESS})
        assert error(body)["extensions"]["code"] == "UNAUTHENTICATED"
    # Even the right password waits now: the account is being guessed at.
    right = await from_address()().raw(LOGIN, {"e": email, "p": "correct horse battery"})
    assert "for this account" in limited_error(right)["message"]
    # Other accounts, from the same kind of fresh address, still sign in.
    someone = await anonymous.register()
    their_email = (await someone.execute("{ me { email } }"))["me"]["email"]
    ok = await from_address()().raw(LOGIN, {"e": their_email, "p": "correct horse battery"})
    assert ok["data"]["login"]["token"]


async def test_changes_are_limited_per_person_but_signals_are_not(
    from_address: Callable[[], Connect], anonymous: Client
) -> None:
    person = from_address()((await anonymous.register()).token)
    sessions = [(await person.execute(CREATE))["createSession"]["id"] for _ in range(4)]
    refused = limited_error(await person.raw(CREATE))
    assert refused["message"].startswith("too many changes;")
    for _ in range(30):  # a flood of signals is coalesced, never refused
        assert await person.execute(ACTIVITY, {"id": sessions[-1]})
        assert await person.execute(TAB, {"id": sessions[-1]})
    assert (await person.execute("{ me { id } }"))["me"]["id"]  # reads are not limited
    # Someone else on the same address is still fine.
    assert await from_address()((await anonymous.register()).token).execute(CREATE)


async def test_changes_are_limited_per_address(
    from_address: Callable[[], Connect], anonymous: Client
) -> None:
    on_one_address = from_address()
    for _ in range(2):
        person = on_one_address((await anonymous.register()).token)
        for _ in range(4):
            await person.execute(CREATE)
    third = on_one_address((await anonymous.register()).token)
    assert "from this address" in limited_error(await third.raw(CREATE))["message"]
    # Anonymous attempts count against the address before they are refused as such.
    assert error(await on_one_address(None).raw(CREATE))["extensions"]["code"] == "RATE_LIMITED"


async def test_changes_over_the_websocket_are_limited_too(
    limited: RunningServer, anonymous: Client
) -> None:
    token = (await anonymous.register()).token
    protocol = [Subprotocol("graphql-transport-ws")]
    answers: list[dict[str, Any]] = []
    async with connect(limited.ws_url, subprotocols=protocol, local_addr=("127.0.0.99", 0)) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for n in range(5):
            message = {"id": str(n), "type": "subscribe", "payload": {"query": CREATE}}
            await ws.send(json.dumps(message))
            answers.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "complete"
    assert [a["payload"]["data"] is not None for a in answers] == [True] * 4 + [False]
    limited_error(answers[-1]["payload"])


async def test_retry_after_is_long_enough(settings: Settings) -> None:
    quick = settings.model_copy(update={"rate_limit_login_per_address": "2/second"})
    async with serve(quick, ManualClock(START)) as running:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.200")
        async with httpx.AsyncClient(base_url=running.url, transport=transport) as http:
            client = Client(http)
            attempt = {"e": "nobody@example.com", "p": GUESS}
            codes: list[str] = []
            # The sliding-window counter may let one more through across a window edge.
            while len(codes) < 4 and "RATE_LIMITED" not in codes:
                body = await client.raw(LOGIN, attempt)
                codes.append(error(body)["extensions"]["code"])
            assert codes[:2] == ["UNAUTHENTICATED"] * 2 and codes[-1] == "RATE_LIMITED", codes
            retry_after = limited_error(body)["extensions"]["retryAfter"]
            assert retry_after == 1
            await asyncio.sleep(retry_after)
            body = await client.raw(LOGIN, attempt)
            assert error(body)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_empty_limit_is_no_limit() -> None:
    limiter = RateLimiter(
        RatePolicy({Bucket.MUTATIONS_PER_USER: "", Bucket.LOGIN_PER_ADDRESS: "1/hour"})
    )
    for _ in range(500):
        await limiter.hit(Bucket.MUTATIONS_PER_USER, "someone")
    await limiter.hit(Bucket.LOGIN_PER_ADDRESS, "10.0.0.1")
    with pytest.raises(RateLimited) as refused:
        await limiter.hit(Bucket.LOGIN_PER_ADDRESS, "10.0.0.1")
    retry_after = refused.value.details["retryAfter"]
    assert isinstance(retry_after, int) and 1 <= retry_after <= 3600
