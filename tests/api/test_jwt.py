"""Tokens: pinned algorithms, kid rotation, external public-key issuers, times on the
injected clock with a leeway, and URLs with tokens kept out of the logs."""

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from bson import ObjectId
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr, ValidationError
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from focusgql.auth import TokenIssuer
from focusgql.domain.errors import Unauthenticated
from focusgql.settings import Settings
from tests.support import Client, ManualClock, RunningServer, serve

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "current-secret-" + "c" * 32
OLD_SECRET = "previous-secret-" + "p" * 32
EXTERNAL = "https://auth.example.com/"
USER = str(ObjectId())


def pem(private_key: Any) -> str:
    public = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return str(public.decode())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def issuer(**options: Any) -> TokenIssuer:
    return TokenIssuer(SECRET, "focusgql", "focusgql", timedelta(hours=1), **options)


def claims(**changes: Any) -> dict[str, Any]:
    base = {
        "sub": USER,
        "iss": "focusgql",
        "aud": "focusgql",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET, kid: str | None = "current") -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers)


def forge(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A token put together by hand, for what PyJWT refuses to produce."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(payload)}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def refused(tokens: TokenIssuer, token: str, now: datetime = NOW) -> str:
    with pytest.raises(Unauthenticated) as error:
        tokens.verify(token, now)
    return str(error.value)


# -- algorithms -----------------------------------------------------------------------


def test_our_tokens_name_their_key_and_verify() -> None:
    tokens = issuer(key_id="2026-03")
    token = tokens.issue(USER, NOW)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "2026-03", "typ": "JWT"}
    verified = tokens.verify(token, NOW)
    assert verified.subject == USER
    assert verified.valid_until == NOW + timedelta(hours=1, seconds=30)


def test_alg_none_is_refused() -> None:
    unsigned = forge({"alg": "none", "typ": "JWT"}, claims(), None)
    assert "algorithm not accepted" in refused(issuer(), unsigned)


def test_hs256_signed_with_the_public_key_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    public = pem(rsa_key)
    tokens = issuer(public_key=public, algorithms=["HS256", "RS256"], external_issuer=EXTERNAL)
    header = {"alg": "HS256", "typ": "JWT"}
    for kid in (None, "current"):
        confused = forge({**header, **({"kid": kid} if kid else {})}, claims(), public.encode())
        refused(tokens, confused)


def test_public_key_tokens_only_when_their_algorithm_is_listed(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    token = jwt.encode(claims(iss=EXTERNAL), rsa_key, algorithm="RS256")
    with_key = issuer(public_key=pem(rsa_key), external_issuer=EXTERNAL)
    assert "algorithm not accepted" in refused(with_key, token)  # HS256 only
    listed = issuer(
        public_key=pem(rsa_key), external_issuer=EXTERNAL, algorithms=["HS256", "RS256"]
    )
    assert listed.verify(token, NOW).subject == USER
    ps256 = jwt.encode(claims(iss=EXTERNAL), rsa_key, algorithm="PS256")
    assert "algorithm not accepted" in refused(listed, ps256)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_external_tokens_need_the_external_issuer(
    algorithm: str, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    private = rsa_key if algorithm == "RS256" else ec_key
    tokens = issuer(
        public_key=pem(private), external_issuer=EXTERNAL, algorithms=["HS256", algorithm]
    )
    assert tokens.verify(jwt.encode(claims(iss=EXTERNAL), private, algorithm=algorithm), NOW)
    for iss in ("focusgql", "https://auth.example.com/evil"):
        refused(tokens, jwt.encode(claims(iss=iss), private, algorithm=algorithm))
    # And our HMAC tokens still need our issuer, not the external one.
    refused(tokens, hs256(claims(iss=EXTERNAL)))
    other = ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256" else None
    if other is not None:
        refused(tokens, jwt.encode(claims(iss=EXTERNAL), other, algorithm=algorithm))


def test_a_bad_public_key_fails_at_startup() -> None:
    with pytest.raises(ValueError):
        issuer(public_key="-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")


# -- key rotation ---------------------------------------------------------------------


def test_previous_secrets_are_accepted_by_kid() -> None:
    tokens = issuer(key_id="2026-03", previous_secrets={"2026-02": OLD_SECRET})
    assert tokens.verify(hs256(claims(), OLD_SECRET, kid="2026-02"), NOW).subject == USER
    assert tokens.verify(hs256(claims(), SECRET, kid="2026-03"), NOW).subject == USER
    # A token from before key ids existed names the current key.
    assert tokens.verify(hs256(claims(), SECRET, kid=None), NOW).subject == USER
    refused(tokens, hs256(claims(), OLD_SECRET, kid=None))
    refused(tokens, hs256(claims(), SECRET, kid="2026-02"))  # kid and key disagree
    assert "unknown key" in refused(tokens, hs256(claims(), OLD_SECRET, kid="2025-12"))


# -- claims and times -----------------------------------------------------------------


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss", "aud"])
def test_every_required_claim_must_be_there(missing: str) -> None:
    refused(issuer(), hs256(claims(**{missing: None})))


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"sub": "not-an-object-id"},
        {"sub": USER.upper()},
        {"sub": 12345},
        {"exp": "tomorrow"},
        {"exp": True},
        {"iat": "now"},
        {"nbf": "later"},
        {"exp": 10**20},
    ],
    ids=repr,
)
def test_malformed_claims_are_refused(changes: dict[str, Any]) -> None:
    refused(issuer(), hs256(claims(**changes)))


def test_times_are_checked_on_the_given_clock_with_a_leeway() -> None:
    tokens = issuer(leeway=timedelta(seconds=30))
    exp = NOW + timedelta(hours=1)
    token = tokens.issue(USER, NOW)
    # Valid until exp + leeway, on the clock passed in (not the system clock).
    assert tokens.verify(token, exp + timedelta(seconds=29)).subject == USER
    assert refused(tokens, token, exp + timedelta(seconds=30)) == "token expired"
    soon = int((NOW + timedelta(seconds=20)).timestamp())
    later = int((NOW + timedelta(seconds=40)).timestamp())
    assert tokens.verify(hs256(claims(nbf=soon)), NOW)
    assert "nbf" in refused(tokens, hs256(claims(nbf=later)))
    assert tokens.verify(hs256(claims(iat=soon)), NOW)
    strict = issuer(leeway=timedelta(0))
    assert refused(strict, token, exp) == "token expired"


def test_a_future_iat_is_refused_only_from_an_external_issuer(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    """Ours carry the iat our clock gave them: after a step back of the clock (or
    a restart after one) they stay valid until exp; another issuer's do not."""
    tokens = issuer(
        public_key=pem(rsa_key), algorithms=["HS256", "RS256"], external_issuer=EXTERNAL
    )
    hour_ahead = int((NOW + timedelta(hours=1)).timestamp())
    ours = tokens.issue(USER, NOW + timedelta(hours=1))
    assert tokens.verify(ours, NOW).subject == USER
    assert tokens.verify(hs256(claims(iat=hour_ahead)), NOW).subject == USER
    later = int((NOW + timedelta(seconds=40)).timestamp())
    external = jwt.encode(claims(iss=EXTERNAL, iat=later), rsa_key, algorithm="RS256")
    assert "iat is in the future" in refused(tokens, external)
    # exp still ends ours: issued an hour ahead, it expires an hour after that
    assert refused(tokens, ours, NOW + timedelta(hours=2, seconds=31)) == "token expired"


# -- settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"jwt_algorithms": "HS256,RS256"}, "FOCUSGQL_JWT_PUBLIC_KEY"),
        ({"jwt_algorithms": "RS256", "jwt_public_key": "x"}, "must include HS256"),
        ({"jwt_algorithms": "HS256,none"}, "unsupported"),
        ({"jwt_secret": SecretStr("short")}, "at least 32"),
        ({"jwt_previous_secrets": {"old": "short"}}, "at least 32"),
        ({"rate_limit_mutations_per_user": "lots"}, "rate_limit"),
    ],
)
def test_unsafe_settings_fail_at_startup(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError) as error:
        Settings(**changes)
    assert complaint in str(error.value)


def test_lists_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOCUSGQL_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("FOCUSGQL_JWT_PREVIOUS_SECRETS", json.dumps({"2026-02": OLD_SECRET}))
    settings = Settings()
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.jwt_previous_secrets["2026-02"].get_secret_value() == OLD_SECRET


# -- through the server ---------------------------------------------------------------


@pytest.fixture(scope="module")
async def external(
    settings: Settings, clock: ManualClock, rsa_key: rsa.RSAPrivateKey
) -> AsyncIterator[RunningServer]:
    """Accepts RS256 tokens from an external issuer, and rotated-out HS256 keys."""
    assert settings.jwt_secret is not None
    changes = {
        "jwt_key_id": "next",
        "jwt_secret": SecretStr(SECRET),
        "jwt_previous_secrets": {"current": settings.jwt_secret},
        "jwt_public_key": pem(rsa_key),
        "jwt_algorithms": ["HS256", "RS256"],
        "jwt_external_issuer": EXTERNAL,
    }
    # The shared clock: alice's token comes from the shared server.
    async with serve(settings.model_copy(update=changes), clock) as running:
        yield running


async def test_external_and_rotated_tokens_reach_our_users(
    external: RunningServer, alice: Client, rsa_key: rsa.RSAPrivateKey
) -> None:
    me = "{ me { id } }"
    alice_id = (await alice.execute(me))["me"]["id"]
    now = int(external.clock.now().timestamp())
    payload = {"sub": alice_id, "iss": EXTERNAL, "aud": "focusgql", "iat": now, "exp": now + 60}
    async with httpx.AsyncClient(base_url=external.url, timeout=30) as http:
        # A token from the old key (kid "current") still works after rotation.
        assert (await Client(http, alice.token).execute(me))["me"]["id"] == alice_id
        rs256 = jwt.encode(payload, rsa_key, algorithm="RS256")
        assert (await Client(http, rs256).execute(me))["me"]["id"] == alice_id
        # The external sub must name one of our users.
        nobody = jwt.encode({**payload, "sub": str(ObjectId())}, rsa_key, algorithm="RS256")
        body = await Client(http, nobody).raw(me)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
        # New tokens are signed with the new key.
        fresh = await Client(http).register()
        assert fresh.token is not None
        assert jwt.get_unverified_header(fresh.token)["kid"] == "next"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def uvicorn_logs() -> Iterator[Records]:
    records = Records()
    loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(records)
        logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(records)
            logger.setLevel(level)


async def test_tokens_in_urls_never_reach_the_logs(
    server: RunningServer, alice: Client, uvicorn_logs: Records
) -> None:
    assert alice.token is not None
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        response = await http.get(
            "/graphql", params={"query": "{ __typename }", "token": alice.token}
        )
        assert response.status_code == 200
    protocol = [Subprotocol("graphql-transport-ws")]
    async with connect(f"{server.ws_url}?token={alice.token}", subprotocols=protocol) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
    logged = "\n".join(uvicorn_logs.lines)
    assert "GET /graphql?" in logged and "WebSocket /graphql?" in logged, logged
    assert alice.token not in logged
    assert logged.count("token=[redacted]") >= 2
