"""Passwords (Argon2id via argon2-cffi) and bearer tokens (PyJWT)."""

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from focusgql.domain.errors import Unauthenticated
from focusgql.settings import HMAC_ALGORITHMS, Settings

ALGORITHM = "HS256"
_USER_ID = re.compile(r"[0-9a-f]{24}")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A valid hash to verify against when the email is unknown, so a login for a
# missing account costs the same time as one with a wrong password.
DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    subject: str
    valid_until: datetime
    """The last instant the token is accepted: its `exp` plus the leeway."""
    generation: int = 0
    """The person's token generation it was issued in (`gen`; 0 when absent, as
    in tokens from before generations existed): valid only while it is current."""


class TokenIssuer:
    """Signs our tokens (HS256, one current key) and verifies tokens by `kid` and `alg`.

    Each algorithm is tied to the kind of key it may use: HMAC tokens are checked
    with our secrets only (the current one, or an old one named by `kid`), and
    public-key tokens with the configured public key only, so neither `alg: none`
    nor an HS256 token signed with the public key can pass. PyJWT checks `exp`,
    `nbf` and `iat` against the system clock, so those are checked here against
    the injected one instead.
    """

    def __init__(
        self,
        secret: str,
        issuer: str,
        audience: str,
        ttl: timedelta,
        *,
        key_id: str = "current",
        previous_secrets: Mapping[str, str] | None = None,
        public_key: str | None = None,
        external_issuer: str | None = None,
        algorithms: Iterable[str] = ("HS256",),
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self.key_id = key_id
        self.secret = secret
        self.secrets = {**(previous_secrets or {}), key_id: secret}
        self.algorithms = frozenset(algorithms)
        self.external_issuer = external_issuer or issuer
        self.leeway = leeway
        self.public_key: Any = None
        if public_key is not None:
            # Parsed once, so a bad key fails at startup rather than per request.
            self.public_key = load_pem_public_key(public_key.encode())

    @classmethod
    def from_settings(cls, settings: Settings, secret: str) -> "TokenIssuer":
        return cls(
            secret,
            settings.jwt_issuer,
            settings.jwt_audience,
            timedelta(seconds=settings.token_ttl_seconds),
            key_id=settings.jwt_key_id,
            previous_secrets={
                kid: value.get_secret_value()
                for kid, value in settings.jwt_previous_secrets.items()
            },
            public_key=settings.jwt_public_key,
            external_issuer=settings.jwt_external_issuer,
            algorithms=settings.jwt_algorithms,
            leeway=timedelta(seconds=settings.jwt_leeway_seconds),
        )

    def issue(self, user_id: str, now: datetime, generation: int = 0) -> str:
        claims = {
            "sub": user_id,
            "gen": generation,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM, headers={"kid": self.key_id})

    def verify(self, token: str, now: datetime) -> VerifiedToken:
        """The valid token's subject and how long it stays valid; Unauthenticated otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthenticated("invalid token") from error
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise Unauthenticated("invalid token: algorithm not accepted")
        if algorithm in HMAC_ALGORITHMS:
            # Tokens from before key ids existed carry none: they name the current key.
            key: Any = self.secrets.get(self.key_id if kid is None else str(kid))
            issuer = self.issuer
        else:
            key, issuer = self.public_key, self.external_issuer
        if key is None:
            raise Unauthenticated("invalid token: unknown key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=issuer,
                audience=self.audience,
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except (jwt.PyJWTError, ValueError, RecursionError) as error:
            raise Unauthenticated("invalid token") from error
        own = algorithm in HMAC_ALGORITHMS
        return VerifiedToken(
            subject=self._subject(claims),
            valid_until=self._check_times(claims, now, own),
            generation=self._generation(claims),
        )

    @staticmethod
    def _generation(claims: dict[str, Any]) -> int:
        generation = claims.get("gen", 0)
        if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
            raise Unauthenticated("invalid token: gen is not a generation")
        return generation

    def _check_times(self, claims: dict[str, Any], now: datetime, own: bool) -> datetime:
        """When the token stops being valid; Unauthenticated if it is not valid at `now`.

        `iat` in the future is refused only on an external issuer's token. On one
        of ours (signed with our own secret, so we set its `iat`) it can only mean
        that our clock read later then than it does now: a wall-clock step back
        (or a restart after one) would otherwise sign everyone out for as long
        as the step. `exp` still bounds the token, and `nbf` is still checked."""

        def seconds(name: str) -> float | None:
            value = claims.get(name)
            if value is None and name == "nbf":
                return None  # optional; the rest are required
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Unauthenticated(f"invalid token: {name} is not a time")
            return float(value)

        leeway = self.leeway.total_seconds()
        moment = now.timestamp()
        exp, iat, nbf = seconds("exp"), seconds("iat"), seconds("nbf")
        assert exp is not None
        if exp + leeway <= moment:
            raise Unauthenticated("token expired")
        for name, value in (("iat", None if own else iat), ("nbf", nbf)):
            if value is not None and value > moment + leeway:
                raise Unauthenticated(f"invalid token: {name} is in the future")
        try:
            return datetime.fromtimestamp(exp + leeway, tz=UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise Unauthenticated("invalid token: exp is out of range") from error

    @staticmethod
    def _subject(claims: dict[str, Any]) -> str:
        subject = claims["sub"]
        if not isinstance(subject, str) or not _USER_ID.fullmatch(subject):
            # Our user ids are ObjectIds; an external issuer must use them as `sub`.
            raise Unauthenticated("invalid token: sub is not a user id")
        return subject


def load_or_create_secret(data_dir: Path) -> str:
    """The development secret kept in the data directory, created on first use."""
    path = data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret
