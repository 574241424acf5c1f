"""Passwords (Argon2id via argon2-cffi) and bearer tokens (PyJWT, HS256)."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from focusgql.domain.errors import Unauthenticated

ALGORITHM = "HS256"
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
class TokenIssuer:
    secret: str
    issuer: str
    audience: str
    ttl: timedelta

    def issue(self, user_id: str, now: datetime) -> str:
        claims = {
            "sub": user_id,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def read(self, token: str, now: datetime) -> str:
        """The user id a valid token names; Unauthenticated otherwise.

        PyJWT checks `exp` against the system clock, so that check is made
        here against the injected one instead.
        """
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "sub"], "verify_exp": False},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated("invalid token") from error
        if not isinstance(claims["exp"], int) or claims["exp"] <= now.timestamp():
            raise Unauthenticated("token expired")
        subject = claims["sub"]
        if not isinstance(subject, str):
            raise Unauthenticated("invalid token")
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
